/* custom_transport.c - smtpmail.h over your own network stack (lwIP, a
   cellular modem's AT socket commands, an RTOS): the library's sockets are
   compiled out (SMTPMAIL_NO_SOCKETS) and config.transport carries the bytes.
   Here the four functions sit on POSIX sockets as a stand-in for "your
   stack"; swap their bodies and keep the contract:

     connect  open a stream to host:port within timeout_ms; store your handle
              in *conn; 0, or SMTPMAIL_ERR_RESOLVE / _CONNECT / _TIMEOUT
     send     take 1..len bytes within timeout_ms; return how many, or
              SMTPMAIL_ERR_TIMEOUT / SMTPMAIL_ERR_NETWORK
     recv     wait at most timeout_ms for bytes; return how many (0: the peer
              closed), or SMTPMAIL_ERR_TIMEOUT / _NETWORK. timeout_ms 0 is a
              poll: never wait, SMTPMAIL_ERR_TIMEOUT when nothing is there
     close    called once for every successful connect

   TLS (smtps:// or smtp:// with STARTTLS) runs inside the library, on top
   of these calls, so the same transport carries plaintext or TLS.

   Run:  SMTPMAIL_URL=smtps://smtp.example.com:465 SMTPMAIL_FROM=me@example.com \
         SMTPMAIL_TO=you@example.com SMTPMAIL_PASSWORD=... ./custom_transport
   (smtp+plain://127.0.0.1:25 for a local relay without TLS.)
   Build: cc -D_POSIX_C_SOURCE=200112L custom_transport.c -lmbedtls -lmbedx509 -lmbedcrypto */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SMTPMAIL_NO_SOCKETS /* the network is ours */
#define SMTPMAIL_IMPLEMENTATION
#include "../smtpmail.h"

#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0
#endif

typedef struct my_conn {
    int fd;
} my_conn;

/* Waits until fd is readable (events POLLIN) or writable: 1 ready, 0 time
   out, -1 error. */
static int wait_for(int fd, short events, uint32_t timeout_ms)
{
    struct pollfd p;
    int r;
    p.fd = fd;
    p.events = events;
    p.revents = 0;
    do r = poll(&p, 1, timeout_ms > 0x7FFFFFFF ? 0x7FFFFFFF : (int)timeout_ms);
    while (r < 0 && errno == EINTR);
    return r;
}

static int my_connect(void **conn, const char *host, uint16_t port, uint32_t timeout_ms,
                      void *user_data)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int result = SMTPMAIL_ERR_CONNECT;
    (void)user_data;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0) return SMTPMAIL_ERR_RESOLVE;
    for (ai = res; ai; ai = ai->ai_next) {
        my_conn *c;
        int err = 0;
        socklen_t len = sizeof err;
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        /* Non-blocking from here on: every wait is a poll with a limit. */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            close(fd);
            continue;
        }
        switch (wait_for(fd, POLLOUT, timeout_ms)) {
        case 0:
            result = SMTPMAIL_ERR_TIMEOUT;
            close(fd);
            continue;
        case 1:
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) break;
            /* fall through */
        default:
            close(fd);
            continue;
        }
        if (!(c = (my_conn *)malloc(sizeof *c))) {
            close(fd);
            break;
        }
        c->fd = fd;
        *conn = c;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    return result;
}

static int my_send(void *conn, const void *data, size_t len, uint32_t timeout_ms,
                   void *user_data)
{
    my_conn *c = (my_conn *)conn;
    ssize_t n;
    (void)user_data;
    for (;;) {
        n = send(c->fd, data, len > 65536 ? 65536 : len, MSG_NOSIGNAL);
        if (n > 0) return (int)n;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_for(c->fd, POLLOUT, timeout_ms);
            if (w == 0) return SMTPMAIL_ERR_TIMEOUT;
            if (w > 0) continue;
        }
        return SMTPMAIL_ERR_NETWORK;
    }
}

static int my_recv(void *conn, void *buf, size_t cap, uint32_t timeout_ms, void *user_data)
{
    my_conn *c = (my_conn *)conn;
    ssize_t n;
    (void)user_data;
    if (cap > 65536) cap = 65536;
    for (;;) {
        n = recv(c->fd, buf, cap, 0);
        if (n >= 0) return (int)n; /* 0: the server closed the connection */
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* timeout_ms 0: a poll, which waits for nothing. */
            int w = timeout_ms ? wait_for(c->fd, POLLIN, timeout_ms) : 0;
            if (w == 0) return SMTPMAIL_ERR_TIMEOUT;
            if (w > 0) continue;
        }
        return SMTPMAIL_ERR_NETWORK;
    }
}

static void my_close(void *conn, void *user_data)
{
    my_conn *c = (my_conn *)conn;
    (void)user_data;
    close(c->fd);
    free(c);
}

/* Deadlines need a millisecond clock: your RTOS tick count. */
static uint64_t my_ticks_ms(void *user_data)
{
    struct timespec ts;
    (void)user_data;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int main(void)
{
    smtpmail_transport tr = {0};
    smtpmail_hooks hooks = {0};
    smtpmail_config cfg = {0};
    smtpmail_message msg = {0};
    smtpmail_address to[1];
    smtpmail_error err;

    if (!getenv("SMTPMAIL_URL") || !getenv("SMTPMAIL_FROM") || !getenv("SMTPMAIL_TO")) {
        fprintf(stderr, "usage: SMTPMAIL_URL=smtps://host:465 SMTPMAIL_FROM=.. SMTPMAIL_TO=.. "
                        "[SMTPMAIL_PASSWORD=..] custom_transport\n");
        return 1;
    }
    tr.connect = my_connect;
    tr.send = my_send;
    tr.recv = my_recv;
    tr.close = my_close;
    hooks.ticks_ms = my_ticks_ms;

    cfg.url = getenv("SMTPMAIL_URL");
    cfg.password = getenv("SMTPMAIL_PASSWORD"); /* NULL: no AUTH */
    cfg.transport = &tr;
    cfg.hooks = &hooks;
    cfg.timeout_ms = 20000;

    to[0].name = NULL;
    to[0].addr = getenv("SMTPMAIL_TO");
    msg.from.name = "Gateway 7";
    msg.from.addr = getenv("SMTPMAIL_FROM");
    msg.to = to;
    msg.to_count = 1;
    msg.subject = "Sent over a custom transport";
    msg.text = "This message went through config.transport.\n";

    if (smtpmail_send(&cfg, &msg, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "not sent: %s\n", err.message);
        return 1;
    }
    return 0;
}
