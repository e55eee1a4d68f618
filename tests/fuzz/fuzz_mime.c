/* tests/fuzz/fuzz_mime.c - libFuzzer target: the MIME builder on random
   fields.

   Input: one byte of flags, then NUL-separated fields: subject, From
   display name, To display name, text, html, attachment file name, value
   of a custom header "X-Fuzz"; whatever follows the seventh NUL is the
   attachment's bytes. Missing fields are NULL. Flags: 1 text, 2 html, 4 an
   attachment, 8 it is inline (content_id, beside the HTML), 16 a second,
   fixed attachment (report.csv), 32 the custom header, 64 Cc and
   Reply-To, 128 no Subject. The clock and the random source are fixed.

   Properties:
   - smtpmail_message_render returns OK or a message error (-20..-26)
     that smtpmail_message_check also returns, with err.field naming a
     message field; never SMTPMAIL_ERR_INTERNAL (the writer's own check of
     its output) or anything else;
   - on OK: measuring (no buffer), an exact buffer (length + 1) and
     smtpmail_message_write agree byte for byte; one byte less is
     SMTPMAIL_ERR_BUFFER_TOO_SMALL with the same length;
   - every byte is CR, LF, tab or printable ASCII, CR only in CRLF, LF only
     after CR, no line over 998 octets;
   - the Subject and X-Fuzz fields unfold and decode (RFC 2047) to the
     values given; the display names of From and To read back (atoms,
     quoted-string or encoded-words);
   - the text and html bodies decode (7bit, quoted-printable or base64, as
     declared) to the text with CRLF line ends and a final CRLF;
   - each attachment's base64 decodes to its bytes exactly. */
#define SMTPMAIL_IMPLEMENTATION
#include "../../smtpmail.h"
#include "fuzz.h"

enum { F_TEXT = 1, F_HTML = 2, F_ATTACH = 4, F_INLINE = 8, F_CSV = 16, F_HEADER = 32, F_CC = 64, F_NO_SUBJECT = 128 };

static const char k_csv[] = "time,signal,price\r\n09:31,BUY rb2405,3650\r\n";

/* msg[at..n) starts with w. */
static int at_is(const unsigned char *msg, size_t n, size_t at, const char *w)
{
    size_t k = strlen(w);
    return at <= n && n - at >= k && memcmp(msg + at, w, k) == 0;
}

/* The line of the header block msg[h0..h1) that starts with `start`: the
   offset after `start`, or -1. Only line starts count (a folded line
   starts with whitespace), so no text inside a field can pass for one. */
static long header_line(const unsigned char *msg, size_t h0, size_t h1, const char *start)
{
    size_t i = h0;
    while (i < h1) {
        long e = fuzz_find(msg, h1, i, "\r\n", 2);
        if (at_is(msg, h1, i, start)) return (long)(i + strlen(start));
        if (e < 0) break;
        i = (size_t)e + 2;
    }
    return -1;
}

/* One entity that is not a multipart: its header block and its body. */
typedef struct leaf {
    size_t h0, h1, b0, b1;
} leaf;

/* The leaf entities of the message, in order. Boundary delimiters are
   found as "\r\n--=_" (RFC 2046 5.1.1: the CRLF belongs to the delimiter):
   no body can hold that (7bit is not chosen for a line starting "--=_",
   quoted-printable encodes '=', base64 has no '-'), no header line starts
   with "--". Each piece after a delimiter line is a header block, an
   empty line and a body; multipart containers (empty preamble) and the
   epilogue after a close delimiter are skipped. */
static size_t leaves(const unsigned char *msg, size_t n, leaf *out, size_t max)
{
    size_t count = 0, start = 0;
    for (;;) {
        long d = fuzz_find(msg, n, start, "\r\n--=_", 6), e;
        size_t end = d < 0 ? n : (size_t)d;
        e = fuzz_find(msg, end, start, "\r\n\r\n", 4);
        if (e >= 0 && header_line(msg, start, (size_t)e + 2, "Content-Type: multipart/") < 0) {
            FUZZ_CHECK(count < max);
            out[count].h0 = start;
            out[count].h1 = (size_t)e + 2;
            out[count].b0 = (size_t)e + 4;
            out[count].b1 = end;
            count++;
        }
        if (d < 0) return count;
        /* Past the delimiter line; a close delimiter ("--" after the
           boundary) leaves only CRLF or the next delimiter. */
        e = fuzz_find(msg, n, end + 2, "\r\n", 2);
        if (e < 0) return count;
        start = (size_t)e + 2;
    }
}

