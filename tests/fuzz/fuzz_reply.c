/* tests/fuzz/fuzz_reply.c - libFuzzer target: the SMTP engine reading what
   a server says, through the public transport hook.

   Input: one byte of flags, four bytes of recv sizes, then the server's
   output. The fake transport hands that output to the client in pieces of
   1 + sizes[k % 4] bytes (k counts recv calls) and 0 (closed) after the
   end; send takes everything and records it. TLS is off
   (smtp+plain://fuzz.test:25), the clock and the random source are fixed.

   Flags: 1 a password (AUTH in clear), bits 1-2 config.auth, 8 an OAuth
   token, 16 a second recipient (bcc), 32 allow_partial_recipients, 64 a
   message over SMTPMAIL_SEND_BUFFER (streamed, dot-stuffed), 128 no
   smtpmail_send: smtpmail__read_reply directly, reply after reply.

   Oracle. The target parses the server output into replies by RFC 5321
   4.2 as the header documents it (codes 2xx-5xx, "ddd-" continuation
   lines with the same code, at most 101 lines, a line of at most
   SMTPMAIL_RECV_BUFFER - 2 bytes before its LF), and the client's bytes
   into commands; the n-th command gets reply n + 1 (reply 0 is the
   greeting), pipelined or not. Then:
   - smtpmail_send returns, within the fuzzer's time limit;
   - SMTPMAIL_OK if and only if the greeting was 220, the last EHLO/HELO
     got 250-259, AUTH (when sent) ended in 235, MAIL got 2xx, the RCPTs
     got 2xx (at least one with allow_partial_recipients, else all), DATA
     got 354 and the end of the message (the "." or BDAT LAST) got 2xx.
     (The "if" direction is checked when no line is near the length limit.)
   - the message the client sent (BDAT payload, or DATA body un-stuffed)
     is exactly smtpmail_message_render's, with SIZE= and BDAT counts equal
     to its length; a DATA body only after 354 to DATA, 2xx to MAIL and
     the recipients accepted; never a DATA body, and with two recipients
     and no allow_partial_recipients never any body, when a recipient was
     refused;
   - 4xx gives SMTPMAIL_ERR_TEMPORARY with the code in err.reply_code, 5xx
     SMTPMAIL_ERR_PERMANENT (or the SIZE refusal, which has no reply);
   - err.message and err.server_text are NUL-terminated printable ASCII;
     log lines have no control bytes; neither holds the password or the
     token (unless the server output does);
   - the transport is closed exactly once; no leak (LeakSanitizer).
   With flag 128: each smtpmail__read_reply returns the model's code, or
   SMTPMAIL_ERR_PROTOCOL / SMTPMAIL_ERR_NETWORK where the model says the
   reply is malformed / cut off; the text is printable, the enhanced status
   is "" or class.subject.detail, capabilities only known bits. */
#include <limits.h>

#define SMTPMAIL_IMPLEMENTATION
#include "../../smtpmail.h"
#include "fuzz.h"

#define PASSWORD "S3cr3t-Pa55word!"
#define TOKEN "ya29.Fuzz-T0ken-Xq7"
#define LINE_MAX_BYTES (SMTPMAIL_RECV_BUFFER - 2) /* before the LF */

enum { F_PASSWORD = 1, F_TOKEN = 8, F_TWO_RCPT = 16, F_PARTIAL = 32, F_BIG = 64, F_DIRECT = 128 };

/* >>transport ------------------------------------------------------------- */

typedef struct server {
    const uint8_t *out;
    size_t out_len, pos;
    uint8_t sizes[4];
    unsigned n_recv;
    fuzz_buf sent;
    int connects, closes, open;
    int secrets_in_output;      /* the output holds PASSWORD or TOKEN */
} server;

