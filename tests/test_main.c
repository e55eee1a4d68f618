/* tests/test_main.c - unit tests for smtpmail.h.

   Plain C99. It includes the implementation, so tests may call the private
   smtpmail__ functions. Expected values come from RFCs, calendar facts,
   hand-computed strings, or round trips through the decoders below (written
   here, independently of the library), never from the library's own output.

   Usage: test_main [substring]   runs only the tests whose name contains it.
   The last line is "N passed, M failed" (tests); exit status 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

#include "check.h"

/* >>helpers --------------------------------------------------------------- */

/* A growable NUL-terminated byte buffer; also the memory sink for
   smtpmail_write_fn, counting calls. Its fail_at-th call (1-based) and every
   later one return fail_with. `sink s = {0};` is empty. */
typedef struct sink {
    char *data;
    size_t len, cap, max_piece;
    int calls, fail_at, fail_with;
} sink;

static void sink_put(sink *s, const void *p, size_t n)
{
    grow_put(&s->data, &s->len, &s->cap, p, n);
}

static void sink_str(sink *s, const char *str) { sink_put(s, str, strlen(str)); }

static void sink_repeat(sink *s, const char *str, size_t times)
{
    while (times--) sink_str(s, str);
}

static void sink_free(sink *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

static int sink_write(const void *data, size_t len, void *user_data)
{
    sink *s = (sink *)user_data;
    s->calls++;
    if (len > s->max_piece) s->max_piece = len;
    if (s->fail_at && s->calls >= s->fail_at) return s->fail_with;
    sink_put(s, data, len);
    return 0;
}

/* Deterministic hooks: a fixed clock, a fixed random pattern, and a counting
   allocator that fails its fail_at-th attempt. One struct, since all hooks
   share user_data. */
typedef struct env {
    int64_t now;
    int off;
    int attempts, allocs, frees, fail_at;
    size_t live, peak;
} env;

static int64_t env_now(int *utc_offset_min, void *user_data)
{
    const env *e = (const env *)user_data;
    *utc_offset_min = e->off;
    return e->now;
}

static int pattern_random(void *text_buf, size_t len, void *user_data)
{
    unsigned char *p = (unsigned char *)text_buf;
    size_t i;
    (void)user_data;
    for (i = 0; i < len; i++) p[i] = (unsigned char)(0xA5u ^ (i * 29u));
    return 0;
}

typedef union alloc_hdr {
    size_t n;
    void *p;
    long double ld;
    long long ll;
} alloc_hdr;

static void *env_alloc(size_t size, void *user_data)
{
    env *e = (env *)user_data;
    alloc_hdr *h;
    if (++e->attempts == e->fail_at) return NULL;
    h = (alloc_hdr *)xmalloc(sizeof *h + size);
    h->n = size;
    e->allocs++;
    e->live += size;
    if (e->live > e->peak) e->peak = e->live;
    return h + 1;
}

static void env_free(void *ptr, void *user_data)
{
    env *e = (env *)user_data;
    alloc_hdr *h = (alloc_hdr *)ptr - 1;
    e->frees++;
    e->live -= h->n;
    free(h);
}

/* Resets e to 1700000000 at +0800 and returns hooks using it. */
static smtpmail_hooks fixed_hooks(env *e)
{
    smtpmail_hooks h;
    memset(e, 0, sizeof *e);
    e->now = 1700000000;
    e->off = 480;
    memset(&h, 0, sizeof h);
    h.now = env_now;
    h.random = pattern_random;
    h.user_data = e;
    return h;
}

static smtpmail_hooks counting_hooks(env *e)
{
    smtpmail_hooks h = fixed_hooks(e);
    h.alloc = env_alloc;
    h.free = env_free;
    return h;
}


/* smtpmail_message_write with fixed hooks into s (emptied first). */
static smtpmail_result render(const smtpmail_message *m, sink *s, smtpmail_error *err)
{
    env e;
    smtpmail_hooks h = fixed_hooks(&e);
    smtpmail_result r;
    sink_free(s);
    memset(err, 0, sizeof *err);
    r = smtpmail_message_write(m, &h, sink_write, s, err);
    sink_put(s, "", 0);
    return r;
}

/* s[0..n) is whole lines ending in CRLF (no bare CR or LF) of at most max
   octets each, all 7-bit: printable ASCII or TAB. */
static int lines_ok(const char *s, size_t n, size_t max)
{
    size_t i, col = 0, lineno = 1;
    char what[80];
    for (i = 0; i < n; i++) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
            i++, col = 0, lineno++;
        } else if (s[i] == '\r' || s[i] == '\n') {
            snprintf(what, sizeof what, "bare CR or LF on line %lu:", (unsigned long)lineno);
            return note(what, s + i - col), 0;
        } else if ((s[i] < 32 && s[i] != '\t') || s[i] > 126) {
            snprintf(what, sizeof what, "8-bit or control octet on line %lu:", (unsigned long)lineno);
            return note(what, s + i - col), 0;
        } else if (++col > max) {
            snprintf(what, sizeof what, "line %lu over %lu octets:", (unsigned long)lineno,
                     (unsigned long)max);
            return note(what, s + i + 1 - col), 0;
        }
    }
    if (col != 0) note("no final CRLF:", s + n - col);
    return col == 0;
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    while ((hay = strstr(hay, needle)) != NULL) n++, hay += k;
    return n;
}

static int ieq_n(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y || x == 0) return 0;
    }
    return 1;
}

static uint32_t xorshift(uint32_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 17;
    *st ^= *st << 5;
    return *st;
}

/* >>decoders -------------------------------------------------------------- */

static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64: CR and LF skipped, '=' only as final padding. out has room
   for n bytes. Returns 1 on success. */
static int b64_dec(const char *s, size_t n, unsigned char *out, size_t *out_len)
{
    char *t = (char *)xmalloc(n + 1);
    size_t m = 0, i, o = 0;
    int ok;
    for (i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n') t[m++] = s[i];
    ok = m % 4 == 0;
    for (i = 0; ok && i < m; i += 4) {
        int v[4], k;
        for (k = 0; k < 4; k++) {
            char c = t[i + (size_t)k];
            v[k] = b64_val((unsigned char)c);
            if (v[k] < 0 && !(i + 4 == m && c == '=' && (k == 3 || (k == 2 && t[i + 3] == '='))))
                ok = 0;
        }
        if (!ok || v[0] < 0 || v[1] < 0) break;
        out[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
        if (v[2] >= 0) out[o++] = (unsigned char)(((v[1] & 15) << 4) | (v[2] >> 2));
        if (v[3] >= 0) out[o++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
    }
    free(t);
    *out_len = o;
    return ok;
}

static int hex_val(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Quoted-printable (RFC 2045 6.7): "=XX" with upper-case hex, soft breaks
   "=CRLF", anything else literal. out has room for n bytes. */
static int qp_dec(const char *s, size_t n, char *out, size_t *out_len)
{
    size_t i = 0, o = 0;
    int ok = 1;
    while (i < n && ok) {
        if (s[i] != '=') {
            out[o++] = s[i++];
        } else if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 3;
        } else if (i + 2 < n && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0) {
            out[o++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 3;
        } else {
            ok = 0;
        }
    }
    *out_len = o;
    return ok;
}

/* RFC 3629: no overlong forms, surrogates or code points past U+10FFFF. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0, need, k;
    while (i < n) {
        unsigned long cp, min;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) need = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) need = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) need = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i - 1 < need) return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

/* What the RFC 2047 decoder saw. */
typedef struct ew_stats {
    int words;      /* encoded-words */
    size_t max_len; /* the longest one */
    int bad;        /* empty, not base64, or not valid UTF-8 on its own */
} ew_stats;

/* Is w[0..n) one "=?UTF-8?B?text?=" (charset and "B" in either case)? */
static int ew_shape(const char *w, size_t n)
{
    size_t i;
    if (n < 12 || !ieq_n(w, "=?UTF-8?B?", 10) || w[n - 2] != '?' || w[n - 1] != '=') return 0;
    for (i = 10; i < n - 2; i++)
        if (w[i] == '?') return 0;
    return 1;
}

/* RFC 2047 6.2 on an unfolded unstructured value: encoded-words decoded,
   whitespace between two adjacent encoded-words dropped, the rest kept. */
static char *ew_decode(const char *v, ew_stats *st)
{
    size_t n = strlen(v), i = 0, o = 0;
    char *out = (char *)xmalloc(n + 1);
    int prev_ew = 0;
    while (i < n) {
        size_t ws = i, w0, wl, got = 0;
        int is_ew;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        w0 = i;
        while (i < n && v[i] != ' ' && v[i] != '\t') i++;
        wl = i - w0;
        is_ew = ew_shape(v + w0, wl);
        if (!(prev_ew && is_ew)) memcpy(out + o, v + ws, w0 - ws), o += w0 - ws;
        if (!is_ew) {
            memcpy(out + o, v + w0, wl), o += wl;
        } else {
            st->words++;
            if (wl > st->max_len) st->max_len = wl;
            if (wl == 12 || !b64_dec(v + w0 + 10, wl - 12, (unsigned char *)out + o, &got) ||
                !utf8_ok((const unsigned char *)out + o, got))
                st->bad++, note("bad encoded-word:", v + w0);
            o += got;
        }
        prev_ew = is_ew;
    }
    out[o] = '\0';
    return out;
}

/* Header `name` in the block at start (which ends at the first empty line,
   or at end), unfolded (CRLF before SP/TAB removed), after the colon.
   *raw and *raw_len (optional) get the field as written. Malloc'd; NULL
   when absent. */
static char *header_get(const char *start, const char *end, const char *name, const char **raw,
                        size_t *raw_len)
{
    size_t nl = strlen(name);
    const char *p = start, *eol, *q;
    sink v = {0};
    while (p < end && (eol = strstr(p, "\r\n")) != NULL && eol != p) {
        if ((size_t)(eol - p) > nl && ieq_n(p, name, nl) && p[nl] == ':') {
            for (q = p + nl + 1; eol; q = eol + 2, eol = strstr(q, "\r\n")) {
                sink_put(&v, q, (size_t)(eol - q));
                if (eol[2] != ' ' && eol[2] != '\t') break;
            }
            if (raw) *raw = p, *raw_len = eol ? (size_t)(eol + 2 - p) : strlen(p);
            return v.data;
        }
        p = eol + 2;
    }
    return NULL;
}

/* A top-level header with the space after the colon dropped, decoded. */
static char *header_decoded(const char *msg, const char *name, ew_stats *st)
{
    char *v = header_get(msg, msg + strlen(msg), name, NULL, NULL), *d;
    if (!v) return NULL;
    d = ew_decode(v[0] == ' ' ? v + 1 : v, st);
    free(v);
    return d;
}

/* Appends an RFC 2231 extended value, percent-decoded; the first section
   starts with charset'language'. Returns 0 when malformed, including any
   character that is not an attribute-char (RFC 2231 7) or "%XX". */
static int ext_append(sink *out, const char *s, size_t n, int first)
{
    size_t i;
    if (first) {
        const char *q = (const char *)memchr(s, '\'', n), *r;
        if (!q || !(r = (const char *)memchr(q + 1, '\'', n - (size_t)(q + 1 - s)))) return 0;
        if (!ieq_n(s, "UTF-8'", 6)) return 0;
        n -= (size_t)(r + 1 - s);
        s = r + 1;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || hex_val(s[i + 1]) < 0 || hex_val(s[i + 2]) < 0) return 0;
            c = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 2;
        } else if (c <= 32 || c > 126 || strchr("*'%()<>@,;:\\\"/[]?=", c)) {
            return 0;
        }
        sink_put(out, &c, 1);
    }
    return 1;
}

/* Parameter `param` of an unfolded MIME header value, reassembled: RFC 2231
   continuations param*0*= param*1*= ... or one param*= (percent-decoded),
   else a quoted-string param="...". *form: 3 continuations, 2 one extended
   value, 1 quoted-string. Malloc'd; NULL when absent or malformed. */
static char *param_get(const char *value, const char *param, int *form)
{
    char attr[64][48], want[64];
    const char *val[64], *p = value;
    size_t vlen[64], np = 0, i, k;
    sink out = {0};
    *form = 0;
    while (*p && np < 64) { /* split into attribute=value pairs */
        const char *a, *e;
        while (*p == ' ' || *p == '\t' || *p == ';') p++;
        for (a = p; *p && *p != '=' && *p != ';';) p++;
        if (*p != '=') continue;
        e = p++;
        val[np] = p;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (*p) p++;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') p++;
        }
        if ((size_t)(e - a) < sizeof attr[0]) {
            memcpy(attr[np], a, (size_t)(e - a));
            attr[np][e - a] = '\0';
            vlen[np] = (size_t)(p - val[np]);
            np++;
        }
    }
    for (k = 0;; k++) {
        int found = 0;
        for (i = 0; i < np && !found; i++) {
            snprintf(want, sizeof want, "%s*%lu*", param, (unsigned long)k);
            if (strcmp(attr[i], want) == 0) {
                if (!ext_append(&out, val[i], vlen[i], k == 0)) return sink_free(&out), NULL;
                found = 1;
            }
            want[strlen(want) - 1] = '\0';
            if (strcmp(attr[i], want) == 0 && vlen[i] >= 2 && val[i][0] == '"')
                sink_put(&out, val[i] + 1, vlen[i] - 2), found = 1;
        }
        if (!found) break;
        *form = 3;
    }
    for (i = 0; i < np && *form == 0; i++) {
        snprintf(want, sizeof want, "%s*", param);
        if (strcmp(attr[i], want) == 0) {
            if (!ext_append(&out, val[i], vlen[i], 1)) return sink_free(&out), NULL;
            *form = 2;
        } else if (strcmp(attr[i], param) == 0 && vlen[i] >= 2 && val[i][0] == '"') {
            for (k = 1; k + 1 < vlen[i]; k++) {
                if (val[i][k] == '\\') k++;
                sink_put(&out, val[i] + k, 1);
            }
            *form = 1;
        }
    }
    if (*form && !out.data) sink_put(&out, "", 0);
    return out.data;
}

/* One entity of a rendered message: from its Content-Type line to the end
   of its body (the next boundary delimiter, or the end of the message). */
typedef struct part {
    const char *hdr, *body;
    size_t body_len;
} part;

/* The entity whose Content-Type line starts with ctype. */
static int find_part(const char *msg, const char *ctype, part *pt)
{
    const char *p = msg, *e;
    while ((p = strstr(p, ctype)) != NULL && p != msg && p[-1] != '\n') p++;
    if (!p || !(e = strstr(p, "\r\n\r\n"))) return 0;
    pt->hdr = p;
    pt->body = e + 4;
    e = strstr(pt->body, "\r\n--=_");
    pt->body_len = e ? (size_t)(e - pt->body) : strlen(pt->body);
    return 1;
}

/* A header of the entity, unfolded, without the space after the colon. */
static char *part_header(const part *pt, const char *name)
{
    char *v = header_get(pt->hdr, pt->body, name, NULL, NULL);
    if (v && v[0] == ' ') memmove(v, v + 1, strlen(v));
    return v;
}

/* The entity's body decoded by its Content-Transfer-Encoding into out. */
static int part_decode(const part *pt, sink *out)
{
    char *cte = part_header(pt, "Content-Transfer-Encoding");
    char *text_buf = (char *)xmalloc(pt->body_len + 1);
    size_t n = 0;
    int ok = 0;
    sink_free(out);
    if (cte && strcmp(cte, "7bit") == 0) {
        memcpy(text_buf, pt->body, pt->body_len);
        n = pt->body_len;
        ok = 1;
    } else if (cte && strcmp(cte, "quoted-printable") == 0) {
        ok = qp_dec(pt->body, pt->body_len, text_buf, &n);
    } else if (cte && strcmp(cte, "base64") == 0) {
        ok = b64_dec(pt->body, pt->body_len, (unsigned char *)text_buf, &n);
    }
    sink_put(out, text_buf, n);
    free(text_buf);
    free(cte);
    return ok;
}

/* The media type of every Content-Type line of msg, in order, joined by ','. */
static void content_types(const char *msg, sink *out)
{
    const char *p = msg, *q, *e;
    sink_free(out);
    sink_put(out, "", 0);
    for (; (p = strstr(p, "Content-Type:")) != NULL; p++) {
        if (p != msg && p[-1] != '\n') continue;
        for (q = p + 13; *q == ' ';) q++;
        for (e = q; *e && *e != ';' && *e != '\r' && *e != ' ';) e++;
        if (out->len) sink_str(out, ",");
        sink_put(out, q, (size_t)(e - q));
    }
}

/* Line ends CR, LF and CRLF made CRLF, and a final CRLF when missing. */
static void normalise(const char *s, size_t n, sink *out)
{
    size_t i;
    sink_free(out);
    for (i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
            sink_str(out, "\r\n");
        } else {
            sink_put(out, s + i, 1);
        }
    }
    if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0) sink_str(out, "\r\n");
}

