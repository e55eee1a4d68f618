/* tests/test_embedded.c - the embedded configuration on the host: the
   implementation built as tests/embedded_impl.c has it (SMTPMAIL_NO_SOCKETS,
   SMTPMAIL_NO_STDIO, SMTPMAIL_NO_TLS, minimum buffers) in its own object,
   build/embedded_host.o, and driven here through the public API only.

   Everything an embedded caller supplies is supplied: a transport (the
   responder of tests/fake_smtp.h, the server test_smtp.c and test_outbox.c
   use too; it needs nothing but the public API), the clock (hooks.now), the
   random source (hooks.random), a millisecond counter (hooks.ticks_ms) and
   a counting allocator. What arrives is judged by test code: the SMTP
   dialogue against RFC 5321 (CRLF lines of at most 1000 octets, DATA with
   its dot-stuffing undone, BDAT byte counts, SIZE= equal to the bytes
   stored), the Date header against a date worked out by hand, Message-ID
   and boundary against the bytes the random hook gave, attachments through
   a base64 decoder of this file. `nm` shows that the object never
   references fopen.

   Usage: test_embedded [substring]   the last line is "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMTPMAIL_NO_STDIO /* as tests/embedded_impl.c: the same API */
#include "smtpmail.h"

#include "check.h"

#ifndef EMBEDDED_OBJ
#  define EMBEDDED_OBJ "build/embedded_host.o"
#endif
#ifndef FULL_OBJ
#  define FULL_OBJ "build/link_impl.o" /* the default build, files and all */
#endif

/* >>helpers --------------------------------------------------------------- */

/* memmem for C99: where needle starts in hay[from..n), or -1. */
static long find_from(const char *hay, size_t n, size_t from, const char *needle)
{
    size_t k = strlen(needle), i;
    if (!hay) return -1;
    for (i = from; k <= n && i <= n - k; i++)
        if (memcmp(hay + i, needle, k) == 0) return (long)i;
    return -1;
}

static long find(const buf *b, const char *needle) { return find_from(b->data, b->len, 0, needle); }

/* The value of the first header field `name` (unfolded lines only), into
   out; "" if absent. Looks in the header block only. */
static void header_of(const buf *msg, const char *name, char *out, size_t cap)
{
    char key[64];
    long end = find(msg, "\r\n\r\n"), at;
    out[0] = '\0';
    snprintf(key, sizeof key, "\r\n%s: ", name);
    if (msg->len > strlen(key) - 2 && strncmp(msg->data, key + 2, strlen(key) - 2) == 0) at = 0;
    else if ((at = find(msg, key)) >= 0) at += 2;
    if (at < 0 || end < 0 || at > end) return;
    at += (long)strlen(key) - 2;
    {
        long eol = find_from(msg->data, msg->len, (size_t)at, "\r\n");
        size_t n = (size_t)(eol - at);
        if (n >= cap) n = cap - 1;
        memcpy(out, msg->data + at, n);
        out[n] = '\0';
    }
}

static void hex_of(const unsigned char *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02X", p[i]);
}

/* Base64 (RFC 4648) decoding written here, CR LF skipped: 0 or -1. */
static int b64_decode(const char *s, size_t n, buf *out)
{
    static const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long v = 0;
    int have = 0, pad = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        const char *c;
        if (s[i] == '\r' || s[i] == '\n') continue;
        if (s[i] == '=') {
            pad++;
            v <<= 6;
        } else {
            if (pad || !(c = strchr(k_b64, s[i])) || !s[i]) return -1;
            v = (v << 6) | (unsigned long)(c - k_b64);
        }
        if (++have == 4) {
            unsigned char b[3];
            b[0] = (unsigned char)(v >> 16);
            b[1] = (unsigned char)(v >> 8);
            b[2] = (unsigned char)v;
            if (pad > 2) return -1;
            buf_put(out, b, (size_t)(3 - pad));
            have = 0;
            v = 0;
        }
    }
    return have == 0 ? 0 : -1;
}

/* The decoded body of the MIME part whose Content-Disposition names
   `filename`: its base64 runs from the blank line after its headers to the
   next "\r\n--". 0 on success. */