static int t_connect(void **conn, const char *host, uint16_t port, uint32_t timeout_ms, void *user_data)
{
    server *sv = (server *)user_data;
    (void)timeout_ms;
    FUZZ_CHECK(!sv->open);
    FUZZ_CHECK(strcmp(host, "fuzz.test") == 0 && port == 25);
    sv->connects++;
    sv->open = 1;
    *conn = sv;
    return 0;
}

static int t_send(void *conn, const void *data, size_t len, uint32_t timeout_ms, void *user_data)
{
    server *sv = (server *)user_data;
    (void)timeout_ms;
    FUZZ_CHECK(sv->open && conn == sv && len > 0);
    if (len > INT_MAX) len = INT_MAX;
    fuzz_put(&sv->sent, data, len);
    return (int)len;
}

static int t_recv(void *conn, void *buf, size_t cap, uint32_t timeout_ms, void *user_data)
{
    server *sv = (server *)user_data;
    size_t n;
    (void)timeout_ms;
    FUZZ_CHECK(sv->open && conn == sv && cap > 0);
    if (sv->pos >= sv->out_len) return 0;
    n = 1u + sv->sizes[sv->n_recv++ % 4];
    if (n > cap) n = cap;
    if (n > sv->out_len - sv->pos) n = sv->out_len - sv->pos;
    memcpy(buf, sv->out + sv->pos, n);
    sv->pos += n;
    return (int)n;
}

static void t_close(void *conn, void *user_data)
{
    server *sv = (server *)user_data;
    FUZZ_CHECK(sv->open && conn == sv);
    sv->open = 0;
    sv->closes++;
}

/* >>hooks ----------------------------------------------------------------- */

static void h_log(const char *line, void *user_data)
{
    const server *sv = (const server *)user_data;
    size_t i, n = strlen(line);
    for (i = 0; i < n; i++) FUZZ_CHECK((unsigned char)line[i] >= 32 && (unsigned char)line[i] != 127);
    if (!sv->secrets_in_output) {
        if (strstr(line, PASSWORD) || strstr(line, TOKEN)) {
            fuzz_dump("log line", line, n);
            FUZZ_FAIL("a log line holds the password or the token");
        }
    }
}

/* >>message --------------------------------------------------------------- */

static const char k_text[] = "Signal: BUY rb2405 @ 3650\n.\nStrategy: breakout-15m\n..\n";

/* Over SMTPMAIL_SEND_BUFFER, lines that start with '.', 7bit. */
static const char *big_text(void)
{
    static char text[400 * 64 + 1];
    size_t i;
    if (!text[0]) {
        for (i = 0; i < 400; i++)
            snprintf(text + i * 64, 65, ".line %03lu %053lu\n", (unsigned long)i, (unsigned long)i);
    }
    return text;
}

static void make_message(smtpmail_message *m, unsigned flags)
{
    static const smtpmail_address to = {"Trader", "trader@fuzz.test"};
    static const smtpmail_address bcc = {NULL, "risk@fuzz.test"};
    memset(m, 0, sizeof *m);
    m->from.name = "Alert Bot";
    m->from.addr = "bot@fuzz.test";
    m->to = &to;
    m->to_count = 1;
    if (flags & F_TWO_RCPT) {
        m->bcc = &bcc;
        m->bcc_count = 1;
    }
    m->subject = "交易信号：买入 rb2405";
    m->text = flags & F_BIG ? big_text() : k_text;
}

/* The message as the builder makes it with these hooks (Bcc is not
   written, so it depends only on F_BIG). Computed once per kind. */
static const fuzz_buf *rendered(const smtpmail_message *m, const smtpmail_hooks *hooks, int big)
{
    static fuzz_buf cache[2];
    fuzz_buf *b = &cache[big ? 1 : 0];
    if (b->len == 0) {
        FUZZ_CHECK(smtpmail_message_write(m, hooks, fuzz_buf_write, b, NULL) == SMTPMAIL_OK);
        FUZZ_CHECK(big ? b->len > SMTPMAIL_SEND_BUFFER : b->len < SMTPMAIL_SEND_BUFFER);
    }
    return b;
}

