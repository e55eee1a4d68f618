/* tests/test_smtp.c - the SMTP engine of smtpmail.h against a scripted server.

   Plain C99. The server is tests/fake_smtp.h behind the public transport
   hook (config.transport): scripts of steps (the command line the client
   must send, exactly or by prefix, and the reply or fault to give), named
   here from their pieces (OPEN, AUTH_PLAIN_OK, TX_BDAT, ...), or a
   responder for runs whose path varies. It records every byte, every
   send() and every wait; the round trips each dialogue may cost are in one
   block (>>rounds) below. hooks.alloc/free can be a counting allocator
   that fails the N-th call and searches each freed block for the
   credentials.

   It includes the implementation, so a few tests call private smtpmail__
   functions (URL parsing, presets). Expected values come from RFC 5321/4954
   and hand-written scripts; the one library output used as a reference is
   smtpmail_message_render with the same fixed hooks, for "the server stored
   exactly the message the builder makes".

   Usage: test_smtp [substring]   runs only the tests whose name contains it.
   The last line is "N passed, M failed" (tests); exit status 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

#include "check.h"

/* A result code, printed by name when it is not the one wanted. */
static int check_res_(smtpmail_result got, smtpmail_result want, const smtpmail_error *err,
                      const char *expr, const char *file, int line)
{
    int ok = got == want;
    if (!check_(ok, expr, file, line) && g_printed <= 30) {
        printf("    note: got %s (%d), want %s (%d)\n", smtpmail_result_str(got), (int)got,
               smtpmail_result_str(want), (int)want);
        if (err && got != SMTPMAIL_OK) note("err.message", err->message);
    }
    return ok;
}
#define CHECK_RES(got, want, err) \
    check_res_((got), (want), (err), #got " == " #want, __FILE__, __LINE__)

/* >>helpers --------------------------------------------------------------- */

/* Base64 (RFC 4648), written here so that the AUTH lines are checked by a
   decoder that is not the library's. */
static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const void *src, size_t n, buf *out)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t i;
    buf_clear(out);
    for (i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16;
        char q[4];
        if (i + 1 < n) v |= (unsigned long)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        q[0] = k_b64[(v >> 18) & 63];
        q[1] = k_b64[(v >> 12) & 63];
        q[2] = i + 1 < n ? k_b64[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? k_b64[v & 63] : '=';
        buf_put(out, q, 4);
    }
}

/* Returns 0 and the bytes in out, or -1 for anything that is not base64. */
static int b64_decode(const char *s, buf *out)
{
    size_t n = strlen(s), i, k;
    buf_clear(out);
    if (n % 4) return -1;
    for (i = 0; i < n; i += 4) {
        unsigned long v = 0;
        int pad = 0;
        unsigned char b[3];
        for (k = 0; k < 4; k++) {
            const char *c = s[i + k] ? strchr(k_b64, s[i + k]) : NULL;
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (!c || pad) return -1;
            v = (v << 6) | (unsigned long)(c - k_b64);
        }
        b[0] = (unsigned char)(v >> 16);
        b[1] = (unsigned char)(v >> 8);
        b[2] = (unsigned char)v;
        buf_put(out, b, (size_t)(3 - pad));
    }
    return 0;
}

/* >>fake: tests/fake_smtp.h, in this file's words ------------------------- */

#include "fake_smtp.h"

static int contains(const buf *b, const char *needle) { return fake_find(b->data, b->len, needle) >= 0; }

/* Replies used by the scripts. */
#define GREET FAKE_GREET
#define OK FAKE_OK
#define AUTH_OK FAKE_AUTH_OK
#define GO FAKE_GO
#define QUEUED FAKE_QUEUED
#define BYE FAKE_BYE
#define EHLO_ALL                                                                          \
    FAKE_EHLO_REPLY(FAKE_CAP("PIPELINING") FAKE_CAP("CHUNKING") FAKE_CAP("SIZE 10240000") \
                        FAKE_CAP("8BITMIME") FAKE_CAP("ENHANCEDSTATUSCODES"))
#define EHLO_PIPE \
    FAKE_EHLO_REPLY(FAKE_CAP("PIPELINING") FAKE_CAP("SIZE 10240000") FAKE_CAP("ENHANCEDSTATUSCODES"))
#define EHLO_BARE FAKE_EHLO_REPLY("")
#define EHLO_CHUNK FAKE_EHLO_REPLY(FAKE_CAP("CHUNKING"))
#define R421 "421 4.3.2 mx.test service shutting down\r\n"
#define GARBAGE "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"
/* What a server answers to the rest of a pipelined batch after a refusal. */
#define NEED_MAIL "503 5.5.1 Error: need MAIL command\r\n"
#define NEED_RCPT "503 5.5.1 Error: need RCPT command\r\n"
#define NO_VALID_RCPT "554 5.5.1 Error: no valid recipients\r\n"

/* The pieces the scripts are made of: client.test connects, logs in with
   AUTH PLAIN, and bot@example.com writes to trader@example.com. MAIL_SIZED
   is the MAIL line that must carry SIZE=; MAIL_ANY may or may not. */
#define OPEN(ehlo) FAKE_OPEN("client.test", ehlo)
#define AUTH_PLAIN_OK {"AUTH PLAIN *", AUTH_OK}
#define MAIL_ANY "MAIL FROM:<bot@example.com>*"
#define MAIL_SIZED "MAIL FROM:<bot@example.com> SIZE=*"
#define RCPT_TRADER "RCPT TO:<trader@example.com>"
#define TX_BDAT FAKE_TX_BDAT(MAIL_ANY, RCPT_TRADER)
#define TX_BDAT_SIZED FAKE_TX_BDAT(MAIL_SIZED, RCPT_TRADER)
#define TX_DATA FAKE_TX_DATA(MAIL_ANY, RCPT_TRADER)
#define TX_DATA_SIZED FAKE_TX_DATA(MAIL_SIZED, RCPT_TRADER)
#define QUIT_BYE FAKE_QUIT
/* One transaction in which the server says its own words. */
#define TX_BDAT_SAYS(mail, r_mail, r_rcpt, r_bdat) {mail, r_mail}, {RCPT_TRADER, r_rcpt}, {"BDAT *", r_bdat}
#define TX_DATA_SAYS(r_go, r_end) {MAIL_ANY, OK}, {RCPT_TRADER, OK}, {"DATA", r_go}, {FAKE_BODY, r_end}

/* >>rounds: the round trips each dialogue costs, as fake_rounds() writes
   them: the engine's batching rules (RFC 2920 PIPELINING, RFC 3030
   CHUNKING) in one place. `rcpts` is "RCPT", "RCPT*2", ... */
#define RT_OPEN "connect, greeting, EHLO"
#define RT_OPEN_AUTH RT_OPEN ", AUTH"
/* PIPELINING + CHUNKING, one recipient or allow_partial_recipients: the
   envelope, BDAT LAST with the data and QUIT in one batch. */
#define RT_BDAT_BATCH(rcpts) "MAIL " rcpts " BDAT QUIT"
/* ... several recipients under the strict rule: every RCPT reply first. */
#define RT_BDAT_STRICT(rcpts) "MAIL " rcpts ", BDAT QUIT"
/* PIPELINING without CHUNKING: the envelope with DATA, then the data, "."
   and QUIT together. */
#define RT_DATA_BATCH(rcpts) "MAIL " rcpts " DATA, . QUIT"
#define RT_DATA_STRICT(rcpts) "MAIL " rcpts ", DATA, . QUIT"
/* No PIPELINING: one wait per command; QUIT's 221 is not waited for. */
#define RT_LOCKSTEP_DATA(rcpt_rounds) "MAIL, " rcpt_rounds ", DATA, . then QUIT"
#define RT_LOCKSTEP_BDAT "MAIL, RCPT, BDAT then QUIT"
/* A transaction inside a session (no QUIT); refused at MAIL, then RSET. */
#define RT_SESSION_TX "MAIL RCPT BDAT"
#define RT_SESSION_TX_RSET RT_SESSION_TX ", RSET"
/* The waits before any command: connect and greeting. */
#define WAITS_BEFORE_EHLO 2
/* The client's send() calls (1-based) in a lockstep DATA dialogue with
   AUTH: one per command; a rendered message with no line to stuff goes
   in one write with its "." */
enum { WRITE_EHLO = 1, WRITE_AUTH, WRITE_MAIL, WRITE_RCPT, WRITE_DATA, WRITE_MESSAGE_AND_DOT };
/* Pipelined, with more RCPTs than the command buffer holds: EHLO, MAIL and
   the RCPTs that filled the buffer, then the next buffer full. */