static int attachment_bytes(const buf *msg, const char *filename, buf *out)
{
    char key[128];
    long at, body, end;
    snprintf(key, sizeof key, "filename=\"%s\"", filename);
    if ((at = find(msg, key)) < 0) return -1;
    if ((body = find_from(msg->data, msg->len, (size_t)at, "\r\n\r\n")) < 0) return -1;
    body += 4;
    if ((end = find_from(msg->data, msg->len, (size_t)body, "\r\n--")) < 0) return -1;
    return b64_decode(msg->data + body, (size_t)(end - body), out);
}

/* >>hooks ----------------------------------------------------------------- */

/* Every block the hook hands out carries a header with its size and a
   mark, so that a free of anything else is seen. */
typedef struct counting {
    unsigned long allocs, frees, failed, foreign;
    unsigned long fail_at;  /* this allocation (1-based) returns NULL; 0: none */
    size_t live, peak, sizes[8];
} counting;

#define BLOCK_MARK 0x5EA1B10Cul
typedef union block {
    struct {
        unsigned long mark;
        size_t size;
    } h;
    long double align_;
} block;

/* The hooks' user_data: the allocator, the clock and the random source. */
typedef struct world {
    counting mem;
    int64_t now;
    int offset_min;
    unsigned long now_calls;
    unsigned long random_calls;
    unsigned char last_random[64]; /* the bytes of the last random call */
    size_t last_random_len;
    unsigned char next_byte;
    uint64_t ticks;
} world;

static void *count_alloc(size_t size, void *user_data)
{
    counting *c = &((world *)user_data)->mem;
    block *b;
    c->allocs++;
    if (c->fail_at && c->allocs == c->fail_at) {
        c->failed++;
        return NULL;
    }
    b = (block *)xmalloc(sizeof(block) + size);
    b->h.mark = BLOCK_MARK;
    b->h.size = size;
    if (c->allocs <= 8) c->sizes[c->allocs - 1] = size;
    c->live += size;
    if (c->live > c->peak) c->peak = c->live;
    return b + 1;
}

static void count_free(void *ptr, void *user_data)
{
    counting *c = &((world *)user_data)->mem;
    block *b = (block *)ptr - 1;
    if (!ptr) return;
    if (b->h.mark != BLOCK_MARK) {
        c->foreign++;
        return;
    }
    b->h.mark = 0;
    c->frees++;
    c->live -= b->h.size;
    free(b);
}

static int64_t fixed_now(int *utc_offset_min, void *user_data)
{
    world *w = (world *)user_data;
    w->now_calls++;
    *utc_offset_min = w->offset_min;
    return w->now;
}

/* A byte sequence that no OS source would give: 0x5A, 0x7F, 0xA4, ... */
static int seq_random(void *buf_, size_t len, void *user_data)
{
    world *w = (world *)user_data;
    unsigned char *p = (unsigned char *)buf_;
    size_t i;
    w->random_calls++;
    for (i = 0; i < len; i++) {
        p[i] = (unsigned char)(0x5A + 37 * w->next_byte);
        w->next_byte++;
    }
    w->last_random_len = len < sizeof w->last_random ? len : sizeof w->last_random;
    memcpy(w->last_random, p, w->last_random_len);
    return 0;
}

static uint64_t step_ticks(void *user_data) { return ((world *)user_data)->ticks += 1; }

static void world_init(world *w, smtpmail_hooks *h)
{
    memset(w, 0, sizeof *w);
    memset(h, 0, sizeof *h);
    w->now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 UTC */
    h->alloc = count_alloc;
    h->free = count_free;
    h->now = fixed_now;
    h->random = seq_random;
    h->ticks_ms = step_ticks;
    h->user_data = w;
}

/* >>server ---------------------------------------------------------------- */

/* The server is tests/fake_smtp.h's responder: it answers each command as
   it arrives (so pipelined batches work), records the command lines and
   stores each message as a server would (DATA un-stuffed, BDAT by count). */
#include "fake_smtp.h"

#define EHLO_BASIC FAKE_EHLO_AS("mx.test", FAKE_CAP("SIZE 1000000"), "8BITMIME")
#define EHLO_FAST FAKE_EHLO_AS("mx.test", FAKE_CAP("PIPELINING") FAKE_CAP("CHUNKING"), "SIZE 1000000")