/* >>model ----------------------------------------------------------------- */

enum { RP_WHOLE, RP_BAD, RP_CUT }; /* a whole reply; malformed (PROTOCOL); cut off (NETWORK) */

typedef struct reply {
    int code, status;
} reply;

typedef struct replies {
    reply *r;
    size_t n;       /* r[0..n-1] are RP_WHOLE, r[n] is the end: RP_BAD or RP_CUT */
    int long_line;  /* a line near the length limit: no "if" verdict */
} replies;

/* The server output as a sequence of replies, RFC 5321 4.2. */
static replies model_replies(const uint8_t *s, size_t n)
{
    replies m;
    size_t i = 0;
    memset(&m, 0, sizeof m);
    m.r = (reply *)fuzz_malloc((n / 4 + 2) * sizeof *m.r);
    for (;;) {
        int lines, code = 0, status = RP_WHOLE;
        for (lines = 0;; lines++) {
            const uint8_t *nl = i < n ? (const uint8_t *)memchr(s + i, '\n', n - i) : NULL;
            size_t raw = nl ? (size_t)(nl - (s + i)) : n - i, len = raw;
            const uint8_t *l = s + i;
            int c;
            if (raw + 8 >= LINE_MAX_BYTES) m.long_line = 1;
            if (raw > LINE_MAX_BYTES) {
                status = RP_BAD; /* the library stops when its buffer is full */
                break;
            }
            if (!nl) {
                status = RP_CUT;
                break;
            }
            i += raw + 1;
            if (len > 0 && l[len - 1] == '\r') len--;
            if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
                l[2] > '9' || (len > 3 && l[3] != ' ' && l[3] != '-')) {
                status = RP_BAD;
                break;
            }
            c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
            if (lines == 0) code = c;
            else if (c != code) {
                status = RP_BAD;
                break;
            }
            if (len == 3 || l[3] == ' ') break;
            if (lines >= 100) {
                status = RP_BAD;
                break;
            }
        }
        m.r[m.n].code = code;
        m.r[m.n].status = status;
        if (status != RP_WHOLE) return m;
        m.n++;
    }
}

/* The reply to command k (reply k + 1), or NULL when it was never there. */
static const reply *reply_to(const replies *m, size_t k)
{
    return k + 1 < m->n ? &m->r[k + 1] : NULL;
}

enum { C_EHLO, C_HELO, C_AUTH, C_MAIL, C_RCPT, C_DATA, C_DOT, C_BDAT, C_RSET, C_QUIT, C_OTHER };

typedef struct commands {
    int kind[64];
    size_t n;
    fuzz_buf body;          /* the message as sent: BDAT payload or DATA body un-stuffed */
    int have_body, data_body, body_cut;
    unsigned long size_param, bdat_len;
    int have_size;
} commands;

static int starts(const unsigned char *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    return n >= k && memcmp(l, w, k) == 0;
}

/* What the client sent, as commands (the lines of AUTH's exchanges count
   as commands: each gets a reply) and the message. */