static int same(const sink *a, const sink *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* smtpmail_header_encode(name, value), then: CRLF only, lines <= max_line,
   every encoded-word <= 75 characters, non-empty and valid UTF-8 on its
   own, and unfolding + decoding gives back value exactly. */
static int header_round_trip(const char *name, const char *value, size_t max_line)
{
    size_t need = 0, got = 0, nl = strlen(name);
    smtpmail_error err;
    smtpmail_result r;
    ew_stats st = {0};
    char *text_buf, *v, *d = NULL;
    int ok;
    r = smtpmail_header_encode(name, value, NULL, 0, &need, &err);
    if (r != SMTPMAIL_ERR_BUFFER_TOO_SMALL || need == 0)
        return note("measuring failed:", smtpmail_result_str(r)), 0;
    text_buf = (char *)xmalloc(need + 1);
    r = smtpmail_header_encode(name, value, text_buf, need + 1, &got, &err);
    ok = r == SMTPMAIL_OK && got == need && text_buf[need] == '\0' && strncmp(text_buf, name, nl) == 0 &&
         text_buf[nl] == ':';
    if (!ok) note("encoding failed:", r ? err.message : text_buf);
    ok = ok && lines_ok(text_buf, got, max_line);
    v = header_get(text_buf, text_buf + got, name, NULL, NULL);
    if (v) d = ew_decode(v[0] == ' ' ? v + 1 : v, &st);
    if (st.bad || st.max_len > 75) ok = 0, note("encoded-word too long or bad in", text_buf);
    if (!d || strcmp(d, value) != 0) ok = 0, note("decoded", d), note("from", text_buf);
    free(d), free(v), free(text_buf);
    return ok;
}

/* smtpmail__write_qp on s[0..n) through a direct smtpmail__out, into out. */
static smtpmail_result qp_encode(const char *s, size_t n, sink *out)
{
    smtpmail__out o;
    smtpmail_error err;
    size_t cap = n * 4 + 64, len = 0;
    smtpmail_result r;
    sink_free(out);
    out->data = (char *)xmalloc(cap);
    out->cap = cap;
    smtpmail__out_direct(&o, out->data, cap, &err);
    smtpmail__write_qp(&o, (const unsigned char *)s, n);
    r = smtpmail__out_direct_end(&o, (smtpmail_result)o.result, &len, &err);
    out->len = r == SMTPMAIL_OK ? len : 0;
    out->data[out->len] = '\0';
    return r;
}

/* The message m must be refused with `want`, naming `field` in err.field
   and err.message, before any byte is written; smtpmail_message_check
   agrees. */
static int refused(const smtpmail_message *m, smtpmail_result want, const char *field)
{
    sink s = {0};
    smtpmail_error err;
    smtpmail_result r = render(m, &s, &err);
    int ok = r == want && s.calls == 0 && err.result == want && strcmp(err.field, field) == 0 &&
             strstr(err.message, field) != NULL && err.stage == SMTPMAIL_STAGE_MESSAGE;
    if (!ok)
        printf("    note: want %s for %s; got %s, field \"%s\", message \"%s\", %d writes\n",
               smtpmail_result_str(want), field, smtpmail_result_str(r), err.field, err.message,
               s.calls);
    memset(&err, 0, sizeof err);
    ok = ok && smtpmail_message_check(m, &err) == want && strcmp(err.field, field) == 0;
    sink_free(&s);
    return ok;
}

/* >>tests ----------------------------------------------------------------- */

static void test_base64_vectors(void)
{
    /* RFC 4648 section 10 */
    static const char *const plain[7] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[7] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                         "Zm9vYmFy"};
    static const char *const bad[7] = {"Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm=v", "Z", "=Zm9"};
    char text_buf[64], small[4];
    size_t i, n;
    for (i = 0; i < 7; i++) {
        n = 999;
        CHECK(smtpmail_base64_encode(plain[i], strlen(plain[i]), text_buf, sizeof text_buf, &n) == 0);
        CHECK_STR(text_buf, coded[i]);
        CHECK(n == strlen(coded[i]));
        n = 999;
        CHECK(smtpmail_base64_decode(coded[i], strlen(coded[i]), text_buf, sizeof text_buf, &n) == 0);
        CHECK(n == strlen(plain[i]) && memcmp(text_buf, plain[i], n) == 0);
    }
    CHECK(smtpmail_base64_decode("Zm9v\r\nYmFy", 10, text_buf, sizeof text_buf, &n) == SMTPMAIL_OK &&
          n == 6 && memcmp(text_buf, "foobar", 6) == 0);
    for (i = 0; i < 7; i++)
        if (!CHECK(smtpmail_base64_decode(bad[i], strlen(bad[i]), text_buf, sizeof text_buf, &n) ==
                   SMTPMAIL_ERR_BAD_FIELD))
            note("accepted", bad[i]);
    /* "foobar" encodes to 8 characters, plus the NUL */
    n = 0;
    CHECK(smtpmail_base64_encode("foobar", 6, small, sizeof small, &n) ==
          SMTPMAIL_ERR_BUFFER_TOO_SMALL && n == 8);
    n = 0;
    CHECK(smtpmail_base64_encode("foobar", 6, text_buf, 8, &n) == SMTPMAIL_ERR_BUFFER_TOO_SMALL && n == 8);
    CHECK(smtpmail_base64_encode("foobar", 6, text_buf, 9, &n) == SMTPMAIL_OK);
    n = 0;
    CHECK(smtpmail_base64_decode("Zm9vYmFy", 8, small, sizeof small, &n) ==
          SMTPMAIL_ERR_BUFFER_TOO_SMALL && n == 6);
    n = 0;
    CHECK(smtpmail_base64_decode("Zm9vYmFy", 8, NULL, 0, &n) == SMTPMAIL_ERR_BUFFER_TOO_SMALL &&
          n == 6);
}

static void test_base64_attachment_lines(void)
{
    unsigned char data[256 * 40];
    smtpmail_attachment att = {0};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0}, dec = {0};
    part pt;
    size_t i;
    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i & 255);
    att.data = data, att.data_len = sizeof data, att.filename = "bytes.bin";
    m.attachments = &att, m.attachment_count = 1;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    if (CHECK(find_part(s.data, "Content-Type: application/octet-stream", &pt))) {
        const char *p = pt.body, *end = pt.body + pt.body_len, *eol;
        size_t lines = 0, bad_lines = 0, len;
        char *cte = part_header(&pt, "Content-Transfer-Encoding");
        CHECK_STR(cte, "base64");
        for (; p < end; p += len + 2, lines++) {
            int last = !(eol = strstr(p, "\r\n")) || eol >= end;
            len = last ? (size_t)(end - p) : (size_t)(eol - p);
            if (last ? (len == 0 || len > 76) : len != 76) bad_lines++;
        }
        CHECK(bad_lines == 0);
        CHECK(lines == (sizeof data + 56) / 57); /* 57 bytes make one 76-column line */
        CHECK(part_decode(&pt, &dec));
        CHECK(dec.len == sizeof data && memcmp(dec.data, data, sizeof data) == 0);
        free(cte);
    }
    sink_free(&s), sink_free(&dec);
}

static void test_qp_small_cases(void)
{
    static const char *const cases[][2] = {
        {"a \nb", "a=20\r\nb\r\n"},
        {"a\t\nb", "a=09\r\nb\r\n"},
        {"x=y\n", "x=3Dy\r\n"},
        {".hidden\n", "=2Ehidden\r\n"},
        {"From here\n", "=46rom here\r\n"},
        {"a.b\nFrom\nx From y\n", "a.b\r\nFrom\r\nx From y\r\n"},
        {"caf\xC3\xA9\n", "caf=C3=A9\r\n"},
        {"end ", "end=20\r\n"},
        {"a\r\nb\rc\n", "a\r\nb\r\nc\r\n"},
        {"x\n.y\nFrom z", "x\r\n=2Ey\r\n=46rom z\r\n"},
        {"tab\there  x\n", "tab\there  x\r\n"},
        {"\n", "\r\n"},
    };
    sink out = {0};
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(qp_encode(cases[i][0], strlen(cases[i][0]), &out) == SMTPMAIL_OK);
        CHECK_STR(out.data, cases[i][1]);
    }
    sink_free(&out);
}

/* Quoted-printable output: lines <= 76, no blank before a line end, no line
   starting with '.' or "From ", and it decodes to the normalised input. */
static int qp_ok(const char *in, size_t n)
{
    sink out = {0}, want = {0}, dec = {0};
    const char *p;
    int ok = qp_encode(in, n, &out) == SMTPMAIL_OK && lines_ok(out.data, out.len, 76);
    for (p = out.data; ok && *p; p = strstr(p, "\r\n") + 2) {
        const char *eol = strstr(p, "\r\n");
        if (p[0] == '.' || strncmp(p, "From ", 5) == 0) ok = 0, note("line starts with", p);
        if (eol > p && (eol[-1] == ' ' || eol[-1] == '\t')) ok = 0, note("blank before CRLF", p);
    }
    normalise(in, n, &want);
    dec.data = (char *)xmalloc(out.len + 1);
    if (!qp_dec(out.data, out.len, dec.data, &dec.len) || !same(&dec, &want))
        ok = 0, note("QP does not decode to the input", out.data);
    sink_free(&out), sink_free(&want), sink_free(&dec);
    return ok;
}

static void test_qp_long_lines_and_round_trip(void)
{
    sink in = {0}, out = {0};
    sink_repeat(&in, "x", 100);
    CHECK(qp_ok(in.data, in.len));
    CHECK(qp_encode(in.data, in.len, &out) == SMTPMAIL_OK && strstr(out.data, "=\r\n") != NULL);
    /* one 5000-character line with '.', "From ", '=', blanks and tabs at
       every column, so soft breaks meet each of them; without and with a
       final line break */
    sink_free(&in);
    while (in.len < 5000) sink_str(&in, "From .a= \tb\xC3\xA9");
    in.len = 5000;
    CHECK(qp_ok(in.data, in.len));
    sink_str(&in, "\n");
    CHECK(qp_ok(in.data, in.len));
    /* mixed: CJK, '=', trailing blanks, all three line ends, a long line */
    sink_free(&in);
    sink_str(&in, "Hello, \xE4\xB8\x96\xE7\x95\x8C!\r\nprice = 3650  \ntab\tend\t\r.dot\r\n");
    sink_repeat(&in, "long line with = signs and spaces ", 8);
    sink_str(&in, "\n\nFrom me\n\xF0\x9F\x9A\x80 ok \n==\nlast");
    CHECK(qp_ok(in.data, in.len));
    sink_free(&in), sink_free(&out);
}