/* One delivery's rig: the server, the hooks' world and the config for
   them (not to be copied: the transport points into it). */
typedef struct rig {
    fake srv;
    world w;
    smtpmail_hooks h;
    smtpmail_config cfg;
} rig;

/* A server answering EHLO with ehlo, taking at most 100 bytes per send and
   handing out its replies 7 bytes at a time; the embedded caller's hooks. */
static void rig_init(rig *r, const char *ehlo)
{
    world_init(&r->w, &r->h);
    fake_init_responder(&r->srv, ehlo);
    r->srv.send_max = 100;
    r->srv.piece = 7;
    memset(&r->cfg, 0, sizeof r->cfg);
    r->cfg.url = "smtp+plain://mx.test:25";
    r->cfg.helo_name = "sensor7.example.com";
    r->cfg.hooks = &r->h;
    r->cfg.transport = &r->srv.tr;
}

/* The message the server stored last (empty if none). */
static const buf *stored(const rig *r)
{
    static const buf none = {NULL, 0, 0};
    return r->srv.n_msgs > 0 ? &r->srv.msgs[r->srv.n_msgs - 1] : &none;
}

/* >>message --------------------------------------------------------------- */

static const smtpmail_address k_emb_to[2] = {{"Desk", "desk@example.com"}, {NULL, "ops@example.net"}};

/* Bytes of every value, then some, with CR LF and dots among them. */
static unsigned char g_mem[700];
static unsigned char g_cb[2000];

static void fill_data(void)
{
    size_t i;
    for (i = 0; i < sizeof g_mem; i++) g_mem[i] = (unsigned char)(i * 7 + (i >> 8));
    for (i = 0; i < sizeof g_cb; i++) g_cb[i] = (unsigned char)(i % 5 == 0 ? '.' : i % 7 == 0 ? '\n' : i * 13);
}

/* A read callback that hands out g_cb in uneven pieces. */
typedef struct reader {
    size_t pos, calls;
} reader;

static int read_cb(void *out, size_t cap, size_t *got, void *user_data)
{
    reader *r = (reader *)user_data;
    size_t n = sizeof g_cb - r->pos;
    r->calls++;
    if (n > 97) n = 97;
    if (n > cap) n = cap;
    memcpy(out, g_cb + r->pos, n);
    r->pos += n;
    *got = n;
    return 0;
}

static void emb_msg(smtpmail_message *m, smtpmail_attachment *att, size_t n_att)
{
    memset(m, 0, sizeof *m);
    m->from.name = "Sensor 7";
    m->from.addr = "sensor7@example.com";
    m->to = k_emb_to;
    m->to_count = 2;
    m->subject = "Over temperature";
    m->text = "Temperature 81.5 C\n.\nend\n";
    m->attachments = att;
    m->attachment_count = n_att;
}

/* The checks every delivery gets: one connection, closed; the dialogue
   bytes well formed; every allocation back; no waiting for nothing. */
static void check_clean(const rig *r)
{
    const fake *s = &r->srv;
    const world *w = &r->w;
    CHECK_INT(s->connects, 1);
    CHECK_INT(s->closes, 1);
    CHECK_INT(s->bare_lf, 0);
    CHECK_INT(s->long_lines, 0);
    CHECK_INT(s->stalls, 0);
    CHECK_INT(s->unexpected, 0);
    CHECK_INT(s->n_msgs, 1);
    CHECK(w->mem.allocs > 0);
    CHECK_INT(w->mem.frees, w->mem.allocs);
    CHECK_INT(w->mem.live, 0);
    CHECK_INT(w->mem.foreign, 0);
    CHECK(w->now_calls > 0);
    CHECK(w->random_calls > 0);
}

/* Message-ID and boundary: the first 28 bytes of the last random call
   (a session draws for 8 messages at once; its first message takes 12
   for the boundary, 16 for the Message-ID) in hex. */