#define WRITE_SECOND_RCPT_BUFFER 3
/* The message as the builder renders it with the fake's fixed hooks. */
static void expected_message(const fake *f, const smtpmail_message *m, buf *out)
{
    smtpmail_error err;
    buf_clear(out);
    if (smtpmail_message_write(m, &f->hooks, buf_write, out, &err) != SMTPMAIL_OK) {
        printf("    note: the reference render failed: %s\n", err.message);
        buf_clear(out);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const smtpmail_address k_cc[1] = {{"Risk", "risk@example.net"}};
static const smtpmail_address k_bcc[1] = {{"Audit", "audit@example.com"}};

/* smtpmail_send through the fake, err filled with a pattern first. */
static smtpmail_result fake_send_msg(fake *f, const smtpmail_message *m, smtpmail_error *err)
{
    memset(err, 0x5A, sizeof *err);
    return smtpmail_send(&f->cfg, m, err);
}

/* >>tests ----------------------------------------------------------------- */

/* 1. PIPELINING + CHUNKING + AUTH PLAIN, To + Cc + Bcc. With
   allow_partial_recipients the envelope, BDAT LAST and the message go in
   one batch: connect, greeting, EHLO, AUTH, batch. Under the default strict
   rule (documented: "with several recipients the data then waits for every
   RCPT reply: one more round trip") BDAT follows the RCPT replies. */
static void test_chunking_one_round_trip(void)
{
    static const step script[] = {
        OPEN(EHLO_ALL),
        AUTH_PLAIN_OK,
        {MAIL_SIZED, "250 2.1.0 sender ok\r\n"},
        {RCPT_TRADER, "250 2.1.5 ok\r\n"},
        {"RCPT TO:<risk@example.net>", "250 2.1.5 ok\r\n"},
        {"RCPT TO:<audit@example.com>", "250 2.1.5 ok\r\n"},
        {"BDAT *", QUEUED},
        QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    buf want = {0}, line = {0}, dec = {0}, b64 = {0}, cmds = {0};
    char tmp[160];
    long mail_at, rcpt_at, bdat_at, quit_at;
    int partial;

    m.cc = k_cc, m.cc_count = 1;
    m.bcc = k_bcc, m.bcc_count = 1;
    for (partial = 1; partial >= 0; partial--) {
        int before = g_failed;
        fake_init(&f, script, N(script));
        f.cfg.username = "user";
        f.cfg.password = "pass";
        f.cfg.allow_partial_recipients = partial;
        expected_message(&f, &m, &want);
        r = fake_send_msg(&f, &m, &err);
        CHECK_RES(r, SMTPMAIL_OK, &err);
        CHECK(fake_done(&f));
        CHECK((unsigned char)err.message[0] == 0x5A); /* untouched on success */

        /* AUTH PLAIN with its initial response: authzid NUL authcid NUL passwd. */
        CHECK(fake_cmd_line(&f, 1, &line));
        CHECK(strncmp(line.data, "AUTH PLAIN ", 11) == 0);
        CHECK(b64_decode(line.data + 11, &dec) == 0);
        CHECK(dec.len == 10 && memcmp(dec.data, "\0user\0pass", 10) == 0);
        b64_encode("\0user\0pass", 10, &b64);
        CHECK_STR(b64.data, "AHVzZXIAcGFzcw==");

        /* The exact command sequence; SIZE and BDAT name the real length. */
        CHECK(want.len > 0);
        buf_clear(&cmds);
        snprintf(tmp, sizeof tmp,
                 "EHLO client.test\nAUTH PLAIN %s\nMAIL FROM:<bot@example.com> SIZE=%lu\n", b64.data,
                 (unsigned long)want.len);
        buf_str(&cmds, tmp);
        buf_str(&cmds, "RCPT TO:<trader@example.com>\nRCPT TO:<risk@example.net>\n"
                       "RCPT TO:<audit@example.com>\n");
        snprintf(tmp, sizeof tmp, "BDAT %lu LAST\nQUIT\n", (unsigned long)want.len);
        buf_str(&cmds, tmp);
        CHECK_STR(f.cmds.data, cmds.data);

        /* The server stored exactly the builder's message, without Bcc. */
        CHECK_INT(f.n_msgs, 1);
        CHECK_INT(f.msgs[0].len, want.len);
        CHECK_STR(f.msgs[0].data, want.data);
        CHECK(!contains(&f.msgs[0], "\r\nBcc:") && !contains(&f.msgs[0], "audit@example.com"));
        CHECK(contains(&f.msgs[0], "\r\nCc: Risk <risk@example.net>\r\n"));

        mail_at = fake_find(f.sent.data, f.sent.len, "MAIL FROM:");
        rcpt_at = fake_find(f.sent.data, f.sent.len, "RCPT TO:<audit");
        bdat_at = fake_find(f.sent.data, f.sent.len, "BDAT ");
        quit_at = fake_find(f.sent.data, f.sent.len, "QUIT\r\n");
        CHECK(mail_at > 0 && rcpt_at > mail_at && bdat_at > rcpt_at && quit_at > bdat_at);
        /* The data follows "BDAT n LAST" CRLF, exactly n bytes, then QUIT. */
        CHECK(fake_find(f.sent.data + bdat_at, f.sent.len - (size_t)bdat_at, "\r\n") + bdat_at + 2 +
                  (long)want.len == quit_at);
        CHECK(quit_at + 6 == (long)f.sent.len);
        CHECK(fake_one_write(&f, "MAIL FROM:", "RCPT TO:<audit"));
        if (partial) {
            /* MAIL .. BDAT in one send, the data and QUIT right after, all
               before any reply is waited for; the 221 comes with the rest. */
            CHECK(fake_one_write(&f, "MAIL FROM:", "BDAT "));
            CHECK_ROUNDS(&f, RT_OPEN_AUTH ", " RT_BDAT_BATCH("RCPT*3"));
        } else {
            /* Every RCPT reply first, then BDAT + data + QUIT: one more. */
            CHECK_ROUNDS(&f, RT_OPEN_AUTH ", " RT_BDAT_STRICT("RCPT*3"));
        }
        CHECK_INT(f.connects, 1);
        CHECK_INT(f.closes, 1);
        CHECK_INT(f.after_quit, 0);
        CHECK_STR(f.host, "mx.test");
        CHECK_INT(f.port, 2525);
        CHECK_INT(f.connect_ms, 10000);
        CHECK(f.max_recv_ms <= 30000 && f.max_recv_ms > 0);

        /* on_recipient: every RCPT reply; the transcript, credentials redacted. */
        CHECK_STR(f.rcpts.data, "trader@example.com 250 ok\nrisk@example.net 250 ok\n"
                                "audit@example.com 250 ok\n");
        CHECK(contains(&f.log, "C: EHLO client.test\n"));
        CHECK(contains(&f.log, "S: 220 mx.test ESMTP ready\n"));
        CHECK(contains(&f.log, "S: 250 AUTH PLAIN LOGIN\n"));
        CHECK(contains(&f.log, "C: AUTH PLAIN <redacted>\n"));
        CHECK(!contains(&f.log, b64.data) && !contains(&f.log, "pass"));
        /* QUIT went out; its 221 is never waited for. */
        CHECK(contains(&f.log, "C: QUIT\n"));
        if (g_failed != before) printf("    (%s)\n", partial ? "allow_partial_recipients" : "strict");
        fake_free(&f);
    }
    buf_free(&want), buf_free(&line), buf_free(&dec), buf_free(&b64), buf_free(&cmds);
}

/* One recipient under the default rule: nothing to wait for, so the batch
   carries the data (the floor: connect, greeting, EHLO, AUTH, batch). */
static void test_chunking_one_recipient_one_batch(void)
{
    static const step script[] = {OPEN(EHLO_ALL), AUTH_PLAIN_OK, TX_BDAT_SIZED, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf want = {0};
    long mail_at, bdat_at;
    fake_init(&f, script, N(script));
    f.cfg.username = "user";
    f.cfg.password = "pass";
    expected_message(&f, &m, &want);
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    mail_at = fake_find(f.sent.data, f.sent.len, "MAIL FROM:");
    bdat_at = fake_find(f.sent.data, f.sent.len, "BDAT ");
    CHECK(mail_at > 0 && bdat_at > mail_at);
    CHECK(fake_one_write(&f, "MAIL FROM:", "BDAT "));
    CHECK_ROUNDS(&f, RT_OPEN_AUTH ", " RT_BDAT_BATCH("RCPT"));
    CHECK_INT(f.n_msgs, 1);
    CHECK_STR(f.msgs[0].data, want.data);
    buf_free(&want);
    fake_free(&f);
}

/* A 7bit text whose lines start with '.', so that DATA must stuff them. */
static const char k_dotted[] = ".hidden line\n..two dots\n.\nmiddle\n. space\nend.\n";

/* 2. PIPELINING without CHUNKING: MAIL, RCPT, DATA in one batch, then the
   message dot-stuffed, "." and QUIT together. */
static void test_pipelining_data_dot_stuffing(void)
{
    static const step script[] = {OPEN(EHLO_PIPE), TX_DATA_SIZED, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    buf want = {0};
    long mail_at, data_at, end_at;

    m.text = k_dotted;
    fake_init(&f, script, N(script));
    expected_message(&f, &m, &want);
    /* The builder keeps this text 7bit, so lines really start with '.'. */
    CHECK(contains(&want, "Content-Transfer-Encoding: 7bit\r\n"));
    CHECK(contains(&want, "\r\n\r\n.hidden line\r\n..two dots\r\n.\r\nmiddle\r\n. space\r\n"));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 1);
    CHECK_STR(f.msgs[0].data, want.data);
    /* On the wire every one of those lines got one more dot. */
    CHECK(fake_find(f.sent.data, f.sent.len, "\r\n..hidden line\r\n...two dots\r\n..\r\nmiddle\r\n.. space\r\nend.\r\n") > 0);
    mail_at = fake_find(f.sent.data, f.sent.len, "MAIL FROM:");
    data_at = fake_find(f.sent.data, f.sent.len, "DATA\r\n");
    end_at = fake_find(f.sent.data, f.sent.len, "\r\n.\r\nQUIT\r\n");
    CHECK(mail_at > 0 && data_at > mail_at && end_at > data_at);
    CHECK(fake_one_write(&f, "MAIL FROM:", "DATA\r\n"));
    CHECK(end_at + 11 == (long)f.sent.len);
    CHECK(fake_write_of(&f, end_at + 2) == fake_write_of(&f, end_at + 5)); /* "." and QUIT together */
    /* connect, greeting, EHLO, MAIL+RCPT+DATA, message+QUIT. */
    CHECK_ROUNDS(&f, RT_OPEN ", " RT_DATA_BATCH("RCPT"));
    CHECK(contains(&f.log, "C: <message>\n"));
    CHECK_INT(f.after_quit, 0);
    buf_free(&want);
    fake_free(&f);
}

/* Two recipients under the default (strict) rule: the RCPT replies are all
   read before DATA (one more round trip); with allow_partial_recipients
   DATA rides in the batch. */
static void test_pipelining_two_recipients_strict_waits_for_rcpt_replies(void)
{
    static const step strict[] = {
        OPEN(EHLO_PIPE),  {MAIL_ANY, OK}, {RCPT_TRADER, OK}, {"RCPT TO:<desk@example.org>", OK},
        {"DATA", GO},     {FAKE_BODY, QUEUED}, QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    int partial;
    m.to_count = 2;
    for (partial = 0; partial < 2; partial++) {
        fake_init(&f, strict, N(strict));
        f.cfg.allow_partial_recipients = partial;
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
        CHECK(fake_done(&f));
        CHECK_INT(f.n_msgs, 1);
        if (partial) CHECK_ROUNDS(&f, RT_OPEN ", " RT_DATA_BATCH("RCPT*2"));
        else CHECK_ROUNDS(&f, RT_OPEN ", " RT_DATA_STRICT("RCPT*2"));
        CHECK(fake_one_write(&f, "MAIL", "RCPT TO:<desk"));
        fake_free(&f);
    }
}

/* A message bigger than SMTPMAIL_SEND_BUFFER streams after DATA (even with
   CHUNKING offered), dot-stuffed across buffer boundaries, without SIZE=. */
static void test_streamed_message_dot_stuffing(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_DATA, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf text = {0}, want = {0};
    char line[80];
    int i;
    for (i = 0; i < 2000; i++) {
        snprintf(line, sizeof line, "%s%04d %s\n", i % 3 == 0 ? "." : i % 3 == 1 ? ".." : "", i,
                 "the quick brown fox");
        buf_str(&text, line);
    }
    m.text = text.data;
    fake_init(&f, script, N(script));
    expected_message(&f, &m, &want);
    CHECK(want.len > SMTPMAIL_SEND_BUFFER);
    CHECK(contains(&want, "\r\n.0000 the quick"));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK(!fake_sent_cmd(&f, "MAIL FROM:<bot@example.com> SIZE=")); /* size unknown */
    CHECK(!fake_sent_cmd(&f, "BDAT"));
    CHECK_INT(f.n_msgs, 1);
    CHECK_INT(f.msgs[0].len, want.len);
    CHECK(f.msgs[0].data && want.data && strcmp(f.msgs[0].data, want.data) == 0);
    CHECK(fake_find(f.sent.data, f.sent.len, "\r\n...0001 the quick") > 0);
    buf_free(&text), buf_free(&want);
    fake_free(&f);
}

/* 3. No PIPELINING: every command waits for its reply. */
static void test_no_pipelining_one_wait_per_command(void)
{
    static const step data_script[] = {
        OPEN(EHLO_BARE), AUTH_PLAIN_OK, {MAIL_ANY, OK}, {RCPT_TRADER, OK},
        {"RCPT TO:<desk@example.org>", OK}, {"DATA", GO}, {FAKE_BODY, QUEUED}, QUIT_BYE,
    };
    static const step bdat_script[] = {OPEN(EHLO_CHUNK), TX_BDAT, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf want = {0}, line = {0};
    char tmp[64];

    m.to_count = 2;
    fake_init(&f, data_script, N(data_script));
    f.cfg.username = "user";
    f.cfg.password = "pass";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    /* connect + greeting + 7 replies (EHLO AUTH MAIL RCPT RCPT DATA .); QUIT
       is sent, but its 221 is not waited for. */
    CHECK_ROUNDS(&f, RT_OPEN_AUTH ", " RT_LOCKSTEP_DATA("RCPT, RCPT"));
    CHECK(f.quit_seen);
    /* Each wait came right after a whole command: nothing was queued ahead. */
    CHECK(fake_waits_after_whole_lines(&f, WAITS_BEFORE_EHLO));
    CHECK_INT(f.n_msgs, 1);
    CHECK(f.max_recv_ms <= 30000);
    /* After QUIT, at most a poll that never waits. */
    CHECK_INT(f.last_recv_ms, 0);
    fake_free(&f);

    /* CHUNKING without PIPELINING: BDAT LAST with the data, then QUIT. */
    m.to_count = 1;
    fake_init(&f, bdat_script, N(bdat_script));
    expected_message(&f, &m, &want);
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK_ROUNDS(&f, RT_OPEN ", " RT_LOCKSTEP_BDAT);
    CHECK(fake_cmd_line(&f, 3, &line));
    snprintf(tmp, sizeof tmp, "BDAT %lu LAST", (unsigned long)want.len);
    CHECK_STR(line.data, tmp);
    CHECK_INT(f.n_msgs, 1);
    CHECK_STR(f.msgs[0].data, want.data);
    buf_free(&want), buf_free(&line);
    fake_free(&f);
}

/* 4. Two recipients in a pipelined batch, the second refused. */
static void test_refused_recipient_fails_strict_and_passes_partial(void)
{
    static const step strict[] = {
        OPEN(EHLO_ALL),
        {MAIL_SIZED, OK},
        {RCPT_TRADER, "250 2.1.5 ok\r\n"},
        {"RCPT TO:<*", "550 5.1.1 <nobody>: Recipient address rejected: User unknown\r\n"},
        {"RSET", OK},
        QUIT_BYE,
    };
    static const step partial[] = {
        OPEN(EHLO_ALL),
        {MAIL_SIZED, OK},
        {RCPT_TRADER, "250 2.1.5 ok\r\n"},
        {"RCPT TO:<desk@example.org>", "550 5.1.1 User unknown\r\n"},
        {"BDAT *", QUEUED},
        QUIT_BYE,
    };
    /* The refused one is to[1], cc[0] or bcc[0]. */
    static const char *const fields[3] = {"message.to[1].addr", "message.cc[0].addr",
                                          "message.bcc[0].addr"};
    static const char *const addrs[3] = {"desk@example.org", "risk@example.net",
                                         "audit@example.com"};
    fake f;
    smtpmail_message m;
    smtpmail_error err;
    smtpmail_result r;
    int k;
    for (k = 0; k < 3; k++) {
        m = base_msg();
        if (k == 0) m.to_count = 2;
        if (k == 1) m.cc = k_cc, m.cc_count = 1;
        if (k == 2) m.bcc = k_bcc, m.bcc_count = 1;
        fake_init(&f, strict, N(strict));
        r = fake_send_msg(&f, &m, &err);
        CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
        CHECK_INT(err.result, SMTPMAIL_ERR_PERMANENT);
        CHECK_INT(err.stage, SMTPMAIL_STAGE_RCPT);
        CHECK_INT(err.reply_code, 550);
        CHECK_STR(err.enhanced, "5.1.1");
        CHECK_STR(err.field, fields[k]);
        CHECK(strstr(err.message, addrs[k]) != NULL);
        CHECK(strstr(err.server_text, "User unknown") != NULL);
        CHECK(!smtpmail_result_is_temporary(r));
        CHECK(fake_done(&f));
        CHECK(!fake_sent_cmd(&f, "DATA") && !fake_sent_cmd(&f, "BDAT"));
        CHECK(fake_find(f.sent.data, f.sent.len, "Subject:") < 0); /* no message byte went out */
        CHECK(fake_sent_cmd(&f, "RSET"));
        CHECK_INT(f.n_msgs, 0);
        fake_free(&f);
    }

    /* allow_partial_recipients: the batch carries the data, one wait. */
    m = base_msg();
    m.to_count = 2;
    fake_init(&f, partial, N(partial));
    f.cfg.allow_partial_recipients = 1;
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 1);
    CHECK_STR(f.rcpts.data, "trader@example.com 250 ok\ndesk@example.org 550 User unknown\n");
    CHECK_ROUNDS(&f, RT_OPEN ", " RT_BDAT_BATCH("RCPT*2"));
    fake_free(&f);
}

/* 5. One recipient, refused, in a CHUNKING batch: the data went along, the
   server refused it (RFC 3030: no valid recipients), the result says RCPT. */
static void test_all_recipients_refused_chunking_reports_rcpt(void)
{
    static const step script[] = {
        OPEN(EHLO_ALL),
        TX_BDAT_SAYS(MAIL_SIZED, OK, "550 5.1.1 User unknown\r\n", NO_VALID_RCPT),
        {"QUIT", BYE FAKE_THEN_CLOSE}, /* the server hangs up after 221, as servers do */
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    fake_init(&f, script, N(script));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_RCPT);
    CHECK_INT(err.reply_code, 550);
    CHECK_STR(err.enhanced, "5.1.1");
    CHECK_STR(err.field, "message.to[0].addr");
    CHECK_INT(f.n_msgs, 0);
    CHECK(fake_followed(&f));
    CHECK_STR(f.rcpts.data, "trader@example.com 550 User unknown\n");
    fake_free(&f);
}

/* After QUIT the client says nothing more (RFC 5321 4.1.1.10: QUIT ends
   the session). A failed pipelined one-shot batch already carries QUIT. */
static void test_no_command_after_quit(void)
{
    static const step refused[] = {
        OPEN(EHLO_ALL),
        TX_BDAT_SAYS(MAIL_SIZED, OK, "550 5.1.1 User unknown\r\n", NO_VALID_RCPT),
        QUIT_BYE,
    };
    static const step mail_4xx[] = {
        OPEN(EHLO_ALL),
        TX_BDAT_SAYS(MAIL_SIZED, "451 4.3.0 try again later\r\n", "503 5.5.1 need MAIL first\r\n",
                     "503 5.5.1 need RCPT first\r\n"),
        QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;

    fake_init(&f, refused, N(refused));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(f.after_quit, 0);
    if (f.after_quit) note("commands", f.cmds.data);
    CHECK(fake_done(&f));
    fake_free(&f);

    fake_init(&f, mail_4xx, N(mail_4xx));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_TEMPORARY, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_MAIL);
    CHECK_INT(err.reply_code, 451);
    CHECK_INT(f.after_quit, 0);
    if (f.after_quit) note("commands", f.cmds.data);
    CHECK(fake_done(&f));
    fake_free(&f);
}

/* 6. 4xx is temporary, 5xx permanent, at every stage that can say so. */
static void test_reply_4xx_is_temporary_and_5xx_permanent(void)
{
    static const step mail_451[] = {
        OPEN(EHLO_BARE),
        {MAIL_ANY, "451 4.7.1 greylisted, try again in 5 minutes\r\n"},
        {"RSET", OK},
        QUIT_BYE,
    };
    static const step greet_421[] = {{FAKE_CONNECT, "421 4.3.2 mx.test too busy\r\n"}};
    static const step greet_554[] = {{FAKE_CONNECT, "554 5.7.1 no SMTP service here\r\n"}};
    static const step data_554[] = {
        OPEN(EHLO_BARE), TX_DATA_SAYS(GO, "554 5.6.0 message content rejected\r\n"), QUIT_BYE};
    static const step data_452[] = {
        OPEN(EHLO_BARE), TX_DATA_SAYS(GO, "452 4.3.1 insufficient system storage\r\n"), QUIT_BYE};
    static const step bdat_552[] = {
        OPEN(EHLO_ALL), TX_BDAT_SAYS(MAIL_ANY, OK, OK, "552 5.3.4 message too big\r\n"), QUIT_BYE};
    static const step data_refused[] = {
        OPEN(EHLO_PIPE), {MAIL_ANY, OK}, {RCPT_TRADER, OK}, {"DATA", "554 5.5.1 no valid recipients\r\n"},
        {"RSET", OK},    QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;

    fake_init(&f, mail_451, N(mail_451));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_TEMPORARY, &err);
    CHECK(smtpmail_result_is_temporary(r));
    CHECK_INT(err.stage, SMTPMAIL_STAGE_MAIL);
    CHECK_INT(err.reply_code, 451);
    CHECK_STR(err.enhanced, "4.7.1");
    CHECK_STR(err.server_text, "greylisted, try again in 5 minutes");
    CHECK(strstr(err.message, "451") != NULL);
    CHECK(fake_done(&f));
    CHECK(!fake_sent_cmd(&f, "RCPT"));
    fake_free(&f);

    fake_init(&f, greet_421, N(greet_421));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_TEMPORARY, &err);
    CHECK(smtpmail_result_is_temporary(r));
    CHECK_INT(err.stage, SMTPMAIL_STAGE_GREETING);
    CHECK_INT(err.reply_code, 421);
    CHECK_STR(err.enhanced, "4.3.2");
    CHECK(!fake_sent_cmd(&f, "EHLO"));
    CHECK_INT(f.closes, 1);
    fake_free(&f);

    fake_init(&f, greet_554, N(greet_554));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
    CHECK(!smtpmail_result_is_temporary(r));
    CHECK_INT(err.stage, SMTPMAIL_STAGE_GREETING);
    CHECK_INT(err.reply_code, 554);
    CHECK(!fake_sent_cmd(&f, "EHLO"));
    fake_free(&f);

    fake_init(&f, data_554, N(data_554));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_END_OF_DATA);
    CHECK_INT(err.reply_code, 554);
    CHECK_STR(err.enhanced, "5.6.0");
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 0);
    fake_free(&f);

    fake_init(&f, data_452, N(data_452));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_TEMPORARY, &err);
    CHECK(smtpmail_result_is_temporary(r));
    CHECK_INT(err.stage, SMTPMAIL_STAGE_END_OF_DATA);
    CHECK_INT(err.reply_code, 452);
    CHECK_STR(err.enhanced, "4.3.1");
    CHECK(fake_done(&f));
    fake_free(&f);

    fake_init(&f, bdat_552, N(bdat_552));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_END_OF_DATA);
    CHECK_INT(err.reply_code, 552);
    CHECK(fake_done(&f));
    fake_free(&f);

    fake_init(&f, data_refused, N(data_refused));
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_DATA);
    CHECK_INT(err.reply_code, 554);
    CHECK(fake_done(&f));
    CHECK(fake_find(f.sent.data, f.sent.len, "Subject:") < 0);
    fake_free(&f);
}