/* The Content-Transfer-Encoding chosen for a text (or HTML) body; checks on
   the way that the body decodes to the normalised text. Malloc'd. */
static char *body_cte(const char *text, int html)
{
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0}, dec = {0}, want = {0};
    part pt;
    char *cte = NULL;
    if (html) m.text = NULL, m.html = text;
    else m.text = text;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    if (CHECK(find_part(s.data, html ? "Content-Type: text/html" : "Content-Type: text/plain",
                        &pt))) {
        cte = part_header(&pt, "Content-Transfer-Encoding");
        normalise(text, strlen(text), &want);
        CHECK(part_decode(&pt, &dec) && same(&dec, &want));
    }
    sink_free(&s), sink_free(&dec), sink_free(&want);
    return cte;
}

static void test_cte_choice(void)
{
    char *c[6];
    sink t = {0};
    size_t i;
    sink_repeat(&t, "A", 100);
    sink_str(&t, "\nsecond line\n");
    c[0] = body_cte("Short line one\nShort line two = ok\n", 0);
    c[1] = body_cte(t.data, 0);
    c[2] = body_cte(t.data, 1);
    c[3] = body_cte("\xE4\xBA\xA4\xE6\x98\x93\xE4\xBF\xA1\xE5\x8F\xB7\xEF\xBC\x9A\xE4\xB9\xB0"
                    "\xE5\x85\xA5 rb2405\n\xE6\xAD\xA2\xE6\x8D\x9F\xE4\xBD\x8D\xE4\xB8\xBA\xE4"
                    "\xB8\x89\xE5\x8D\x83\xE5\x85\xAD\xE7\x99\xBE\n", 0);
    c[4] = body_cte("--=_abc\nhello\n", 0);
    c[5] = body_cte("hello\n--=_0123456789ABCDEF01234567_m--\n", 0);
    CHECK_STR(c[0], "7bit");
    CHECK_STR(c[1], "quoted-printable");
    CHECK_STR(c[2], "quoted-printable");
    CHECK_STR(c[3], "base64");
    CHECK(c[4] != NULL && strcmp(c[4], "7bit") != 0);
    CHECK(c[5] != NULL && strcmp(c[5], "7bit") != 0);
    for (i = 0; i < 6; i++) free(c[i]);
    sink_free(&t);
}

static const char k_cn_subject[] = /* 交易信号：买入 rb2405 @ 3650 */
    "\xE4\xBA\xA4\xE6\x98\x93\xE4\xBF\xA1\xE5\x8F\xB7\xEF\xBC\x9A\xE4\xB9\xB0\xE5\x85\xA5"
    " rb2405 @ 3650";

static void test_rfc2047_subject(void)
{
    char text_buf[512];
    size_t n = 0;
    smtpmail_error err;
    CHECK(smtpmail_header_encode("Subject", "hello world", text_buf, sizeof text_buf, &n, &err) == 0);
    CHECK_STR(text_buf, "Subject: hello world\r\n");
    CHECK(n == 22);
    CHECK(header_round_trip("Subject", k_cn_subject, 78));
    CHECK(smtpmail_header_encode("Subject", k_cn_subject, text_buf, sizeof text_buf, &n, &err) == 0);
    CHECK(strstr(text_buf, " rb2405 @ 3650\r\n") != NULL); /* the ASCII words stay readable */
    CHECK(strncmp(text_buf, "Subject: =?UTF-8?B?", 19) == 0 || strncmp(text_buf, "Subject: =?utf-8?", 17) == 0);
    CHECK(header_round_trip("Subject", "The word =?UTF-8?B?Zm9v?= is not an encoded-word", 78));
}

static void test_rfc2047_emoji_and_mixed(void)
{
    static const char *const pieces[3] = {"a", "\xE4\xB8\xAD", "\xF0\x9F\x9A\x80"}; /* a 中 🚀 */
    sink t = {0};
    size_t i;
    CHECK(header_round_trip("Subject", "\xF0\x9F\x9A\x80\xF0\x9F\x93\x88 BTC \xE7\xAA\x81\xE7"
                                       "\xA0\xB4 \xF0\x9F\x94\xA5\xF0\x9F\x94\xA5 ok", 78));
    sink_repeat(&t, "\xF0\x9F\x9A\x80", 40); /* 40 emoji, no space */
    CHECK(header_round_trip("Subject", t.data, 78));
    sink_free(&t);
    for (i = 0; i < 300; i++) sink_str(&t, i % 7 == 6 ? " " : pieces[(i / 2) % 3]);
    CHECK(header_round_trip("Subject", t.data, 78)); /* 300 characters */
    sink_free(&t);
}

static void test_rfc2047_long_ascii_word(void)
{
    sink t = {0};
    char text_buf[1024];
    size_t n;
    smtpmail_error err;
    sink_repeat(&t, "abcdefghij", 12); /* 120 characters */
    CHECK(header_round_trip("Subject", t.data, 78));
    CHECK(smtpmail_header_encode("Subject", t.data, text_buf, sizeof text_buf, &n, &err) == SMTPMAIL_OK);
    CHECK(strstr(text_buf, t.data) == NULL); /* encoded, not written as it is */
    sink_str(&t, " tail \xE4\xB8\xAD and more words");
    CHECK(header_round_trip("Subject", t.data, 78));
    sink_free(&t);
}

static void test_rfc2047_spaces(void)
{
    CHECK(header_round_trip("Subject", "  hello  ", 78));
    CHECK(header_round_trip("Subject", " hello", 78));
    CHECK(header_round_trip("Subject", "hello ", 78));
    CHECK(header_round_trip("Subject", " \xE4\xB8\xAD\xE6\x96\x87 ", 78));
    CHECK(header_round_trip("Subject", "a  b   \xE4\xB8\xAD\xE6\x96\x87    c  d", 78));
    CHECK(header_round_trip("Subject", "\xE4\xB8\xAD  \xE6\x96\x87\t\tx \t y", 78));
    CHECK(header_round_trip("Subject", "   ", 78));
    CHECK(header_round_trip("Subject", "", 78));
}

static void test_rfc2047_long_header_name(void)
{
    sink name = {0}, val = {0};
    sink_str(&name, "X-");
    sink_repeat(&name, "Long", 17);
    sink_repeat(&val, "\xE4\xBA\xA4\xE6\x98\x93 ", 30);
    CHECK(name.len == 70);
    CHECK(header_round_trip(name.data, val.data, 998));
    CHECK(header_round_trip(name.data, k_cn_subject, 998));
    sink_free(&name), sink_free(&val);
}

/* Each word length from 60 to 130, alone and after a first word: every line
   within 78 ("Subject words longer than a line are encoded too, so a
   Subject never needs a longer line"). */
static void test_rfc2047_subject_word_lengths(void)
{
    sink t = {0};
    size_t len;
    for (len = 60; len <= 130; len++) {
        sink_free(&t);
        sink_repeat(&t, "w", len);
        if (!CHECK(header_round_trip("Subject", t.data, 78)))
            printf("    note: a %lu-character word alone\n", (unsigned long)len);
        sink_free(&t);
        sink_str(&t, "Alert: ");
        sink_repeat(&t, "w", len);
        if (!CHECK(header_round_trip("Subject", t.data, 78)))
            printf("    note: a %lu-character word after \"Alert:\"\n", (unsigned long)len);
    }
    sink_free(&t);
}

/* 70 spaces between a plain word and CJK text: the spaces are part of the
   value, lines stay within 78, no encoded-word is empty (RFC 2047 2). */
static void test_rfc2047_space_run_before_encoded_word(void)
{
    sink t = {0};
    sink_str(&t, "a");
    sink_repeat(&t, " ", 70);
    sink_str(&t, "\xE4\xB8\xAD\xE6\x96\x87");
    CHECK(header_round_trip("Subject", t.data, 78));
    sink_free(&t);
}

static void test_crlf_normalisation(void)
{
    static const char text[] = "one\ntwo\rthree\r\nfour\n\rfive\r\r\nsix";
    static const char want[] = "one\r\ntwo\r\nthree\r\nfour\r\n\r\nfive\r\n\r\nsix\r\n";
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0}, dec = {0}, cn = {0}, norm = {0};
    part pt;
    m.text = text;
    m.html = "<p>a</p>\r<p>b</p>\n<p>c</p>";
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    if (CHECK(find_part(s.data, "Content-Type: text/plain", &pt)) && CHECK(part_decode(&pt, &dec)))
        CHECK_STR(dec.data, want);
    if (CHECK(find_part(s.data, "Content-Type: text/html", &pt)) && CHECK(part_decode(&pt, &dec)))
        CHECK_STR(dec.data, "<p>a</p>\r\n<p>b</p>\r\n<p>c</p>\r\n");
    /* the same through base64 (a CJK text) */
    sink_repeat(&cn, "\xE4\xB8\xAD\xE6\x96\x87\r", 5);
    sink_repeat(&cn, "\xE4\xB8\xAD\n\n\r\n", 5);
    m.html = NULL;
    m.text = cn.data;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    if (CHECK(find_part(s.data, "Content-Type: text/plain", &pt))) {
        char *cte = part_header(&pt, "Content-Transfer-Encoding");
        CHECK_STR(cte, "base64");
        normalise(cn.data, cn.len, &norm);
        CHECK(part_decode(&pt, &dec) && same(&dec, &norm));
        free(cte);
    }
    sink_free(&s), sink_free(&dec), sink_free(&cn), sink_free(&norm);
}

static void test_line_limit_998(void)
{
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0}, t = {0}, subj = {0}, dec = {0}, norm = {0};
    part pt;
    ew_stats st = {0};
    char *d;
    sink_repeat(&t, "a", 5000);
    sink_str(&t, "\n");
    sink_repeat(&t, "\xE4\xB8\xAD", 5000);
    sink_repeat(&subj, "word ", 799);
    sink_str(&subj, "last!");
    CHECK(subj.len == 4000);
    m.text = t.data;
    m.subject = subj.data;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    if (CHECK(find_part(s.data, "Content-Type: text/plain", &pt))) {
        normalise(t.data, t.len, &norm);
        CHECK(part_decode(&pt, &dec) && same(&dec, &norm));
    }
    d = header_decoded(s.data, "Subject", &st);
    CHECK_STR(d, subj.data);
    free(d);
    /* a 5000-character CJK line alone (base64), then 4000-byte Subjects:
       one word, and CJK without spaces */
    m.text = t.data + 5001;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    sink_free(&subj);
    sink_repeat(&subj, "x", 4000);
    CHECK(header_round_trip("Subject", subj.data, 78));
    m.subject = subj.data;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    sink_free(&subj);
    sink_repeat(&subj, "\xE4\xB8\xAD", 1333);
    sink_str(&subj, "!");
    CHECK(header_round_trip("Subject", subj.data, 78));
    m.subject = subj.data;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    sink_free(&s), sink_free(&t), sink_free(&subj), sink_free(&dec), sink_free(&norm);
}

/* Values the checks accept whose plain form needs a line over 998 octets: a
   Subject with a run of 1500 spaces, a custom header value that is one
   2000-character word. The header: lines "never exceed 998 octets". */
static void test_line_limit_998_long_runs(void)
{
    smtpmail_message m = base_msg();
    smtpmail_header hd[1];
    smtpmail_error err;
    sink s = {0}, subj = {0}, val = {0};
    sink_str(&subj, "a");
    sink_repeat(&subj, " ", 1500);
    sink_str(&subj, "b");
    CHECK(header_round_trip("Subject", subj.data, 998));
    m.subject = subj.data;
    if (!CHECK(render(&m, &s, &err) == SMTPMAIL_OK)) note("1500 spaces:", err.message);
    CHECK(lines_ok(s.data, s.len, 998));
    m.subject = "ok";
    sink_repeat(&val, "v", 2000);
    hd[0].name = "X-Long";
    hd[0].value = val.data;
    m.headers = hd, m.header_count = 1;
    if (!CHECK(render(&m, &s, &err) == SMTPMAIL_OK)) note("2000-character word:", err.message);
    CHECK(lines_ok(s.data, s.len, 998));
    sink_free(&s), sink_free(&subj), sink_free(&val);
}

static void test_header_injection(void)
{
    static const char *const evil[3] = {"x\r\nBcc: victim@example.com", "x\ny", "x\rY"};
    smtpmail_address to[2], cc[1];
    smtpmail_header hd[1];
    smtpmail_attachment att[1];
    smtpmail_message m;
    sink s = {0};
    smtpmail_error err;
    size_t i;
#define FRESH()                                                                                \
    (m = base_msg(), to[0] = k_to[0], to[1] = k_to[1], cc[0].name = "Copy",                   \
     cc[0].addr = "cc@example.com", hd[0].name = "X-Test", hd[0].value = "v",                  \
     memset(att, 0, sizeof att), att[0].data = "abc", att[0].data_len = 3,                     \
     att[0].filename = "a.txt", m.to = to, m.to_count = 2, m.cc = cc, m.cc_count = 1,          \
     m.headers = hd, m.header_count = 1, m.attachments = att, m.attachment_count = 1,          \
     m.reply_to.addr = "reply@example.com")
    FRESH();
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK); /* fine as it is */
    for (i = 0; i < 3; i++) {
        const char *e = evil[i];
        FRESH(), m.subject = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.subject"));
        FRESH(), m.from.name = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.from.name"));
        FRESH(), to[1].addr = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.to[1].addr"));
        FRESH(), cc[0].name = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.cc[0].name"));
        FRESH(), m.reply_to.addr = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.reply_to.addr"));
        FRESH(), hd[0].value = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.headers[0].value"));
        FRESH(), hd[0].name = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.headers[0].name"));
        FRESH(), att[0].filename = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.attachments[0].filename"));
        FRESH(), att[0].content_type = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.attachments[0].content_type"));
        FRESH(), att[0].content_id = e;
        CHECK(refused(&m, SMTPMAIL_ERR_HEADER_INJECTION, "message.attachments[0].content_id"));
    }
    FRESH(), hd[0].name = "X:A";
    CHECK(refused(&m, SMTPMAIL_ERR_BAD_FIELD, "message.headers[0].name"));
    FRESH(), hd[0].name = "X A";
    CHECK(refused(&m, SMTPMAIL_ERR_BAD_FIELD, "message.headers[0].name"));
    FRESH(), att[0].content_type = "text";
    CHECK(refused(&m, SMTPMAIL_ERR_BAD_FIELD, "message.attachments[0].content_type"));