/* A leaf's body, decoded by its Content-Transfer-Encoding. */
static void leaf_body(const unsigned char *msg, const leaf *l, fuzz_buf *out)
{
    long cte = header_line(msg, l->h0, l->h1, "Content-Transfer-Encoding: ");
    size_t n = l->b1 - l->b0;
    const unsigned char *body = msg + l->b0;
    FUZZ_CHECK(cte >= 0);
    fuzz_put(out, "", 0);
    if (at_is(msg, l->h1, (size_t)cte, "base64\r\n")) {
        FUZZ_CHECK(fuzz_lines_ok(body, n, 76));
        if (fuzz_b64_decode(body, n, 1, out) != 0) {
            fuzz_dump("body", body, n);
            FUZZ_FAIL("the base64 body decodes");
        }
    } else if (at_is(msg, l->h1, (size_t)cte, "quoted-printable\r\n")) {
        if (fuzz_qp_decode(body, n, out) != 0) {
            fuzz_dump("body", body, n);
            FUZZ_FAIL("the quoted-printable body decodes");
        }
    } else {
        FUZZ_CHECK(at_is(msg, l->h1, (size_t)cte, "7bit\r\n"));
        FUZZ_CHECK(fuzz_lines_ok(body, n, 78));
        fuzz_put(out, body, n);
    }
}

/* The one leaf whose Content-Type line is exactly `type` (a text body)
   decodes to the text with CRLF line ends and a final CRLF. */
static void check_text_body(const unsigned char *msg, const leaf *ls, size_t nl, const char *type,
                            const char *text)
{
    fuzz_buf got = {0}, want = {0};
    size_t i, found = 0;
    for (i = 0; i < nl; i++) {
        long t = header_line(msg, ls[i].h0, ls[i].h1, "Content-Type: ");
        if (t < 0 || !at_is(msg, ls[i].h1, (size_t)t, type) || !at_is(msg, ls[i].h1, (size_t)t + strlen(type), "\r\n"))
            continue;
        found++;
        leaf_body(msg, &ls[i], &got);
    }
    FUZZ_CHECK(found == 1);
    fuzz_normalise(&want, (const unsigned char *)text, strlen(text));
    if (got.len != want.len || memcmp(got.data, want.data, want.len) != 0) {
        fuzz_dump("decoded", got.data, got.len);
        fuzz_dump("wanted", want.data, want.len);
        FUZZ_FAIL("a text body decodes to the text given");
    }
    fuzz_buf_free(&got);
    fuzz_buf_free(&want);
}

/* Among the leaves with a Content-Disposition (attachments and inline
   parts), one holds `data` exactly. */
static void check_attachment(const unsigned char *msg, const leaf *ls, size_t nl, const void *data, size_t len)
{
    size_t i;
    int found = 0;
    for (i = 0; i < nl && !found; i++) {
        fuzz_buf got = {0};
        if (header_line(msg, ls[i].h0, ls[i].h1, "Content-Disposition: ") < 0) continue;
        leaf_body(msg, &ls[i], &got);
        found = got.len == len && (len == 0 || memcmp(got.data, data, len) == 0);
        fuzz_buf_free(&got);
    }
    if (!found) FUZZ_FAIL("the attachment's bytes are in the message");
}

/* An unstructured field (Subject, X-Fuzz) reads back as `value`. */
static void check_unstructured(const unsigned char *msg, size_t hdr_len, const char *name, const char *value)
{
    size_t end = 0;
    long at = fuzz_header(msg, hdr_len, name, &end);
    fuzz_buf got = {0};
    FUZZ_CHECK(at >= 0);
    if (fuzz_2047_decode(msg + at, end - (size_t)at, &got, NULL) != 0 || got.len != strlen(value) ||
        (got.len > 0 && memcmp(got.data, value, got.len) != 0)) {
        fuzz_dump("field", msg + at, end - (size_t)at);
        fuzz_dump("decoded", got.data, got.len);
        fuzz_dump("value", value, strlen(value));
        FUZZ_FAIL("the field unfolds and decodes to its value");
    }
    fuzz_buf_free(&got);
}

/* "From: NAME <addr>": the display name reads back as `name` (RFC 5322
   3.2.5 phrase: atoms, one quoted-string, or RFC 2047 encoded-words). */