/* 7. After 250 to the end of the data, nothing at QUIT changes success. */
static void test_success_survives_quit_trouble(void)
{
    static const step pipelined[] = {OPEN(EHLO_ALL), TX_BDAT, QUIT_BYE};
    static const step separate[] = {OPEN(EHLO_BARE), TX_DATA, QUIT_BYE};
    static const step junk_p[] = {OPEN(EHLO_ALL), TX_BDAT, {"QUIT", "HTTP/1.1 400 Bad Request\r\n\r\n"}};
    static const step junk_s[] = {OPEN(EHLO_BARE), TX_DATA, {"QUIT", "\x01\x02 garbage"}};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    int how, which;
    for (which = 0; which < 2; which++) {
        const step *s = which ? separate : pipelined;
        size_t n = which ? N(separate) : N(pipelined);
        for (how = 0; how < 4; how++) {
            int quit, end_of_message;
            if (how == 0) fake_init(&f, which ? junk_s : junk_p, n);
            else fake_init(&f, s, n);
            quit = fake_step_index(&f, "QUIT", 1);
            end_of_message = quit - 1;
            if (how == 1) fake_fault_at(&f, quit, FAULT_CLOSE);   /* closes without 221 */
            if (how == 2) fake_fault_at(&f, quit, FAULT_SILENCE); /* never answers */
            if (how == 3) fake_fault_at(&f, end_of_message, FAULT_THEN_CLOSE); /* right after the 250 */
            CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
            CHECK_INT(f.n_msgs, 1);
            CHECK_INT(f.closes, 1);
            /* A QUIT on its own is not waited for: a poll at most. */
            if (which) CHECK_INT(f.last_recv_ms, 0);
            if (g_failed) printf("    (QUIT case %d, %s)\n", how, which ? "separate" : "pipelined");
            fake_free(&f);
        }
    }
}

/* 8. AUTH: refused credentials, LOGIN, XOAUTH2, nothing in common. */
static void test_auth_refused_hides_password(void)
{
    static const step script[] = {
        OPEN(EHLO_ALL), {"AUTH PLAIN *", "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\r\n"}};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    buf b64 = {0}, b64pw = {0};
    const char *pw = "Tr0ub4dor&3";
    fake_init(&f, script, N(script));
    f.cfg.username = "bot@example.com";
    f.cfg.password = pw;
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_AUTH, &err);
    CHECK(!smtpmail_result_is_temporary(r));
    CHECK_INT(err.stage, SMTPMAIL_STAGE_AUTH);
    CHECK_INT(err.reply_code, 535);
    CHECK_STR(err.enhanced, "5.7.8");
    CHECK(!fake_sent_cmd(&f, "MAIL"));
    CHECK(fake_followed(&f));
    b64_encode("\0bot@example.com\0Tr0ub4dor&3", 28, &b64);
    b64_encode(pw, strlen(pw), &b64pw);
    CHECK(fake_find(f.sent.data, f.sent.len, b64.data) > 0); /* it did go to the server */
    CHECK(strstr(err.message, pw) == NULL && strstr(err.message, b64.data) == NULL &&
          strstr(err.message, b64pw.data) == NULL);
    CHECK(strstr(err.server_text, pw) == NULL);
    CHECK(!contains(&f.log, pw) && !contains(&f.log, b64.data) && !contains(&f.log, b64pw.data));
    CHECK(contains(&f.log, "C: AUTH PLAIN <redacted>\n"));
    /* The masking of echoed credentials leaves the server's words readable. */
    CHECK(strstr(err.message, "authentication failed") != NULL);
    buf_free(&b64), buf_free(&b64pw);
    fake_free(&f);
}

static void test_auth_login_sends_user_and_password_in_base64(void)
{
    static const step script[] = {
        OPEN("250-mx.test\r\n250-PIPELINING\r\n250 AUTH LOGIN\r\n"),
        {"AUTH LOGIN", "334 VXNlcm5hbWU6\r\n"},
        {"*", "334 UGFzc3dvcmQ6\r\n"},
        {"*", AUTH_OK},
        TX_DATA,
        QUIT_BYE,
    };
    static const step refused[] = {
        OPEN("250-mx.test\r\n250 AUTH LOGIN\r\n"),
        {"AUTH LOGIN", "334 VXNlcm5hbWU6\r\n"},
        {"*", "334 UGFzc3dvcmQ6\r\n"},
        {"*", "535 5.7.8 authentication failed\r\n"},
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf line = {0}, dec = {0};
    fake_init(&f, script, N(script));
    f.cfg.username = "user@example.com";
    f.cfg.password = "s3cret:pw";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK(fake_cmd_line(&f, 1, &line));
    CHECK_STR(line.data, "AUTH LOGIN");
    CHECK(fake_cmd_line(&f, 2, &line) && b64_decode(line.data, &dec) == 0);
    CHECK_STR(dec.data, "user@example.com");
    CHECK(fake_cmd_line(&f, 3, &line) && b64_decode(line.data, &dec) == 0);
    CHECK_STR(dec.data, "s3cret:pw");
    CHECK(!contains(&f.log, "s3cret") && !contains(&f.log, line.data));
    CHECK_INT(f.n_msgs, 1);
    fake_free(&f);

    fake_init(&f, refused, N(refused));
    f.cfg.username = "user@example.com";
    f.cfg.password = "s3cret:pw";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_AUTH, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_AUTH);
    CHECK_INT(err.reply_code, 535);
    CHECK(fake_followed(&f));
    CHECK(strstr(err.message, "s3cret") == NULL);
    buf_free(&line), buf_free(&dec);
    fake_free(&f);
}

static void test_auth_xoauth2_sends_the_token_and_answers_334(void)
{
    static const step script[] = {
        OPEN(FAKE_EHLO_AS("smtp.gmail.test", FAKE_CAP("PIPELINING") FAKE_CAP("CHUNKING"),
                          "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER")),
        {"AUTH XOAUTH2 *", AUTH_OK},
        TX_BDAT,
        QUIT_BYE,
    };
    /* Google's failure form: a 334 with a base64 JSON error, answered with an
       empty line, then the final 535. */
    static const step refused[] = {
        OPEN("250-smtp.gmail.test\r\n250 AUTH XOAUTH2\r\n"),
        {"AUTH XOAUTH2 *", "334 eyJzdGF0dXMiOiI0MDAifQ==\r\n"},
        {"", "535 5.7.8 Username and Password not accepted\r\n"},
    };
    static const char want[] = "user=bot@example.com\001auth=Bearer ya29.a0AfH6SM\001\001";
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf line = {0}, dec = {0};

    fake_init(&f, script, N(script));
    f.cfg.oauth2_token = "ya29.a0AfH6SM"; /* the user defaults to the sender */
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK(fake_cmd_line(&f, 1, &line));
    CHECK(strncmp(line.data, "AUTH XOAUTH2 ", 13) == 0);
    CHECK(b64_decode(line.data + 13, &dec) == 0);
    CHECK_INT(dec.len, sizeof want - 1);
    CHECK(dec.len == sizeof want - 1 && memcmp(dec.data, want, dec.len) == 0);
    CHECK(!contains(&f.log, "ya29") && contains(&f.log, "C: AUTH XOAUTH2 <redacted>\n"));
    CHECK_ROUNDS(&f, RT_OPEN_AUTH ", " RT_BDAT_BATCH("RCPT"));
    fake_free(&f);

    fake_init(&f, refused, N(refused));
    f.cfg.oauth2_token = "ya29.a0AfH6SM";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_AUTH, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_AUTH);
    CHECK_INT(err.reply_code, 535);
    CHECK(fake_followed(&f));
    CHECK(fake_cmd_line(&f, 2, &line));
    CHECK_STR(line.data, ""); /* the empty answer to the 334 */
    CHECK(strstr(err.message, "ya29") == NULL && !contains(&f.log, "ya29"));
    buf_free(&line), buf_free(&dec);
    fake_free(&f);
}

static void test_auth_unsupported_sends_no_password(void)
{
    static const step no_auth[] = {OPEN("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")};
    static const step cram_only[] = {OPEN("250-mx.test\r\n250 AUTH CRAM-MD5 GSSAPI\r\n")};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, no_auth, N(no_auth));
    f.cfg.password = "pw-not-sent";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_AUTH_UNSUPPORTED, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_AUTH);
    CHECK(!fake_sent_cmd(&f, "AUTH") && !fake_sent_cmd(&f, "MAIL"));
    CHECK(fake_find(f.sent.data, f.sent.len, "pw-not-sent") < 0);
    CHECK(fake_followed(&f));
    fake_free(&f);

    fake_init(&f, cram_only, N(cram_only));
    f.cfg.password = "pw-not-sent";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_AUTH_UNSUPPORTED, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_AUTH);
    CHECK(!fake_sent_cmd(&f, "AUTH") && !fake_sent_cmd(&f, "MAIL"));
    fake_free(&f);
}

/* 9. STARTTLS required: never a downgrade. */
#define TEST_PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void test_starttls_required_never_downgrades(void)
{
    static const step not_offered[] = {
        OPEN(FAKE_EHLO_AS("mx.test", FAKE_CAP("PIPELINING"), "AUTH PLAIN LOGIN"))};
    static const step refused[] = {
        OPEN(FAKE_EHLO_AS("mx.test", FAKE_CAP("STARTTLS"), "AUTH PLAIN LOGIN")),
        {"STARTTLS", "454 4.7.0 TLS not available due to local problem\r\n"},
    };
    /* 220 plus an injected line in the same packet: dropped, and the next
       bytes from the client are a TLS handshake record. */
    static const step injected[] = {
        OPEN("250-mx.test\r\n250 STARTTLS\r\n"),
        {"STARTTLS", "220 2.0.0 Ready to start TLS\r\n250-AUTH PLAIN\r\n"},
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    long at;

    fake_init(&f, not_offered, N(not_offered));
    f.cfg.tls = SMTPMAIL_TLS_STARTTLS;
    f.cfg.port = 0;
    f.cfg.pin_sha256 = TEST_PIN;
    f.cfg.password = "pw";
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_STARTTLS, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_STARTTLS);
    CHECK_INT(f.port, 587);
    CHECK(!fake_sent_cmd(&f, "AUTH") && !fake_sent_cmd(&f, "MAIL") && !fake_sent_cmd(&f, "STARTTLS"));
    CHECK(fake_find(f.sent.data, f.sent.len, "pw") < 0);
    CHECK(fake_followed(&f));
    CHECK_INT(f.closes, 1);
    fake_free(&f);

    fake_init(&f, refused, N(refused));
    f.cfg.tls = SMTPMAIL_TLS_STARTTLS;
    f.cfg.pin_sha256 = TEST_PIN;
    f.cfg.password = "pw";
    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_STARTTLS, &err);
    CHECK_INT(err.result, SMTPMAIL_ERR_STARTTLS);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_STARTTLS);
    CHECK_INT(err.reply_code, 454);
    CHECK(!fake_sent_cmd(&f, "AUTH") && !fake_sent_cmd(&f, "MAIL"));
    CHECK(fake_followed(&f));
    fake_free(&f);

    fake_init(&f, injected, N(injected));
    f.cfg.tls = SMTPMAIL_TLS_STARTTLS;
    f.cfg.pin_sha256 = TEST_PIN;
    r = fake_send_msg(&f, &m, &err);
    /* The fake speaks no TLS: the handshake waits in vain. */
    CHECK_RES(r, SMTPMAIL_ERR_TIMEOUT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_TLS);
    CHECK(contains(&f.log, "discarding 16 bytes received before TLS"));
    at = fake_find(f.sent.data, f.sent.len, "STARTTLS\r\n");
    CHECK(at > 0 && (size_t)at + 12 < f.sent.len);
    if (at > 0 && (size_t)at + 12 < f.sent.len)
        CHECK(f.sent.data[at + 10] == 0x16 && f.sent.data[at + 11] == 0x03); /* handshake record */
    CHECK(!fake_sent_cmd(&f, "AUTH") && !fake_sent_cmd(&f, "MAIL"));
    fake_free(&f);
}

/* 10. Reply parsing. */
static void test_replies_in_one_byte_pieces(void)
{
    static const step script[] = {
        {FAKE_CONNECT, "220-mx.test ESMTP\r\n220-second line\r\n220 ready\r\n"},
        {"EHLO client.test", "250-mx.test greets client.test\r\n250-size 10240000\r\n"
                             "250-pipelining\r\n250-8BITMIME\r\n250-auth=LOGIN\r\n"
                             "250-AUTH LOGIN PLAIN\r\n250 chunking\r\n"},
        AUTH_PLAIN_OK,
        TX_BDAT_SAYS(MAIL_SIZED, "250-2.1.0 sender\r\n250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n",
                     "250 2.0.0 queued\r\n"),
        QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf want = {0};
    size_t piece, reply_bytes = 0, k;
    for (k = 0; k + 1 < N(script); k++) reply_bytes += strlen(script[k].reply);
    CHECK(reply_bytes > 250);
    for (piece = 1; piece <= 3; piece += 2) {
        fake_init(&f, script, N(script));
        f.piece = piece;
        f.send_max = piece == 1 ? 5 : 0; /* and sends that take 5 bytes at a time */
        f.cfg.username = "u";
        f.cfg.password = "p";
        expected_message(&f, &m, &want);
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
        CHECK(fake_done(&f));
        /* Lower-case keywords and multi-line EHLO: PIPELINING, CHUNKING and
           SIZE were all understood, so one batch with BDAT. */
        CHECK_ROUNDS(&f, RT_OPEN_AUTH ", " RT_BDAT_BATCH("RCPT"));
        CHECK_INT(f.n_msgs, 1);
        CHECK_STR(f.msgs[0].data, want.data);
        /* Every reply but QUIT's was read, `piece` bytes at a time. */
        CHECK((size_t)f.recvs >= reply_bytes / piece);
        fake_free(&f);
    }
    buf_free(&want);
}

static void test_garbage_and_oversized_replies_are_protocol_errors(void)
{
    static const step http[] = {{FAKE_CONNECT, "HTTP/1.1 400 Bad Request\r\n\r\n"}};
    static const step endless[] = {OPEN(FAKE_ENDLESS)};
    static const step mixed[] = {OPEN("250-mx.test\r\n251 PIPELINING\r\n")};
    /* A reply without CRLF, then the server hangs up. */
    static const step no_crlf[] = {{FAKE_CONNECT, "220 mx.test ESMTP" FAKE_THEN_CLOSE}};
    static const step short_code[] = {{FAKE_CONNECT, "22 hi\r\n"}};
    static const step no_space[] = {{FAKE_CONNECT, "220mx.test\r\n"}};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf big = {0}, script_reply = {0};
    step longline[2];
    int i;

    fake_init(&f, http, N(http));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_GREETING);
    CHECK(strstr(err.message, "HTTP/1.1 400") != NULL);
    CHECK(!fake_sent_cmd(&f, "EHLO"));
    CHECK_INT(f.closes, 1);
    fake_free(&f);

    fake_init(&f, short_code, N(short_code));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    fake_free(&f);
    fake_init(&f, no_space, N(no_space));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    fake_free(&f);

    /* A 5000-byte line: refused once the reply buffer is full. */
    buf_str(&big, "220 ");
    for (i = 0; i < 4996; i++) buf_put(&big, "x", 1);
    buf_str(&big, "\r\n");
    longline[0].expect = FAKE_CONNECT;
    longline[0].reply = big.data;
    fake_init(&f, longline, 1);
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_GREETING);
    CHECK(strlen(err.message) < sizeof err.message);
    CHECK(!fake_sent_cmd(&f, "EHLO"));
    fake_free(&f);
    /* The same at EHLO, arriving in small pieces. */
    buf_str(&script_reply, "250-mx.test\r\n250-");
    for (i = 0; i < 4990; i++) buf_put(&script_reply, "y", 1);
    buf_str(&script_reply, "\r\n250 PIPELINING\r\n");
    longline[0].reply = GREET;
    longline[1].expect = "EHLO*";
    longline[1].reply = script_reply.data;
    fake_init(&f, longline, 2);
    f.piece = 100;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_EHLO);
    fake_free(&f);
    /* A long line that fits (1500 bytes), and a reply of many lines whose
       total is larger than the buffer: both fine. */
    buf_clear(&big);
    buf_str(&big, "220 ");
    for (i = 0; i < 1500; i++) buf_put(&big, "z", 1);
    buf_str(&big, "\r\n");
    buf_clear(&script_reply);
    buf_str(&script_reply, "250-mx.test\r\n");
    for (i = 0; i < 90; i++) buf_str(&script_reply, "250-X-SOMETHING-QUITE-LONG-KEYWORD-HERE\r\n");
    buf_str(&script_reply, "250 PIPELINING\r\n");
    {
        step ok_script[6];
        ok_script[0].expect = FAKE_CONNECT, ok_script[0].reply = big.data;
        ok_script[1].expect = "EHLO client.test", ok_script[1].reply = script_reply.data;
        ok_script[2].expect = MAIL_ANY, ok_script[2].reply = OK;
        ok_script[3].expect = RCPT_TRADER, ok_script[3].reply = OK;
        ok_script[4].expect = "DATA", ok_script[4].reply = GO;
        ok_script[5].expect = FAKE_BODY, ok_script[5].reply = QUEUED;
        fake_init(&f, ok_script, 6);
        f.piece = 700;
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
        CHECK(fake_followed(&f));
        /* PIPELINING, on the last of 92 lines, was seen */
        CHECK_ROUNDS(&f, RT_OPEN ", " RT_DATA_BATCH("RCPT"));
        fake_free(&f);
    }

    /* An endless "250-x" reply: refused after a bounded number of lines. */
    fake_init(&f, endless, N(endless));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_EHLO);
    CHECK(f.endless_lines > 90 && f.endless_lines <= 1000);
    fake_free(&f);

    /* Different codes in one reply. */
    fake_init(&f, mixed, N(mixed));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PROTOCOL, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_EHLO);
    fake_free(&f);

    /* A reply without CRLF, then the server hangs up. */
    fake_init(&f, no_crlf, N(no_crlf));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_NETWORK, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_GREETING);
    CHECK(smtpmail_result_is_temporary(SMTPMAIL_ERR_NETWORK));
    CHECK_INT(f.closes, 1);
    fake_free(&f);
    buf_free(&big), buf_free(&script_reply);
}