static void check_random_use(const rig *r)
{
    const buf *msg = stored(r);
    const world *w = &r->w;
    char hex[80], want[160], got[200];
    CHECK(w->last_random_len >= 28);
    hex_of(w->last_random + 12, 16, hex);
    snprintf(want, sizeof want, "<%s@example.com>", hex);
    header_of(msg, "Message-ID", got, sizeof got);
    CHECK_STR(got, want);
    hex_of(w->last_random, 12, hex);
    snprintf(want, sizeof want, "boundary=\"=_%s_m\"", hex);
    if (!CHECK(find(msg, want) >= 0)) note("want", want);
    snprintf(want, sizeof want, "\r\n--=_%s_m--", hex);
    CHECK(find(msg, want) >= 0);
}

/* >>tests ----------------------------------------------------------------- */

/* Memory and callback attachments: the message streams after DATA (a read
   callback cannot be read twice), dot-stuffed, through 1024-byte buffers. */
static void test_data_dialogue_streams_attachments_dot_stuffed(void)
{
    rig r;
    smtpmail_message m;
    smtpmail_attachment att[2];
    smtpmail_error err;
    reader rd = {0, 0};
    buf got = {0};
    char date[64];

    fill_data();
    rig_init(&r, EHLO_BASIC);
    memset(att, 0, sizeof att);
    att[0].data = g_mem;
    att[0].data_len = sizeof g_mem;
    att[0].filename = "mem.bin";
    att[0].content_type = "application/octet-stream";
    att[1].read = read_cb;
    att[1].read_user_data = &rd;
    att[1].filename = "cb.bin";
    att[1].content_type = "application/octet-stream";
    emb_msg(&m, att, 2);

    CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_OK);
    /* RFC 5321 3.3: one transaction, no PIPELINING offered: lockstep. The
       message streams, so MAIL FROM carries no SIZE. */
    CHECK_STR(r.srv.cmds.data, "EHLO sensor7.example.com\n"
                           "MAIL FROM:<sensor7@example.com>\n"
                           "RCPT TO:<desk@example.com>\n"
                           "RCPT TO:<ops@example.net>\n"
                           "DATA\n"
                           "<end of data>\n"
                           "QUIT\n");
    check_clean(&r);
    /* The data ends with CRLF . CRLF and the stored message with CRLF. */
    CHECK(r.srv.sent.len > 5 && memcmp(r.srv.sent.data + r.srv.sent.len - 11, "\r\n.\r\nQUIT\r\n", 11) == 0);
    CHECK(stored(&r)->len > 2 && memcmp(stored(&r)->data + stored(&r)->len - 2, "\r\n", 2) == 0);
    /* Dot-stuffing was needed: the text has a line that is a lone dot. */
    CHECK(find(&r.srv.sent, "\r\n..\r\n") >= 0);
    CHECK(find(stored(&r), "\r\n.\r\nend\r\n") >= 0);

    header_of(stored(&r), "Date", date, sizeof date);
    CHECK_STR(date, "Tue, 14 Nov 2023 22:13:20 +0000");
    check_random_use(&r);

    /* The allocations: the session (small: the three buffers at their
       minimum sizes, not the defaults' 20 KB) and the read chunk. */
    CHECK_INT(r.w.mem.allocs, 2);
    CHECK(r.w.mem.sizes[0] >= 1024 + 520 + 600 && r.w.mem.sizes[0] < 6000);
    CHECK_INT(r.w.mem.sizes[1], 171);

    CHECK_INT(attachment_bytes(stored(&r), "mem.bin", &got), 0);
    CHECK(got.len == sizeof g_mem && memcmp(got.data, g_mem, sizeof g_mem) == 0);
    got.len = 0;
    CHECK_INT(attachment_bytes(stored(&r), "cb.bin", &got), 0);
    CHECK(got.len == sizeof g_cb && memcmp(got.data, g_cb, sizeof g_cb) == 0);
    CHECK(rd.calls > sizeof g_cb / 97);
    buf_free(&got);
    fake_free(&r.srv);
}

/* A message that fits SMTPMAIL_SEND_BUFFER (1024) is rendered first: SIZE=
   equals the bytes stored, and with CHUNKING it goes as one BDAT LAST,
   pipelined with the envelope. */
