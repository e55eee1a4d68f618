/* tests/fuzz/fuzz_encoders.c - libFuzzer target: base64, quoted-printable
   and RFC 2047, each checked against a decoder written for the tests
   (tests/fuzz/fuzz.h).

   Every input goes through all of them:
   - base64: smtpmail_base64_encode then smtpmail_base64_decode give back
     the input; our decoder agrees; a buffer one byte short is refused
     with the length needed. smtpmail_base64_decode on the raw input
     agrees with our decoder (same whitespace and padding rules), and what
     it decodes re-encodes and decodes to the same bytes.
   - quoted-printable: smtpmail__write_qp into a direct smtpmail__out:
     CRLF-only lines of at most 76 characters that decode to the input with
     its line ends made CRLF and a final CRLF.
   - RFC 2047: smtpmail_header_encode("Subject", input) succeeds exactly
     when the input is valid UTF-8 without CR, LF (it stops at NUL) and at
     most SMTPMAIL_MAX_FIELD bytes; then, and for the input made valid
     (bad bytes replaced), the field is CRLF-only, no line over 998
     octets, printable ASCII, each encoded-word at most 75 characters of
     whole UTF-8, and unfolding + decoding gives back the value exactly.
     Build with -DFUZZ_STRICT_FOLD to also require 78-column lines. */
#define SMTPMAIL_IMPLEMENTATION
#include "../../smtpmail.h"
#include "fuzz.h"

/* >>base64 ---------------------------------------------------------------- */

/* Our reading of smtpmail_base64_decode's contract: CR, LF, space and tab
   are skipped anywhere; anything else must be base64 with padding. */