/* An old server without EHLO: HELO, and on success err stays untouched. */
static void test_helo_fallback_after_ehlo_refused(void)
{
    static const step script[] = {
        OPEN("502 5.5.2 command not recognized\r\n"),
        {"HELO client.test", "250 mx.test\r\n"},
        TX_DATA,
        QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, script, N(script));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 1);
    /* smtpmail_error: "untouched on success". */
    CHECK((unsigned char)err.message[0] == 0x5A && err.reply_code == 0x5A5A5A5A);
    if ((unsigned char)err.message[0] != 0x5A) note("err.message after success", err.message);
    fake_free(&f);
}

/* The server's SIZE limit: refused before MAIL is sent. */
static void test_size_limit_refuses_before_mail(void)
{
    static const step script[] = {
        OPEN(FAKE_EHLO_AS("mx.test", FAKE_CAP("PIPELINING") FAKE_CAP("CHUNKING"), "SIZE 100")),
        QUIT_BYE,
    };
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, script, N(script));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_MAIL);
    CHECK(strstr(err.message, "100") != NULL);
    CHECK(!fake_sent_cmd(&f, "MAIL"));
    CHECK(fake_done(&f));
    fake_free(&f);
}

/* 11. The connection closes, or the server falls silent, at each stage. */
static void test_close_and_timeout_at_each_stage_name_the_stage(void)
{
    static const step script[] = {OPEN(EHLO_BARE), AUTH_PLAIN_OK, TX_DATA, QUIT_BYE};
    /* The stage of each step of the script. */
    static const smtpmail_stage stages[7] = {
        SMTPMAIL_STAGE_GREETING, SMTPMAIL_STAGE_EHLO, SMTPMAIL_STAGE_AUTH, SMTPMAIL_STAGE_MAIL,
        SMTPMAIL_STAGE_RCPT, SMTPMAIL_STAGE_DATA, SMTPMAIL_STAGE_END_OF_DATA};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    int at, how;
    for (how = 0; how < 2; how++) {
        for (at = 0; at < 7; at++) {
            int before = g_failed;
            fake_init(&f, script, N(script));
            f.cfg.username = "user";
            f.cfg.password = "pass";
            fake_fault_at(&f, at, how ? FAULT_SILENCE : FAULT_CLOSE);
            r = fake_send_msg(&f, &m, &err);
            CHECK_RES(r, how ? SMTPMAIL_ERR_TIMEOUT : SMTPMAIL_ERR_NETWORK, &err);
            CHECK_INT(err.result, r);
            CHECK_INT(err.stage, stages[at]);
            CHECK(smtpmail_result_is_temporary(r));
            CHECK(strncmp(err.message, smtpmail_stage_str(stages[at]), 3) == 0);
            CHECK_INT(f.n_msgs, 0);
            CHECK_INT(f.connects, 1);
            CHECK_INT(f.closes, 1);
            CHECK_INT(f.step, at + 1);
            CHECK_INT(f.stalls, 0);
            if (g_failed != before) printf("    (%s at step %d)\n", how ? "timeout" : "close", at);
            fake_free(&f);
        }
    }
}

/* A failing send() at each stage: NETWORK (or TIMEOUT) with that stage. */
static void test_send_failure_at_each_stage_names_the_stage(void)
{
    static const step script[] = {OPEN(EHLO_BARE), AUTH_PLAIN_OK, TX_DATA, QUIT_BYE};
    /* The stage of each send() call, WRITE_EHLO .. WRITE_MESSAGE_AND_DOT. */
    static const smtpmail_stage stages[WRITE_MESSAGE_AND_DOT + 1] = {
        SMTPMAIL_STAGE_CONFIG, /* (no write 0) */
        SMTPMAIL_STAGE_EHLO, SMTPMAIL_STAGE_AUTH, SMTPMAIL_STAGE_MAIL, SMTPMAIL_STAGE_RCPT,
        SMTPMAIL_STAGE_DATA, SMTPMAIL_STAGE_END_OF_DATA};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    int at, how;
    for (how = 0; how < 2; how++) {
        for (at = WRITE_EHLO; at <= WRITE_MESSAGE_AND_DOT; at++) {
            int before = g_failed;
            fake_init(&f, script, N(script));
            f.cfg.username = "user";
            f.cfg.password = "pass";
            f.send_fail_at = at;
            f.send_fail_with = how ? SMTPMAIL_ERR_TIMEOUT : SMTPMAIL_ERR_NETWORK;
            CHECK_RES(fake_send_msg(&f, &m, &err), how ? SMTPMAIL_ERR_TIMEOUT : SMTPMAIL_ERR_NETWORK,
                      &err);
            CHECK_INT(err.stage, stages[at]);
            CHECK_INT(f.n_msgs, 0);
            CHECK_INT(f.closes, 1);
            if (g_failed != before) printf("    (send %d fails)\n", at);
            fake_free(&f);
        }
    }
}

/* Many recipients: the command buffer fills and is written out in the
   middle of the batch, which still costs one wait; and a send failure at
   that moment is a network failure, not an internal one. */
static void test_many_recipients_overflow_the_buffer_in_one_wait(void)
{
    enum { NRCPT = 150 };
    static char addrs[NRCPT][40];
    static smtpmail_address to[NRCPT];
    step script[NRCPT + 8];
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    size_t n = 0, i;
    char want_line[80];
    buf line = {0};

    for (i = 0; i < NRCPT; i++) {
        snprintf(addrs[i], sizeof addrs[i], "recipient%03lu@example.com", (unsigned long)i);
        to[i].name = NULL;
        to[i].addr = addrs[i];
    }
    m.to = to;
    m.to_count = NRCPT;
    script[n].expect = FAKE_CONNECT, script[n++].reply = GREET;
    script[n].expect = "EHLO client.test", script[n++].reply = EHLO_ALL;
    script[n].expect = MAIL_SIZED, script[n++].reply = OK;
    for (i = 0; i < NRCPT; i++) script[n].expect = "RCPT TO:<recipient*", script[n++].reply = OK;
    script[n].expect = "BDAT *", script[n++].reply = QUEUED;
    script[n].expect = "QUIT", script[n++].reply = BYE;

    fake_init(&f, script, n);
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 1);
    for (i = 0; i < NRCPT; i++) {
        snprintf(want_line, sizeof want_line, "RCPT TO:<%.39s>", addrs[i]);
        CHECK(fake_cmd_line(&f, (int)i + 2, &line));
        if (!CHECK_STR(line.data, want_line)) break;
    }
    /* Over the command buffer, so written in pieces, yet one wait for
       MAIL + every RCPT, then one for BDAT (+QUIT): strict mode. */
    CHECK(f.sends >= WRITE_SECOND_RCPT_BUFFER);
    CHECK_ROUNDS(&f, RT_OPEN ", " RT_BDAT_STRICT("RCPT*150"));
    fake_free(&f);

    /* The second send() of the envelope (the first buffer full of RCPTs)
       fails: the network failed, at RCPT. */
    fake_init(&f, script, n);
    f.send_fail_at = WRITE_SECOND_RCPT_BUFFER;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_NETWORK, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_RCPT);
    fake_free(&f);
    fake_init(&f, script, n);
    f.send_fail_at = WRITE_SECOND_RCPT_BUFFER;
    f.send_fail_with = SMTPMAIL_ERR_TIMEOUT;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_TIMEOUT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_RCPT);
    fake_free(&f);
    buf_free(&line);
}

/* 12. A session: three messages, a failed transaction, an idle drop. */
static void test_session_reuses_the_link_through_a_refusal_and_an_idle_drop(void)
{
    static const step script[] = {
        OPEN(EHLO_ALL), AUTH_PLAIN_OK,
        TX_BDAT, TX_BDAT, TX_BDAT, /* 3 messages */
        /* refused at MAIL; RCPT and BDAT refused in turn; then RSET */
        TX_BDAT_SAYS(MAIL_ANY, "550 5.7.1 sender not allowed\r\n", "503 5.5.1 need MAIL first\r\n",
                     "503 5.5.1 need RCPT first\r\n"),
        {"RSET", OK},
        TX_BDAT, /* the next message */
        /* the server dropped the idle connection: a new one */
        OPEN(EHLO_ALL), AUTH_PLAIN_OK, TX_BDAT,
        QUIT_BYE,
    };
    static const char *const subjects[6] = {"m1", "m2", "m3", "refused", "m5", "m6"};
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r;
    char want[40];
    int i, mark;

    fake_init(&f, script, N(script));
    f.cfg.username = "user";
    f.cfg.password = "pass";
    memset(&err, 0, sizeof err);
    r = smtpmail_session_open(&f.cfg, &s, &err);
    CHECK_RES(r, SMTPMAIL_OK, &err);
    CHECK(s != NULL);
    if (!s) {
        fake_free(&f);
        return;
    }
    CHECK_ROUNDS(&f, RT_OPEN_AUTH);
    for (i = 0; i < 3; i++) {
        mark = f.waits;
        m.subject = subjects[i];
        CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
        CHECK_ROUNDS_FROM(&f, mark, RT_SESSION_TX);
        CHECK(!fake_sent_cmd(&f, "QUIT"));
    }
    mark = f.waits;
    m.subject = subjects[3];
    r = smtpmail_session_send(s, &m, &err);
    CHECK_RES(r, SMTPMAIL_ERR_PERMANENT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_MAIL);
    CHECK_INT(err.reply_code, 550);
    CHECK_STR(err.enhanced, "5.7.1");
    CHECK_ROUNDS_FROM(&f, mark, RT_SESSION_TX_RSET);
    CHECK(fake_sent_cmd(&f, "RSET"));

    m.subject = subjects[4];
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    CHECK_INT(f.connects, 1);

    /* Idle drop: the server has closed; recv gives 0 at the MAIL reply. */
    fake_server_close(&f, NULL);
    m.subject = subjects[5];
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    CHECK_INT(f.connects, 2);
    CHECK_INT(f.closes, 1);
    smtpmail_session_close(s);
    CHECK_INT(f.closes, 2);
    CHECK(fake_done(&f));

    /* Delivered: m1 m2 m3 m5 m6, each exactly once. */
    CHECK_INT(f.n_msgs, 5);
    for (i = 0; i < f.n_msgs && i < 5; i++) {
        snprintf(want, sizeof want, "\r\nSubject: %s\r\n", subjects[i < 3 ? i : i + 1]);
        CHECK(contains(&f.msgs[i], want));
    }
    CHECK(contains(&f.log, "*: reconnecting"));
    fake_free(&f);
}

/* The server says 421 and closes while the session is idle. */
static void test_session_reconnects_after_idle_421(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_BDAT, OPEN(EHLO_ALL), TX_BDAT, QUIT_BYE};
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, script, N(script));
    f.cfg.username = "user"; /* no password: no AUTH */
    CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
    if (!s) {
        fake_free(&f);
        return;
    }
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    fake_server_close(&f, "421 4.4.2 mx.test idle timeout, closing\r\n");
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    CHECK_INT(f.connects, 2);
    smtpmail_session_close(s);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 2);
    fake_free(&f);
}

/* The connection drops between the idle check and the first write, and
   shows as a failing send, as TCP does once the peer's RST is back: the
   first write after the close goes out, the next one fails (EPIPE), or
   even the first. The whole message did not go out, so nothing can have
   been delivered, and the session reconnects. */
static void test_session_reconnects_when_an_idle_drop_fails_a_write(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_BDAT, OPEN(EHLO_ALL), TX_BDAT, QUIT_BYE};
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    int reset_first;
    for (reset_first = 0; reset_first < 2; reset_first++) {
        fake_init(&f, script, N(script));
        f.cfg.username = "user";
        CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
        if (!s) break;
        CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
        fake_server_close(&f, NULL);
        f.rst_after_close = 1;
        f.close_unseen = 1;
        if (reset_first) fake_fail_next_write(&f); /* even the first write fails */
        CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
        CHECK_INT(f.connects, 2);
        smtpmail_session_close(s);
        CHECK_INT(f.n_msgs, 2);
        if (g_failed) printf("    (%s)\n", reset_first ? "first write fails" : "second write fails");
        fake_free(&f);
    }
}

/* The server takes a whole pipelined message, then the link dies before
   its replies arrive (a reset after queueing, or a content filter slower
   than the timeout). The message may be queued: it is never sent again,
   and the failure is reported, not hidden. */
static void test_no_double_delivery(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_BDAT, TX_BDAT};
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    int how;
    for (how = 0; how < 2; how++) {
        fake_init(&f, script, N(script));
        f.cfg.username = "user";
        CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
        if (!s) break;
        CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
        /* The server takes the second message, then its replies are lost. */
        fake_fault_at(&f, fake_step_index(&f, "BDAT *", 2),
                      how ? FAULT_TAKE_THEN_SILENCE : FAULT_TAKE_THEN_CLOSE);
        CHECK_RES(smtpmail_session_send(s, &m, &err), how ? SMTPMAIL_ERR_TIMEOUT : SMTPMAIL_ERR_NETWORK, &err);
        CHECK_INT(err.stage, SMTPMAIL_STAGE_MAIL);
        CHECK_INT(f.connects, 1);   /* no reconnect ... */
        CHECK_INT(f.n_msgs, 2);     /* ... and the second message exactly once */
        smtpmail_session_close(s);
        if (g_failed) printf("    (%s)\n", how ? "silence" : "closed");
        fake_free(&f);
    }
}

/* A reconnect that fails half-way (here AUTH gets 454) must not leave a
   link behind that is connected but not logged in (or, with STARTTLS, not
   encrypted): the next send starts from a new connection, and no mail
   command ever goes over the half-open one. */
static void test_failed_reconnect_is_not_reused(void)
{
    static const step script[] = {
        OPEN(EHLO_ALL), AUTH_PLAIN_OK, TX_BDAT,
        /* the server dropped the idle link; the reconnect is refused AUTH */
        OPEN(EHLO_ALL), {"AUTH PLAIN *", "454 4.7.0 Temporary authentication failure\r\n"}, QUIT_BYE,
        /* the next send: a new connection, logged in, then the mail */
        OPEN(EHLO_ALL), AUTH_PLAIN_OK, TX_BDAT, QUIT_BYE,
    };
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, script, N(script));
    f.cfg.username = "user";
    f.cfg.password = "pass";
    CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
    if (!s) {
        fake_free(&f);
        return;
    }
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    fake_server_close(&f, NULL);
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_ERR_TEMPORARY, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_AUTH);
    CHECK_INT(f.connects, 2);
    CHECK_INT(f.closes, 2); /* the half-open link is gone at once */
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    CHECK_INT(f.connects, 3);
    smtpmail_session_close(s);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 2);
    fake_free(&f);
}

/* A session's message check comes before anything is sent; the session
   stays usable. And session_open failures leave *out NULL. */
static void test_session_checks_the_message_before_sending(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_BDAT, QUIT_BYE};
    static const step refused[] = {{FAKE_CONNECT, "554 5.7.1 go away\r\n"}};
    fake f;
    smtpmail_session *s = (smtpmail_session *)&f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    int sends;

    fake_init(&f, refused, N(refused));
    CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_ERR_PERMANENT, &err);
    CHECK(s == NULL);
    CHECK_INT(f.closes, 1);
    fake_free(&f);

    fake_init(&f, script, N(script));
    CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
    if (!s) {
        fake_free(&f);
        return;
    }
    sends = f.sends;
    m.subject = "bad\r\nBcc: victim@example.com";
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_ERR_HEADER_INJECTION, &err);
    CHECK_STR(err.field, "message.subject");
    CHECK_INT(f.sends, sends);
    m.subject = "good";
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    smtpmail_session_close(s);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 1);
    smtpmail_session_close(NULL);
    CHECK_RES(smtpmail_session_send(NULL, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    fake_free(&f);
}

/* The whole call is bounded by timeout_ms, whatever each wait allows. */
static void test_call_deadline_bounds_the_whole_send(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_BDAT, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    uint64_t start;
    fake_init(&f, script, N(script));
    f.latency_ms = 10000; /* each round trip takes 10 s */
    f.cfg.timeout_ms = 25000;
    f.cfg.io_timeout_ms = 30000;
    start = f.ticks;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_TIMEOUT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_EHLO);
    CHECK(f.ticks - start <= 25000);
    CHECK_INT(f.connect_ms, 10000);
    fake_free(&f);

    /* With a generous limit the same server is fine. */
    fake_init(&f, script, N(script));
    f.latency_ms = 10000;
    f.cfg.timeout_ms = 60000;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK_INT(f.n_msgs, 1);
    fake_free(&f);
}