static void model_commands(const fuzz_buf *sent, commands *c)
{
    const unsigned char *s = sent->data;
    size_t n = sent->len, i = 0;
    int in_auth = 0;
    memset(c, 0, sizeof *c);
    while (i < n) {
        long e = fuzz_find(s, n, i, "\r\n", 2);
        const unsigned char *l = s + i;
        size_t len;
        int kind = C_OTHER;
        if (e < 0) {
            fuzz_dump("client bytes", s + i, n - i);
            FUZZ_FAIL("the client ends every command with CRLF");
        }
        len = (size_t)e - i;
        i = (size_t)e + 2;
        if (starts(l, len, "EHLO ")) kind = C_EHLO;
        else if (starts(l, len, "HELO ")) kind = C_HELO;
        else if (starts(l, len, "AUTH ")) kind = C_AUTH, in_auth = 1;
        else if (starts(l, len, "MAIL FROM:<")) kind = C_MAIL, in_auth = 0;
        else if (starts(l, len, "RCPT TO:<")) kind = C_RCPT;
        else if (len == 4 && starts(l, len, "DATA")) kind = C_DATA;
        else if (len == 1 && l[0] == '.') kind = C_DOT;
        else if (starts(l, len, "BDAT ")) kind = C_BDAT;
        else if (len == 4 && starts(l, len, "RSET")) kind = C_RSET;
        else if (len == 4 && starts(l, len, "QUIT")) kind = C_QUIT;
        else if (in_auth) kind = C_AUTH; /* a response line of AUTH LOGIN, PLAIN or XOAUTH2 */
        FUZZ_CHECK(c->n < sizeof c->kind / sizeof c->kind[0]);
        c->kind[c->n++] = kind;
        if (kind == C_MAIL) {
            long p = fuzz_find(l, len, 0, " SIZE=", 6);
            if (p >= 0) {
                c->have_size = 1;
                c->size_param = strtoul((const char *)l + p + 6, NULL, 10);
            }
        } else if (kind == C_BDAT) {
            char num[32];
            size_t k = len - 5 < sizeof num - 1 ? len - 5 : sizeof num - 1;
            char *end;
            memcpy(num, l + 5, k);
            num[k] = '\0';
            c->bdat_len = strtoul(num, &end, 10);
            FUZZ_CHECK(strcmp(end, " LAST") == 0);
            FUZZ_CHECK(!c->have_body && c->bdat_len <= n - i);
            fuzz_put(&c->body, s + i, c->bdat_len);
            c->have_body = 1;
            i += c->bdat_len;
        } else if (kind == C_DATA && n - i >= 6 && memcmp(s + i, "Date: ", 6) == 0) {
            /* The body, up to CRLF "." CRLF (RFC 5321 4.1.1.4), un-stuffed. */
            long t = fuzz_find(s, n, i, "\r\n.\r\n", 5);
            size_t end, j;
            FUZZ_CHECK(!c->have_body);
            c->have_body = c->data_body = 1;
            if (t < 0) {
                c->body_cut = 1;
                return;
            }
            end = (size_t)t + 2;
            for (j = i; j < end; j++) {
                if (s[j] == '.' && (j == i || s[j - 1] == '\n')) {
                    FUZZ_CHECK(j + 1 < end && s[j + 1] == '.');
                    continue;
                }
                fuzz_byte(&c->body, s[j]);
            }
            i = end;
        }
    }
}

/* Index of the first command of a kind at or after `from`, or -1. */
static long find_cmd(const commands *c, int kind, size_t from)
{
    size_t k;
    for (k = from; k < c->n; k++)
        if (c->kind[k] == kind) return (long)k;
    return -1;
}

static int code_in(const reply *r, int lo, int hi) { return r && r->code >= lo && r->code <= hi; }

/* The verdict the documentation promises, from replies and commands: 1
   when the server accepted the message. Prints why not when `why`. */
