/* alert_outbox.c - alerts that never block the trading loop, and survive a
   crash: the outbox (define SMTPMAIL_OUTBOX) with a spool directory.

   smtpmail_outbox_enqueue checks and renders the alert, writes it to the
   spool (fsync + rename) and returns: the loop goes on. A worker thread
   sends over one reused connection, retries 4xx and network failures
   with backoff, and removes the file once the server said 250. If the bot
   crashes or the network is down, the next start sends what is left.

     export SMTPMAIL_FROM=123456@qq.com SMTPMAIL_TO=123456@qq.com
     export SMTPMAIL_PASSWORD=abcdefghijklmnop   (QQ: the authorization code)
     mkdir -p alerts.spool
     ./alert_outbox alerts.spool "成交 rb2405 买入 2 手" "止损触发 rb2405"
     ./alert_outbox alerts.spool                  (only what the spool holds)

   Optional: SMTPMAIL_URL (else the sender's domain picks the server),
   SMTPMAIL_CA_FILE, SMTPMAIL_PER_MINUTE (a burst over it becomes one
   digest mail). Exit 0: all sent; 2: some wait in the spool; 1: error.

   Build: cc -pthread alert_outbox.c -o alert_outbox -lmbedtls -lmbedx509 -lmbedcrypto */
#include <stdio.h>
#include <stdlib.h>

#define SMTPMAIL_IMPLEMENTATION
#define SMTPMAIL_OUTBOX
#include "../smtpmail.h"

/* Called on the outbox's thread, once for each message. */
static void on_done(const smtpmail_outbox_report *r, void *user_data)
{
    (void)user_data;
    if (r->result == SMTPMAIL_OK)
        printf("sent #%llu \"%s\"%s\n", r->id, r->subject, r->digest_of > 1 ? " (in a digest)" : "");
    else
        printf("not sent #%llu \"%s\": %s\n", r->id, r->subject, r->error->message);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    smtpmail_config cfg = {0};
    smtpmail_outbox_options opt = {0};
    smtpmail_outbox *box;
    smtpmail_address to[1] = {{NULL, NULL}};
    smtpmail_error err;
    size_t left;
    int i;

    if (argc < 2 || !getenv("SMTPMAIL_FROM") || !getenv("SMTPMAIL_TO")) {
        fprintf(stderr, "usage: SMTPMAIL_FROM=.. SMTPMAIL_TO=.. SMTPMAIL_PASSWORD=.. "
                        "%s SPOOL_DIR [SUBJECT...]\n", argv[0]);
        return 1;
    }
    cfg.url = getenv("SMTPMAIL_URL");
    cfg.password = getenv("SMTPMAIL_PASSWORD");
    cfg.ca_file = getenv("SMTPMAIL_CA_FILE");
    cfg.timeout_ms = 20000;

    opt.spool_dir = argv[1];
    opt.per_minute = getenv("SMTPMAIL_PER_MINUTE") ? (unsigned)atoi(getenv("SMTPMAIL_PER_MINUTE")) : 0;
    opt.on_done = on_done;
    if (smtpmail_outbox_open(&cfg, &opt, &box, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "outbox: %s\n", err.message);
        return 1;
    }

    /* The trading loop: each enqueue returns at once. */
    to[0].addr = getenv("SMTPMAIL_TO");
    for (i = 2; i < argc; i++) {
        smtpmail_message msg = {0};
        unsigned long long id;
        msg.from.name = "Trading bot";
        msg.from.addr = getenv("SMTPMAIL_FROM");
        msg.to = to;
        msg.to_count = 1;
        msg.subject = argv[i];
        msg.text = argv[i];
        if (smtpmail_outbox_enqueue(box, &msg, &id, &err) != SMTPMAIL_OK)
            fprintf(stderr, "alert refused: %s\n", err.message); /* full queue, bad field, disk */
        else
            printf("queued #%llu\n", id);
    }
    printf("queued all, %lu waiting\n", (unsigned long)smtpmail_outbox_pending(box));
    fflush(stdout);

    /* Shutting down: up to 30 s to send; the rest stays in the spool. */
    left = smtpmail_outbox_close(box, 30000);
    if (left) printf("%lu left in %s for the next start\n", (unsigned long)left, argv[1]);
    return left ? 2 : 0;
}
