/* tests/fuzz/fuzz.h - what the libFuzzer targets in tests/fuzz/ share.

   FUZZ_CHECK(e): a property that must hold. When it does not, the file,
   line and expression go to stderr and the target aborts, so libFuzzer
   reports a crash and keeps the input (crash-<sha1>). FUZZ_FAIL("what")
   does the same after the details were printed.

   The decoders here are written for the tests, from the RFCs, not taken
   from smtpmail.h: base64 (RFC 4648), quoted-printable (RFC 2045 6.7),
   RFC 2047 encoded-words in an unstructured header field, UTF-8
   (RFC 3629). The targets check the library's encoders against them.

   Each target is one C file that includes the implementation and then
   this header. Plain C99. */
#ifndef SMTPMAIL_FUZZ_H
#define SMTPMAIL_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every target uses only some of these helpers. */
#define FUZZ_FN static __attribute__((unused))

FUZZ_FN void fuzz_fail_(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: property violated: %s\n", file, line, expr);
    abort();
}
#define FUZZ_CHECK(e) ((e) ? (void)0 : fuzz_fail_(#e, __FILE__, __LINE__))
/* The property `what` is violated (details already printed). */
#define FUZZ_FAIL(what) fuzz_fail_(what, __FILE__, __LINE__)

/* A fixed clock (UTC+8) and a fixed "random" source, so that a rendering
   is the same on every run. */
FUZZ_FN int64_t fuzz_now(int *utc_offset_min, void *user_data)
{
    (void)user_data;
    *utc_offset_min = 480;
    return 1763800000;
}

FUZZ_FN int fuzz_random(void *buf, size_t len, void *user_data)
{
    size_t i;
    (void)user_data;
    for (i = 0; i < len; i++) ((unsigned char *)buf)[i] = (unsigned char)(i * 53 + 7);
    return 0;
}

/* Bytes to stderr as a C string literal, for the report of a failure. */
FUZZ_FN void fuzz_dump(const char *what, const void *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i;
    fprintf(stderr, "%s (%lu bytes): \"", what, (unsigned long)n);
    for (i = 0; i < n && i < 4000; i++) {
        if (s[i] == '\r') fputs("\\r", stderr);
        else if (s[i] == '\n') fputs("\\n\"\n  \"", stderr);
        else if (s[i] == '"' || s[i] == '\\') fprintf(stderr, "\\%c", s[i]);
        else if (s[i] < 32 || s[i] > 126) fprintf(stderr, "\\x%02X\"\"", s[i]);
        else fputc(s[i], stderr);
    }
    fputs(i < n ? "\"...\n" : "\"\n", stderr);
}

FUZZ_FN void *fuzz_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* A growable byte buffer, NUL-terminated. `fuzz_buf b = {0};` is empty. */
typedef struct fuzz_buf {
    unsigned char *data;
    size_t len, cap;
} fuzz_buf;

FUZZ_FN void fuzz_put(fuzz_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *d;
        while (cap < b->len + n + 1) cap *= 2;
        d = (unsigned char *)fuzz_malloc(cap);
        if (b->len) memcpy(d, b->data, b->len);
        free(b->data);
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

FUZZ_FN void fuzz_byte(fuzz_buf *b, unsigned char c) { fuzz_put(b, &c, 1); }

FUZZ_FN void fuzz_buf_free(fuzz_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

FUZZ_FN int fuzz_buf_write(const void *data, size_t len, void *user_data)
{
    fuzz_put((fuzz_buf *)user_data, data, len);
    return 0;
}

/* The offset of needle[0..k) in hay[0..n) at or after `from`, or -1. */
FUZZ_FN long fuzz_find(const void *hay, size_t n, size_t from, const void *needle, size_t k)
{
    const unsigned char *h = (const unsigned char *)hay;
    size_t i;
    for (i = from; k <= n && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0) return (long)i;
    return -1;
}

FUZZ_FN int fuzz_contains(const void *hay, size_t n, const char *needle)
{
    return fuzz_find(hay, n, 0, needle, strlen(needle)) >= 0;
}

/* >>utf8 ------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629 4, the
   table of well-formed byte sequences), 0 when there is none. */
FUZZ_FN size_t fuzz_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, k;
    if (c <= 0x7F) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xF0 && c <= 0xF4) len = 4;
    else return 0;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

FUZZ_FN int fuzz_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = fuzz_utf8_seq(s + i, n - i);
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

/* >>lines ----------------------------------------------------------------- */

/* RFC 5322 2.1.1 / 2.3: CR only in CRLF, LF only after CR, at most `max`
   octets per line. Returns 1 when all of s[0..n) obeys; else reports the
   offset and returns 0. */
FUZZ_FN int fuzz_lines_ok(const unsigned char *s, size_t n, size_t max)
{
    size_t i, col = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n') {
                fprintf(stderr, "bare CR at offset %lu\n", (unsigned long)i);
                return 0;
            }
            i++;
            col = 0;
        } else if (s[i] == '\n') {
            fprintf(stderr, "bare LF at offset %lu\n", (unsigned long)i);
            return 0;
        } else if (++col > max) {
            fprintf(stderr, "line over %lu octets at offset %lu\n", (unsigned long)max,
                    (unsigned long)i);
            return 0;
        }
    }
    return 1;
}