static int ref_b64_decode(const unsigned char *s, size_t n, fuzz_buf *out)
{
    fuzz_buf clean = {0};
    size_t i;
    int r;
    for (i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' && s[i] != '\t') fuzz_byte(&clean, s[i]);
    r = fuzz_b64_decode(clean.data, clean.len, 0, out);
    fuzz_buf_free(&clean);
    return r;
}

static void check_base64_round_trip(const uint8_t *data, size_t size)
{
    size_t need = (size + 2) / 3 * 4, got = 0, n = 0;
    char *enc = (char *)fuzz_malloc(need + 1);
    unsigned char *dec = (unsigned char *)fuzz_malloc(size);
    fuzz_buf ref = {0};
    smtpmail_result r;

    /* One byte short (no room for the NUL): refused, with the length. */
    r = smtpmail_base64_encode(data, size, enc, need, &got);
    FUZZ_CHECK(r == SMTPMAIL_ERR_BUFFER_TOO_SMALL && got == need);
    r = smtpmail_base64_encode(data, size, enc, need + 1, &got);
    FUZZ_CHECK(r == SMTPMAIL_OK && got == need && strlen(enc) == need);
    FUZZ_CHECK(fuzz_b64_decode((const unsigned char *)enc, need, 0, &ref) == 0);
    FUZZ_CHECK(ref.len == size && (size == 0 || memcmp(ref.data, data, size) == 0));
    r = smtpmail_base64_decode(enc, need, dec, size, &n);
    FUZZ_CHECK(r == SMTPMAIL_OK && n == size && (size == 0 || memcmp(dec, data, size) == 0));
    fuzz_buf_free(&ref);
    free(dec);
    free(enc);
}

static void check_base64_decode(const uint8_t *data, size_t size)
{
    /* Decoded bytes are at most 3/4 of the input: cap = size always fits. */
    unsigned char *out = (unsigned char *)fuzz_malloc(size);
    fuzz_buf ref = {0};
    size_t n = 0;
    smtpmail_result r = smtpmail_base64_decode((const char *)data, size, out, size, &n);
    int ref_ok = ref_b64_decode(data, size, &ref) == 0;
    if (r != SMTPMAIL_OK) FUZZ_CHECK(r == SMTPMAIL_ERR_BAD_FIELD);
    if ((r == SMTPMAIL_OK) != ref_ok) {
        fuzz_dump("input", data, size);
        fprintf(stderr, "smtpmail_base64_decode: %d, the reference decoder: %s\n", (int)r,
                ref_ok ? "ok" : "invalid");
    }
    FUZZ_CHECK((r == SMTPMAIL_OK) == ref_ok);
    if (r == SMTPMAIL_OK) {
        size_t need = (n + 2) / 3 * 4, n2 = 0, half = n / 2, n3 = 0;
        char *enc = (char *)fuzz_malloc(need + 1);
        unsigned char *again = (unsigned char *)fuzz_malloc(n);
        unsigned char *small = (unsigned char *)fuzz_malloc(half);
        FUZZ_CHECK(ref.len == n && (n == 0 || memcmp(ref.data, out, n) == 0));
        /* Stable: encode what was decoded, decode it again. */
        FUZZ_CHECK(smtpmail_base64_encode(out, n, enc, need + 1, NULL) == SMTPMAIL_OK);
        FUZZ_CHECK(smtpmail_base64_decode(enc, need, again, n, &n2) == SMTPMAIL_OK);
        FUZZ_CHECK(n2 == n && (n == 0 || memcmp(again, out, n) == 0));
        /* A buffer too small: the length needed, and only the prefix written. */
        r = smtpmail_base64_decode((const char *)data, size, small, half, &n3);
        FUZZ_CHECK(n3 == n);
        FUZZ_CHECK(r == (n > half ? SMTPMAIL_ERR_BUFFER_TOO_SMALL : SMTPMAIL_OK));
        FUZZ_CHECK(half == 0 || memcmp(small, out, half) == 0);
        free(small);
        free(again);
        free(enc);
    }
    fuzz_buf_free(&ref);
    free(out);
}

/* >>qp -------------------------------------------------------------------- */

static void check_qp(const uint8_t *data, size_t size)
{
    /* At most 3 characters per byte, 3 per soft break (every 25 bytes or
       more), 2 per line break, and a final CRLF. */
    size_t cap = 6 * size + 64;
    unsigned char *buf = (unsigned char *)fuzz_malloc(cap);
    smtpmail__out o;
    fuzz_buf dec = {0}, want = {0};
    memset(&o, 0, sizeof o);
    o.direct = 1;
    o.buf = buf;
    o.cap = cap;
    smtpmail__write_qp(&o, data, size);
    FUZZ_CHECK(o.result == 0);
    FUZZ_CHECK(o.total == o.len && o.len <= cap);
    if (!fuzz_lines_ok(buf, o.len, 76) || fuzz_qp_decode(buf, o.len, &dec) != 0) {
        fuzz_dump("quoted-printable", buf, o.len);
        FUZZ_FAIL("quoted-printable output is well-formed");
    }
    fuzz_normalise(&want, data, size);
    if (dec.len != want.len || memcmp(dec.data, want.data, want.len) != 0) {
        fuzz_dump("quoted-printable", buf, o.len);
        fuzz_dump("decoded", dec.data, dec.len);
        fuzz_dump("wanted", want.data, want.len);
        FUZZ_FAIL("quoted-printable decodes to the normalised input");
    }
    fuzz_buf_free(&dec);
    fuzz_buf_free(&want);
    free(buf);
}

/* >>rfc2047 --------------------------------------------------------------- */

/* value (NUL-terminated, valid) through smtpmail_header_encode, checked. */
static void check_header_value(const char *value)
{
    size_t len = strlen(value), cap = 8 * len + 256, got = 0, got2 = 0, i, nw = 0;
    char *dst = (char *)fuzz_malloc(cap), *exact;
    const unsigned char *u;
    fuzz_buf dec = {0};
    smtpmail_error err;
    smtpmail_result r = smtpmail_header_encode("Subject", value, dst, cap, &got, &err);
    if (r != SMTPMAIL_OK) {
        fuzz_dump("value", value, len);
        fprintf(stderr, "result %d: %s\n", (int)r, err.message);
    }
    FUZZ_CHECK(r == SMTPMAIL_OK);
    FUZZ_CHECK(strlen(dst) == got);
    /* Measuring (no buffer) and an exact fit give the same length. */
    FUZZ_CHECK(smtpmail_header_encode("Subject", value, NULL, 0, &got2, NULL) ==
               SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(got2 == got);
    exact = (char *)fuzz_malloc(got + 1);
    FUZZ_CHECK(smtpmail_header_encode("Subject", value, exact, got, &got2, NULL) ==
               SMTPMAIL_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(smtpmail_header_encode("Subject", value, exact, got + 1, &got2, NULL) == SMTPMAIL_OK);
    FUZZ_CHECK(got2 == got && memcmp(exact, dst, got + 1) == 0);
    free(exact);

    u = (const unsigned char *)dst;
    FUZZ_CHECK(got >= 10 && memcmp(dst, "Subject:", 8) == 0);
    FUZZ_CHECK(dst[got - 2] == '\r' && dst[got - 1] == '\n');
    for (i = 0; i < got; i++) FUZZ_CHECK(u[i] == '\r' || u[i] == '\n' || u[i] == '\t' || (u[i] >= 32 && u[i] < 127));
#ifdef FUZZ_STRICT_FOLD
    if (!fuzz_lines_ok(u, got, 78)) {
        fuzz_dump("field", dst, got);
        FUZZ_FAIL("Subject lines within 78 columns");
    }
#endif
    if (!fuzz_lines_ok(u, got, 998) || fuzz_2047_decode(u + 8, got - 10, &dec, &nw) != 0) {
        fuzz_dump("value", value, len);
        fuzz_dump("field", dst, got);
        FUZZ_FAIL("the field is well-formed");
    }
    if (dec.len != len || (len > 0 && memcmp(dec.data, value, len) != 0)) {
        fuzz_dump("value", value, len);
        fuzz_dump("field", dst, got);
        fuzz_dump("decoded", dec.data, dec.len);
        FUZZ_FAIL("unfolding and decoding give back the value");
    }
    fuzz_buf_free(&dec);
    free(dst);
}

static void check_header(const uint8_t *data, size_t size)
{
    /* The bytes as a C string (so up to the first NUL). */
    char *raw = (char *)fuzz_malloc(size + 1);
    size_t len, i;
    int valid;
    fuzz_buf fixed = {0};
    smtpmail_result r;
    memcpy(raw, data, size);
    raw[size] = '\0';
    len = strlen(raw);
    valid = len <= SMTPMAIL_MAX_FIELD && fuzz_utf8_ok((const unsigned char *)raw, len) &&
            !memchr(raw, '\r', len) && !memchr(raw, '\n', len);
    r = smtpmail_header_encode("Subject", raw, NULL, 0, NULL, NULL);
    if (valid) {
        FUZZ_CHECK(r == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
        check_header_value(raw);
    } else if (memchr(raw, '\r', len) || memchr(raw, '\n', len)) {
        FUZZ_CHECK(r == SMTPMAIL_ERR_HEADER_INJECTION);
    } else if (len > SMTPMAIL_MAX_FIELD) {
        FUZZ_CHECK(r == SMTPMAIL_ERR_TOO_LONG);
    } else {
        FUZZ_CHECK(r == SMTPMAIL_ERR_BAD_UTF8);
    }
    /* The same bytes made valid: CR, LF, NUL as spaces, broken UTF-8 as '?'. */
    for (i = 0; i < size && fixed.len < SMTPMAIL_MAX_FIELD;) {
        size_t k = fuzz_utf8_seq(data + i, size - i);
        if (fixed.len + (k ? k : 1) > SMTPMAIL_MAX_FIELD) break;
        if (data[i] == '\r' || data[i] == '\n' || data[i] == 0) fuzz_byte(&fixed, ' '), i++;
        else if (k == 0) fuzz_byte(&fixed, '?'), i++;
        else fuzz_put(&fixed, data + i, k), i += k;
    }
    fuzz_byte(&fixed, 0);
    if (!valid || len != size) check_header_value((const char *)fixed.data);
    fuzz_buf_free(&fixed);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_base64_round_trip(data, size);
    check_base64_decode(data, size);
    check_qp(data, size);
    check_header(data, size);
    return 0;
}