#undef FRESH
    sink_free(&s);
}

static void test_bad_utf8(void)
{
    static const char *const bad[5] = {"a\xFF" "b", "a\xC0\xAF" "b", "a\xED\xA0\x80" "b",
                                       "a\xE4\xBA", "a\xF5\x80\x80\x80" "b"};
    static const char emoji[] = "ok \xF0\x9F\x9A\x80 \xF0\x9F\x93\x88";
    smtpmail_attachment att = {0};
    smtpmail_address to[1] = {{NULL, "to@example.com"}};
    smtpmail_message m;
    sink s = {0};
    smtpmail_error err;
    size_t i;
    att.data = "x", att.data_len = 1;
    for (i = 0; i < 5; i++) {
        const char *b = bad[i];
        m = base_msg(), m.subject = b;
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_UTF8, "message.subject"));
        m = base_msg(), m.from.name = b;
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_UTF8, "message.from.name"));
        m = base_msg(), to[0].name = b, m.to = to;
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_UTF8, "message.to[0].name"));
        m = base_msg(), m.text = b;
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_UTF8, "message.text"));
        m = base_msg(), m.html = b;
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_UTF8, "message.html"));
        m = base_msg(), att.filename = b, m.attachments = &att, m.attachment_count = 1;
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_UTF8, "message.attachments[0].filename"));
    }
    m = base_msg();
    m.subject = m.from.name = m.text = m.html = to[0].name = att.filename = emoji;
    m.to = to, m.attachments = &att, m.attachment_count = 1;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    sink_free(&s);
}

static void test_addresses(void)
{
    static const char *const good[3] = {"a@b.co", "first.last+tag@sub.example.com",
                                        "x@[127.0.0.1]"};
    static const char *const bad[11] = {"", "a", "@b.com", "a@", "a..b@c.com", ".a@b.com",
                                        "a@b..com", "a@-b.com", "a b@c.com", "a@b_c.com",
                                        "\xE4\xB8\xAD\xE6\x96\x87@qq.com"};
    smtpmail_address to[1];
    smtpmail_message m = base_msg();
    sink s = {0};
    smtpmail_error err;
    size_t i;
    m.to = to;
    for (i = 0; i < 3; i++) {
        char *v;
        to[0].name = NULL, to[0].addr = good[i];
        CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
        v = header_get(s.data, s.data + s.len, "To", NULL, NULL);
        CHECK(v != NULL && strcmp(v + 1, good[i]) == 0);
        free(v);
    }
    for (i = 0; i < 11; i++) {
        to[0].name = "X", to[0].addr = bad[i];
        if (!CHECK(refused(&m, SMTPMAIL_ERR_BAD_ADDRESS, "message.to[0].addr")))
            note("address", bad[i]);
    }
    m = base_msg();
    m.from.addr = "not an address";
    CHECK(refused(&m, SMTPMAIL_ERR_BAD_ADDRESS, "message.from.addr"));
    sink_free(&s);
}

static void test_recipients(void)
{
    static const smtpmail_address bcc[2] = {{"Secret Boss", "hidden-boss@example.com"},
                                            {NULL, "hidden2@example.net"}};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0};
    const char *p;
    char *v;
    m.to = NULL, m.to_count = 0;
    CHECK(render(&m, &s, &err) == SMTPMAIL_ERR_NO_RECIPIENT);
    CHECK(s.calls == 0 && err.result == SMTPMAIL_ERR_NO_RECIPIENT && err.message[0] != '\0');
    m.bcc = bcc, m.bcc_count = 2;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    for (p = s.data; *p; p = strstr(p, "\r\n") + 2) CHECK(!ieq_n(p, "bcc:", 4));
    CHECK(strstr(s.data, "hidden") == NULL && strstr(s.data, "Secret Boss") == NULL);
    CHECK((v = header_get(s.data, s.data + s.len, "To", NULL, NULL)) == NULL);
    free(v);
    m = base_msg(), m.to = NULL;
    CHECK(refused(&m, SMTPMAIL_ERR_INVALID_ARG, "message.to"));
    m = base_msg(), m.cc_count = 1;
    CHECK(refused(&m, SMTPMAIL_ERR_INVALID_ARG, "message.cc"));
    sink_free(&s);
}

/* Each boundary="..." of msg opens parts[i] parts, closes once, and all
   boundaries differ. */
static int boundaries_ok(const char *msg, size_t levels, const size_t *parts)
{
    char b[4][80], pat[100];
    size_t n = 0, i, j;
    const char *p = msg, *e;
    int ok = 1;
    for (; (p = strstr(p, "boundary=\"")) != NULL && n < 4; n++) {
        p += 10;
        if (!(e = strchr(p, '"')) || e == p || (size_t)(e - p) >= sizeof b[0]) return 0;
        memcpy(b[n], p, (size_t)(e - p));
        b[n][e - p] = '\0';
    }
    if (n != levels) return note("boundary count differs:", msg), 0;
    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++)
            if (strcmp(b[i], b[j]) == 0) ok = 0, note("boundary used twice:", b[i]);
        snprintf(pat, sizeof pat, "\r\n--%.79s\r\n", b[i]);
        if (count_str(msg, pat) != parts[i]) ok = 0, note("delimiter count differs:", b[i]);
        snprintf(pat, sizeof pat, "\r\n--%.79s--\r\n", b[i]);
        if (count_str(msg, pat) != 1) ok = 0, note("no single close delimiter:", b[i]);
    }
    return ok;
}

static void test_mime_shapes(void)
{
    static const unsigned char png[12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13};
    static const size_t two[3] = {2, 2, 2};
    smtpmail_attachment att[2];
    smtpmail_message m;
    smtpmail_error err;
    sink s = {0}, ct = {0}, dec = {0};
    part pt;
    char *v;
    memset(att, 0, sizeof att);
    att[0].data = png, att[0].data_len = sizeof png;
    att[0].filename = "chart.png", att[0].content_id = "chart1";
    att[1].data = "a,b\n1,2\n", att[1].data_len = 8, att[1].filename = "fills.csv";

    m = base_msg();
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    content_types(s.data, &ct);
    CHECK_STR(ct.data, "text/plain");
    CHECK(strstr(s.data, "multipart") == NULL);

    m = base_msg(), m.text = NULL, m.html = "<p>hi</p>";
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    content_types(s.data, &ct);
    CHECK_STR(ct.data, "text/html");

    m = base_msg(), m.html = "<p>hi</p>";
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    content_types(s.data, &ct);
    CHECK_STR(ct.data, "multipart/alternative,text/plain,text/html");
    CHECK(boundaries_ok(s.data, 1, two));

    m = base_msg(), m.text = NULL, m.html = "<img src=\"cid:chart1\">";
    m.attachments = att, m.attachment_count = 1;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    content_types(s.data, &ct);
    CHECK_STR(ct.data, "multipart/related,text/html,image/png");
    CHECK(strstr(s.data, "\r\nContent-ID: <chart1>\r\n") != NULL);
    CHECK(boundaries_ok(s.data, 1, two));

    m = base_msg(), m.html = "<img src=\"cid:chart1\">";
    m.attachments = att, m.attachment_count = 2;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 998));
    content_types(s.data, &ct);
    CHECK_STR(ct.data, "multipart/mixed,multipart/alternative,text/plain,multipart/related,"
                       "text/html,image/png,text/csv");
    CHECK(boundaries_ok(s.data, 3, two)); /* mixed, alternative, related: 2 parts each */
    if (CHECK(find_part(s.data, "Content-Type: image/png", &pt))) {
        CHECK((v = part_header(&pt, "Content-Disposition")) != NULL && strncmp(v, "inline", 6) == 0);
        free(v);
        CHECK_STR((v = part_header(&pt, "Content-ID")), "<chart1>");
        free(v);
        CHECK(part_decode(&pt, &dec) && dec.len == sizeof png && memcmp(dec.data, png, 12) == 0);
    }
    if (CHECK(find_part(s.data, "Content-Type: text/csv", &pt))) {
        v = part_header(&pt, "Content-Disposition");
        CHECK(v != NULL && strncmp(v, "attachment", 10) == 0);
        free(v);
        CHECK(part_decode(&pt, &dec) && dec.len == 8 && memcmp(dec.data, "a,b\n1,2\n", 8) == 0);
    }

    /* an inline part without HTML: an ordinary part with disposition inline */
    m = base_msg();
    m.attachments = att, m.attachment_count = 1;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    content_types(s.data, &ct);
    CHECK_STR(ct.data, "multipart/mixed,text/plain,image/png");
    CHECK(strstr(s.data, "\r\nContent-Disposition: inline") != NULL);
    CHECK(boundaries_ok(s.data, 1, two));
    sink_free(&s), sink_free(&ct), sink_free(&dec);
}

/* The Date header written for clock t at offset off (minutes). Malloc'd. */
static char *date_for(int64_t t, int off)
{
    smtpmail_message m = base_msg();
    smtpmail_error err;
    env e;
    smtpmail_hooks h = fixed_hooks(&e);
    sink s = {0};
    char *v;
    e.now = t;
    e.off = off;
    CHECK(smtpmail_message_write(&m, &h, sink_write, &s, &err) == SMTPMAIL_OK);
    v = header_get(s.data, s.data + s.len, "Date", NULL, NULL);
    if (v && v[0] == ' ') memmove(v, v + 1, strlen(v));
    sink_free(&s);
    return v;
}

static void test_date(void)
{
    static const struct {
        int64_t t;
        int off;
        const char *want;
    } cases[] = {
        {0, 0, "Thu, 01 Jan 1970 00:00:00 +0000"},
        {951782400, 0, "Tue, 29 Feb 2000 00:00:00 +0000"},
        {1700000000, 480, "Wed, 15 Nov 2023 06:13:20 +0800"},
        {-1, 0, "Wed, 31 Dec 1969 23:59:59 +0000"},
        {1700000000, -300, "Tue, 14 Nov 2023 17:13:20 -0500"},
        {1700000000, 330, "Wed, 15 Nov 2023 03:43:20 +0530"},
        {4107542400, 0, "Mon, 01 Mar 2100 00:00:00 +0000"}, /* 2100 is no leap year */
        {253402300799, 0, "Fri, 31 Dec 9999 23:59:59 +0000"},
        {-62135596800, 0, "Mon, 01 Jan 0001 00:00:00 +0000"}, /* proleptic Gregorian */
        {0, -1, "Wed, 31 Dec 1969 23:59:00 -0001"},
    };
    char text_buf[48], *d;
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smtpmail__format_date(cases[i].t, cases[i].off, text_buf);
        CHECK_STR(text_buf, cases[i].want);
        if (i < 5) { /* and in a rendered message, through the now hook */
            d = date_for(cases[i].t, cases[i].off);
            CHECK_STR(d, cases[i].want);
            free(d);
        }
    }
}

static char *message_id(const smtpmail_hooks *h)
{
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0};
    char *v;
    m.from.addr = "bot@alerts.example.org";
    CHECK(smtpmail_message_write(&m, h, sink_write, &s, &err) == SMTPMAIL_OK);
    v = header_get(s.data, s.data + s.len, "Message-ID", NULL, NULL);
    sink_free(&s);
    return v;
}

static void test_message_id(void)
{
    char *a = message_id(NULL), *b = message_id(NULL), *c, *d;
    smtpmail_hooks h;
    smtpmail_message m = base_msg();
    smtpmail_error err;
    env e1, e2;
    smtpmail_hooks h1 = fixed_hooks(&e1), h2 = fixed_hooks(&e2);
    sink s1 = {0}, s2 = {0};
    if (CHECK(a != NULL && b != NULL)) {
        size_t n = strlen(a), i;
        const char *at = strchr(a, '@');
        CHECK(a[0] == ' ' && a[1] == '<' && at != NULL && at > a + 2);
        CHECK(n > 25 && at && strcmp(at, "@alerts.example.org>") == 0);
        for (i = 2; at && a + i < at; i++) /* dot-atom-text, here letters, digits, ".-_" */
            CHECK((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'A' && a[i] <= 'Z') ||
                  (a[i] >= 'a' && a[i] <= 'z') || (a[i] != 0 && strchr(".-_", a[i]) != NULL));
        CHECK(strcmp(a, b) != 0);
    }
    memset(&h, 0, sizeof h);
    h.random = pattern_random; /* the system clock, a fixed random source */
    c = message_id(&h);
    d = message_id(&h);
    CHECK(c != NULL && d != NULL && strcmp(c, d) == 0 && (!a || strcmp(a, c) != 0));
    free(a), free(b), free(c), free(d);
    CHECK(smtpmail_message_write(&m, &h1, sink_write, &s1, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_message_write(&m, &h2, sink_write, &s2, &err) == SMTPMAIL_OK);
    CHECK(s1.len > 0 && same(&s1, &s2));
    sink_free(&s1), sink_free(&s2);
}

/* >>required headers: the fields every message must carry, pinned against
   values this file computes itself. */

static const char *const k_wdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const k_months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A calendar date and time: wday 0 is Sunday, mon 0 January. */
typedef struct civil {
    long year;
    int mon, mday, wday, hour, min, sec;
} civil;

static int is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* The UTC calendar fields of Unix time t >= 0, by counting whole years and
   then months from 1970-01-01, a Thursday: slow and plain, and nothing like
   the library's 400-year era arithmetic. */
static civil civil_count(int64_t t)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = t / 86400, secs = t % 86400;
    civil c;
    c.wday = (int)((4 + days) % 7);
    for (c.year = 1970; days >= 365 + is_leap(c.year); c.year++) days -= 365 + is_leap(c.year);
    for (c.mon = 0; days >= mdays[c.mon] + (c.mon == 1 && is_leap(c.year)); c.mon++)
        days -= mdays[c.mon] + (c.mon == 1 && is_leap(c.year));
    c.mday = (int)days + 1;
    c.hour = (int)(secs / 3600);
    c.min = (int)(secs / 60 % 60);
    c.sec = (int)(secs % 60);
    return c;
}