/* 13. Configuration: URLs, presets, refusals. */
static void test_config_url_through_the_wire(void)
{
    static const step script[] = {OPEN(EHLO_ALL), AUTH_PLAIN_OK, TX_BDAT, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf line = {0}, dec = {0};
    fake_init(&f, script, N(script));
    f.cfg.host = NULL;
    f.cfg.port = 0;
    f.cfg.tls = SMTPMAIL_TLS_STARTTLS; /* the scheme says otherwise */
    f.cfg.url = "smtp+plain://u%3Ax:p%40ss@h:2525";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK_STR(f.host, "h");
    CHECK_INT(f.port, 2525);
    CHECK(fake_cmd_line(&f, 1, &line) && strncmp(line.data, "AUTH PLAIN ", 11) == 0);
    CHECK(b64_decode(line.data + 11, &dec) == 0);
    CHECK(dec.len == 9 && memcmp(dec.data, "\0u:x\0p@ss", 9) == 0);
    fake_free(&f);

    /* No user anywhere: smtpmail_send logs in as the sender. */
    fake_init(&f, script, N(script));
    f.cfg.url = "smtp+plain://mx.test";
    f.cfg.host = NULL;
    f.cfg.port = 0;
    f.cfg.password = "pw";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK_INT(f.port, 25);
    CHECK(fake_cmd_line(&f, 1, &line) && b64_decode(line.data + 11, &dec) == 0);
    CHECK(dec.len == 19 && memcmp(dec.data, "\0bot@example.com\0pw", 19) == 0);
    fake_free(&f);

    /* config.host and config.port override the URL's. */
    fake_init(&f, script, N(script));
    f.cfg.url = "smtp+plain://user:pw@h:2525";
    f.cfg.host = "other.test";
    f.cfg.port = 26;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK_STR(f.host, "other.test");
    CHECK_INT(f.port, 26);
    fake_free(&f);
    buf_free(&line), buf_free(&dec);
}

/* A zeroed session for the private config functions. */
static smtpmail_session *new_session(void)
{
    smtpmail_session *s = (smtpmail_session *)xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    return s;
}

/* smtpmail__parse_url(url) on a zeroed session gives these fields (user
   and pass NULL: not checked). */
static void check_url(const char *url, const char *user, const char *pass, const char *host,
                      uint16_t port, smtpmail_tls_mode mode)
{
    smtpmail_session *s = new_session();
    smtpmail_error err;
    int before = g_failed;
    CHECK_RES(smtpmail__parse_url(&s->set, url, &err), SMTPMAIL_OK, &err);
    if (user) CHECK_STR(s->set.user, user);
    if (pass) CHECK_STR(s->set.pass, pass);
    CHECK_STR(s->set.host, host);
    CHECK_INT(s->set.port, port);
    CHECK_INT(s->set.mode, mode);
    if (g_failed != before) note("url", url);
    free(s);
}

static void test_config_parse_url(void)
{
    check_url("smtps://user:p%40ss@host:2465", "user", "p@ss", "host", 2465, SMTPMAIL_TLS_IMPLICIT);
    check_url("SMTP://bot%40qq.com@smtp.example.com", "bot@qq.com", "", "smtp.example.com", 0,
              SMTPMAIL_TLS_STARTTLS);
    /* The last '@' separates: a user name may be an address. */
    check_url("smtp+plain://a@b.c:x@[::1]:25/", "a@b.c", "x", "::1", 25, SMTPMAIL_TLS_INSECURE_NONE);
    check_url("office365", NULL, NULL, "smtp.office365.com", 587, SMTPMAIL_TLS_STARTTLS);
    check_url("QQ.com", NULL, NULL, "smtp.qq.com", 465, SMTPMAIL_TLS_IMPLICIT);
}

/* smtpmail__configure with the sender's domain and no host: the preset. A
   pin stands in for a CA bundle, so TLS setup needs no file. */
static void check_preset(const char *sender, const char *url, const char *host, uint16_t port,
                         smtpmail_tls_mode mode)
{
    fake f;
    smtpmail_session *s = new_session();
    smtpmail_error err;
    smtpmail_result r;
    fake_init(&f, NULL, 0);
    f.cfg.host = NULL;
    f.cfg.port = 0;
    f.cfg.tls = SMTPMAIL_TLS_STARTTLS;
    f.cfg.url = url;
    f.cfg.pin_sha256 = TEST_PIN;
    r = smtpmail__configure(s, &f.cfg, sender, &err);
    CHECK_RES(r, SMTPMAIL_OK, &err);
    if (!CHECK_STR(s->set.host, host)) note("sender", sender);
    CHECK_INT(s->set.port, port);
    CHECK_INT(s->set.mode, mode);
    smtpmail__tls_free(&s->ch.tls);
    free(s);
    fake_free(&f);
}

static void test_config_presets(void)
{
    check_preset("bot@qq.com", NULL, "smtp.qq.com", 465, SMTPMAIL_TLS_IMPLICIT);
    check_preset("bot@foxmail.com", NULL, "smtp.qq.com", 465, SMTPMAIL_TLS_IMPLICIT);
    check_preset("bot@163.com", NULL, "smtp.163.com", 465, SMTPMAIL_TLS_IMPLICIT);
    check_preset("bot@gmail.com", NULL, "smtp.gmail.com", 465, SMTPMAIL_TLS_IMPLICIT);
    check_preset("bot@outlook.com", NULL, "smtp-mail.outlook.com", 587, SMTPMAIL_TLS_STARTTLS);
    check_preset("bot@hotmail.com", NULL, "smtp-mail.outlook.com", 587, SMTPMAIL_TLS_STARTTLS);
    check_preset("bot@example.com", "office365", "smtp.office365.com", 587, SMTPMAIL_TLS_STARTTLS);
    check_preset("bot@example.com", "qq.com", "smtp.qq.com", 465, SMTPMAIL_TLS_IMPLICIT);
    /* RFC 8314: STARTTLS asked for on port 465 means implicit TLS. */
    check_preset("bot@example.com", "smtp://mx.example.com:465", "mx.example.com", 465,
                 SMTPMAIL_TLS_IMPLICIT);
    check_preset("bot@example.com", "smtps://mx.example.com", "mx.example.com", 465,
                 SMTPMAIL_TLS_IMPLICIT);
    check_preset("bot@example.com", "smtp://mx.example.com", "mx.example.com", 587,
                 SMTPMAIL_TLS_STARTTLS);
}

static void test_config_refusals_name_the_field(void)
{
    static const char *const bad_urls[] = {
        "ftp://mx.example.com", "smtp://mx.example.com:99999", "smtp://mx.example.com:",
        "smtp://mx.example.com:2x5", "smtp://mx.example.com:0", "no-such-preset",
        "smtp://u%zz:p@mx.example.com", "smtp://[::1"};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    size_t i;
    for (i = 0; i < N(bad_urls); i++) {
        int before = g_failed;
        fake_init(&f, NULL, 0);
        f.cfg.url = bad_urls[i];
        f.cfg.host = NULL;
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
        CHECK_STR(err.field, "config.url");
        CHECK_INT(err.stage, SMTPMAIL_STAGE_CONFIG);
        CHECK_INT(f.connects, 0);
        if (g_failed != before) note("url", bad_urls[i]);
        fake_free(&f);
    }

    /* CR or LF in the password: refused, and the message does not show it. */
    fake_init(&f, NULL, 0);
    f.cfg.password = "hunter2\r\nRSET";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    CHECK_STR(err.field, "config.password");
    CHECK_INT(err.stage, SMTPMAIL_STAGE_CONFIG);
    CHECK(strstr(err.message, "hunter2") == NULL);
    CHECK_INT(f.connects, 0);
    fake_free(&f);

    fake_init(&f, NULL, 0);
    f.cfg.helo_name = "evil\r\nMAIL FROM:<x@y.z>";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    CHECK_STR(err.field, "config.helo_name");
    CHECK_INT(f.connects, 0);
    fake_free(&f);

    /* Not a smtpmail_tls_mode. */
    fake_init(&f, NULL, 0);
    f.cfg.tls = (smtpmail_tls_mode)7;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    CHECK_STR(err.field, "config.tls");
    fake_free(&f);

    /* A transport without recv. */
    fake_init(&f, NULL, 0);
    f.tr.recv = NULL;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    CHECK_STR(err.field, "config.transport");
    CHECK_INT(f.connects, 0);
    fake_free(&f);

    /* No host, no URL, a sender without a preset. */
    fake_init(&f, NULL, 0);
    f.cfg.host = NULL;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    CHECK_STR(err.field, "config.host");
    fake_free(&f);

    /* A session with a password but no user name anywhere. */
    {
        static const step script[] = {OPEN(EHLO_ALL)};
        smtpmail_session *s = NULL;
        fake_init(&f, script, N(script));
        f.cfg.password = "pw";
        CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
        CHECK_STR(err.field, "config.username");
        CHECK(s == NULL);
        fake_free(&f);
    }
}

/* A URL written without its scheme still holds a password: the error
   about it must not repeat it ("a message that never holds a credential"). */
static void test_config_url_error_hides_password(void)
{
    static const char *const urls[] = {"bot:hunter2@smtp.example.com:587",
                                       "smtq://bot:hunter2@smtp.example.com",
                                       "smtp://bot:hunter2@smtp.example.com:99999"};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    size_t i;
    for (i = 0; i < N(urls); i++) {
        fake_init(&f, NULL, 0);
        f.cfg.url = urls[i];
        f.cfg.host = NULL;
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
        CHECK_STR(err.field, "config.url");
        if (!CHECK(strstr(err.message, "hunter2") == NULL)) note("err.message", err.message);
        fake_free(&f);
    }
}

/* 14. A bad message costs no connection. */
static void test_message_error_no_connect(void)
{
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, NULL, 0);
    m.subject = "BUY\rrb2405";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_HEADER_INJECTION, &err);
    CHECK_STR(err.field, "message.subject");
    CHECK_INT(err.stage, SMTPMAIL_STAGE_MESSAGE);
    CHECK_INT(f.connects, 0);
    CHECK_INT(f.sends, 0);
    fake_free(&f);

    fake_init(&f, NULL, 0);
    m = base_msg();
    m.to_count = 0;
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_NO_RECIPIENT, &err);
    CHECK_INT(f.connects, 0);
    fake_free(&f);

    fake_init(&f, NULL, 0);
    m = base_msg();
    m.from.addr = "not an address";
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_BAD_ADDRESS, &err);
    CHECK_STR(err.field, "message.from.addr");
    CHECK_INT(f.connects, 0);
    fake_free(&f);

    CHECK_RES(smtpmail_send(NULL, &m, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
}

/* A refused connect, through the transport's own codes. */
static void test_refused_connect_is_a_connect_error(void)
{
    static const step none[] = {{"EHLO*", OK}};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, none, N(none)); /* the fake refuses: no connect step */
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_CONNECT, &err);
    CHECK_INT(err.stage, SMTPMAIL_STAGE_CONNECT);
    CHECK(strstr(err.message, "mx.test") != NULL);
    CHECK_INT(f.closes, 0); /* close only after a successful connect */
    CHECK(smtpmail_result_is_temporary(SMTPMAIL_ERR_CONNECT));
    fake_free(&f);
}

/* >>fake-self-test: the fake server, driven by hand, without the library:
   so that its own verdicts (a mismatch seen, a message stored, a round
   counted) are known to be right before the tests above rely on them. */

/* Sends s to the fake as one write. */
static void fake_put(fake *f, void *conn, const char *s)
{
    CHECK_INT(fake_send(conn, s, strlen(s), 1000, f), (long)strlen(s));
}

/* Everything the fake has on its way to the client, into out. */
static void fake_take(fake *f, void *conn, buf *out)
{
    char tmp[512];
    int n;
    buf_clear(out);
    while ((n = fake_recv(conn, tmp, sizeof tmp, 1000, f)) > 0) {
        buf_put(out, tmp, (size_t)n);
        if (f->dpos == f->delivered.len) break;
    }
}

static void test_fake_server_follows_its_script_and_reports_mismatches(void)
{
    static const step script[] = {OPEN(EHLO_PIPE), TX_DATA_SIZED, QUIT_BYE};
    fake f;
    void *conn = NULL;
    buf got = {0};
    char tmp[64];
    int followed, done, printed;

    /* Followed: greeting, EHLO, a pipelined batch, a stuffed body. */
    fake_init(&f, script, N(script));
    CHECK_INT(fake_connect(&conn, "mx.test", 25, 1000, &f), 0);
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, GREET);
    fake_put(&f, conn, "EHLO client.test\r\n");
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, EHLO_PIPE);
    fake_put(&f, conn, "MAIL FROM:<bot@example.com> SIZE=9\r\nRCPT TO:<trader@example.com>\r\nDATA\r\n");
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, OK OK GO); /* three replies in one read */
    fake_put(&f, conn, "..dot\r\nplain\r\n.\r\nQUIT\r\n");
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, QUEUED BYE);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 1);
    CHECK_STR(f.msgs[0].data, ".dot\r\nplain\r\n"); /* RFC 5321 4.5.2 undone */
    CHECK_ROUNDS(&f, RT_OPEN ", " RT_DATA_BATCH("RCPT"));
    CHECK(fake_one_write(&f, "MAIL", "DATA"));
    CHECK(fake_write_of(&f, fake_find(f.sent.data, f.sent.len, "EHLO")) !=
          fake_write_of(&f, fake_find(f.sent.data, f.sent.len, "MAIL")));
    fake_close(conn, &f);
    fake_free(&f);

    /* Not followed: an exact step does not take a longer line, the wrong
       line is named beside the wanted one, and the client gets no reply. */
    fake_init(&f, script, N(script));
    CHECK_INT(fake_connect(&conn, "mx.test", 25, 1000, &f), 0);
    fake_take(&f, conn, &got);
    fake_put(&f, conn, "EHLO client.test.evil\r\n");
    CHECK_INT(fake_recv(conn, tmp, sizeof tmp, 1000, &f), SMTPMAIL_ERR_TIMEOUT);
    CHECK_INT(f.unexpected, 1);
    CHECK_INT(f.stalls, 1);
    CHECK_STR(f.bad.data, "step 1: wanted `EHLO client.test`, got `EHLO client.test.evil`\n");
    printed = g_printed, g_printed = 31; /* their report is not news here */
    followed = fake_followed(&f), done = fake_done(&f);
    g_printed = printed;
    CHECK(!followed);
    CHECK(!done);
    fake_close(conn, &f);
    fake_free(&f);
    buf_free(&got);
}

static void test_fake_responder_joins_bdat_chunks_and_takes_replies_per_message(void)
{
    fake f;
    void *conn = NULL;
    buf got = {0};
    char tmp[64];
    fake_init_responder(&f, EHLO_CHUNK);
    f.finals[0] = "452 4.3.1 full\r\n"; /* the first message is refused */
    f.n_final = 1;
    f.piece = 3; /* replies in 3-byte reads */
    CHECK_INT(fake_connect(&conn, "mx.test", 25, 1000, &f), 0);
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, GREET);
    CHECK_INT(f.recvs, 9); /* 25 bytes, 3 at a time */
    fake_put(&f, conn, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 3 LAST\r\nxyz");
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, OK OK "452 4.3.1 full\r\n");
    CHECK_INT(f.n_msgs, 0);
    fake_put(&f, conn, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 4\r\nab\r\n");
    fake_put(&f, conn, "BDAT 2 LAST\r\ncd");
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, OK OK "250 2.0.0 chunk ok\r\n" QUEUED);
    CHECK_INT(f.n_msgs, 1);
    CHECK_STR(f.msgs[0].data, "ab\r\ncd");
    CHECK_INT(f.n_ends, 2);
    fake_put(&f, conn, "QUIT\r\n");
    fake_take(&f, conn, &got);
    CHECK_STR(got.data, BYE);
    CHECK_INT(fake_recv(conn, tmp, sizeof tmp, 1000, &f), 0); /* closed after 221 */
    CHECK_ROUNDS(&f, "connect, greeting, MAIL RCPT BDAT, MAIL RCPT BDAT*2, QUIT, -");
    fake_cmd_args(&f, "RCPT TO:", &got);
    CHECK_STR(got.data, "<d@e.f>\n<d@e.f>\n");
    CHECK_INT(f.unexpected, 0);
    fake_close(conn, &f);
    fake_free(&f);
    buf_free(&got);
}

/* >>matrix ---------------------------------------------------------------- */

