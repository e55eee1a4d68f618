/* tput - messages per second over one connection: one session, one small
   message sent N times with smtpmail_session_send.

     build/bench/tput URL N

   URL is for the bench smtp+plain://127.0.0.1:PORT (Postfix's smtp-sink).
   Prints "sent=N ms=T": T is wall time from before smtpmail_session_open
   to after smtpmail_session_close (connect, EHLO and QUIT included).
   Exit status 0 only if all N were accepted. */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    smtpmail_config cfg = {0};
    smtpmail_message msg = {0};
    smtpmail_address to = {NULL, "ops@example.com"};
    smtpmail_session *s;
    smtpmail_error err;
    smtpmail_result r = SMTPMAIL_OK;
    long n, i;
    double t0, t1;

    if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: %s URL N\n", argv[0]);
        return 2;
    }
    cfg.url = argv[1];
    cfg.username = "bot@example.com"; /* smtp-sink offers no AUTH: unused */
    msg.from.addr = "bot@example.com";
    msg.to = &to;
    msg.to_count = 1;
    msg.subject = "throughput bench";
    msg.text = "Filled 1 BTC at 65000.\n";

    t0 = now_ms();
    if (smtpmail_session_open(&cfg, &s, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "tput: %s\n", err.message);
        return 1;
    }
    for (i = 0; i < n && r == SMTPMAIL_OK; i++)
        r = smtpmail_session_send(s, &msg, &err);
    smtpmail_session_close(s);
    t1 = now_ms();
    if (r != SMTPMAIL_OK) {
        fprintf(stderr, "tput: message %ld: %s\n", i, err.message);
        return 1;
    }
    printf("sent=%ld ms=%.1f\n", n, t1 - t0);
    return 0;
}
