/* html_report.c - an end-of-day report: HTML with an inline chart, a plain
   text version for clients that do not show HTML, and the day's fills as a
   CSV attachment streamed from disk.

   Usage: SMTPMAIL_FROM=.. SMTPMAIL_TO=.. SMTPMAIL_PASSWORD=.. ./html_report fills.csv
   (SMTPMAIL_URL as in send_alert.c.) The chart is a tiny PNG kept in this
   file; a real bot would render one or read it with .path like the CSV.

   Build: cc html_report.c -o html_report -lmbedtls -lmbedx509 -lmbedcrypto */
#include <stdio.h>
#include <stdlib.h>

#define SMTPMAIL_IMPLEMENTATION
#include "../smtpmail.h"

/* A 2x2 PNG: red, green / blue, white. */
static const unsigned char chart_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
    0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02,
    0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00,
    0x13, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
    0x70, 0x00, 0x88, 0x19, 0xfe, 0x03, 0x01, 0x00, 0x1d, 0xb7, 0x05, 0xbc,
    0xa4, 0xbb, 0xc3, 0xe6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
};

int main(int argc, char **argv)
{
    smtpmail_address to[1];
    smtpmail_attachment parts[2] = {{0}, {0}};
    smtpmail_message msg = {0};
    smtpmail_config cfg = {0};
    smtpmail_error err;

    if (argc < 2 || !getenv("SMTPMAIL_FROM") || !getenv("SMTPMAIL_TO")) {
        fprintf(stderr, "usage: SMTPMAIL_FROM=.. SMTPMAIL_TO=.. %s FILLS.csv\n", argv[0]);
        return 1;
    }
    to[0].name = "交易员";
    to[0].addr = getenv("SMTPMAIL_TO");

    /* Shown inside the HTML through cid:pnl: goes in multipart/related. */
    parts[0].data = chart_png;
    parts[0].data_len = sizeof chart_png;
    parts[0].filename = "pnl.png";
    parts[0].content_id = "pnl";
    /* Streamed from disk in small chunks, whatever its size. The name
       shown to the reader is Chinese: RFC 2231 plus the RFC 2047 form
       that QQ Mail reads. */
    parts[1].path = argv[1];
    parts[1].filename = "成交明细.csv";
    parts[1].content_type = "text/csv";

    msg.from.name = "量化机器人";
    msg.from.addr = getenv("SMTPMAIL_FROM");
    msg.to = to;
    msg.to_count = 1;
    msg.subject = "日报：盈亏 +1,250.00 (rb2405, hc2405)";
    msg.text = "今日盈亏 +1,250.00\n成交明细见附件。\n";
    msg.html = "<h2>今日盈亏 <span style=\"color:#c00\">+1,250.00</span></h2>\n"
               "<p><img src=\"cid:pnl\" width=\"320\" alt=\"PnL\"></p>\n"
               "<p>成交明细见附件。</p>\n";
    msg.attachments = parts;
    msg.attachment_count = 2;

    cfg.url = getenv("SMTPMAIL_URL");
    cfg.password = getenv("SMTPMAIL_PASSWORD");
    cfg.ca_file = getenv("SMTPMAIL_CA_FILE"); /* NULL: the system's CAs */

    if (smtpmail_send(&cfg, &msg, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "report not sent: %s\n", err.message);
        return 1;
    }
    return 0;
}