/* The fault matrix, in memory: every stage of
   the dialogue x every fault, against three kinds of server, with replies
   whole and in 1-byte pieces. The rules:
   - OK if and only if the server answered 2xx to the end of the message;
     after that a fault at QUIT changes nothing;
   - a reply: 4xx -> TEMPORARY, 5xx -> PERMANENT (535 at AUTH -> AUTH; any
     refusal of STARTTLS -> STARTTLS), with that reply's code and status;
   - no reply: closed -> NETWORK, garbage or endless -> PROTOCOL, silence ->
     TIMEOUT, with reply_code 0;
   - the stage is the one whose reply failed, also inside a pipelined
     batch, and the verdict is the first command's that failed. */
enum { DIAL_PLAIN, DIAL_PIPE_CHUNK, DIAL_PIPE, N_DIAL };
static const char *const k_dial_name[N_DIAL] = {"no PIPELINING", "PIPELINING+CHUNKING",
                                                "PIPELINING without CHUNKING"};

enum { FS_GREETING, FS_EHLO, FS_STARTTLS, FS_AUTH, FS_MAIL, FS_RCPT, FS_DATA, FS_EOD, FS_QUIT, N_FS };
enum { FF_CLOSE, FF_421, FF_4XX, FF_5XX, FF_GARBAGE, FF_NO_CRLF, FF_ENDLESS, FF_STALL, N_FF };
static const char *const k_fault_name[N_FF] = {
    "connection closed", "421 then close", "another 4xx", "5xx", "a garbage line",
    "a reply without CRLF, then close", "a never-ending multi-line reply", "a stall past the timeout"};

typedef struct fault_stage {
    const char *name;
    smtpmail_stage stage;
    const char *r4xx, *r5xx; /* the "other 4xx" and the 5xx that fit this stage */
    smtpmail_result on_5xx;
} fault_stage;

static const fault_stage k_fstage[N_FS] = {
    {"greeting", SMTPMAIL_STAGE_GREETING, "451 4.3.0 local problem, come back later\r\n",
     "554 5.7.1 no SMTP service for you\r\n", SMTPMAIL_ERR_PERMANENT},
    {"EHLO", SMTPMAIL_STAGE_EHLO, "451 4.3.0 try again later\r\n",
     "554 5.7.1 client host rejected\r\n", SMTPMAIL_ERR_PERMANENT},
    {"STARTTLS", SMTPMAIL_STAGE_STARTTLS, "454 4.7.0 TLS not available due to local problem\r\n",
     "554 5.7.3 STARTTLS not allowed here\r\n", SMTPMAIL_ERR_STARTTLS},
    {"AUTH", SMTPMAIL_STAGE_AUTH, "454 4.7.0 Temporary authentication failure\r\n",
     "535 5.7.8 Authentication credentials invalid\r\n", SMTPMAIL_ERR_AUTH},
    {"MAIL", SMTPMAIL_STAGE_MAIL, "451 4.7.1 greylisted, try again in 5 minutes\r\n",
     "550 5.7.1 sender rejected\r\n", SMTPMAIL_ERR_PERMANENT},
    {"RCPT", SMTPMAIL_STAGE_RCPT, "450 4.2.1 mailbox temporarily unavailable\r\n",
     "550 5.1.1 user unknown\r\n", SMTPMAIL_ERR_PERMANENT},
    {"DATA", SMTPMAIL_STAGE_DATA, "451 4.3.0 queue file write error\r\n",
     "554 5.3.0 transaction failed\r\n", SMTPMAIL_ERR_PERMANENT},
    {"end of data", SMTPMAIL_STAGE_END_OF_DATA, "452 4.3.1 insufficient system storage\r\n",
     "554 5.6.0 message content rejected\r\n", SMTPMAIL_ERR_PERMANENT},
    {"QUIT", SMTPMAIL_STAGE_QUIT, "451 4.3.0 error while closing\r\n", "500 5.5.1 what?\r\n",
     SMTPMAIL_ERR_PERMANENT},
};


/* The dialogue with each kind of server: its steps, and the stage each
   step belongs to. */
typedef struct dialect {
    const step *steps;
    const int *fs;
    size_t n;
} dialect;

static const step k_plain_steps[] = {OPEN(EHLO_BARE), AUTH_PLAIN_OK, TX_DATA, QUIT_BYE};
static const int k_data_fs[] = {FS_GREETING, FS_EHLO, FS_AUTH, FS_MAIL,
                                FS_RCPT,     FS_DATA, FS_EOD,  FS_QUIT};
/* MAIL, RCPT, BDAT LAST + the data and QUIT in one batch. */
static const step k_chunk_steps[] = {OPEN(EHLO_ALL), AUTH_PLAIN_OK, TX_BDAT_SIZED, QUIT_BYE};
static const int k_chunk_fs[] = {FS_GREETING, FS_EHLO, FS_AUTH, FS_MAIL, FS_RCPT, FS_EOD, FS_QUIT};
/* MAIL, RCPT, DATA in one batch; the data, "." and QUIT in the next. */
static const step k_pipe_steps[] = {OPEN(EHLO_PIPE), AUTH_PLAIN_OK, TX_DATA_SIZED, QUIT_BYE};
/* The steps that open a session: connect (greeting), EHLO, AUTH. */
#define OPEN_STEPS 3
/* With STARTTLS offered: the STARTTLS reply is the last thing read in
   clear, so a fault there needs no TLS. */
static const char *const k_ehlo_tls[N_DIAL] = {
    FAKE_EHLO_REPLY(FAKE_CAP("STARTTLS")),
    FAKE_EHLO_REPLY(FAKE_CAP("PIPELINING") FAKE_CAP("CHUNKING") FAKE_CAP("STARTTLS")),
    FAKE_EHLO_REPLY(FAKE_CAP("PIPELINING") FAKE_CAP("STARTTLS"))};

static dialect dialect_of(int dial)
{
    dialect d;
    d.steps = dial == DIAL_PIPE_CHUNK ? k_chunk_steps : dial == DIAL_PIPE ? k_pipe_steps : k_plain_steps;
    d.fs = dial == DIAL_PIPE_CHUNK ? k_chunk_fs : k_data_fs;
    d.n = dial == DIAL_PIPE_CHUNK ? N(k_chunk_steps) : N(k_plain_steps);
    return d;
}

/* The index of the first step of stage fs, or d->n. */
static size_t step_of_stage(const dialect *d, int fs)
{
    size_t k;
    for (k = 0; k < d->n && d->fs[k] != fs; k++) {}
    return k;
}

/* Appends steps [from, to) of d to script[*n..]. */
static void append_steps(step *script, size_t *n, const dialect *d, size_t from, size_t to)
{
    for (; from < to; from++) script[(*n)++] = d->steps[from];
}

/* Is a step of stage st_fs a command of the batch that a pipelining client
   sends with MAIL? (RCPT, and DATA or BDAT LAST with one recipient.) */
static int in_mail_batch(int dial, int st_fs)
{
    return dial != DIAL_PLAIN && (st_fs == FS_RCPT || st_fs == FS_DATA ||
                                  (st_fs == FS_EOD && dial == DIAL_PIPE_CHUNK));
}

/* After a refusal at `fs`, what the server answers to the rest of the
   MAIL batch of d, from step k + 1 on. */
static void append_batch_refusals(step *script, size_t *n, int dial, const dialect *d, size_t k,
                                  int fs)
{
    size_t i;
    for (i = k + 1; i < d->n && in_mail_batch(dial, d->fs[i]); i++) {
        script[*n].expect = d->steps[i].expect;
        script[(*n)++].reply = fs == FS_MAIL ? (d->fs[i] == FS_RCPT ? NEED_MAIL : NEED_RCPT)
                                             : NO_VALID_RCPT;
    }
}

/* The reply of a fault, or NULL when the fault is not a reply. */
static const char *fault_reply(int fs, int ff)
{
    if (ff == FF_421) return R421;
    if (ff == FF_4XX) return k_fstage[fs].r4xx;
    if (ff == FF_5XX) return k_fstage[fs].r5xx;
    return NULL;
}

/* One cell's script: the dialogue up to the faulty reply, then what the
   server answers to the rest of a pipelined batch. Unplanned QUIT and RSET
   are answered by the fake (rset_ok). Returns the number of steps (0: the
   stage does not exist with this server) and the faulty step's index. */
static size_t matrix_script(int dial, int fs, int ff, step *script, char *no_crlf, size_t cap,
                            int *at)
{
    static const int tls_fs[3] = {FS_GREETING, FS_EHLO, FS_STARTTLS};
    step tls[3] = {OPEN(NULL), {"STARTTLS", "220 2.0.0 Ready to start TLS\r\n"}};
    dialect d = dialect_of(dial);
    size_t n = 0, k, len;
    if (fs == FS_STARTTLS) {
        tls[1].reply = k_ehlo_tls[dial];
        d.steps = tls, d.fs = tls_fs, d.n = 3;
    }
    if ((k = step_of_stage(&d, fs)) == d.n) return 0;
    append_steps(script, &n, &d, 0, k + 1); /* FF_CLOSE, FF_STALL: the reply never sent */
    if (fault_reply(fs, ff)) script[k].reply = fault_reply(fs, ff);
    if (ff == FF_GARBAGE) script[k].reply = GARBAGE;
    if (ff == FF_ENDLESS) script[k].reply = FAKE_ENDLESS;
    if (ff == FF_NO_CRLF) {
        len = strlen(d.steps[k].reply) - 2; /* every reply ends in CRLF */
        if (len >= cap) len = cap - 1;
        memcpy(no_crlf, d.steps[k].reply, len);
        no_crlf[len] = '\0';
        script[k].reply = no_crlf;
    }
    *at = (int)k;
    if (fs == FS_MAIL || fs == FS_RCPT) append_batch_refusals(script, &n, dial, &d, k, fs);
    return n;
}

/* The expected result of a cell, its reply code and RFC 3463 status. */
static smtpmail_result matrix_want(int fs, int ff, int *code, char *enhanced, size_t cap)
{
    const char *reply = fault_reply(fs, ff);
    *code = 0;
    enhanced[0] = '\0';
    if (fs == FS_QUIT) return SMTPMAIL_OK;
    if (ff == FF_CLOSE || ff == FF_NO_CRLF) return SMTPMAIL_ERR_NETWORK;
    if (ff == FF_GARBAGE || ff == FF_ENDLESS) return SMTPMAIL_ERR_PROTOCOL;
    if (ff == FF_STALL) return SMTPMAIL_ERR_TIMEOUT;
    *code = atoi(reply);
    snprintf(enhanced, cap, "%.*s", (int)strcspn(reply + 4, " "), reply + 4);
    if (fs == FS_STARTTLS) return SMTPMAIL_ERR_STARTTLS;
    return *code >= 500 ? k_fstage[fs].on_5xx : SMTPMAIL_ERR_TEMPORARY;
}

/* One cell; returns 1 when it ran (the stage exists with this server). */
static int matrix_cell(int dial, int fs, int ff, size_t piece)
{
    step script[12];
    char no_crlf[600], enhanced[16];
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_result r, want;
    int at = -1, code, before = g_failed, delivered;
    size_t n = matrix_script(dial, fs, ff, script, no_crlf, sizeof no_crlf, &at);
    if (n == 0) return 0;
    want = matrix_want(fs, ff, &code, enhanced, sizeof enhanced);
    fake_init(&f, script, n);
    f.piece = piece;
    f.rset_ok = 1;
    f.cfg.username = "user";
    f.cfg.password = "pass";
    if (fs == FS_STARTTLS) {
        f.cfg.tls = SMTPMAIL_TLS_STARTTLS;
        f.cfg.pin_sha256 = TEST_PIN; /* no CA bundle to load */
    }
    if (ff == FF_CLOSE) fake_fault_at(&f, at, FAULT_CLOSE);
    if (ff == FF_421 || ff == FF_NO_CRLF) fake_fault_at(&f, at, FAULT_THEN_CLOSE);
    if (ff == FF_STALL) fake_fault_at(&f, at, FAULT_SILENCE);

    r = fake_send_msg(&f, &m, &err);
    CHECK_RES(r, want, &err);
    if (want == SMTPMAIL_OK) {
        CHECK((unsigned char)err.message[0] == 0x5A); /* untouched */
    } else {
        CHECK_INT(err.result, r);
        CHECK_INT(err.stage, k_fstage[fs].stage);
        CHECK_INT(err.reply_code, code);
        CHECK_STR(err.enhanced, enhanced);
        if (code) CHECK(err.server_text[0] != '\0');
        CHECK(strncmp(err.message, smtpmail_stage_str(k_fstage[fs].stage),
                      strlen(smtpmail_stage_str(k_fstage[fs].stage))) == 0);
        CHECK_INT(smtpmail_result_is_temporary(r),
                  want == SMTPMAIL_ERR_TEMPORARY || want == SMTPMAIL_ERR_NETWORK ||
                      want == SMTPMAIL_ERR_TIMEOUT);
    }
    /* The fake took the message only where it said 2xx to it: at QUIT,
       or a "250" at the end of data that lost its CRLF (then the client
       cannot know, and reports the lost link, not success). */
    delivered = fs == FS_QUIT || (fs == FS_EOD && ff == FF_NO_CRLF);
    CHECK_INT(f.n_msgs, delivered);
    CHECK_INT(f.connects, 1);
    CHECK_INT(f.closes, 1);
    CHECK_INT(f.unexpected, 0); /* nothing but RSET and QUIT after the fault */
    CHECK_INT(f.stalls, 0);     /* never waited for a reply the server did not owe */
    CHECK_INT(f.after_quit, 0);
    CHECK_INT(f.bare_lf, 0);
    if (fs < FS_AUTH) CHECK(!fake_sent_cmd(&f, "AUTH"));
    if (fs < FS_MAIL) CHECK(!fake_sent_cmd(&f, "MAIL"));
    /* No message byte before the server said 354, except in a CHUNKING
       batch (RFC 3030: the server discards it). */
    if (fs < FS_MAIL || (dial != DIAL_PIPE_CHUNK && fs < FS_EOD))
        CHECK(fake_find(f.sent.data, f.sent.len, "Subject:") < 0);
    if (ff == FF_ENDLESS) CHECK(f.endless_lines <= 1000);
    if (g_failed != before) {
        printf("    (cell: %s, fault at %s: %s; replies in %s)\n", k_dial_name[dial],
               k_fstage[fs].name, k_fault_name[ff], piece ? "1-byte pieces" : "one piece");
        if (g_printed <= 30) note("commands", f.cmds.data);
    }
    fake_free(&f);
    return 1;
}

static void test_fault_matrix_gives_each_fault_its_result(void)
{
    int dial, fs, ff, cells = 0;
    size_t piece;
    for (piece = 0; piece <= 1; piece++)
        for (dial = 0; dial < N_DIAL; dial++)
            for (fs = 0; fs < N_FS; fs++)
                for (ff = 0; ff < N_FF; ff++) cells += matrix_cell(dial, fs, ff, piece);
    /* 9 stages x 8 faults, less DATA with CHUNKING: 136 per piece size. */
    CHECK_INT(cells, 2 * (3 * 9 - 1) * 8);
}

/* With PIPELINING, no accepted recipient means no message: here with
   allow_partial_recipients (the data rides in the batch), every recipient
   refused. The verdict names the first refused RCPT, not the DATA/BDAT
   refusal that follows from it; and a broken server that says 354 anyway
   gets no message: the client hangs up. */
static void test_pipelined_no_recipient_accepted_sends_no_message(void)
{
    /* The envelope, every recipient refused. */
#define ENVELOPE_REFUSED                                        \
    {MAIL_SIZED, OK}, {RCPT_TRADER, "550 5.1.1 user unknown\r\n"}, \
        {"RCPT TO:<desk@example.org>", "450 4.2.1 mailbox busy\r\n"}
    static const step chunk[] = {OPEN(EHLO_ALL), ENVELOPE_REFUSED, {"BDAT *", NO_VALID_RCPT}, QUIT_BYE};
    static const step pipe[] = {OPEN(EHLO_PIPE), ENVELOPE_REFUSED, {"DATA", NO_VALID_RCPT},
                                {"RSET", OK},    QUIT_BYE};
    /* RFC 2920 3.1 says DATA must then be refused; this server says 354. */
    static const step broken[] = {OPEN(EHLO_PIPE), ENVELOPE_REFUSED, {"DATA", GO}};
#undef ENVELOPE_REFUSED
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    long data_at;
    int which;
    m.to_count = 2;
    for (which = 0; which < 3; which++) {
        int before = g_failed;
        if (which == 0) fake_init(&f, chunk, N(chunk));
        if (which == 1) fake_init(&f, pipe, N(pipe));
        if (which == 2) fake_init(&f, broken, N(broken));
        f.cfg.allow_partial_recipients = 1;
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_PERMANENT, &err);
        CHECK_INT(err.stage, SMTPMAIL_STAGE_RCPT);
        CHECK_INT(err.reply_code, 550);
        CHECK_STR(err.field, "message.to[0].addr");
        CHECK_INT(f.n_msgs, 0);
        CHECK(fake_done(&f));
        CHECK_STR(f.rcpts.data, "trader@example.com 550 user unknown\n"
                                "desk@example.org 450 mailbox busy\n");
        if (which > 0) CHECK(fake_find(f.sent.data, f.sent.len, "Subject:") < 0);
        if (which == 2) {
            /* Nothing after DATA: no message, no ".", no RSET or QUIT
               that the server would take as message text. */
            data_at = fake_find(f.sent.data, f.sent.len, "DATA\r\n");
            CHECK(data_at > 0 && (size_t)data_at + 6 == f.sent.len);
            CHECK_INT(f.closes, 1);
        }
        if (g_failed != before) printf("    (%s)\n", which == 0 ? "CHUNKING" : which == 1 ? "DATA" : "354 anyway");
        fake_free(&f);
    }
}