static int accepted(const replies *m, const commands *c, int partial, size_t n_rcpt, int why)
{
    long mail = find_cmd(c, C_MAIL, 0), data, end, k;
    size_t ok_rcpt = 0, rcpts = 0;
#define NOT(reason) do { if (why) fprintf(stderr, "not accepted: %s\n", reason); return 0; } while (0)
    if (m->n == 0 || m->r[0].code != 220) NOT("no 220 greeting");
    if (mail < 0) NOT("no MAIL");
    if (find_cmd(c, C_MAIL, (size_t)mail + 1) >= 0) NOT("two MAIL commands");
    for (k = mail - 1; k >= 0 && c->kind[k] != C_EHLO && c->kind[k] != C_HELO; k--) {}
    if (k < 0 || !code_in(reply_to(m, (size_t)k), 250, 259)) NOT("EHLO/HELO not 250-259");
    if (c->kind[mail - 1] == C_AUTH && !code_in(reply_to(m, (size_t)mail - 1), 235, 235)) NOT("AUTH not 235");
    if (!code_in(reply_to(m, (size_t)mail), 200, 299)) NOT("MAIL not 2xx");
    for (k = mail + 1; k < (long)c->n; k++) {
        const reply *r;
        if (c->kind[k] != C_RCPT) continue;
        rcpts++;
        if (!(r = reply_to(m, (size_t)k))) NOT("a RCPT without reply");
        if (code_in(r, 200, 299)) ok_rcpt++;
    }
    if (rcpts != n_rcpt) NOT("not one RCPT per recipient");
    if (ok_rcpt == 0 || (!partial && ok_rcpt != rcpts)) NOT("recipients refused");
    data = find_cmd(c, C_DATA, (size_t)mail);
    if (data >= 0 && !code_in(reply_to(m, (size_t)data), 354, 354)) NOT("DATA not 354");
    end = find_cmd(c, data >= 0 ? C_DOT : C_BDAT, (size_t)mail);
    if (end < 0) NOT("no end of data");
    if (!code_in(reply_to(m, (size_t)end), 200, 299)) NOT("end of data not 2xx");
    return 1;
#undef NOT
}

/* >>checks ---------------------------------------------------------------- */

static void check_printable(const char *s, size_t cap)
{
    size_t i;
    FUZZ_CHECK(memchr(s, '\0', cap) != NULL);
    for (i = 0; s[i]; i++) FUZZ_CHECK((unsigned char)s[i] >= 32 && (unsigned char)s[i] < 127);
}

static void check_error(const smtpmail_error *err, smtpmail_result r, const server *sv)
{
    FUZZ_CHECK(err->result == r);
    FUZZ_CHECK((unsigned)err->stage <= (unsigned)SMTPMAIL_STAGE_QUIT);
    check_printable(err->message, sizeof err->message);
    check_printable(err->server_text, sizeof err->server_text);
    check_printable(err->enhanced, sizeof err->enhanced);
    FUZZ_CHECK(memchr(err->field, '\0', sizeof err->field) != NULL);
    if (!sv->secrets_in_output) {
        FUZZ_CHECK(!strstr(err->message, PASSWORD) && !strstr(err->message, TOKEN));
        FUZZ_CHECK(!strstr(err->server_text, PASSWORD) && !strstr(err->server_text, TOKEN));
    }
    switch (r) {
    case SMTPMAIL_ERR_TEMPORARY:
        FUZZ_CHECK(err->reply_code >= 400 && err->reply_code <= 499);
        break;
    case SMTPMAIL_ERR_PERMANENT:
        FUZZ_CHECK((err->reply_code >= 500 && err->reply_code <= 599) ||
                   (err->reply_code == 0 && err->stage == SMTPMAIL_STAGE_MAIL && strstr(err->message, "SIZE")));
        break;
    case SMTPMAIL_ERR_AUTH:
    case SMTPMAIL_ERR_AUTH_UNSUPPORTED:
        FUZZ_CHECK(err->stage == SMTPMAIL_STAGE_AUTH);
        break;
    case SMTPMAIL_ERR_NETWORK:
    case SMTPMAIL_ERR_PROTOCOL:
    case SMTPMAIL_ERR_INVALID_ARG: /* XOAUTH2 forced without a token */
        break;
    default:
        fprintf(stderr, "result %d (%s): %s\n", (int)r, smtpmail_result_str(r), err->message);
        FUZZ_FAIL("a result this dialogue cannot produce");
    }
}