/* n decimal digits at *p (advanced past them); -1 when they are not. */
static long take_digits(const char **p, int n)
{
    long v = 0;
    int i;
    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

/* The index of the 3-letter name at *p in names[0..n) (advanced past it). */
static int take_name(const char **p, const char *const *names, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (strncmp(*p, names[i], 3) == 0) return *p += 3, i;
    return -1;
}

/* RFC 5322 3.3 date-time without comments or obsolete forms, as a Date
   field's value after "Date: ": "Ddd, D[D] Mon YYYY HH:MM:SS +HHMM". Fills
   c and zone ("+0000"); 0 when v has any other shape. */
static int parse_date(const char *v, civil *c, char zone[6])
{
    const char *p = v;
    long n;
    if ((c->wday = take_name(&p, k_wdays, 7)) < 0 || strncmp(p, ", ", 2) != 0) return 0;
    p += 2;
    n = p[1] >= '0' && p[1] <= '9' ? take_digits(&p, 2) : take_digits(&p, 1);
    if (n < 1 || *p++ != ' ') return 0;
    c->mday = (int)n;
    if ((c->mon = take_name(&p, k_months, 12)) < 0 || *p++ != ' ') return 0;
    if ((c->year = take_digits(&p, 4)) < 0 || *p++ != ' ') return 0;
    if ((n = take_digits(&p, 2)) < 0 || *p++ != ':') return 0;
    c->hour = (int)n;
    if ((n = take_digits(&p, 2)) < 0 || *p++ != ':') return 0;
    c->min = (int)n;
    if ((n = take_digits(&p, 2)) < 0 || *p++ != ' ') return 0;
    c->sec = (int)n;
    if ((p[0] != '+' && p[0] != '-') || strlen(p) != 5) return 0;
    memcpy(zone, p, 6);
    p++;
    return take_digits(&p, 4) >= 0;
}

/* The top-level header block of msg, up to and including its last CRLF. */
static const char *header_block_end(const char *msg)
{
    const char *e = strstr(msg, "\r\n\r\n");
    return e ? e + 2 : msg + strlen(msg);
}

/* How many fields of the top-level header block are called name. */
static int field_count(const char *msg, const char *name)
{
    const char *p = msg, *end = header_block_end(msg);
    size_t nl = strlen(name);
    int n = 0;
    for (; p < end; p = strstr(p, "\r\n") + 2)
        if (ieq_n(p, name, nl) && p[nl] == ':') n++;
    return n;
}

/* A top-level header's value with the blanks after the colon dropped. */
static char *top_header(const char *msg, const char *name)
{
    char *v = header_get(msg, header_block_end(msg), name, NULL, NULL);
    size_t k = 0;
    while (v && (v[k] == ' ' || v[k] == '\t')) k++;
    if (v) memmove(v, v + k, strlen(v + k) + 1);
    return v;
}

/* A charset parameter's value naming UTF-8 (charset names ignore case). */
static int is_utf8_charset(const char *w)
{
    return w && strlen(w) == 5 && ieq_n(w, "utf-8", 5);
}

/* Is the unfolded Content-Type value v of media type `type` (both compared
   without case, RFC 2045 5.1), followed by nothing or a ';'? */
static int ct_is(const char *v, const char *type)
{
    size_t n = strlen(type);
    if (!v || !ieq_n(v, type, n)) return 0;
    while (v[n] == ' ' || v[n] == '\t') n++;
    return v[n] == '\0' || v[n] == ';';
}

/* Parameter `name` of an unfolded Content-Type value: a token or a
   quoted-string (RFC 2045 5.1), its name compared without case. Malloc'd;
   NULL when absent. */
static char *ct_param(const char *v, const char *name)
{
    size_t nl = strlen(name);
    const char *p = v;
    sink out = {0};
    while (v && (p = strchr(p, ';')) != NULL) {
        for (p++; *p == ' ' || *p == '\t';) p++;
        if (!ieq_n(p, name, nl) || p[nl] != '=') continue;
        p += nl + 1;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                sink_put(&out, p, 1);
            }
            if (*p != '"') return sink_free(&out), NULL;
        } else {
            for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) sink_put(&out, p, 1);
        }
        if (!out.data) sink_put(&out, "", 0);
        return out.data;
    }
    return NULL;
}

/* A boundary as RFC 2046 5.1.1 allows (1 to 70 bchars, no final space)
   that delimits msg: at least one "--b" line and exactly one "--b--". */
static int boundary_ok(const char *msg, const char *b)
{
    char pat[100];
    size_t n = b ? strlen(b) : 0, i;
    if (n < 1 || n > 70 || b[n - 1] == ' ') return note("boundary", b), 0;
    for (i = 0; i < n; i++)
        if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'A' && b[i] <= 'Z') ||
              (b[i] >= 'a' && b[i] <= 'z') || strchr("'()+_,-./:=? ", b[i])))
            return note("boundary has a character outside bchars:", b), 0;
    snprintf(pat, sizeof pat, "\r\n--%s\r\n", b);
    if (count_str(msg, pat) < 1) return note("no delimiter line for", b), 0;
    snprintf(pat, sizeof pat, "\r\n--%s--\r\n", b);
    if (count_str(msg, pat) != 1) return note("no single close delimiter for", b), 0;
    return 1;
}

/* m rendered with the clock at t (offset off minutes) and the fixed random
   source: its Date value must be the calendar date civil_count gives. */
static void check_date(int64_t t, int off)
{
    smtpmail_message m = base_msg();
    smtpmail_error err;
    env e;
    smtpmail_hooks h = fixed_hooks(&e);
    sink s = {0};
    civil want = civil_count(t + (int64_t)off * 60), got;
    char zone[6] = "", want_zone[16], *v;
    int aoff = off < 0 ? -off : off;
    memset(&got, 0, sizeof got);
    e.now = t;
    e.off = off;
    snprintf(want_zone, sizeof want_zone, "%c%02d%02d", off < 0 ? '-' : '+', aoff / 60, aoff % 60);
    CHECK(smtpmail_message_write(&m, &h, sink_write, &s, &err) == SMTPMAIL_OK);
    sink_put(&s, "", 0);
    v = top_header(s.data, "Date");
    if (!CHECK(v && parse_date(v, &got, zone))) {
        note("Date:", v);
    } else if (!CHECK(got.wday == want.wday && got.mday == want.mday && got.mon == want.mon &&
                      got.year == want.year && got.hour == want.hour && got.min == want.min &&
                      got.sec == want.sec && strcmp(zone, want_zone) == 0)) {
        printf("    note: clock %.0f%+d min: want %s, %02d %s %04ld %02d:%02d:%02d %s\n", (double)t, off,
               k_wdays[want.wday], want.mday, k_months[want.mon], want.year, want.hour, want.min,
               want.sec, want_zone);
        note("got ", v);
    }
    free(v);
    sink_free(&s);
}

/* The header fields every message carries once, whatever its shape. */
static void check_common_fields(const char *msg)
{
    static const char *const once[6] = {"Date", "From", "To", "Subject", "Message-ID",
                                        "Content-Type"};
    const char *raw = NULL;
    size_t raw_len = 0, i;
    char *v;
    for (i = 0; i < 6; i++)
        if (!CHECK(field_count(msg, once[i]) == 1)) note("not exactly once:", once[i]);
    /* RFC 2045 4: exactly this line, once. */
    CHECK(field_count(msg, "MIME-Version") == 1);
    v = header_get(msg, header_block_end(msg), "MIME-Version", &raw, &raw_len);
    if (!CHECK(v && raw_len == 19 && memcmp(raw, "MIME-Version: 1.0\r\n", 19) == 0))
        note("MIME-Version field:", v);
    free(v);
    CHECK(field_count(msg, "Bcc") == 0);
}

static void test_required_headers(void)
{
    static const unsigned char bin[5] = {0, 1, 0xFE, 0xFF, '\n'};
    /* 交易信号：买入 rb2405 (UTF-8) */
    static const char cn[] = "\xE4\xBA\xA4\xE6\x98\x93\xE4\xBF\xA1\xE5\x8F\xB7\xEF\xBC\x9A"
                             "\xE4\xB9\xB0\xE5\x85\xA5 rb2405\n";
    static const char *const non_ascii[2] = {"caf\xC3\xA9 au lait\n", cn};
    smtpmail_attachment att;
    smtpmail_message m;
    smtpmail_error err;
    sink s = {0}, dec = {0}, want = {0};
    civil c;
    part pt;
    char *v, *w, *b;
    size_t i, n;
    int k;

    /* The reference calendar first, on dates known for certain. */
    c = civil_count(1700000000);
    CHECK(c.wday == 2 && c.mday == 14 && c.mon == 10 && c.year == 2023 && c.hour == 22 &&
          c.min == 13 && c.sec == 20); /* Tue, 14 Nov 2023 22:13:20 UTC */
    c = civil_count(951782400);
    CHECK(c.wday == 2 && c.mday == 29 && c.mon == 1 && c.year == 2000 && c.hour == 0);
    c = civil_count(0);
    CHECK(c.wday == 4 && c.mday == 1 && c.mon == 0 && c.year == 1970);

    /* Date: clock values 37 days and 3671 s apart meet every month and
       weekday at +0000; leap days; a century that is not a leap year; one
       east and one west of Greenwich. */
    for (k = 0; k < 40; k++) check_date(1600000000 + (int64_t)k * (37 * 86400 + 3671), 0);
    check_date(951827696, 0);   /* 29 Feb 2000 */
    check_date(1709208000, 0);  /* 29 Feb 2024 */
    check_date(4107542399, 0);  /* 28 Feb 2100, a Sunday; 1 Mar follows */
    check_date(4107542400, 0);
    check_date(1700000000, 480);
    check_date(1700000000, -300);

    /* Text only, short ASCII: text/plain; charset=utf-8, 7bit. */
    m = base_msg();
    m.from.addr = "bot@alerts.example.org";
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    check_common_fields(s.data);
    v = top_header(s.data, "Content-Type");
    CHECK(ct_is(v, "text/plain"));
    w = ct_param(v, "charset");
    if (!CHECK(is_utf8_charset(w))) note("Content-Type:", v);
    free(v), free(w);
    CHECK(field_count(s.data, "Content-Transfer-Encoding") == 1);
    CHECK_STR((v = top_header(s.data, "Content-Transfer-Encoding")), "7bit");
    free(v);

    /* Message-ID: <32 hex digits @ the sender's domain>, new each time. */
    v = top_header(s.data, "Message-ID");
    n = v ? strlen(v) : 0;
    if (CHECK(n == 1 + 32 + 1 + strlen("alerts.example.org") + 1)) {
        CHECK(v[0] == '<' && v[33] == '@' && strcmp(v + 34, "alerts.example.org>") == 0);
        for (i = 1; i <= 32; i++)
            if (!CHECK(hex_val(v[i]) >= 0 || (v[i] >= 'a' && v[i] <= 'f'))) break;
    } else {
        note("Message-ID:", v);
    }
    {
        sink s2 = {0};
        char *v2;
        CHECK(smtpmail_message_write(&m, NULL, sink_write, &s2, &err) == SMTPMAIL_OK);
        sink_put(&s2, "", 0);
        v2 = top_header(s2.data, "Message-ID");
        CHECK(v && v2 && strcmp(v, v2) != 0 && strlen(v2) == n);
        free(v2);
        sink_free(&s2);
    }
    free(v);

    /* Text only, not ASCII: quoted-printable or base64, utf-8, and the body
       decodes to the text. */
    for (i = 0; i < 2; i++) {
        m = base_msg();
        m.text = non_ascii[i];
        CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
        check_common_fields(s.data);
        v = top_header(s.data, "Content-Type");
        w = ct_param(v, "charset");
        CHECK(ct_is(v, "text/plain") && is_utf8_charset(w));
        free(v), free(w);
        v = top_header(s.data, "Content-Transfer-Encoding");
        if (!CHECK(v && (strcmp(v, "quoted-printable") == 0 || strcmp(v, "base64") == 0)))
            note("Content-Transfer-Encoding for non-ASCII text:", v);
        free(v);
        pt.hdr = s.data;
        pt.body = header_block_end(s.data) + 2;
        pt.body_len = strlen(pt.body);
        normalise(non_ascii[i], strlen(non_ascii[i]), &want);
        CHECK(part_decode(&pt, &dec) && same(&dec, &want));
    }

    /* Text and HTML: multipart/alternative with a boundary that delimits
       both parts, each utf-8 text, 7bit here; the multipart itself 7bit or
       unlabelled (RFC 2045 6.4). */
    m = base_msg();
    m.html = "<p>hello</p>";
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    check_common_fields(s.data);
    v = top_header(s.data, "Content-Type");
    b = ct_param(v, "boundary");
    if (!CHECK(ct_is(v, "multipart/alternative") && boundary_ok(s.data, b))) note("Content-Type:", v);
    free(v), free(b);
    v = top_header(s.data, "Content-Transfer-Encoding");
    CHECK(!v || strcmp(v, "7bit") == 0);
    free(v);
    for (k = 0; k < 2; k++) {
        if (!CHECK(find_part(s.data, k ? "Content-Type: text/html" : "Content-Type: text/plain",
                             &pt)))
            continue;
        v = part_header(&pt, "Content-Type");
        w = ct_param(v, "charset");
        CHECK(is_utf8_charset(w));
        free(v), free(w);
        CHECK_STR((v = part_header(&pt, "Content-Transfer-Encoding")), "7bit");
        free(v);
    }

    /* An attachment: multipart/mixed with a boundary; binary bytes base64. */
    memset(&att, 0, sizeof att);
    att.data = bin, att.data_len = sizeof bin, att.filename = "fills.bin";
    att.content_type = "application/octet-stream";
    m = base_msg();
    m.attachments = &att, m.attachment_count = 1;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    check_common_fields(s.data);
    v = top_header(s.data, "Content-Type");
    b = ct_param(v, "boundary");
    if (!CHECK(ct_is(v, "multipart/mixed") && boundary_ok(s.data, b))) note("Content-Type:", v);
    free(v), free(b);
    v = top_header(s.data, "Content-Transfer-Encoding");
    CHECK(!v || strcmp(v, "7bit") == 0);
    free(v);
    if (CHECK(find_part(s.data, "Content-Type: application/octet-stream", &pt))) {
        CHECK_STR((v = part_header(&pt, "Content-Transfer-Encoding")), "base64");
        free(v);
        CHECK(part_decode(&pt, &dec) && dec.len == sizeof bin && memcmp(dec.data, bin, 5) == 0);
    }
    sink_free(&s), sink_free(&dec), sink_free(&want);
}

