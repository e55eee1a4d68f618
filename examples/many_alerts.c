/* many_alerts.c - one connection, many messages: what a bot that alerts all
   day should do. Opening costs the TCP, TLS, EHLO and AUTH round trips once;
   each further message costs one round trip when the server offers
   PIPELINING and CHUNKING. When the server drops the idle connection
   (servers do after a few minutes), the next send reconnects by itself.

   Usage: SMTPMAIL_FROM=.. SMTPMAIL_TO=.. SMTPMAIL_PASSWORD=.. ./many_alerts [N]
   Build: cc many_alerts.c -o many_alerts -lmbedtls -lmbedx509 -lmbedcrypto */
#include <stdio.h>
#include <stdlib.h>

#define SMTPMAIL_IMPLEMENTATION
#include "../smtpmail.h"

/* The transcript, for -v style debugging: passwords arrive as <redacted>. */
static void print_log(const char *line, void *user_data)
{
    (void)user_data;
    fprintf(stderr, "  %s\n", line);
}

int main(int argc, char **argv)
{
    int i, n = argc > 1 ? atoi(argv[1]) : 3, failed = 0;
    smtpmail_address to[1];
    smtpmail_hooks hooks = {0};
    smtpmail_config cfg = {0};
    smtpmail_session *session;
    smtpmail_error err;

    if (!getenv("SMTPMAIL_FROM") || !getenv("SMTPMAIL_TO")) {
        fprintf(stderr, "usage: SMTPMAIL_FROM=.. SMTPMAIL_TO=.. %s [N]\n", argv[0]);
        return 1;
    }
    to[0].name = NULL;
    to[0].addr = getenv("SMTPMAIL_TO");
    hooks.log = getenv("SMTPMAIL_VERBOSE") ? print_log : NULL;

    cfg.url = getenv("SMTPMAIL_URL");
    cfg.username = getenv("SMTPMAIL_FROM"); /* a session has no sender to guess from */
    cfg.password = getenv("SMTPMAIL_PASSWORD");
    cfg.ca_file = getenv("SMTPMAIL_CA_FILE");
    cfg.hooks = &hooks;

    if (smtpmail_session_open(&cfg, &session, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "cannot open the session: %s\n", err.message);
        return 1;
    }
    for (i = 1; i <= n; i++) {
        char subject[80], text[120];
        smtpmail_message msg = {0};
        snprintf(subject, sizeof subject, "成交回报 %d/%d: rb2405 买入 10 手", i, n);
        snprintf(text, sizeof text, "第 %d 笔成交：rb2405 @ %d\n", i, 3650 + i);
        msg.from.addr = getenv("SMTPMAIL_FROM");
        msg.to = to;
        msg.to_count = 1;
        msg.subject = subject;
        msg.text = text;
        if (smtpmail_session_send(session, &msg, &err) != SMTPMAIL_OK) {
            /* One failed message does not end the session. */
            fprintf(stderr, "message %d not sent: %s\n", i, err.message);
            failed++;
        }
    }
    smtpmail_session_close(session);
    return failed ? 1 : 0;
}