static void run_send(server *sv, unsigned flags)
{
    smtpmail_hooks hooks;
    smtpmail_transport tr;
    smtpmail_config cfg;
    smtpmail_message msg;
    smtpmail_error err;
    smtpmail_result r;
    const fuzz_buf *want;
    replies m;
    commands c;
    size_t n_rcpt = flags & F_TWO_RCPT ? 2 : 1;
    int partial = (flags & F_PARTIAL) != 0, ok;

    memset(&hooks, 0, sizeof hooks);
    hooks.now = fuzz_now;
    hooks.random = fuzz_random;
    hooks.log = h_log;
    hooks.user_data = sv;
    tr.connect = t_connect;
    tr.send = t_send;
    tr.recv = t_recv;
    tr.close = t_close;
    tr.user_data = sv;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "smtp+plain://fuzz.test:25";
    cfg.tls = SMTPMAIL_TLS_INSECURE_NONE;
    cfg.helo_name = "client.fuzz.test";
    cfg.transport = &tr;
    cfg.hooks = &hooks;
    cfg.password = flags & F_PASSWORD ? PASSWORD : NULL;
    cfg.oauth2_token = flags & F_TOKEN ? TOKEN : NULL;
    cfg.auth = (smtpmail_auth_mech)((flags >> 1) & 3);
    cfg.allow_partial_recipients = partial;
    make_message(&msg, flags);
    want = rendered(&msg, &hooks, (flags & F_BIG) != 0);

    memset(&err, 0, sizeof err);
    r = smtpmail_send(&cfg, &msg, &err);

    FUZZ_CHECK(sv->connects == 1 && sv->closes == 1 && !sv->open);
    m = model_replies(sv->out, sv->out_len);
    model_commands(&sv->sent, &c);
    ok = accepted(&m, &c, partial, n_rcpt, r == SMTPMAIL_OK);
    if (getenv("FUZZ_VERBOSE")) /* for looking at seeds: FUZZ_VERBOSE=1 fuzz_reply FILE... */
        fprintf(stderr, "fuzz_reply: %s (%s), %lu replies, %lu commands, server accepted: %s\n",
                smtpmail_result_str(r), r == SMTPMAIL_OK ? "" : err.message, (unsigned long)m.n,
                (unsigned long)c.n, ok ? "yes" : "no");
    if (r == SMTPMAIL_OK) {
        FUZZ_CHECK(ok);
        FUZZ_CHECK(c.have_body && !c.body_cut);
    } else {
        check_error(&err, r, sv);
        if (ok && !m.long_line) {
            fprintf(stderr, "result %d (%s): %s\n", (int)r, smtpmail_result_str(r), err.message);
            FUZZ_FAIL("the server accepted the message but the call failed");
        }
    }
    if (c.have_body && !c.body_cut) {
        if (c.body.len != want->len || memcmp(c.body.data, want->data, want->len) != 0) {
            fuzz_dump("sent", c.body.data, c.body.len);
            FUZZ_FAIL("the message sent is the one the builder makes");
        }
        if (!c.data_body) FUZZ_CHECK(c.bdat_len == want->len);
    }
    if (c.have_size) FUZZ_CHECK(c.size_param == want->len);
    if (c.data_body) {
        /* Only after 354, with MAIL and the recipients accepted. */
        long mail = find_cmd(&c, C_MAIL, 0), data = find_cmd(&c, C_DATA, 0), k;
        size_t ok_rcpt = 0, bad_rcpt = 0;
        FUZZ_CHECK(mail >= 0 && data > mail);
        FUZZ_CHECK(code_in(reply_to(&m, (size_t)data), 354, 354));
        FUZZ_CHECK(code_in(reply_to(&m, (size_t)mail), 200, 299));
        for (k = mail + 1; k < data; k++) {
            if (c.kind[k] != C_RCPT) continue;
            if (code_in(reply_to(&m, (size_t)k), 200, 299)) ok_rcpt++;
            else bad_rcpt++;
        }
        FUZZ_CHECK(ok_rcpt > 0 && (partial || bad_rcpt == 0));
    } else if (c.have_body && n_rcpt > 1 && !partial) {
        /* BDAT with two recipients is sent only after both replies. */
        long k;
        for (k = 0; k < (long)c.n; k++)
            if (c.kind[k] == C_RCPT) FUZZ_CHECK(code_in(reply_to(&m, (size_t)k), 200, 299));
    }
    free(m.r);
    fuzz_buf_free(&c.body);
}