static void test_small_message_goes_as_one_bdat_with_size(void)
{
    rig r;
    smtpmail_message m;
    smtpmail_attachment att[1];
    smtpmail_error err;
    buf got = {0};
    char want[400], date[64];

    fill_data();
    rig_init(&r, EHLO_FAST);
    r.w.offset_min = 8 * 60;
    memset(att, 0, sizeof att);
    att[0].data = g_mem;
    att[0].data_len = 200;
    att[0].filename = "small.bin";
    emb_msg(&m, att, 1);
    m.to_count = 1;

    CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_OK);
    check_clean(&r);
    CHECK(stored(&r)->len > 300 && stored(&r)->len <= 1024);
    snprintf(want, sizeof want,
             "EHLO sensor7.example.com\n"
             "MAIL FROM:<sensor7@example.com> SIZE=%lu\n"
             "RCPT TO:<desk@example.com>\n"
             "BDAT %lu LAST\n"
             "QUIT\n",
             (unsigned long)stored(&r)->len, (unsigned long)stored(&r)->len);
    CHECK_STR(r.srv.cmds.data, want);
    /* 22:13:20 UTC is 06:13:20 the next day at +0800: a Wednesday. */
    header_of(stored(&r), "Date", date, sizeof date);
    CHECK_STR(date, "Wed, 15 Nov 2023 06:13:20 +0800");
    check_random_use(&r);
    CHECK_INT(r.w.mem.allocs, 1); /* the session; nothing is read in chunks */
    CHECK_INT(attachment_bytes(stored(&r), "small.bin", &got), 0);
    CHECK(got.len == 200 && memcmp(got.data, g_mem, 200) == 0);
    buf_free(&got);
    fake_free(&r.srv);
}

/* Over 1024 bytes from memory only: measured, found too big for the send
   buffer, then streamed over DATA (no BDAT, no SIZE, though offered). The
   render that went out is the second: its random bytes are the last. */
static void test_big_message_streams_over_data_without_size(void)
{
    rig r;
    smtpmail_message m;
    smtpmail_attachment att[1];
    smtpmail_error err;
    buf got = {0};

    fill_data();
    rig_init(&r, EHLO_FAST);
    r.w.offset_min = -5 * 60;
    memset(att, 0, sizeof att);
    att[0].data = g_cb;
    att[0].data_len = sizeof g_cb;
    att[0].filename = "big.bin";
    emb_msg(&m, att, 1);

    CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_OK);
    check_clean(&r);
    CHECK(stored(&r)->len > 2048);
    CHECK(find(&r.srv.cmds, "SIZE=") < 0);
    CHECK(find(&r.srv.cmds, "BDAT") < 0);
    CHECK(find(&r.srv.cmds, "<end of data>\nQUIT\n") >= 0);
    /* One draw: the trial rendering and the stream use the same bytes. */
    CHECK_INT(r.w.random_calls, 1);
    check_random_use(&r);
    {
        char date[64];
        header_of(stored(&r), "Date", date, sizeof date);
        CHECK_STR(date, "Tue, 14 Nov 2023 17:13:20 -0500");
    }
    CHECK_INT(r.w.mem.allocs, 1);
    CHECK_INT(attachment_bytes(stored(&r), "big.bin", &got), 0);
    CHECK(got.len == sizeof g_cb && memcmp(got.data, g_cb, sizeof g_cb) == 0);
    buf_free(&got);
    fake_free(&r.srv);
}

/* The allocator says no, first to the session, then to the read chunk
   (after DATA): no message is stored and nothing leaks. */
static void test_out_of_memory_stores_nothing_and_leaks_nothing(void)
{
    unsigned long k;
    fill_data();
    for (k = 1; k <= 2; k++) {
        rig r;
        smtpmail_message m;
        smtpmail_attachment att[1];
        smtpmail_error err;
        reader rd = {0, 0};
        rig_init(&r, EHLO_BASIC);
        r.w.mem.fail_at = k;
        memset(att, 0, sizeof att);
        att[0].read = read_cb;
        att[0].read_user_data = &rd;
        att[0].filename = "cb.bin";
        emb_msg(&m, att, 1);
        CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_ERR_NO_MEMORY);
        CHECK_INT(r.w.mem.failed, 1);
        CHECK_INT(r.srv.n_msgs, 0);
        CHECK_INT(r.w.mem.frees, r.w.mem.allocs - 1);
        CHECK_INT(r.w.mem.live, 0);
        CHECK_INT(r.w.mem.foreign, 0);
        CHECK_INT(r.srv.closes, r.srv.connects);
        CHECK_INT(r.srv.connects, k == 1 ? 0 : 1);
        fake_free(&r.srv);
    }
}