/* Text with every line end (CRLF, CR or LF) made CRLF and a final CRLF
   added when missing (an empty text becomes one CRLF): what the builder
   promises a text body decodes to. */
FUZZ_FN void fuzz_normalise(fuzz_buf *out, const unsigned char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            fuzz_put(out, "\r\n", 2);
            if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
        } else {
            fuzz_byte(out, s[i]);
        }
    }
    if (n == 0 || (s[n - 1] != '\r' && s[n - 1] != '\n')) fuzz_put(out, "\r\n", 2);
}

/* >>base64 ---------------------------------------------------------------- */

FUZZ_FN int fuzz_b64_value(unsigned char c)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Decodes base64 in s[0..n), skipping CR and LF (line breaks of a body)
   when `lines`, into out. Padding: '=' only as the last one or two
   characters of the last group. Returns 0, or -1 for anything else. */
FUZZ_FN int fuzz_b64_decode(const unsigned char *s, size_t n, int lines, fuzz_buf *out)
{
    unsigned v[4];
    size_t i, got = 0, pad = 0;
    for (i = 0; i < n; i++) {
        int x;
        if (lines && (s[i] == '\r' || s[i] == '\n')) continue;
        if (pad > 0 && s[i] != '=') return -1;
        if (s[i] == '=') {
            if (got < 2) return -1;
            pad++;
            v[got++] = 0;
        } else {
            if ((x = fuzz_b64_value(s[i])) < 0) return -1;
            v[got++] = (unsigned)x;
        }
        if (got == 4) {
            unsigned char b[3];
            b[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
            b[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
            b[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
            fuzz_put(out, b, 3 - pad);
            got = 0;
            if (pad) {
                for (i++; i < n; i++)
                    if (!(lines && (s[i] == '\r' || s[i] == '\n'))) return -1;
                return 0;
            }
        }
    }
    return got == 0 ? 0 : -1;
}

/* >>qp -------------------------------------------------------------------- */

FUZZ_FN int fuzz_hex_upper(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a quoted-printable body s[0..n) (RFC 2045 6.7) as smtpmail.h
   must write it: CRLF lines of at most 76 characters, "=XX" with upper-case
   hex, '=' last on a line for a soft break, no whitespace at a line's end,
   no bare '.' or "From " at a line's start, every line ended. Hard breaks
   decode to CRLF. Returns 0, or -1 with the reason on stderr. */
FUZZ_FN int fuzz_qp_decode(const unsigned char *s, size_t n, fuzz_buf *out)
{
    size_t i = 0;
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n') {
        fprintf(stderr, "qp: the body does not end with CRLF\n");
        return -1;
    }
    while (i < n) {
        long e = fuzz_find(s, n, i, "\r\n", 2);
        size_t end = (size_t)e, len, k;
        int soft;
        if (e < 0) {
            fprintf(stderr, "qp: unterminated line at %lu\n", (unsigned long)i);
            return -1;
        }
        len = end - i;
        if (len > 76) {
            fprintf(stderr, "qp: line of %lu characters at %lu\n", (unsigned long)len, (unsigned long)i);
            return -1;
        }
        if (len > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) {
            fprintf(stderr, "qp: whitespace at the end of the line at %lu\n", (unsigned long)i);
            return -1;
        }
        if ((len > 0 && s[i] == '.') || (len >= 5 && memcmp(s + i, "From ", 5) == 0)) {
            fprintf(stderr, "qp: line at %lu starts with '.' or \"From \"\n", (unsigned long)i);
            return -1;
        }
        soft = len > 0 && s[end - 1] == '=';
        if (soft) len--;
        for (k = i; k < i + len; k++) {
            unsigned char c = s[k];
            if (c == '=') {
                int hi = k + 2 < i + len ? fuzz_hex_upper(s[k + 1]) : -1;
                int lo = k + 2 < i + len ? fuzz_hex_upper(s[k + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    fprintf(stderr, "qp: bad escape at %lu\n", (unsigned long)k);
                    return -1;
                }
                fuzz_byte(out, (unsigned char)(hi * 16 + lo));
                k += 2;
            } else if (c == ' ' || c == '\t' || (c >= 33 && c <= 126)) {
                fuzz_byte(out, c);
            } else {
                fprintf(stderr, "qp: byte 0x%02X at %lu is not allowed\n", c, (unsigned long)k);
                return -1;
            }
        }
        if (!soft) fuzz_put(out, "\r\n", 2);
        i = end + 2;
    }
    return 0;
}

/* >>rfc2047 --------------------------------------------------------------- */

FUZZ_FN int fuzz_wsp(unsigned char c) { return c == ' ' || c == '\t'; }

/* The body of an unstructured header field as smtpmail.h writes it
   (s[0..n): what follows "Name:", without the final CRLF), unfolded
   (RFC 5322 2.2.3: a CRLF before whitespace is removed) and decoded
   (RFC 2047): the one space after the colon is not part of the value;
   "=?UTF-8?B?...?=" tokens are decoded; whitespace between two adjacent
   encoded-words is dropped (6.2), all other whitespace is kept. Each
   encoded-word must be at most 75 characters (2), be the whole token, and
   hold whole UTF-8 characters. Returns 0, or -1 with the reason on stderr.
   *ewords (may be NULL) gets the number of encoded-words. */
FUZZ_FN int fuzz_2047_decode(const unsigned char *s, size_t n, fuzz_buf *out, size_t *ewords)
{
    fuzz_buf u = {0};
    size_t i = 0, count = 0;
    int prev_eword = 0, rc = -1;
    fuzz_buf pending = {0};
    for (i = 0; i < n; i++) {
        if (s[i] == '\r') {
            if (i + 2 >= n || s[i + 1] != '\n' || !fuzz_wsp(s[i + 2])) {
                fprintf(stderr, "2047: CRLF not followed by whitespace at %lu\n", (unsigned long)i);
                goto done;
            }
            i++;
            continue;
        }
        if (s[i] == '\n') {
            fprintf(stderr, "2047: bare LF at %lu\n", (unsigned long)i);
            goto done;
        }
        fuzz_byte(&u, s[i]);
    }
    if (u.len == 0) {
        rc = 0;
        goto done;
    }
    if (u.data[0] != ' ') {
        fprintf(stderr, "2047: the value does not start with a space\n");
        goto done;
    }
    i = 1;
    while (i < u.len) {
        size_t w0 = i, t0, t1;
        int eword;
        while (i < u.len && fuzz_wsp(u.data[i])) i++;
        t0 = i;
        while (i < u.len && !fuzz_wsp(u.data[i])) i++;
        t1 = i;
        pending.len = 0;
        fuzz_put(&pending, u.data + w0, t0 - w0);
        if (t0 == t1) { /* trailing whitespace */
            fuzz_put(out, pending.data, pending.len);
            break;
        }
        eword = t1 - t0 >= 2 && u.data[t0] == '=' && u.data[t0 + 1] == '?';
        if (!eword) {
            if (fuzz_find(u.data, t1, t0, "=?", 2) >= 0) {
                fprintf(stderr, "2047: \"=?\" inside a plain token at %lu\n", (unsigned long)t0);
                goto done;
            }
            fuzz_put(out, pending.data, pending.len);
            fuzz_put(out, u.data + t0, t1 - t0);
        } else {
            size_t len = t1 - t0;
            fuzz_buf dec = {0};
            int bad = len > 75 || len < 12 || memcmp(u.data + t0, "=?UTF-8?B?", 10) != 0 ||
                      u.data[t1 - 2] != '?' || u.data[t1 - 1] != '=';
            if (!bad) bad = fuzz_b64_decode(u.data + t0 + 10, len - 12, 0, &dec) != 0;
            if (!bad) bad = !fuzz_utf8_ok(dec.data, dec.len);
            if (bad) {
                fuzz_dump("2047: bad encoded-word (over 75, not base64 or not whole UTF-8)",
                          u.data + t0, len);
                fuzz_buf_free(&dec);
                goto done;
            }
            if (!prev_eword) fuzz_put(out, pending.data, pending.len);
            fuzz_put(out, dec.data, dec.len);
            fuzz_buf_free(&dec);
            count++;
        }
        prev_eword = eword;
    }
    rc = 0;
done:
    if (ewords) *ewords = count;
    fuzz_buf_free(&u);
    fuzz_buf_free(&pending);
    return rc;
}

/* The header field `name` in the header block hdr[0..n) (up to the first
   empty line): the offsets of its body (after "Name:") and of its final
   CRLF, or -1 when absent. */
FUZZ_FN long fuzz_header(const unsigned char *hdr, size_t n, const char *name, size_t *end)
{
    size_t k = strlen(name), i = 0;
    while (i < n) {
        long e = fuzz_find(hdr, n, i, "\r\n", 2);
        size_t line_end = e < 0 ? n : (size_t)e;
        if (line_end == i) return -1; /* the empty line: end of the header */
        if (line_end - i > k && memcmp(hdr + i, name, k) == 0 && hdr[i + k] == ':') {
            size_t j = line_end;
            /* Continuation lines start with whitespace. */
            while (j + 2 < n && fuzz_wsp(hdr[j + 2])) {
                e = fuzz_find(hdr, n, j + 2, "\r\n", 2);
                j = e < 0 ? n : (size_t)e;
            }
            *end = j;
            return (long)(i + k + 1);
        }
        i = line_end + 2;
    }
    return -1;
}

#endif /* SMTPMAIL_FUZZ_H */
