/* tests/real_send.c - the C API against the real servers of tests/smtpd.py.

   Usage: real_send MODE URL CAFILE PASSWORD
     one      smtpmail_send: a Chinese subject, text + HTML, a CSV attachment
              from memory, To + Cc + Bcc; every RCPT reply seen by
              on_recipient; the login defaults to the sender's address
     login    the same message with AUTH LOGIN forced
     session  one session, three messages "session 1/3" .. "session 3/3"
     badpass  PASSWORD is a wrong one: SMTPMAIL_ERR_AUTH at the AUTH stage,
              reply 535
     recover  one session: a 25 MB attachment, over the server's 32 MiB
              limit once in base64, gets 552 after the final dot; then a
              small message "after 552" on the same session goes through
     raw      the message rendered by smtpmail_message_render, sent by
              smtpmail_session_send_raw with the envelope To + Cc + Bcc;
              before it, bytes with a bare LF are refused (field "data")
              and nothing is sent
   Every mode also checks that neither the transcript (hooks.log) nor
   err.message holds the password or a base64 form of it.

   Prints "ok   CHECK" or "FAIL CHECK: why" per check and exits 1 if any
   failed. tests/real_smtp.py runs it and checks what the server stored; its
   C_* constants must match the message below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

#define USER "bot@example.com"

static const char csv[] = "date,symbol,side,price\r\n2024-01-02,rb2405,买入,3650\n";

static int g_failed;

static void check(int ok, const char *name, const char *why)
{
    if (ok) {
        printf("ok   %s\n", name);
    } else {
        g_failed++;
        printf("FAIL %s: ", name);
        for (; *why; why++) {   /* one line, even for a transcript */
            if (*why == '\n') fputs(" | ", stdout);
            else putchar(*why);
        }
        putchar('\n');
    }
}

/* hooks.log: the whole transcript, one line each. */
struct transcript {
    char text[32768];
    size_t len;
    int overflow;
};

static void collect(const char *line, void *user_data)
{
    struct transcript *t = user_data;
    size_t n = strlen(line);

    if (t->len + n + 2 > sizeof t->text) {
        t->overflow = 1;
        return;
    }
    memcpy(t->text + t->len, line, n);
    t->len += n;
    t->text[t->len++] = '\n';
    t->text[t->len] = '\0';
}

/* on_recipient: how many replies, and how many of them 250. */
struct replies {
    int count, ok;
};

static void on_recipient(const char *addr, int reply_code, const char *reply_text,
                         void *user_data)
{
    struct replies *r = user_data;

    (void)addr;
    (void)reply_text;
    r->count++;
    if (reply_code == 250) r->ok++;
}

/* smtpmail_read_fn: *user_data more bytes of a repeating pattern. */
static int read_pattern(void *buf, size_t cap, size_t *got, void *user_data)
{
    size_t *left = user_data, i;
    unsigned char *b = buf;

    *got = cap < *left ? cap : *left;
    for (i = 0; i < *got; i++)
        b[i] = (unsigned char)((*left - i) * 7u);
    *left -= *got;
    return 0;
}

/* Base64 written here, not the library's: a broken encoder there must not
   hide a leak of its own output. */
static void encode64(const void *src, size_t len, char *dst)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = src;
    size_t i;

    for (i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)s[i] << 16;
        if (i + 1 < len) v |= (unsigned long)s[i + 1] << 8;
        if (i + 2 < len) v |= s[i + 2];
        *dst++ = digits[v >> 18 & 63];
        *dst++ = digits[v >> 12 & 63];
        *dst++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
        *dst++ = i + 2 < len ? digits[v & 63] : '=';
    }
    *dst = '\0';
}

/* Fails `name` when `text` holds the password, its base64 (AUTH LOGIN) or
   the base64 of an AUTH PLAIN response, with or without an authzid. */
static void check_no_secret(const char *name, const char *text, const char *pass)
{
    char forms[4][400], raw[200];
    size_t ulen = strlen(USER), plen = strlen(pass), i;
    int found = 0;

    if (plen > 60) {
        check(0, name, "password too long for this test");
        return;
    }
    snprintf(forms[0], sizeof forms[0], "%s", pass);
    encode64(pass, plen, forms[1]);
    memcpy(raw, USER, ulen);                     /* "user\0user\0pass" */
    raw[ulen] = '\0';
    memcpy(raw + ulen + 1, USER, ulen);
    raw[2 * ulen + 1] = '\0';
    memcpy(raw + 2 * ulen + 2, pass, plen);
    encode64(raw, 2 * ulen + 2 + plen, forms[2]);
    encode64(raw + ulen, ulen + 2 + plen, forms[3]); /* "\0user\0pass" */
    for (i = 0; i < 4; i++)
        if (strstr(text, forms[i])) found = 1;
    check(!found, name, "found the password or a base64 form of it");
}