/* >>session-after-failure ------------------------------------------------- */

/* A failed transaction in a session, then the next message. When the
   server answered (MAIL 451, RCPT 550 for the only recipient, DATA 554,
   end of data 552), the link stays: RSET (none after the end-of-data reply,
   which ends the transaction by itself, RFC 5321 4.1.1.4), then the next
   message on the same connection. When the server hung up at that stage,
   the next send reconnects; a close before any reply to a transaction
   whose data had not gone out is an idle drop, retried at once. The strict
   scripts are the commands the server must see, in order. */
static void test_session_after_failed_transaction_sends_the_next(void)
{
    static const int stages[4] = {FS_MAIL, FS_RCPT, FS_DATA, FS_EOD};
    static const char *const replies[4] = {"451 4.7.1 greylisted\r\n", "550 5.1.1 user unknown\r\n",
                                           "554 5.3.0 transaction failed\r\n",
                                           "552 5.3.4 message too big\r\n"};
    static const smtpmail_result results[4] = {SMTPMAIL_ERR_TEMPORARY, SMTPMAIL_ERR_PERMANENT,
                                               SMTPMAIL_ERR_PERMANENT, SMTPMAIL_ERR_PERMANENT};
    int dial, si, how, runs = 0;
    for (dial = 0; dial < N_DIAL; dial++) {
        for (si = 0; si < 4; si++) {
            for (how = 0; how < 2; how++) {
                dialect d = dialect_of(dial);
                size_t n = 0, k;
                int fs = stages[si], at = -1, retry, before = g_failed;
                step script[40];
                fake f;
                smtpmail_session *s = NULL;
                smtpmail_message m = base_msg();
                smtpmail_error err;
                smtpmail_result r;
                if ((k = step_of_stage(&d, fs)) == d.n) continue; /* no DATA reply of its own with CHUNKING */
                runs++;
                /* Open, then message 1 up to the fault. */
                append_steps(script, &n, &d, 0, k + 1);
                at = (int)k;
                if (!how) script[k].reply = replies[si];
                /* Closed before any reply, nothing of the message sent:
                   an idle drop, retried on a new connection. */
                retry = how && fs == FS_MAIL && dial != DIAL_PIPE_CHUNK;
                if (!how) {
                    if (fs == FS_MAIL || fs == FS_RCPT) append_batch_refusals(script, &n, dial, &d, k, fs);
                    if (fs != FS_EOD) script[n].expect = "RSET", script[n++].reply = OK;
                } else {
                    append_steps(script, &n, &d, 0, OPEN_STEPS);
                    if (retry) append_steps(script, &n, &d, OPEN_STEPS, d.n - 1); /* message 1 again */
                }
                /* Message 2 (all but the steps that open and QUIT), then QUIT at close. */
                append_steps(script, &n, &d, OPEN_STEPS, d.n - 1);
                script[n].expect = "QUIT", script[n++].reply = BYE;

                fake_init(&f, script, n);
                f.cfg.username = "user";
                f.cfg.password = "pass";
                if (how) fake_fault_at(&f, at, FAULT_CLOSE);
                CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
                if (!s) {
                    fake_free(&f);
                    continue;
                }
                m.subject = "first";
                r = smtpmail_session_send(s, &m, &err);
                if (retry) {
                    CHECK_RES(r, SMTPMAIL_OK, &err);
                } else if (how) {
                    CHECK_RES(r, SMTPMAIL_ERR_NETWORK, &err);
                    CHECK_INT(err.stage, k_fstage[fs].stage);
                } else {
                    CHECK_RES(r, results[si], &err);
                    CHECK_INT(err.stage, k_fstage[fs].stage);
                    CHECK_INT(err.reply_code, atoi(replies[si]));
                }
                m.subject = "second";
                CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
                smtpmail_session_close(s);
                CHECK(fake_done(&f));
                CHECK_INT(f.connects, how ? 2 : 1);
                CHECK_INT(f.closes, f.connects);
                CHECK_INT(f.after_quit, 0);
                CHECK_INT(f.n_msgs, retry ? 2 : 1);
                if (f.n_msgs >= 1) CHECK(contains(&f.msgs[f.n_msgs - 1], "\r\nSubject: second\r\n"));
                if (retry && f.n_msgs == 2) CHECK(contains(&f.msgs[0], "\r\nSubject: first\r\n"));
                if (g_failed != before)
                    printf("    (%s, %s at %s)\n", k_dial_name[dial],
                           how ? "connection closed" : results[si] == SMTPMAIL_ERR_TEMPORARY ? "4xx" : "5xx",
                           k_fstage[fs].name);
                fake_free(&f);
            }
        }
    }
    CHECK_INT(runs, 2 * (4 + 3 + 4));
}

/* >>allocator ------------------------------------------------------------- */

/* The counting allocator behind hooks.alloc/free: counts the calls, makes
   the fail_at-th fail, keeps the live bytes, and before each free searches
   the block for the secrets (the library must have wiped its copies). */
typedef union mem_hdr {
    size_t size;
    void *p;
    double d;
    long double ld;
    long l;
} mem_hdr;

#define MAX_SECRETS 8

typedef struct counting {
    long calls;         /* alloc calls */
    long fail_at;       /* this call (1-based) returns NULL; 0 none */
    long live_blocks;
    size_t live_bytes, peak_bytes;
    const char *secret[MAX_SECRETS];
    size_t secret_len[MAX_SECRETS];
    const char *secret_name[MAX_SECRETS];
    size_t n_secrets;
    int unwiped;        /* blocks freed with a secret still in them */
    char unwiped_note[160];
} counting;

/* memmem for C99, with an explicit needle length (secrets may hold NUL). */
static int has_bytes(const void *hay, size_t n, const void *needle, size_t k)
{
    const char *h = (const char *)hay;
    size_t i;
    if (k == 0 || k > n) return 0;
    for (i = 0; i <= n - k; i++)
        if (h[i] == *(const char *)needle && memcmp(h + i, needle, k) == 0) return 1;
    return 0;
}

static void *count_alloc(size_t size, void *user_data)
{
    counting *c = (counting *)((fake *)user_data)->user;
    mem_hdr *h;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) return NULL;
    h = (mem_hdr *)xmalloc(sizeof *h + size);
    h->size = size;
    memset(h + 1, 0xA7, size); /* no help from zeroed memory */
    c->live_blocks++;
    c->live_bytes += size;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
    return h + 1;
}

static void count_free(void *ptr, void *user_data)
{
    counting *c = (counting *)((fake *)user_data)->user;
    mem_hdr *h = (mem_hdr *)ptr - 1;
    size_t i;
    for (i = 0; i < c->n_secrets; i++) {
        if (!has_bytes(ptr, h->size, c->secret[i], c->secret_len[i])) continue;
        if (!c->unwiped++)
            snprintf(c->unwiped_note, sizeof c->unwiped_note, "%s in a freed block of %lu bytes",
                     c->secret_name[i], (unsigned long)h->size);
    }
    c->live_blocks--;
    c->live_bytes -= h->size;
    memset(ptr, 0xDD, h->size); /* a use after free reads garbage */
    free(h);
}

/* Counters to zero; the secrets stay. */
static void use_counting(fake *f, counting *c, long fail_at)
{
    c->calls = c->live_blocks = 0;
    c->live_bytes = c->peak_bytes = 0;
    c->unwiped = 0;
    c->unwiped_note[0] = '\0';
    c->fail_at = fail_at;
    f->user = c;
    f->hooks.alloc = count_alloc;
    f->hooks.free = count_free;
}

/* A message bigger than SMTPMAIL_SEND_BUFFER (so it streams), with a file
   attachment (read in chunks through an allocated buffer) and one in
   memory. The file's path goes into path[]; the caller removes it. */
static unsigned char k_mem_att[6000];

static int big_message(smtpmail_message *m, smtpmail_attachment att[2], char *path, size_t cap)
{
    FILE *fp;
    size_t i;
    temp_path(path, cap, "alloc");
    fp = fopen(path, "wb");
    if (!fp) return 0;
    for (i = 0; i < 12000; i++) fputc((int)((i * 7u + 3u) & 0xFF), fp);
    if (fclose(fp) != 0) return 0;
    for (i = 0; i < sizeof k_mem_att; i++) k_mem_att[i] = (unsigned char)(i * 13u);
    memset(att, 0, 2 * sizeof *att);
    att[0].path = path;
    att[0].filename = "ticks.bin";
    att[1].data = k_mem_att;
    att[1].data_len = sizeof k_mem_att;
    att[1].filename = "chart.bin";
    *m = base_msg();
    m->attachments = att;
    m->attachment_count = 2;
    return 1;
}

/* >>secrets --------------------------------------------------------------- */

#define SECRET_USER "bot@example.com"
#define SECRET_PASS "Tr0ub4dor&3-s3cr3t"
#define SECRET_TOKEN "ya29.a0AfB_byC-T0KEN-9zQ"

/* The secrets in every form that goes on the wire. */
typedef struct secrets {
    buf plain_b64, login_b64, xoauth_b64;
} secrets;

static void secrets_init(secrets *z, counting *mem)
{
    static const char plain[] = "\0" SECRET_USER "\0" SECRET_PASS;
    static const char xoauth[] = "user=" SECRET_USER "\001auth=Bearer " SECRET_TOKEN "\001\001";
    memset(z, 0, sizeof *z);
    b64_encode(plain, sizeof plain - 1, &z->plain_b64);
    b64_encode(SECRET_PASS, strlen(SECRET_PASS), &z->login_b64);
    b64_encode(xoauth, sizeof xoauth - 1, &z->xoauth_b64);
    memset(mem, 0, sizeof *mem);
    mem->secret[0] = SECRET_PASS, mem->secret_name[0] = "the password";
    mem->secret[1] = SECRET_TOKEN, mem->secret_name[1] = "the token";
    mem->secret[2] = z->plain_b64.data, mem->secret_name[2] = "base64 of AUTH PLAIN";
    mem->secret[3] = z->login_b64.data, mem->secret_name[3] = "base64 of the password (LOGIN)";
    mem->secret[4] = z->xoauth_b64.data, mem->secret_name[4] = "base64 of XOAUTH2";
    for (mem->n_secrets = 0; mem->n_secrets < 5; mem->n_secrets++)
        mem->secret_len[mem->n_secrets] = strlen(mem->secret[mem->n_secrets]);
}

static void secrets_free(secrets *z)
{
    buf_free(&z->plain_b64), buf_free(&z->login_b64), buf_free(&z->xoauth_b64);
}

/* Every allocation of a full smtpmail_send (plaintext, AUTH PLAIN, a file
   and an in-memory attachment, streamed), then the same send with the
   N-th allocation failing, for every N: SMTPMAIL_ERR_NO_MEMORY (or OK once
   N is past the count), nothing live afterwards, nothing delivered, and
   no freed block still holding the password (the error paths wipe too). */
static void test_countdown_allocator_send_fails_cleanly(void)
{
    static const char *const ehlos[2] = {EHLO_BARE, EHLO_ALL};
    fake f;
    counting mem;
    smtpmail_message m;
    smtpmail_attachment att[2];
    smtpmail_error err;
    smtpmail_result r;
    char path[300];
    buf want = {0};
    secrets z;
    long total, n;
    int e;
    if (!CHECK(big_message(&m, att, path, sizeof path))) return;
    secrets_init(&z, &mem);
    for (e = 0; e < 2; e++) {
        fake_init_responder(&f, ehlos[e]);
        f.cfg.username = SECRET_USER;
        f.cfg.password = SECRET_PASS;
        expected_message(&f, &m, &want); /* with malloc, before counting */
        CHECK(want.len > SMTPMAIL_SEND_BUFFER);
        use_counting(&f, &mem, 0);
        CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
        CHECK_INT(f.n_msgs, 1);
        CHECK(f.n_msgs == 1 && f.msgs[0].len == want.len && strcmp(f.msgs[0].data, want.data) == 0);
        CHECK(!fake_sent_cmd(&f, "BDAT")); /* too big for BDAT: streamed after DATA */
        total = mem.calls;
        /* The session, the AUTH line, a read buffer for the trial
           rendering and one for the streamed one. */
        CHECK(total >= 4);
        CHECK_INT(mem.live_blocks, 0);
        CHECK_INT(mem.live_bytes, 0);
        fake_free(&f);
        for (n = 1; n <= total + 1; n++) {
            int before = g_failed;
            fake_init_responder(&f, ehlos[e]);
            f.cfg.username = SECRET_USER;
            f.cfg.password = SECRET_PASS;
            use_counting(&f, &mem, n);
            r = fake_send_msg(&f, &m, &err);
            if (n <= total) {
                CHECK_RES(r, SMTPMAIL_ERR_NO_MEMORY, &err);
                CHECK_INT(err.result, SMTPMAIL_ERR_NO_MEMORY);
                CHECK_INT(f.n_msgs, 0);
            } else {
                CHECK_RES(r, SMTPMAIL_OK, &err);
                CHECK_INT(f.n_msgs, 1);
            }
            CHECK_INT(mem.live_blocks, 0);
            CHECK_INT(mem.live_bytes, 0);
            if (!CHECK_INT(mem.unwiped, 0)) note("first", mem.unwiped_note);
            CHECK_INT(f.closes, f.connects);
            CHECK_INT(f.unexpected, 0);
            if (g_failed != before)
                printf("    (allocation %ld of %ld fails; %s)\n", n, total,
                       e ? "PIPELINING+CHUNKING" : "no PIPELINING");
            fake_free(&f);
        }
    }
    remove(path);
    buf_free(&want);
    secrets_free(&z);
}

/* The same for a session: open, two sends, close. Exactly one call sees
   the failure (NO_MEMORY) and the others succeed; a send that failed
   half-way leaves a session that reconnects for the next one. */
static void test_countdown_allocator_session_fails_cleanly(void)
{
    fake f;
    counting mem;
    smtpmail_message m;
    smtpmail_attachment att[2];
    smtpmail_session *s;
    smtpmail_error err;
    smtpmail_result r[3];
    char path[300];
    secrets z;
    long total = 0, n;
    int i;
    if (!CHECK(big_message(&m, att, path, sizeof path))) return;
    secrets_init(&z, &mem);
    for (n = 0; n <= total + 1; n++) {
        int before = g_failed, failed = 0, sent = 0;
        fake_init_responder(&f, EHLO_ALL);
        f.cfg.username = SECRET_USER;
        f.cfg.password = SECRET_PASS;
        use_counting(&f, &mem, n);
        s = NULL;
        r[1] = r[2] = SMTPMAIL_OK;
        r[0] = smtpmail_session_open(&f.cfg, &s, &err);
        if (r[0] == SMTPMAIL_OK && s) {
            for (i = 1; i <= 2; i++) {
                r[i] = smtpmail_session_send(s, &m, &err);
                if (r[i] == SMTPMAIL_OK) sent++;
            }
            smtpmail_session_close(s);
        } else {
            CHECK(s == NULL);
        }
        for (i = 0; i < 3; i++) {
            if (r[i] == SMTPMAIL_OK) continue;
            failed++;
            CHECK_RES(r[i], SMTPMAIL_ERR_NO_MEMORY, &err);
        }
        if (n == 0) {
            total = mem.calls; /* the counting run */
            CHECK(total >= 6);
        }
        CHECK_INT(failed, n >= 1 && n <= total);
        CHECK_INT(f.n_msgs, sent);
        CHECK_INT(mem.live_blocks, 0);
        CHECK_INT(mem.live_bytes, 0);
        if (!CHECK_INT(mem.unwiped, 0)) note("first", mem.unwiped_note);
        CHECK_INT(f.closes, f.connects);
        CHECK_INT(f.unexpected, 0);
        if (g_failed != before) printf("    (allocation %ld of %ld fails)\n", n, total);
        fake_free(&f);
    }
    remove(path);
    secrets_free(&z);
}

/* No secret in text[0..len): "what" names it in the report. */
static int no_secret_in(const counting *mem, const char *what, const char *text, size_t len)
{
    size_t i;
    int ok = 1;
    for (i = 0; i < mem->n_secrets; i++) {
        if (!has_bytes(text, len, mem->secret[i], mem->secret_len[i])) continue;
        ok = 0;
        if (g_printed <= 30) printf("    note: %s found in %s\n", mem->secret_name[i], what);
    }
    return ok;
}

