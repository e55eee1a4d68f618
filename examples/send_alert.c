/* send_alert.c - the smallest useful alert: one message, configured from the
   environment, so that no password sits in the source.

   QQ Mail, the worked example (163/126 work the same way):
     1. In QQ Mail: Settings -> 第三方服务 (third-party services) -> turn on
        the SMTP service; QQ shows a 16-letter authorization code (授权码).
        That code, not your QQ or WeChat password, is the SMTP password.
     2. export SMTPMAIL_FROM=123456@qq.com
        export SMTPMAIL_TO=123456@qq.com       (yourself: WeChat shows it)
        export SMTPMAIL_PASSWORD=abcdefghijklmnop
     3. ./send_alert "止损触发 rb2405" "价格 3588 跌破止损位 3590"
   The server (smtp.qq.com, port 465, implicit TLS) comes from the sender's
   domain. For any other server: export SMTPMAIL_URL=smtps://host:465.

   Build: cc send_alert.c -o send_alert -lmbedtls -lmbedx509 -lmbedcrypto */
#include <stdio.h>
#include <stdlib.h>

#define SMTPMAIL_IMPLEMENTATION
#include "../smtpmail.h"

int main(int argc, char **argv)
{
    smtpmail_address to[1];
    smtpmail_message msg = {0};
    smtpmail_config cfg = {0};
    smtpmail_error err;
    smtpmail_result r;

    if (argc < 3 || !getenv("SMTPMAIL_FROM") || !getenv("SMTPMAIL_TO")) {
        fprintf(stderr, "usage: SMTPMAIL_FROM=.. SMTPMAIL_TO=.. SMTPMAIL_PASSWORD=.. "
                        "%s SUBJECT TEXT\n", argv[0]);
        return 1;
    }
    to[0].name = NULL;
    to[0].addr = getenv("SMTPMAIL_TO");
    msg.from.name = "Trading bot";
    msg.from.addr = getenv("SMTPMAIL_FROM");
    msg.to = to;
    msg.to_count = 1;
    msg.subject = argv[1];
    msg.text = argv[2];

    cfg.url = getenv("SMTPMAIL_URL");           /* NULL: from the sender's domain */
    cfg.password = getenv("SMTPMAIL_PASSWORD"); /* QQ/163: the authorization code */
    cfg.timeout_ms = 20000;                     /* a bot must not wait longer */

    r = smtpmail_send(&cfg, &msg, &err);
    if (r != SMTPMAIL_OK) {
        /* err.message names the stage and the server's words, e.g.
           "AUTH: 535 5.7.8 authentication failed": never the password. */
        fprintf(stderr, "alert not sent (%s): %s\n",
                smtpmail_result_is_temporary(r) ? "try again later" : "fix and retry",
                err.message);
        return 1;
    }
    return 0;
}