static void test_allocator(void)
{
    static const char data[] = "in memory attachment";
    char path[512], *text_buf;
    smtpmail_attachment att[2];
    smtpmail_message m = base_msg();
    smtpmail_error err;
    smtpmail_hooks h;
    env e;
    sink s = {0};
    size_t need = 0, n = 0;
    int total, k;
    FILE *f;
    memset(att, 0, sizeof att);
    att[0].data = data, att[0].data_len = sizeof data - 1, att[0].filename = "a.txt";
    m.attachments = att, m.attachment_count = 1;

    /* into a caller buffer, in-memory attachments: no allocation at all */
    h = counting_hooks(&e);
    CHECK(smtpmail_message_render(&m, &h, NULL, 0, &need, &err) == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    text_buf = (char *)xmalloc(need + 1);
    CHECK(smtpmail_message_render(&m, &h, text_buf, need + 1, &n, &err) == SMTPMAIL_OK && n == need);
    CHECK(e.attempts == 0);
    free(text_buf);

    /* to a callback, with a file attachment: allocs == frees, bounded peak */
    temp_path(path, sizeof path, "alloc");
    if (!CHECK((f = fopen(path, "wb")) != NULL)) return;
    for (k = 0; k < 10000; k++) fputc(k * 7 & 255, f);
    fclose(f);
    att[1].path = path;
    m.attachment_count = 2;
    h = counting_hooks(&e);
    CHECK(smtpmail_message_write(&m, &h, sink_write, &s, &err) == SMTPMAIL_OK);
    CHECK(e.allocs > 0 && e.allocs == e.frees && e.live == 0);
    CHECK(e.peak > 0 && e.peak <= SMTPMAIL_OUTPUT_BUFFER + SMTPMAIL_READ_CHUNK);
    total = e.allocs;

    /* fail each allocation in turn: NO_MEMORY, nothing written, no leak */
    for (k = 1; k <= total + 1; k++) {
        smtpmail_result r;
        sink_free(&s);
        h = counting_hooks(&e);
        e.fail_at = k;
        r = smtpmail_message_write(&m, &h, sink_write, &s, &err);
        CHECK(r == (k <= total ? SMTPMAIL_ERR_NO_MEMORY : SMTPMAIL_OK));
        CHECK(e.allocs == e.frees && e.live == 0);
        if (k <= total) CHECK(err.result == SMTPMAIL_ERR_NO_MEMORY && s.calls == 0);
    }
    h = counting_hooks(&e); /* render() needs a read buffer for the file */
    e.fail_at = 1;
    CHECK(smtpmail_message_render(&m, &h, NULL, 0, &need, &err) == SMTPMAIL_ERR_NO_MEMORY);
    CHECK(e.attempts == 1 && e.live == 0 && e.allocs == e.frees);

    /* alloc without free, free without alloc */
    h = counting_hooks(&e);
    h.free = NULL;
    CHECK(smtpmail_message_write(&m, &h, sink_write, &s, &err) == SMTPMAIL_ERR_INVALID_ARG);
    CHECK(smtpmail_message_render(&m, &h, NULL, 0, &need, &err) == SMTPMAIL_ERR_INVALID_ARG);
    h.alloc = NULL, h.free = env_free;
    CHECK(smtpmail_message_write(&m, &h, sink_write, &s, &err) == SMTPMAIL_ERR_INVALID_ARG);
    CHECK(e.attempts == 0);
    remove(path);
    sink_free(&s);
}

static void test_render_buffer(void)
{
    static const unsigned char bin[5] = {0, 1, 2, 0xFE, 0xFF};
    smtpmail_attachment att = {0};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    env e;
    smtpmail_hooks h = fixed_hooks(&e);
    sink s = {0};
    char *text_buf;
    size_t need = 0, n = 0, i;
    int untouched = 1;
    att.data = bin, att.data_len = sizeof bin, att.filename = "b.bin";
    m.attachments = &att, m.attachment_count = 1;
    m.html = "<p>hello</p>";
    CHECK(smtpmail_message_write(&m, &h, sink_write, &s, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_message_render(&m, &h, NULL, 0, &need, &err) == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK(need == s.len && need > 0);
    text_buf = (char *)xmalloc(need + 64);
    memset(text_buf, '#', need + 64);
    CHECK(smtpmail_message_render(&m, &h, text_buf, 10, &n, &err) == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK(n == need && err.result == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    for (i = 10; i < need + 64; i++) untouched &= text_buf[i] == '#';
    CHECK(untouched);
    n = 0;
    CHECK(smtpmail_message_render(&m, &h, text_buf, need, &n, &err) == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK(n == need);
    n = 0;
    CHECK(smtpmail_message_render(&m, &h, text_buf, need + 1, &n, &err) == SMTPMAIL_OK);
    CHECK(n == need && text_buf[need] == '\0' && text_buf[need + 1] == '#');
    CHECK(memcmp(text_buf, s.data, need) == 0);
    CHECK(smtpmail_message_render(&m, &h, NULL, 5, &n, &err) == SMTPMAIL_ERR_INVALID_ARG);
    free(text_buf);
    sink_free(&s);
}

/* Writes a multi-buffer message to s, whose at-th call returns with. */
static smtpmail_result write_failing(int at, int with, sink *s, smtpmail_error *err)
{
    smtpmail_message m = base_msg();
    env e;
    smtpmail_hooks h = fixed_hooks(&e);
    sink t = {0};
    smtpmail_result r;
    sink_free(s);
    sink_repeat(&t, "A line of text for the body.\n", 300);
    m.text = t.data;
    s->fail_at = at;
    s->fail_with = with;
    memset(err, 0, sizeof *err);
    r = smtpmail_message_write(&m, &h, sink_write, s, err);
    sink_free(&t);
    return r;
}

static void test_write_failure(void)
{
    sink s = {0};
    smtpmail_error err;
    CHECK(write_failing(1, -1, &s, &err) == SMTPMAIL_ERR_WRITE);
    CHECK(err.result == SMTPMAIL_ERR_WRITE && err.stage == SMTPMAIL_STAGE_OUTPUT && s.calls == 1);
    CHECK(write_failing(2, -1, &s, &err) == SMTPMAIL_ERR_WRITE);
    CHECK(err.stage == SMTPMAIL_STAGE_OUTPUT && s.calls == 2);
    CHECK(write_failing(1, 7, &s, &err) == SMTPMAIL_ERR_WRITE);
    /* smtpmail_write_fn: "Return 0 to go on; any other value stops the
       output, and the call returns SMTPMAIL_ERR_WRITE" (smtpmail.h as of
       this test; an earlier contract passed negative codes back as is). */
    CHECK(write_failing(1, SMTPMAIL_ERR_NO_MEMORY, &s, &err) == SMTPMAIL_ERR_WRITE);
    CHECK(err.result == SMTPMAIL_ERR_WRITE && err.stage == SMTPMAIL_STAGE_OUTPUT);
    CHECK(write_failing(0, 0, &s, &err) == SMTPMAIL_OK && s.calls > 2);
    sink_free(&s);
}

static void test_file_attachment_streaming(void)
{
    const size_t size = 1024 * 1024;
    unsigned char *data = (unsigned char *)xmalloc(size);
    char path[512], *v, *fn;
    smtpmail_attachment att = {0};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0}, dec = {0};
    part pt;
    uint32_t st = 12345;
    size_t i;
    int form = 0;
    FILE *f;
    for (i = 0; i < size; i++) data[i] = (unsigned char)(xorshift(&st) >> 24);
    temp_path(path, sizeof path, "big");
    if (CHECK((f = fopen(path, "wb")) != NULL)) {
        CHECK(fwrite(data, 1, size, f) == size);
        fclose(f);
        att.path = path;
        m.attachments = &att, m.attachment_count = 1;
        CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
        CHECK(s.max_piece > 0 && s.max_piece <= SMTPMAIL_OUTPUT_BUFFER);
        CHECK(s.calls > (int)(size / SMTPMAIL_OUTPUT_BUFFER));
        CHECK(lines_ok(s.data, s.len, 998));
        if (CHECK(find_part(s.data, "Content-Type: application/octet-stream", &pt))) {
            CHECK(part_decode(&pt, &dec) && dec.len == size && memcmp(dec.data, data, size) == 0);
            v = part_header(&pt, "Content-Disposition");
            fn = v ? param_get(v, "filename", &form) : NULL;
            CHECK_STR(fn, strrchr(path, '/') + 1);
            free(fn), free(v);
        }
        remove(path);
    }
    free(data);
    sink_free(&s), sink_free(&dec);
}

typedef struct reader {
    const unsigned char *data;
    size_t len, pos;
    int calls, fail_at;
} reader;

/* Hands out odd-sized pieces; its fail_at-th call fails. */
static int read_odd(void *text_buf, size_t cap, size_t *got, void *user_data)
{
    static const size_t sizes[7] = {1, 7, 13, 57, 1000, 4099, 3};
    reader *r = (reader *)user_data;
    size_t n = sizes[r->calls % 7];
    if (++r->calls == r->fail_at) return -1;
    if (n > cap) n = cap;
    if (n > r->len - r->pos) n = r->len - r->pos;
    memcpy(text_buf, r->data + r->pos, n);
    r->pos += n;
    *got = n;
    return 0;
}

static void test_read_callback_attachment(void)
{
    static unsigned char data[50000];
    char path[512], *v, *fn;
    smtpmail_attachment att = {0};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    reader rd;
    sink s = {0}, dec = {0};
    part pt;
    uint32_t st = 99;
    size_t i;
    int form;
    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)xorshift(&st);
    memset(&rd, 0, sizeof rd);
    rd.data = data, rd.len = sizeof data;
    att.read = read_odd, att.read_user_data = &rd, att.filename = "stream.dat";
    m.attachments = &att, m.attachment_count = 1;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(rd.pos == sizeof data && rd.calls > 7);
    if (CHECK(find_part(s.data, "Content-Type: application/octet-stream", &pt))) {
        CHECK(part_decode(&pt, &dec) && dec.len == sizeof data &&
              memcmp(dec.data, data, sizeof data) == 0);
        v = part_header(&pt, "Content-Disposition");
        fn = v ? param_get(v, "filename", &form) : NULL;
        CHECK_STR(fn, "stream.dat");
        free(fn), free(v);
    }
    /* a failing reader stops the output */
    memset(&rd, 0, sizeof rd);
    rd.data = data, rd.len = sizeof data, rd.fail_at = 3;
    CHECK(render(&m, &s, &err) == SMTPMAIL_ERR_FILE && err.result == SMTPMAIL_ERR_FILE);
    CHECK_STR(err.field, "message.attachments[0].read");
    /* a missing file: refused before any output, the path in the message */
    temp_path(path, sizeof path, "missing");
    memset(&att, 0, sizeof att);
    att.path = path;
    CHECK(render(&m, &s, &err) == SMTPMAIL_ERR_FILE && s.calls == 0);
    CHECK_STR(err.field, "message.attachments[0].path");
    CHECK(strstr(err.message, path) != NULL && err.sys_error != 0);
    /* exactly one source */
    att.data = "x", att.data_len = 1;
    CHECK(refused(&m, SMTPMAIL_ERR_INVALID_ARG, "message.attachments[0]"));
    att.path = NULL, att.read = read_odd;
    CHECK(refused(&m, SMTPMAIL_ERR_INVALID_ARG, "message.attachments[0]"));
    att.data = NULL, att.data_len = 0, att.read = NULL;
    CHECK(refused(&m, SMTPMAIL_ERR_INVALID_ARG, "message.attachments[0]"));
    sink_free(&s), sink_free(&dec);
}

static void test_custom_headers(void)
{
    static const char *const reserved[6] = {"Subject", "content-type", "BCC", "From",
                                            "Message-ID", "MIME-Version"};
    static const char note_value[] = /* 突破 策略 🚀 v2 */
        "\xE7\xAA\x81\xE7\xA0\xB4 \xE7\xAD\x96\xE7\x95\xA5 \xF0\x9F\x9A\x80 v2";
    smtpmail_header hd[2];
    smtpmail_message m = base_msg();
    smtpmail_error err;
    ew_stats st = {0};
    sink s = {0};
    char *v;
    size_t i;
    m.headers = hd, m.header_count = 1;
    hd[0].value = "x";
    for (i = 0; i < 6; i++) {
        hd[0].name = reserved[i];
        CHECK(refused(&m, SMTPMAIL_ERR_BAD_FIELD, "message.headers[0].name"));
    }
    hd[0].name = "X-Strategy", hd[0].value = "breakout-15m";
    hd[1].name = "X-Note", hd[1].value = note_value;
    m.header_count = 2;
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK(lines_ok(s.data, s.len, 78));
    CHECK(strstr(s.data, "\r\nX-Strategy: breakout-15m\r\n") != NULL);
    CHECK_STR((v = header_decoded(s.data, "X-Note", &st)), note_value);
    CHECK(st.words > 0 && st.bad == 0 && st.max_len <= 75);
    free(v);
    sink_free(&s);
}

static void test_output_discipline(void)
{
    char text_buf[2100], line[1000];
    smtpmail__out o;
    smtpmail_error err;
    memset(line, 'a', sizeof line);
    smtpmail__out_direct(&o, text_buf, sizeof text_buf, &err);
    smtpmail__out_put(&o, "\n", 1);
    CHECK(o.result == SMTPMAIL_ERR_INTERNAL && err.result == SMTPMAIL_ERR_INTERNAL);
    smtpmail__out_direct(&o, text_buf, sizeof text_buf, &err);
    smtpmail__out_put(&o, "ab\r", 3);
    CHECK(o.result == SMTPMAIL_OK);
    smtpmail__out_put(&o, "x", 1);
    CHECK(o.result == SMTPMAIL_ERR_INTERNAL);
    smtpmail__out_direct(&o, text_buf, sizeof text_buf, &err);
    smtpmail__out_put(&o, "ab\n", 3);
    CHECK(o.result == SMTPMAIL_ERR_INTERNAL);
    smtpmail__out_direct(&o, text_buf, sizeof text_buf, &err);
    smtpmail__out_put(&o, line, 999);
    CHECK(o.result == SMTPMAIL_ERR_INTERNAL);
    /* the limits themselves pass: 998 octets and CRLF, twice, CR and LF apart */
    smtpmail__out_direct(&o, text_buf, sizeof text_buf, &err);
    smtpmail__out_put(&o, line, 998);
    smtpmail__out_put(&o, "\r\n", 2);
    smtpmail__out_put(&o, line, 998);
    smtpmail__out_put(&o, "\r", 1);
    smtpmail__out_put(&o, "\n", 1);
    CHECK(o.result == SMTPMAIL_OK && o.total == 2000);
    smtpmail__out_put(&o, line, 999);
    CHECK(o.result == SMTPMAIL_ERR_INTERNAL);
}

static void test_filenames(void)
{
    static const char cn_name[] = /* 交易报告.csv */
        "\xE4\xBA\xA4\xE6\x98\x93\xE6\x8A\xA5\xE5\x91\x8A.csv";
    smtpmail_attachment att = {0};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0}, longname = {0};
    part pt;
    int pass;
    sink_repeat(&longname, "\xE6\x88\x90\xE4\xBA\xA4 ", 16); /* "成交 ", 7 bytes */
    sink_str(&longname, "ab_x.pdf");
    CHECK(longname.len == 120);
    att.data = "a,b\n", att.data_len = 4;
    m.attachments = &att, m.attachment_count = 1;
    for (pass = 0; pass < 3; pass++) {
        const char *want = pass == 0 ? "report.csv" : pass == 1 ? cn_name : longname.data;
        char *ct, *cd, *fn, *nm, *dn = NULL;
        const char *raw = NULL;
        size_t raw_len = 0;
        int form = 0, nform = 0;
        ew_stats st = {0};
        att.filename = want;
        CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
        CHECK(lines_ok(s.data, s.len, 998));
        if (!CHECK(find_part(s.data, pass == 2 ? "Content-Type: application/pdf"
                                               : "Content-Type: text/csv", &pt)))
            continue;
        ct = part_header(&pt, "Content-Type");
        cd = part_header(&pt, "Content-Disposition");
        fn = cd ? param_get(cd, "filename", &form) : NULL;
        CHECK_STR(fn, want); /* RFC 2231, reassembled and percent-decoded */
        CHECK(form == (pass == 0 ? 1 : pass == 1 ? 2 : 3));
        nm = ct ? param_get(ct, "name", &nform) : NULL;
        CHECK(nm != NULL && nform == 1);
        if (nm) dn = ew_decode(nm, &st);
        CHECK_STR(dn, want); /* the RFC 2047 name= fallback */
        CHECK(st.bad == 0 && st.words == (pass == 0 ? 0 : 1));
        if (pass == 0) {
            CHECK(cd && strstr(cd, "filename=\"report.csv\"") != NULL);
            CHECK(ct && strstr(ct, "name=\"report.csv\"") != NULL);
        }
        /* Content-Disposition stays within 78 columns, continuations too */
        free(header_get(pt.hdr, pt.body, "Content-Disposition", &raw, &raw_len));
        CHECK(raw != NULL && lines_ok(raw, raw_len, 78));
        free(ct), free(cd), free(fn), free(nm), free(dn);
    }
    sink_free(&s), sink_free(&longname);
}

static void test_display_names(void)
{
    static const smtpmail_address to[2] = {{"He said \"hi\"", "h@x.com"}, {"Alert Bot", "a@x.com"}};
    smtpmail_message m = base_msg();
    smtpmail_error err;
    ew_stats st = {0};
    sink s = {0};
    char *v;
    m.from.name = "Doe, John", m.from.addr = "j@x.com";
    m.to = to, m.to_count = 2;
    m.reply_to.name = "\xE4\xBA\xA4\xE6\x98\x93\xE5\x91\x98", m.reply_to.addr = "t@x.com";
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK_STR((v = header_get(s.data, s.data + s.len, "From", NULL, NULL)),
              " \"Doe, John\" <j@x.com>");
    free(v);
    CHECK_STR((v = header_get(s.data, s.data + s.len, "To", NULL, NULL)),
              " \"He said \\\"hi\\\"\" <h@x.com>, Alert Bot <a@x.com>");
    free(v);
    CHECK((v = header_get(s.data, s.data + s.len, "Reply-To", NULL, NULL)) != NULL &&
          strstr(v, "=?UTF-8?B?") != NULL);
    free(v);
    CHECK_STR((v = header_decoded(s.data, "Reply-To", &st)),
              "\xE4\xBA\xA4\xE6\x98\x93\xE5\x91\x98 <t@x.com>"); /* 交易员 <t@x.com> */
    CHECK(st.words == 1 && st.bad == 0);
    free(v);
    sink_free(&s);
}

/* >>address lists ---------------------------------------------------------- */

/* smtpmail_address_parse of `list` with room for 8 entries and 1024 bytes,
   shown as "{name}<addr>" joined by ", " ("<addr>" when there is no name),
   or as "error N: message". A failure must name the field "list" and leave
   *count 0; a success must keep every string inside the storage. */
static char g_shown[2048];

static const char *parse_shown(const char *list)
{
    smtpmail_address out[8];
    char storage[1024];
    smtpmail_error err;
    size_t n = 99, i, len = 0;
    smtpmail_result r = smtpmail_address_parse(list, out, 8, &n, storage, sizeof storage, &err);
    g_shown[0] = '\0';
    if (r != SMTPMAIL_OK) {
        CHECK_STR(err.field, "list");
        CHECK(err.result == r);
        CHECK_INT(n, 0);
        snprintf(g_shown, sizeof g_shown, "error %d: %s", (int)r, err.message);
        return g_shown;
    }
    CHECK(n <= 8);
    for (i = 0; i < n && i < 8; i++) {
        CHECK(out[i].addr >= storage && out[i].addr < storage + sizeof storage);
        CHECK(!out[i].name || (out[i].name >= storage && out[i].name < storage + sizeof storage));
        CHECK(!out[i].name || out[i].name[0] != '\0');
        len += (size_t)snprintf(g_shown + len, sizeof g_shown - len, "%s%s%s%s<%s>",
                                i ? ", " : "", out[i].name ? "{" : "", out[i].name ? out[i].name : "",
                                out[i].name ? "}" : "", out[i].addr);
    }
    return g_shown;
}

typedef struct list_case {
    const char *list, *want;
} list_case;

static void check_list_cases(const list_case *c, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!CHECK_STR(parse_shown(c[i].list), c[i].want)) note("list", c[i].list);
}

/* RFC 5322 3.4: mailbox = name-addr / addr-spec; name-addr = [display-name]
   angle-addr; a list separates them with ','. ';' too (Outlook). */
static void test_address_parse_forms(void)
{
    static const list_case cases[] = {
        {"Name <a@b.com>, \"Last, First\" <c@d.com>, e@f.com, "
         "\xE4\xBA\xA4\xE6\x98\x93\xE5\x91\x98 <trader@qq.com>", /* 交易员 */
         "{Name}<a@b.com>, {Last, First}<c@d.com>, <e@f.com>, "
         "{\xE4\xBA\xA4\xE6\x98\x93\xE5\x91\x98}<trader@qq.com>"},
        {"a@b.com", "<a@b.com>"},
        {"<a@b.com>", "<a@b.com>"},
        {"  \t a@b.com \t ", "<a@b.com>"},
        {"  Alert Bot  <  bot@x.com  >  ", "{Alert Bot}<bot@x.com>"},
        {"Bot<bot@x.com>", "{Bot}<bot@x.com>"},
        {"a@b.com; c@d.com", "<a@b.com>, <c@d.com>"},
        {"a@b.com;c@d.com,e@f.com", "<a@b.com>, <c@d.com>, <e@f.com>"},
        {", ,a@b.com,, ;c@d.com;", "<a@b.com>, <c@d.com>"},
        {"a@b.com,\r\n c@d.com", "<a@b.com>, <c@d.com>"},
        {"x@[127.0.0.1], <y@[IPv6:::1]>", "<x@[127.0.0.1]>, <y@[IPv6:::1]>"},
        {"first.last+tag@sub.example.com", "<first.last+tag@sub.example.com>"},
        /* Nothing but separators and blanks: no entry, and no error. */
        {"", ""},
        {" , ; \t", ""},
    };
    check_list_cases(cases, sizeof cases / sizeof cases[0]);
}

/* RFC 5322 3.2.4: a quoted-string keeps ',' ';' ':' '<' and blanks; \x is
   x. 3.2.2: a run of blanks between words means one space. An empty
   display name is no name. */
static void test_address_parse_quoting(void)
{
    static const list_case cases[] = {
        {"\"He said \\\"hi\\\"\" <h@x.com>", "{He said \"hi\"}<h@x.com>"},
        {"\"Back\\\\slash\" <b@x.com>", "{Back\\slash}<b@x.com>"},
        {"\"a;b, c\" <a@x.com>, d@x.com", "{a;b, c}<a@x.com>, <d@x.com>"},
        {"\"Re: <Ops>\" <o@x.com>", "{Re: <Ops>}<o@x.com>"},
        {"Dr. \"Who, The\" <who@x.com>", "{Dr. Who, The}<who@x.com>"},
        {"\"x\" \"y\" <a@b.co>", "{x y}<a@b.co>"},
        {"Alert    Bot <a@b.co>", "{Alert Bot}<a@b.co>"},
        {"Alert\r\n\tBot <a@b.co>", "{Alert Bot}<a@b.co>"},
        {"\"  two  \" <a@b.co>", "{  two  }<a@b.co>"},
        {"\"\" <a@b.co>", "<a@b.co>"},
        {"\"\\q\" <a@b.co>", "{q}<a@b.co>"},
    };
    check_list_cases(cases, sizeof cases / sizeof cases[0]);
}

/* Broken lists: the position is the byte offset from 0, the entry counts
   from 1. */
static void test_address_parse_syntax_errors(void)
{
    static const list_case cases[] = {
        /* '<' at 13 never closed: the element ends at 23, the end. */
        {"a@b.com, Bob <bob@x.com",
         "error -22: address list: position 23 (entry 2): missing '>'"},
        /* ... or at the ',' (14) that ends it. */
        {"Bob <bob@x.com, c@d.com",
         "error -22: address list: position 14 (entry 1): missing '>'"},
        {"\"Doe, John <j@x.com>",
         "error -22: address list: position 0 (entry 1): unterminated quoted string"},
        {"a@x.com, \"Doe <d@x.com>, e@x.com",
         "error -22: address list: position 9 (entry 2): unterminated quoted string"},
        {"\"a\\\"", "error -22: address list: position 0 (entry 1): unterminated quoted string"},
        {"Bob <b@x.com> Smith", "error -22: address list: position 14 (entry 1): text after '>'"},
        {"<b@x.com>\"x\"", "error -22: address list: position 9 (entry 1): text after '>'"},
        {"Bob b@x.com>", "error -22: address list: position 11 (entry 1): '>' without '<'"},
        {"Bob <b@x.com <c@x.com>",
         "error -22: address list: position 13 (entry 1): missing '>' before the second '<'"},
        {"Bob <>", "error -22: address list: position 4 (entry 1): nothing between '<' and '>'"},
        {"a@b.co, < >", "error -22: address list: position 8 (entry 2): nothing between '<' and '>'"},
        /* RFC 5322 3.4 group syntax: refused, at its ':'. */
        {"Team: a@x.com, b@x.com;",
         "error -22: address list: position 4 (entry 1): group syntax (\"name: addresses;\") "
         "is not supported; a name with ':' needs quotes"},
        {"a@x.com, undisclosed-recipients:;",
         "error -22: address list: position 31 (entry 2): group syntax (\"name: addresses;\") "
         "is not supported; a name with ':' needs quotes"},
        {"Re: Bob <b@x.com>",
         "error -22: address list: position 2 (entry 1): group syntax (\"name: addresses;\") "
         "is not supported; a name with ':' needs quotes"},
    };
    check_list_cases(cases, sizeof cases / sizeof cases[0]);
}

/* Each entry passes the message's own check (addresses, UTF-8, CR/LF,
   lengths): the same refusals, at the entry's address or name. */
static void test_address_parse_checks(void)
{
    static const list_case cases[] = {
        {"a@x.com, not-an-address",
         "error -22: address list: position 9 (entry 2): address \"not-an-address\" is not a "
         "valid address (want user@example.com)"},
        {"Ops < a..b@x.com >",
         "error -22: address list: position 6 (entry 1): address \"a..b@x.com\" is not a valid "
         "address (want user@example.com)"},
        {"Bob Smith", "error -22: address list: position 0 (entry 1): address \"Bob Smith\" is "
                      "not a valid address (want user@example.com)"},
        {"a@b.com (Bob)", "error -22: address list: position 0 (entry 1): address \"a@b.com "
                          "(Bob)\" is not a valid address (want user@example.com)"},
        {"\xE4\xBA\xA4\xE6\x98\x93\xE5\x91\x98@qq.com",
         "error -22: address list: position 0 (entry 1): address "
         "\"\xE4\xBA\xA4\xE6\x98\x93\xE5\x91\x98@qq.com\" is not a valid address (non-ASCII "
         "addresses (SMTPUTF8) are not supported)"},
        /* RFC 3629: C0 AF is an overlong '/'; the name's byte 2. */
        {"x@y.com, Ab\xC0\xAF <a@x.com>",
         "error -21: address list: position 9 (entry 2): display name is not valid UTF-8 "
         "(byte 2)"},
        {"\"A\rB\" <a@x.com>",
         "error -20: address list: position 0 (entry 1): display name contains CR, LF or NUL"},
        {"\"A\nB\" <a@x.com>",
         "error -20: address list: position 0 (entry 1): display name contains CR, LF or NUL"},
    };
    /* 256 bytes of name are allowed, 257 are not; 254 of address (RFC 5321
       4.5.3.1.3 less the <>), 255 are not. */
    char list[600];
    smtpmail_address out[1];
    char storage[600];
    smtpmail_error err;
    size_t n;
    check_list_cases(cases, sizeof cases / sizeof cases[0]);

    memset(list, 'n', 256);
    strcpy(list + 256, " <a@x.com>");
    CHECK(smtpmail_address_parse(list, out, 1, &n, storage, sizeof storage, &err) == SMTPMAIL_OK);
    CHECK(n == 1 && strlen(out[0].name) == 256);
    memset(list, 'n', 257);
    strcpy(list + 257, " <a@x.com>");
    CHECK_STR(parse_shown(list),
              "error -24: address list: position 0 (entry 1): display name is longer than 256 bytes");

    /* 63 + '@' + 3 labels of 60 + '.com' = 63 + 1 + 183 + 4 = 251; then longer. */
    memset(list, 'l', 63);
    strcpy(list + 63, "@");
    memset(list + 64, 'd', 60), list[124] = '.';
    memset(list + 125, 'd', 60), list[185] = '.';
    memset(list + 186, 'd', 60);
    strcpy(list + 246, ".com");
    CHECK_INT(strlen(list), 250);
    strcpy(list + 246, ".abcd");  /* 251 */
    CHECK(smtpmail_address_parse(list, out, 1, &n, storage, sizeof storage, &err) == SMTPMAIL_OK);
    strcpy(list + 246, ".abcdefgh"); /* 255 */
    CHECK_INT(strlen(list), 255);
    CHECK_STR(parse_shown(list),
              "error -24: address list: position 0 (entry 1): address is longer than 254 bytes");
}

/* cap and storage_cap: too small is SMTPMAIL_ERR_BUFFER_TOO_SMALL with
   *count the entries of the whole list; an error in the list comes first. */
static void test_address_parse_capacity(void)
{
    static const char three[] = "a@x.com, b@x.com, c@x.com"; /* 3 x 8 bytes stored */
    static const char two[] = "Bob <b@x.com>, c@x.com";      /* "Bob" 4 + 8 + 8 = 20 */
    smtpmail_address out[4];
    char storage[64];
    smtpmail_error err;
    size_t n;

    n = 99;
    CHECK(smtpmail_address_parse(three, out, 2, &n, storage, sizeof storage, &err) ==
          SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK_INT(n, 3);
    CHECK_STR(err.field, "list");
    CHECK_STR(err.message, "address list: position 18 (entry 3): out has room for 2 entries, "
                           "the list has 3 (and needs 24 bytes of storage)");
    CHECK(err.result == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    /* Counting: no out, no storage. */
    n = 99;
    CHECK(smtpmail_address_parse(three, NULL, 0, &n, NULL, 0, &err) ==
          SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK_INT(n, 3);
    CHECK_STR(err.message, "address list: position 0 (entry 1): out has room for 0 entries, "
                           "the list has 3 (and needs 24 bytes of storage)");
    n = 99;
    CHECK(smtpmail_address_parse(" ; ", NULL, 0, &n, NULL, 0, &err) == SMTPMAIL_OK);
    CHECK_INT(n, 0);
    CHECK(smtpmail_address_parse(three, out, 3, &n, storage, 24, &err) == SMTPMAIL_OK);
    CHECK_INT(n, 3);
    CHECK_STR(out[2].addr, "c@x.com");

    n = 99;
    CHECK(smtpmail_address_parse(two, out, 4, &n, storage, 19, &err) ==
          SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK_INT(n, 2);
    CHECK_STR(err.message,
              "address list: position 15 (entry 2): storage_cap 19 is too small: 20 bytes needed");
    CHECK(smtpmail_address_parse(two, out, 4, &n, storage, 20, &err) == SMTPMAIL_OK);
    CHECK(n == 2 && strcmp(out[0].name, "Bob") == 0 && strcmp(out[0].addr, "b@x.com") == 0 &&
          out[1].name == NULL && strcmp(out[1].addr, "c@x.com") == 0);
    /* The documented bound: strlen(list) + 1 bytes always suffice. */
    CHECK(smtpmail_address_parse("a@b.co,c@d.co", out, 4, &n, storage, 14, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_address_parse("<a@b.co>", out, 4, &n, storage, 9, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_address_parse("\"\" <a@b.co>", out, 4, &n, storage, 12, &err) == SMTPMAIL_OK);

    /* A broken third entry wins over a cap of 1. */
    n = 99;
    CHECK(smtpmail_address_parse("a@x.com, b@x.com, <bad", out, 1, &n, storage, sizeof storage,
                                 &err) == SMTPMAIL_ERR_BAD_ADDRESS);
    CHECK_INT(n, 0);
    CHECK_STR(err.message, "address list: position 22 (entry 3): missing '>'");
    /* err may be NULL. */
    CHECK(smtpmail_address_parse("a@x.com, b@x.com", out, 1, &n, storage, sizeof storage, NULL) ==
          SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    CHECK(smtpmail_address_parse("Bob <", out, 1, &n, storage, sizeof storage, NULL) ==
          SMTPMAIL_ERR_BAD_ADDRESS);
    /* Arguments. */
    CHECK(smtpmail_address_parse(NULL, out, 1, &n, storage, sizeof storage, &err) ==
          SMTPMAIL_ERR_INVALID_ARG);
    CHECK_STR(err.field, "list");
    CHECK(smtpmail_address_parse("a@x.com", out, 1, NULL, storage, sizeof storage, &err) ==
          SMTPMAIL_ERR_INVALID_ARG);
    CHECK(smtpmail_address_parse("a@x.com", NULL, 1, &n, storage, sizeof storage, &err) ==
          SMTPMAIL_ERR_INVALID_ARG);
    CHECK(smtpmail_address_parse("a@x.com", out, 1, &n, NULL, 8, &err) ==
          SMTPMAIL_ERR_INVALID_ARG);
}

/* What the parser gives, the builder writes back (RFC 5322 3.4: a name
   with specials is quoted again). */
static void test_address_parse_render(void)
{
    smtpmail_address to[4];
    char storage[256];
    smtpmail_message m = base_msg();
    smtpmail_error err;
    sink s = {0};
    size_t n;
    char *v;
    CHECK(smtpmail_address_parse("\"Doe, John\" <j@x.com>; Alert Bot <a@x.com>, h@x.com", to, 4,
                                 &n, storage, sizeof storage, &err) == SMTPMAIL_OK);
    m.to = to, m.to_count = n;
    CHECK(smtpmail_message_check(&m, &err) == SMTPMAIL_OK);
    CHECK(render(&m, &s, &err) == SMTPMAIL_OK);
    CHECK_STR((v = header_get(s.data, s.data + s.len, "To", NULL, NULL)),
              " \"Doe, John\" <j@x.com>, Alert Bot <a@x.com>, h@x.com");
    free(v);
    sink_free(&s);
}

static void test_result_str(void)
{
    static const smtpmail_result codes[13] = {
        SMTPMAIL_OK, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_ERR_NO_MEMORY,
        SMTPMAIL_ERR_BUFFER_TOO_SMALL, SMTPMAIL_ERR_WRITE, SMTPMAIL_ERR_INTERNAL,
        SMTPMAIL_ERR_HEADER_INJECTION, SMTPMAIL_ERR_BAD_UTF8, SMTPMAIL_ERR_BAD_ADDRESS,
        SMTPMAIL_ERR_NO_RECIPIENT, SMTPMAIL_ERR_TOO_LONG, SMTPMAIL_ERR_BAD_FIELD,
        SMTPMAIL_ERR_FILE};
    size_t i, j;
    for (i = 0; i < 13; i++) {
        const char *a = smtpmail_result_str(codes[i]);
        CHECK(a != NULL && a[0] != '\0' && strcmp(a, "unknown result") != 0);
        for (j = 0; a && j < i; j++) CHECK(strcmp(a, smtpmail_result_str(codes[j])) != 0);
    }
    CHECK_STR(smtpmail_result_str(SMTPMAIL_OK), "ok");
    CHECK_STR(smtpmail_result_str((smtpmail_result)-1000), "unknown result");
}

/* >>main ------------------------------------------------------------------ */

/* smtpmail_message_save: the file holds exactly what the write callback
   gets; a bad message creates no file; an uncreatable path is an error
   with errno. */
static void test_save_file(void)
{
    smtpmail_message m = base_msg();
    smtpmail_error err;
    env e;
    smtpmail_hooks h = fixed_hooks(&e);
    sink want = {0};
    char path[512], bad_path[600];
    FILE *f;
    char *got;
    long n;
    CHECK(render(&m, &want, &err) == SMTPMAIL_OK);
    temp_path(path, sizeof path, "save");
    CHECK(smtpmail_message_save(&m, &h, path, &err) == SMTPMAIL_OK);
    f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        got = (char *)xmalloc((size_t)n + 1);
        CHECK(fread(got, 1, (size_t)n, f) == (size_t)n);
        got[n] = '\0';
        fclose(f);
        CHECK((size_t)n == want.len);
        CHECK_STR(got, want.data);
        free(got);
    }
    remove(path);

    /* A bad message: an error naming the field, and no file left behind. */
    m.subject = "two\nlines";
    CHECK(smtpmail_message_save(&m, &h, path, &err) == SMTPMAIL_ERR_HEADER_INJECTION);
    CHECK_STR(err.field, "message.subject");
    f = fopen(path, "rb");
    CHECK(f == NULL);
    if (f) fclose(f);

    /* A directory that does not exist. */
    m.subject = "ok";
    snprintf(bad_path, sizeof bad_path, "%s.missing-dir/x.eml", path);
    memset(&err, 0, sizeof err);
    CHECK(smtpmail_message_save(&m, &h, bad_path, &err) == SMTPMAIL_ERR_WRITE);
    CHECK(err.sys_error != 0);
    CHECK(strstr(err.message, "x.eml") != NULL);
    sink_free(&want);
}

static const test_case k_tests[] = {
    T(base64_vectors),
    T(base64_attachment_lines),
    T(qp_small_cases),
    T(qp_long_lines_and_round_trip),
    T(cte_choice),
    T(rfc2047_subject),
    T(rfc2047_emoji_and_mixed),
    T(rfc2047_long_ascii_word),
    T(rfc2047_spaces),
    T(rfc2047_long_header_name),
    T(rfc2047_subject_word_lengths),
    T(rfc2047_space_run_before_encoded_word),
    T(crlf_normalisation),
    T(line_limit_998),
    T(line_limit_998_long_runs),
    T(header_injection),
    T(bad_utf8),
    T(addresses),
    T(recipients),
    T(mime_shapes),
    T(date),
    T(message_id),
    T(required_headers),
    T(allocator),
    T(render_buffer),
    T(write_failure),
    T(file_attachment_streaming),
    T(read_callback_attachment),
    T(custom_headers),
    T(output_discipline),
    T(filenames),
    T(display_names),
    T(address_parse_forms),
    T(address_parse_quoting),
    T(address_parse_syntax_errors),
    T(address_parse_checks),
    T(address_parse_capacity),
    T(address_parse_render),
    T(result_str),
    T(save_file),
};

int main(int argc, char **argv)
{
    return run_tests(k_tests, sizeof k_tests / sizeof k_tests[0], argc, argv);
}