static void check_mailbox(const unsigned char *msg, size_t hdr_len, const char *field, const char *name,
                          const char *addr)
{
    size_t end = 0, alen = strlen(addr);
    long at = fuzz_header(msg, hdr_len, field, &end);
    fuzz_buf got = {0}, unfolded = {0};
    size_t i, k;
    FUZZ_CHECK(at >= 0);
    for (i = (size_t)at; i < end; i++)
        if (msg[i] != '\r' && msg[i] != '\n') fuzz_byte(&unfolded, msg[i]);
    k = unfolded.len;
    if (!name || !name[0]) {
        FUZZ_CHECK(k == alen + 1 && memcmp(unfolded.data + 1, addr, alen) == 0);
        fuzz_buf_free(&unfolded);
        return;
    }
    /* " phrase <addr>" */
    FUZZ_CHECK(k > alen + 3 && unfolded.data[k - 1] == '>' && unfolded.data[k - alen - 2] == '<' &&
               memcmp(unfolded.data + k - alen - 1, addr, alen) == 0 && unfolded.data[k - alen - 3] == ' ');
    k -= alen + 3; /* the phrase is unfolded.data[0..k), after its leading space */
    if (k >= 3 && unfolded.data[1] == '"') {
        FUZZ_CHECK(unfolded.data[k - 1] == '"');
        for (i = 2; i + 1 < k; i++) {
            if (unfolded.data[i] == '\\') i++;
            else FUZZ_CHECK(unfolded.data[i] != '"');
            fuzz_byte(&got, unfolded.data[i]);
        }
    } else {
        FUZZ_CHECK(fuzz_2047_decode(unfolded.data, k, &got, NULL) == 0);
    }
    if (got.len != strlen(name) || memcmp(got.data, name, got.len) != 0) {
        fuzz_dump("field", msg + at, end - (size_t)at);
        fuzz_dump("read back", got.data, got.len);
        fuzz_dump("name", name, strlen(name));
        FUZZ_FAIL("the display name reads back");
    }
    fuzz_buf_free(&got);
    fuzz_buf_free(&unfolded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *field[7];
    char *copy;
    const uint8_t *rest = NULL;
    size_t rest_len = 0, i, k, n = 0, n2 = 0;
    unsigned flags;
    smtpmail_address from, to, cc;
    smtpmail_attachment att[2];
    smtpmail_header hdr;
    smtpmail_message msg;
    smtpmail_hooks hooks;
    smtpmail_error err, err2;
    smtpmail_result r;
    char *out, *exact;
    fuzz_buf written = {0};
    size_t hdr_len;

    if (size < 1) return 0;
    flags = data[0];
    /* The fields, each a C string in its own exact-size buffer. */
    copy = (char *)fuzz_malloc(size);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    for (i = 0, k = 0; k < 7; k++) {
        field[k] = NULL;
        if (i >= size - 1) continue;
        field[k] = copy + i;
        i += strlen(copy + i) + 1;
        if (k == 6 && i <= size - 1) {
            rest = data + 1 + i;
            rest_len = size - 1 - i;
        }
    }

    memset(&msg, 0, sizeof msg);
    from.name = field[1];
    from.addr = "alerts@fuzz.test";
    to.name = field[2];
    to.addr = "trader@fuzz.test";
    cc.name = field[2];
    cc.addr = "risk-desk@fuzz.test";
    msg.from = from;
    msg.to = &to;
    msg.to_count = 1;
    if (flags & F_CC) {
        msg.cc = &cc;
        msg.cc_count = 1;
        msg.reply_to.name = field[1];
        msg.reply_to.addr = "desk@fuzz.test";
    }
    msg.subject = flags & F_NO_SUBJECT ? NULL : field[0] ? field[0] : "";
    if (flags & F_TEXT) msg.text = field[3] ? field[3] : "";
    if (flags & F_HTML) msg.html = field[4] ? field[4] : "<p>alert</p>";
    memset(att, 0, sizeof att);
    att[0].data = rest ? (const void *)rest : (const void *)"";
    att[0].data_len = rest_len;
    att[0].filename = field[5];
    if (flags & F_INLINE) att[0].content_id = "chart-1@fuzz.test";
    att[1].data = k_csv;
    att[1].data_len = sizeof k_csv - 1;
    att[1].filename = "report.csv";
    if (flags & F_ATTACH) {
        msg.attachments = att;
        msg.attachment_count = flags & F_CSV ? 2 : 1;
    } else if (flags & F_CSV) {
        msg.attachments = att + 1;
        msg.attachment_count = 1;
    }
    hdr.name = "X-Fuzz";
    hdr.value = field[6] ? field[6] : "";
    if (flags & F_HEADER) {
        msg.headers = &hdr;
        msg.header_count = 1;
    }
    memset(&hooks, 0, sizeof hooks);
    hooks.now = fuzz_now;
    hooks.random = fuzz_random;

    /* Measure first: no buffer. */
    memset(&err, 0, sizeof err);
    r = smtpmail_message_render(&msg, &hooks, NULL, 0, &n, &err);
    if (r != SMTPMAIL_ERR_BUFFER_TOO_SMALL) {
        if (r == SMTPMAIL_ERR_INTERNAL) fprintf(stderr, "err.message: %s\n", err.message);
        FUZZ_CHECK(r <= SMTPMAIL_ERR_HEADER_INJECTION && r >= SMTPMAIL_ERR_FILE);
        FUZZ_CHECK(strncmp(err.field, "message.", 8) == 0 && err.result == r);
        FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
        FUZZ_CHECK(smtpmail_message_check(&msg, &err2) == r && strcmp(err.field, err2.field) == 0);
        free(copy);
        return 0;
    }
    FUZZ_CHECK(smtpmail_message_check(&msg, NULL) == SMTPMAIL_OK);

    /* An exact buffer, and one byte less. */
    out = (char *)fuzz_malloc(n + 1);
    r = smtpmail_message_render(&msg, &hooks, out, n + 1, &n2, &err);
    if (r != SMTPMAIL_OK) fprintf(stderr, "result %d: %s\n", (int)r, err.message);
    FUZZ_CHECK(r == SMTPMAIL_OK && n2 == n && out[n] == '\0' && strlen(out) == n);
    exact = (char *)fuzz_malloc(n);
    FUZZ_CHECK(smtpmail_message_render(&msg, &hooks, exact, n, &n2, NULL) == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(n2 == n);
    free(exact);
    /* The streaming writer makes the same bytes. */
    FUZZ_CHECK(smtpmail_message_write(&msg, &hooks, fuzz_buf_write, &written, NULL) == SMTPMAIL_OK);
    FUZZ_CHECK(written.len == n && memcmp(written.data, out, n) == 0);
    fuzz_buf_free(&written);

    /* RFC 5322 2.1.1 / 2.3 on every byte. */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (!(c == '\r' || c == '\n' || c == '\t' || (c >= 32 && c < 127))) {
            fprintf(stderr, "byte 0x%02X at offset %lu\n", c, (unsigned long)i);
            FUZZ_FAIL("the message is 7-bit printable text");
        }
    }
    if (!fuzz_lines_ok((const unsigned char *)out, n, 998)) {
        fuzz_dump("message", out, n);
        FUZZ_FAIL("CRLF only, no line over 998 octets");
    }
    FUZZ_CHECK(n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n');

    /* The header block, read back. */
    {
        long e = fuzz_find(out, n, 0, "\r\n\r\n", 4);
        const unsigned char *u = (const unsigned char *)out;
        leaf ls[8];
        size_t nl;
        FUZZ_CHECK(e >= 0);
        hdr_len = (size_t)e + 2;
        if (msg.subject) check_unstructured(u, hdr_len, "Subject", msg.subject);
        else FUZZ_CHECK(fuzz_header(u, hdr_len, "Subject", &k) < 0);
        if (flags & F_HEADER) check_unstructured(u, hdr_len, "X-Fuzz", hdr.value);
        check_mailbox(u, hdr_len, "From", from.name, from.addr);
        check_mailbox(u, hdr_len, "To", to.name, to.addr);
        if (flags & F_CC) check_mailbox(u, hdr_len, "Reply-To", msg.reply_to.name, msg.reply_to.addr);

        /* The bodies. With neither text nor html the builder writes an
           empty text/plain part unless attachments stand alone. */
        nl = leaves(u, n, ls, sizeof ls / sizeof ls[0]);
        if (msg.text) check_text_body(u, ls, nl, "text/plain; charset=utf-8", msg.text);
        if (msg.html) check_text_body(u, ls, nl, "text/html; charset=utf-8", msg.html);
        if (flags & F_ATTACH) check_attachment(u, ls, nl, att[0].data, att[0].data_len);
        if (flags & F_CSV) check_attachment(u, ls, nl, k_csv, sizeof k_csv - 1);
    }
    free(out);
    free(copy);
    return 0;
}