/* Remembers what a failed call put in err, for the secrets check. */
static void keep_err(buf *seen, const smtpmail_error *err)
{
    buf_str(seen, err->message), buf_str(seen, "\n");
    buf_str(seen, err->server_text), buf_str(seen, "\n");
    buf_str(seen, err->field), buf_str(seen, "\n");
}

enum { SEC_PLAIN, SEC_LOGIN, SEC_XOAUTH2 };

static void secrets_config(fake *f, int mech)
{
    f->responder = 1;
    f->r_ehlo = "250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH LOGIN PLAIN XOAUTH2\r\n";
    f->cfg.username = SECRET_USER;
    if (mech == SEC_XOAUTH2) {
        f->cfg.oauth2_token = SECRET_TOKEN;
    } else {
        f->cfg.password = SECRET_PASS;
        f->cfg.auth = mech == SEC_LOGIN ? SMTPMAIL_AUTH_LOGIN : SMTPMAIL_AUTH_PLAIN;
    }
}

/* Full runs with AUTH PLAIN, LOGIN and XOAUTH2: a session (open, two
   sends, close), a one-shot send, refused credentials and a refused
   recipient. The credentials went on the wire (so the search strings are
   right), yet not one log line, error message or server text holds the
   password, the token or their base64 forms; and the allocator finds none
   of them in a block the library frees (the session, the AUTH buffers). */
static void test_secrets_never_shown_and_wiped(void)
{
    static const char *const names[3] = {"AUTH PLAIN", "AUTH LOGIN", "AUTH XOAUTH2"};
    secrets z;
    counting mem;
    fake f;
    smtpmail_session *s;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf seen = {0};
    int mech, run;
    secrets_init(&z, &mem);
    for (mech = 0; mech < 3; mech++) {
        for (run = 0; run < 4; run++) {
            int before = g_failed;
            const buf *wire = mech == SEC_PLAIN ? &z.plain_b64 : mech == SEC_LOGIN ? &z.login_b64 : &z.xoauth_b64;
            fake_init(&f, NULL, 0);
            secrets_config(&f, mech);
            use_counting(&f, &mem, 0);
            mem.unwiped = 0;
            buf_clear(&seen);
            if (run == 0) { /* a session */
                s = NULL;
                CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
                CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
                CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
                smtpmail_session_close(s);
                CHECK_INT(f.n_msgs, 2);
            } else if (run == 1) { /* one-shot */
                CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
                CHECK_INT(f.n_msgs, 1);
            } else if (run == 2) { /* refused credentials */
                f.r_auth = "535 5.7.8 Username and Password not accepted\r\n";
                CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_AUTH, &err);
                keep_err(&seen, &err);
                s = (smtpmail_session *)&f;
                CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_ERR_AUTH, &err);
                CHECK(s == NULL);
                keep_err(&seen, &err);
            } else { /* a refused recipient in a session */
                f.r_rcpt = "550 5.1.1 <trader@example.com>: user unknown\r\n";
                s = NULL;
                CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
                CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_ERR_PERMANENT, &err);
                keep_err(&seen, &err);
                smtpmail_session_close(s);
            }
            CHECK(has_bytes(f.sent.data, f.sent.len, wire->data, wire->len));
            CHECK(fake_sent_cmd(&f, names[mech]));
            CHECK(contains(&f.log, "<redacted>"));
            CHECK(no_secret_in(&mem, "the log", f.log.data, f.log.len));
            CHECK(no_secret_in(&mem, "an error", seen.data, seen.len));
            if (!CHECK_INT(mem.unwiped, 0)) note("first", mem.unwiped_note);
            CHECK_INT(mem.live_blocks, 0);
            CHECK(mem.calls >= 2); /* the session and the AUTH line at least */
            if (g_failed != before) printf("    (%s, run %d)\n", names[mech], run);
            fake_free(&f);
        }
    }
    buf_free(&seen);
    secrets_free(&z);
}

/* A server that repeats the client's line in its refusal (some do, in
   "unrecognized command" replies): the credentials it echoes are still
   the user's secret, and must not reach the log or err. */
static void test_secrets_echoed_by_server_stay_hidden(void)
{
    secrets z;
    counting mem;
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    buf reply = {0}, seen = {0};
    secrets_init(&z, &mem);
    buf_str(&reply, "535 5.7.8 authentication failed: AUTH PLAIN ");
    buf_str(&reply, z.plain_b64.data);
    buf_str(&reply, "\r\n");
    fake_init(&f, NULL, 0);
    secrets_config(&f, SEC_PLAIN);
    f.r_auth = reply.data;
    use_counting(&f, &mem, 0);
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_ERR_AUTH, &err);
    keep_err(&seen, &err);
    CHECK(no_secret_in(&mem, "the log", f.log.data, f.log.len));
    CHECK(no_secret_in(&mem, "an error", seen.data, seen.len));
    if (!CHECK_INT(mem.unwiped, 0)) note("first", mem.unwiped_note);
    CHECK_INT(mem.live_blocks, 0);
    fake_free(&f);
    buf_free(&reply), buf_free(&seen);
    secrets_free(&z);
}

/* >>batches: what goes in one write. */

/* On a connection opened for this call, a batch is one write: with
   CHUNKING the envelope, BDAT, the message and QUIT; without it, after the
   354, the message, its "." and QUIT. */
static void test_batch_is_one_write_on_a_new_connection(void)
{
    static const step bdat[] = {OPEN(EHLO_ALL), TX_BDAT, QUIT_BYE};
    static const step data[] = {OPEN(EHLO_PIPE), TX_DATA, QUIT_BYE};
    fake f;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    fake_init(&f, bdat, N(bdat));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK(fake_one_write(&f, "MAIL FROM:", "BDAT "));
    CHECK(fake_one_write(&f, "BDAT ", "MIME-Version: 1.0"));
    CHECK(fake_one_write(&f, "MIME-Version: 1.0", "QUIT\r\n"));
    fake_free(&f);
    fake_init(&f, data, N(data));
    CHECK_RES(fake_send_msg(&f, &m, &err), SMTPMAIL_OK, &err);
    CHECK(fake_done(&f));
    CHECK(fake_one_write(&f, "MAIL FROM:", "DATA\r\n"));
    /* the 354 comes between */
    CHECK(fake_write_of(&f, fake_find(f.sent.data, f.sent.len, "DATA\r\n")) <
          fake_write_of(&f, fake_find(f.sent.data, f.sent.len, "MIME-Version: 1.0")));
    CHECK(fake_one_write(&f, "MIME-Version: 1.0", ".\r\nQUIT\r\n"));
    fake_free(&f);
}

/* On a connection that sat idle, the envelope goes in a write before the
   message: a server that closed it unseen (its FIN in flight) makes that
   second write fail, before the message went out whole. */
static void test_batch_on_an_idle_connection_sends_the_envelope_first(void)
{
    static const step script[] = {OPEN(EHLO_ALL), TX_BDAT, TX_BDAT, QUIT_BYE};
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    size_t first;
    long mail, body;
    fake_init(&f, script, N(script));
    f.cfg.username = "user";
    CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
    if (!s) {
        fake_free(&f);
        return;
    }
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    first = f.sent.len;
    CHECK_RES(smtpmail_session_send(s, &m, &err), SMTPMAIL_OK, &err);
    smtpmail_session_close(s);
    CHECK(fake_done(&f));
    CHECK_INT(f.n_msgs, 2);
    mail = fake_find(f.sent.data + first, f.sent.len - first, "MAIL FROM:");
    body = fake_find(f.sent.data + first, f.sent.len - first, "MIME-Version: 1.0");
    CHECK(mail >= 0 && body > mail);
    if (mail >= 0 && body > mail) {
        CHECK(fake_write_of(&f, (long)first + mail) == fake_write_of(&f, (long)first + body) - 1);
    }
    fake_free(&f);
}

/* >>raw: smtpmail_session_send_raw. */

/* Bytes that are not a sendable message, and envelopes that are not
   valid, are refused with the field named, and nothing is sent. */
static void test_send_raw_refuses_bad_bytes_and_envelopes_unsent(void)
{
    static const step script[] = {OPEN(EHLO_ALL), QUIT_BYE};
    static const struct {
        const char *data, *says;
    } bad[] = {
        {"Subject: x\r\n\r\nbare\nLF\r\n", "bare CR or LF at byte 18"},
        {"Subject: x\r\n\r\nbare\rCR\r\n", "bare CR or LF at byte 18"},
        {"Subject: x\r\n\r\nno final CRLF", "does not end with CRLF"},
        {"", "does not end with CRLF"},
    };
    const char *rcpt[2] = {"trader@example.com", "x@"};
    smtpmail_envelope env;
    char *longline = (char *)malloc(1100);
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_error err;
    size_t i;
    fake_init(&f, script, N(script));
    CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
    if (!s || !longline) {
        free(longline);
        fake_free(&f);
        return;
    }
    env.from = "bot@example.com", env.rcpt = rcpt, env.rcpt_count = 1;
    for (i = 0; i < N(bad); i++) {
        CHECK_RES(smtpmail_session_send_raw(s, &env, bad[i].data, strlen(bad[i].data), &err),
                  SMTPMAIL_ERR_BAD_FIELD, &err);
        CHECK_STR(err.field, "data");
        if (!CHECK(strstr(err.message, bad[i].says) != NULL)) note("message", err.message);
    }
    memset(longline, 'a', 1100);
    memcpy(longline + 1098, "\r\n", 2); /* a line of 1098 octets */
    CHECK_RES(smtpmail_session_send_raw(s, &env, longline, 1100, &err), SMTPMAIL_ERR_BAD_FIELD, &err);
    if (!CHECK(strstr(err.message, "over 998 octets at byte 998") != NULL)) note("message", err.message);
    {
        /* Bigger than SMTPMAIL_SEND_BUFFER (it would stream): checked whole
           before the first byte all the same. */
        buf big = {0};
        while (big.len < SMTPMAIL_SEND_BUFFER + 4000) buf_str(&big, "a valid line of the body\r\n");
        buf_str(&big, "and a bare\nLF at the end\r\n");
        CHECK_RES(smtpmail_session_send_raw(s, &env, big.data, big.len, &err), SMTPMAIL_ERR_BAD_FIELD, &err);
        CHECK_STR(err.field, "data");
        buf_free(&big);
    }
    memcpy(longline + 996, "\r\n", 2); /* 996 octets, then one of 100: sendable */
    CHECK_RES(smtpmail_session_send_raw(s, NULL, longline, 1100, &err), SMTPMAIL_ERR_INVALID_ARG, &err);
    env.from = "not an address";
    CHECK_RES(smtpmail_session_send_raw(s, &env, longline, 1100, &err), SMTPMAIL_ERR_BAD_ADDRESS, &err);
    CHECK_STR(err.field, "envelope.from");
    env.from = "bot@example.com", env.rcpt_count = 0;
    CHECK_RES(smtpmail_session_send_raw(s, &env, longline, 1100, &err), SMTPMAIL_ERR_NO_RECIPIENT, &err);
    env.rcpt_count = 2;
    CHECK_RES(smtpmail_session_send_raw(s, &env, longline, 1100, &err), SMTPMAIL_ERR_BAD_ADDRESS, &err);
    CHECK_STR(err.field, "envelope.rcpt[1]");
    smtpmail_session_close(s);
    CHECK(fake_done(&f));
    CHECK(!contains(&f.cmds, "MAIL"));
    CHECK_INT(f.n_msgs, 0);
    free(longline);
    fake_free(&f);
}

/* The caller's bytes arrive as given, to the envelope's recipients: as one
   BDAT with CHUNKING, dot-stuffed through DATA without, and streamed
   through DATA when they are bigger than SMTPMAIL_SEND_BUFFER. */
static void test_send_raw_delivers_the_bytes_as_given(void)
{
    static const char small[] = "From: <bot@example.com>\r\nSubject: raw\r\n\r\n.dot\r\nline\r\n..\r\n";
    const char *rcpt[2] = {"trader@example.com", "desk@example.com"};
    smtpmail_envelope env;
    buf big = {0}, want = {0};
    fake f;
    smtpmail_session *s = NULL;
    smtpmail_error err;
    int way, i;
    env.from = "bot@example.com", env.rcpt = rcpt, env.rcpt_count = 2;
    buf_str(&big, "Subject: big\r\n\r\n");
    for (i = 0; big.len < SMTPMAIL_SEND_BUFFER + 5000; i++)
        buf_str(&big, i % 7 == 0 ? ".a line that starts with a dot\r\n" : "an ordinary line of the body\r\n");
    for (way = 0; way < 3; way++) {
        const char *data = way == 2 ? big.data : small;
        size_t len = way == 2 ? big.len : sizeof small - 1;
        char line[80];
        fake_init_responder(&f, way == 1 ? EHLO_PIPE : EHLO_ALL);
        CHECK_RES(smtpmail_session_open(&f.cfg, &s, &err), SMTPMAIL_OK, &err);
        if (!s) break;
        CHECK_RES(smtpmail_session_send_raw(s, &env, data, len, &err), SMTPMAIL_OK, &err);
        smtpmail_session_close(s);
        CHECK_INT(f.n_msgs, 1);
        buf_clear(&want);
        buf_put(&want, data, len);
        CHECK(f.msgs[0].len == len && memcmp(f.msgs[0].data, data, len) == 0);
        snprintf(line, sizeof line, "MAIL FROM:<bot@example.com>%s", way == 2 ? "\n" : " SIZE=");
        CHECK(contains(&f.cmds, line));
        CHECK(contains(&f.cmds, "RCPT TO:<trader@example.com>\nRCPT TO:<desk@example.com>\n"));
        CHECK(contains(&f.cmds, way == 0 ? "BDAT " : "DATA"));
        if (way > 0) CHECK(contains(&f.sent, "\r\n..dot\r\n") || contains(&f.sent, "\r\n..a line"));
        if (g_failed) printf("    (%s)\n", way == 0 ? "BDAT" : way == 1 ? "DATA" : "DATA, streamed");
        fake_free(&f);
    }
    buf_free(&big), buf_free(&want);
}

static const test_case k_tests[] = {
    T(batch_is_one_write_on_a_new_connection),
    T(batch_on_an_idle_connection_sends_the_envelope_first),
    T(send_raw_refuses_bad_bytes_and_envelopes_unsent),
    T(send_raw_delivers_the_bytes_as_given),
    T(chunking_one_round_trip),
    T(chunking_one_recipient_one_batch),
    T(pipelining_data_dot_stuffing),
    T(pipelining_two_recipients_strict_waits_for_rcpt_replies),
    T(streamed_message_dot_stuffing),
    T(no_pipelining_one_wait_per_command),
    T(refused_recipient_fails_strict_and_passes_partial),
    T(all_recipients_refused_chunking_reports_rcpt),
    T(no_command_after_quit),
    T(reply_4xx_is_temporary_and_5xx_permanent),
    T(success_survives_quit_trouble),
    T(auth_refused_hides_password),
    T(auth_login_sends_user_and_password_in_base64),
    T(auth_xoauth2_sends_the_token_and_answers_334),
    T(auth_unsupported_sends_no_password),
    T(starttls_required_never_downgrades),
    T(replies_in_one_byte_pieces),
    T(garbage_and_oversized_replies_are_protocol_errors),
    T(helo_fallback_after_ehlo_refused),
    T(size_limit_refuses_before_mail),
    T(close_and_timeout_at_each_stage_name_the_stage),
    T(send_failure_at_each_stage_names_the_stage),
    T(many_recipients_overflow_the_buffer_in_one_wait),
    T(session_reuses_the_link_through_a_refusal_and_an_idle_drop),
    T(session_reconnects_after_idle_421),
    T(session_reconnects_when_an_idle_drop_fails_a_write),
    T(no_double_delivery),
    T(failed_reconnect_is_not_reused),
    T(session_checks_the_message_before_sending),
    T(call_deadline_bounds_the_whole_send),
    T(config_url_through_the_wire),
    T(config_parse_url),
    T(config_presets),
    T(config_refusals_name_the_field),
    T(config_url_error_hides_password),
    T(message_error_no_connect),
    T(refused_connect_is_a_connect_error),
    T(fake_server_follows_its_script_and_reports_mismatches),
    T(fake_responder_joins_bdat_chunks_and_takes_replies_per_message),
    T(fault_matrix_gives_each_fault_its_result),
    T(pipelined_no_recipient_accepted_sends_no_message),
    T(session_after_failed_transaction_sends_the_next),
    T(countdown_allocator_send_fails_cleanly),
    T(countdown_allocator_session_fails_cleanly),
    T(secrets_never_shown_and_wiped),
    T(secrets_echoed_by_server_stay_hidden),
};

int main(int argc, char **argv)
{
    return run_tests(k_tests, sizeof k_tests / sizeof k_tests[0], argc, argv);
}