static smtpmail_config make_config(const char *url, const char *ca_file, const char *pass,
                                   const smtpmail_hooks *hooks, struct replies *replies)
{
    smtpmail_config cfg = {0};

    cfg.url = url;
    cfg.ca_file = ca_file;
    cfg.password = pass;
    cfg.hooks = hooks;
    cfg.on_recipient = on_recipient;
    cfg.user_data = replies;
    cfg.timeout_ms = 20000;
    return cfg;
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t plen = strlen(prefix);
    const char *p = text;

    while (*p) {
        if (strncmp(p, prefix, plen) == 0) n++;
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
    return n;
}

int main(int argc, char **argv)
{
    static struct transcript transcript;
    static const smtpmail_address to[] = {{"交易员", "trader@example.com"}};
    static const smtpmail_address cc[] = {{"Risk Desk", "risk@example.com"}};
    static const smtpmail_address bcc[] = {{NULL, "boss@example.com"}};
    static const char *const subjects[3] = {"session 1/3", "session 2/3", "session 3/3"};
    smtpmail_attachment att = {0};
    smtpmail_message msg = {0};
    smtpmail_hooks hooks = {0};
    smtpmail_config cfg;
    smtpmail_error err = {0};
    struct replies replies = {0, 0};
    smtpmail_result r;
    const char *mode, *pass;
    char why[400];

    if (argc != 5) {
        fprintf(stderr, "usage: real_send one|login|session|badpass|recover|raw|capem|cadir URL CAFILE PASSWORD\n");
        return 2;
    }
    mode = argv[1];
    pass = argv[4];
    hooks.log = collect;
    hooks.user_data = &transcript;
    cfg = make_config(argv[2], argv[3], pass, &hooks, &replies);

    att.data = csv;
    att.data_len = sizeof csv - 1;
    att.filename = "成交回报.csv";
    att.content_type = "text/csv";
    msg.from.name = "交易提醒机器人";
    msg.from.addr = USER;
    msg.to = to;
    msg.to_count = 1;
    msg.cc = cc;
    msg.cc_count = 1;
    msg.bcc = bcc;
    msg.bcc_count = 1;
    msg.subject = "交易信号：买入 rb2405 @ 3650";
    msg.text = "信号：买入 rb2405 @ 3650\n策略：突破-15分钟\n";
    msg.html = "<p>信号：<b>买入</b> rb2405 @ 3650</p>\n";
    msg.attachments = &att;
    msg.attachment_count = 1;

    if (strcmp(mode, "capem") == 0 || strcmp(mode, "cadir") == 0) {
        /* The other two trust-anchor forms: the CA as PEM in memory (hosts
           without a file system), and a directory holding it. */
        static char pem[16384], dir[1024];
        FILE *f = fopen(argv[3], "rb");
        size_t n = f ? fread(pem, 1, sizeof pem - 1, f) : 0;
        char *slash;
        if (f) fclose(f);
        check(n > 0, "read the CA file", argv[3]);
        pem[n] = '\0';
        cfg.ca_file = NULL;
        if (mode[2] == 'p') {
            cfg.ca_pem = pem;
        } else {
            snprintf(dir, sizeof dir, "%s", argv[3]);
            slash = strrchr(dir, '/');
            if (slash) *slash = '\0';
            cfg.ca_dir = dir;
        }
        r = smtpmail_send(&cfg, &msg, &err);
        snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
        check(r == SMTPMAIL_OK, mode[2] == 'p' ? "delivered, trusting config.ca_pem"
                                               : "delivered, trusting config.ca_dir", why);
    } else if (strcmp(mode, "one") == 0 || strcmp(mode, "login") == 0) {
        if (mode[0] == 'l') cfg.auth = SMTPMAIL_AUTH_LOGIN;
        r = smtpmail_send(&cfg, &msg, &err);
        snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
        check(r == SMTPMAIL_OK, "smtpmail_send returns SMTPMAIL_OK", why);
        snprintf(why, sizeof why, "%d replies, %d of them 250", replies.count, replies.ok);
        check(replies.count == 3 && replies.ok == 3, "on_recipient: 3 replies, all 250", why);
        check(strstr(transcript.text, mode[0] == 'l' ? "C: AUTH LOGIN" : "C: AUTH PLAIN") != NULL,
              "the transcript shows the AUTH command", transcript.text);
    } else if (strcmp(mode, "session") == 0) {
        smtpmail_session *s = NULL;
        int i;

        cfg.username = USER;    /* a session has no sender to default to */
        r = smtpmail_session_open(&cfg, &s, &err);
        snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
        check(r == SMTPMAIL_OK && s != NULL, "smtpmail_session_open", why);
        for (i = 0; i < 3 && r == SMTPMAIL_OK; i++) {
            msg.subject = subjects[i];
            r = smtpmail_session_send(s, &msg, &err);
            snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
            check(r == SMTPMAIL_OK, subjects[i], why);
        }
        smtpmail_session_close(s);
        snprintf(why, sizeof why, "%d replies, %d of them 250", replies.count, replies.ok);
        check(replies.count == 9 && replies.ok == 9, "on_recipient: 9 replies, all 250", why);
        check(count_lines(transcript.text, "C: AUTH") == 1, "one AUTH for three messages",
              transcript.text);
        check(count_lines(transcript.text, "C: MAIL FROM:") == 3, "three MAIL FROM",
              transcript.text);
    } else if (strcmp(mode, "badpass") == 0) {
        r = smtpmail_send(&cfg, &msg, &err);
        snprintf(why, sizeof why, "%s (%s), stage %s, reply %d: %s", smtpmail_result_str(r),
                 smtpmail_result_str(err.result), smtpmail_stage_str(err.stage),
                 err.reply_code, err.message);
        check(r == SMTPMAIL_ERR_AUTH && err.result == SMTPMAIL_ERR_AUTH,
              "SMTPMAIL_ERR_AUTH", why);
        check(err.stage == SMTPMAIL_STAGE_AUTH, "err.stage is SMTPMAIL_STAGE_AUTH", why);
        check(err.reply_code == 535, "err.reply_code is 535", why);
        check(replies.count == 0, "no RCPT after a refused login", "on_recipient was called");
        check_no_secret("err.server_text without the password", err.server_text, pass);
    } else if (strcmp(mode, "recover") == 0) {
        smtpmail_session *s = NULL;
        smtpmail_attachment big = {0};
        size_t left = 25u * 1000 * 1000;

        big.read = read_pattern;
        big.read_user_data = &left;
        big.filename = "big.bin";
        cfg.username = USER;
        r = smtpmail_session_open(&cfg, &s, &err);
        snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
        check(r == SMTPMAIL_OK, "smtpmail_session_open", why);
        if (r == SMTPMAIL_OK) {
            msg.attachments = &big;
            r = smtpmail_session_send(s, &msg, &err);
            snprintf(why, sizeof why, "%s, stage %s, reply %d: %s", smtpmail_result_str(r),
                     smtpmail_stage_str(err.stage), err.reply_code, err.message);
            check(r == SMTPMAIL_ERR_PERMANENT && err.stage == SMTPMAIL_STAGE_END_OF_DATA &&
                  err.reply_code == 552, "too big: 552 after the final dot", why);
            msg.attachments = &att;
            msg.subject = "after 552";
            r = smtpmail_session_send(s, &msg, &err);
            snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
            check(r == SMTPMAIL_OK, "the same session sends the next message", why);
        }
        smtpmail_session_close(s);
    } else if (strcmp(mode, "raw") == 0) {
        static const char *const rcpt[3] = {"trader@example.com", "risk@example.com", "boss@example.com"};
        static const char bare_lf[] = "Subject: x\r\n\r\nbare\nLF\r\n";
        smtpmail_envelope env = {USER, rcpt, 3};
        smtpmail_session *s = NULL;
        size_t len = 0;
        char *eml = NULL;
        r = smtpmail_message_render(&msg, NULL, NULL, 0, &len, &err);
        check(r == SMTPMAIL_ERR_BUFFER_TOO_SMALL && len > 0, "smtpmail_message_render measures", err.message);
        if (len > 0 && (eml = malloc(len + 1)) != NULL)
            r = smtpmail_message_render(&msg, NULL, eml, len + 1, &len, &err);
        check(eml && r == SMTPMAIL_OK, "smtpmail_message_render", err.message);
        cfg.username = USER;
        r = smtpmail_session_open(&cfg, &s, &err);
        check(r == SMTPMAIL_OK, "smtpmail_session_open", err.message);
        if (r == SMTPMAIL_OK && eml) {
            r = smtpmail_session_send_raw(s, &env, bare_lf, sizeof bare_lf - 1, &err);
            snprintf(why, sizeof why, "%s, field %s: %s", smtpmail_result_str(r), err.field, err.message);
            check(r == SMTPMAIL_ERR_BAD_FIELD && strcmp(err.field, "data") == 0,
                  "a bare LF: SMTPMAIL_ERR_BAD_FIELD, field data", why);
            check(count_lines(transcript.text, "C: MAIL FROM:") == 0, "nothing sent for it", transcript.text);
            r = smtpmail_session_send_raw(s, &env, eml, len, &err);
            snprintf(why, sizeof why, "%s: %s", smtpmail_result_str(r), err.message);
            check(r == SMTPMAIL_OK, "smtpmail_session_send_raw returns SMTPMAIL_OK", why);
            snprintf(why, sizeof why, "%d replies, %d of them 250", replies.count, replies.ok);
            check(replies.count == 3 && replies.ok == 3, "on_recipient: 3 replies, all 250", why);
        }
        smtpmail_session_close(s);
        free(eml);
    } else {
        fprintf(stderr, "real_send: unknown mode %s\n", mode);
        return 2;
    }
    check(!transcript.overflow && strstr(transcript.text, "<redacted>") != NULL,
          "the transcript has the AUTH payload as <redacted>", transcript.text);
    check_no_secret("the transcript without the password", transcript.text, pass);
    check_no_secret("err.message without the password", err.message, pass);
    return g_failed ? 1 : 0;
}