/* What this build refuses: a file attachment (even one that exists), no
   transport, and TLS. Each names its field. */
static void test_refusals_of_files_no_transport_and_tls_name_the_field(void)
{
    rig r;
    smtpmail_message m;
    smtpmail_attachment att[1];
    smtpmail_error err;
    char path[512];
    FILE *f;

    rig_init(&r, EHLO_BASIC);
    temp_path(path, sizeof path, "embedded");
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    memset(att, 0, sizeof att);
    att[0].path = path;
    emb_msg(&m, att, 1);
    CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_ERR_INVALID_ARG);
    CHECK_STR(err.field, "message.attachments[0].path");
    CHECK(strstr(err.message, "SMTPMAIL_NO_STDIO") != NULL);
    remove(path);

    emb_msg(&m, NULL, 0);
    r.cfg.transport = NULL;
    CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_ERR_INVALID_ARG);
    CHECK_STR(err.field, "config.transport");

    r.cfg.transport = &r.srv.tr;
    r.cfg.url = "smtps://mx.test:465";
    CHECK_INT(smtpmail_send(&r.cfg, &m, &err), SMTPMAIL_ERR_INVALID_ARG);
    CHECK_STR(err.field, "config.tls");
    CHECK_INT(r.srv.connects, 0);
    CHECK_INT(r.w.mem.live, 0);
    fake_free(&r.srv);
}

/* The undefined symbols of an object, by nm: "name\n" each. 0 on success. */
static int undefined_symbols(const char *obj, buf *out)
{
    char cmd[600], line[512];
    FILE *p;
    snprintf(cmd, sizeof cmd, "nm -u '%s' 2>/dev/null", obj);
    if (!(p = popen(cmd, "r"))) return -1;
    while (fgets(line, sizeof line, p)) {
        char *name = strrchr(line, ' ');
        buf_str(out, "\n");
        buf_str(out, name ? name + 1 : line);
    }
    return pclose(p) == 0 && out->len > 0 ? 0 : -1;
}

/* The embedded object calls no file function; the default build's object,
   read the same way, does (so the check can fail). */
static void test_object_has_no_file_access(void)
{
    static const char *const banned[] = {"fopen", "fread", "fwrite", "fclose", "ferror", "remove"};
    buf emb = {0}, full = {0};
    size_t i;
    char needle[32];
    if (!CHECK_INT(undefined_symbols(EMBEDDED_OBJ, &emb), 0)) note("object", EMBEDDED_OBJ);
    CHECK(find(&emb, "\nsnprintf\n") >= 0);
    for (i = 0; i < sizeof banned / sizeof banned[0]; i++) {
        snprintf(needle, sizeof needle, "\n%s\n", banned[i]);
        if (!CHECK(find(&emb, needle) < 0)) note("references", banned[i]);
    }
    CHECK(find(&emb, "\nsocket\n") < 0);
    CHECK(find(&emb, "\nmbedtls_ssl_setup\n") < 0);
    if (!CHECK_INT(undefined_symbols(FULL_OBJ, &full), 0)) note("object", FULL_OBJ);
    CHECK(find(&full, "\nfopen\n") >= 0);
    buf_free(&emb);
    buf_free(&full);
}

static const test_case k_tests[] = {
    T(data_dialogue_streams_attachments_dot_stuffed),
    T(small_message_goes_as_one_bdat_with_size),
    T(big_message_streams_over_data_without_size),
    T(out_of_memory_stores_nothing_and_leaks_nothing),
    T(refusals_of_files_no_transport_and_tls_name_the_field),
    T(object_has_no_file_access),
};

int main(int argc, char **argv)
{
    return run_tests(k_tests, sizeof k_tests / sizeof k_tests[0], argc, argv);
}