/* >>direct ---------------------------------------------------------------- */

static void check_enhanced(const char *e)
{
    size_t i = 0, n;
    if (!e[0]) return;
    FUZZ_CHECK((e[0] == '2' || e[0] == '4' || e[0] == '5') && e[1] == '.');
    for (i = 2, n = 0; e[i] >= '0' && e[i] <= '9'; i++) n++;
    FUZZ_CHECK(n > 0 && e[i] == '.');
    for (i++, n = 0; e[i] >= '0' && e[i] <= '9'; i++) n++;
    FUZZ_CHECK(n > 0 && e[i] == '\0');
}

static void run_direct(server *sv)
{
    smtpmail_session *s = (smtpmail_session *)calloc(1, sizeof(struct smtpmail_session));
    smtpmail_hooks hooks;
    replies m = model_replies(sv->out, sv->out_len);
    size_t i;
    if (!s) abort();
    memset(&hooks, 0, sizeof hooks);
    hooks.log = h_log;
    hooks.user_data = sv;
    s->cfg.hooks = &hooks;
    s->ch.pipe.tr.connect = t_connect;
    s->ch.pipe.tr.send = t_send;
    s->ch.pipe.tr.recv = t_recv;
    s->ch.pipe.tr.close = t_close;
    s->ch.pipe.tr.user_data = sv;
    s->ch.pipe.hooks = &hooks;
    s->ch.pipe.io_ms = 1000;
    s->ch.pipe.deadline = smtpmail__ticks(NULL) + 60000;
    FUZZ_CHECK(t_connect(&s->ch.pipe.conn, "fuzz.test", 25, 1000, sv) == 0);
    s->ch.pipe.open = 1;
    for (i = 0;; i++) {
        smtpmail__reply rep;
        smtpmail_error err;
        smtpmail_result r = smtpmail__read_reply(s, &err, SMTPMAIL_STAGE_EHLO, &rep, 1);
        FUZZ_CHECK((s->caps & ~0xFFu) == 0 && (s->mechs & ~7u) == 0);
        if (i == m.n) {
            FUZZ_CHECK(r == (m.r[i].status == RP_CUT ? SMTPMAIL_ERR_NETWORK : SMTPMAIL_ERR_PROTOCOL));
            check_error(&err, r, sv);
            break;
        }
        if (r != SMTPMAIL_OK || rep.code != m.r[i].code) {
            fprintf(stderr, "reply %lu: result %d code %d, model code %d\n", (unsigned long)i, (int)r,
                    rep.code, m.r[i].code);
            FUZZ_FAIL("smtpmail__read_reply reads the reply the model reads");
        }
        check_printable(rep.text, sizeof rep.text);
        FUZZ_CHECK(memchr(rep.enhanced, '\0', sizeof rep.enhanced) != NULL);
        check_enhanced(rep.enhanced);
    }
    t_close(s->ch.pipe.conn, sv);
    free(m.r);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    server sv;
    unsigned flags;
    if (size < 5) return 0;
    memset(&sv, 0, sizeof sv);
    flags = data[0];
    memcpy(sv.sizes, data + 1, 4);
    sv.out = data + 5;
    sv.out_len = size - 5;
    sv.secrets_in_output = fuzz_find(sv.out, sv.out_len, 0, PASSWORD, strlen(PASSWORD)) >= 0 ||
                           fuzz_find(sv.out, sv.out_len, 0, TOKEN, strlen(TOKEN)) >= 0;
    if (flags & F_DIRECT) run_direct(&sv);
    else run_send(&sv, flags);
    fuzz_buf_free(&sv.sent);
    return 0;
}
