/* tests/fuzz/fuzz_url.c - libFuzzer target: config.url, through
   smtpmail__parse_url and smtpmail__configure.

   The input, as a C string in a buffer of its exact size, is the URL.
   Nothing can reach the network: configure gets a transport whose hooks
   refuse (and are never called), a fixed EHLO name (no gethostname), a
   random hook, and a key pin so that TLS setup loads no CA bundle.
   Properties:
   - parse_url and configure return OK or SMTPMAIL_ERR_INVALID_ARG, with
     err.field "config.url" (parse_url) or another "config." field;
   - on success the host is non-empty, NUL-terminated inside its buffer,
     without space, tab, '"', '<', '>' or '\', and (after configure) the
     port is non-zero and the mode follows the scheme: smtps:// implicit
     TLS, smtp+plain:// none, smtp:// STARTTLS (implicit on port 465);
     user and password are the percent-decoded parts of the URL;
   - on failure err.message and err.field are NUL-terminated, and
     err.message never shows the password part of the URL
     (scheme://user:PASS@host): run again with PASS replaced by a canary,
     the canary must not appear; and PASS itself (as written or
     percent-decoded), when it has 4 bytes or more and one of them is not
     printable ASCII (so that it cannot be a piece of the library's own
     wording, such as "tp+plain"), must not appear either. */
#define SMTPMAIL_IMPLEMENTATION
#include "../../smtpmail.h"
#include "fuzz.h"

static int t_connect(void **conn, const char *host, uint16_t port, uint32_t timeout_ms, void *user_data)
{
    (void)conn, (void)host, (void)port, (void)timeout_ms, (void)user_data;
    FUZZ_FAIL("configure does not connect");
    return SMTPMAIL_ERR_CONNECT;
}

static int t_send(void *conn, const void *data, size_t len, uint32_t timeout_ms, void *user_data)
{
    (void)conn, (void)data, (void)len, (void)timeout_ms, (void)user_data;
    FUZZ_FAIL("configure does not send");
    return SMTPMAIL_ERR_NETWORK;
}

static int t_recv(void *conn, void *buf, size_t cap, uint32_t timeout_ms, void *user_data)
{
    (void)conn, (void)buf, (void)cap, (void)timeout_ms, (void)user_data;
    FUZZ_FAIL("configure does not receive");
    return SMTPMAIL_ERR_NETWORK;
}

static void t_close(void *conn, void *user_data) { (void)conn, (void)user_data; }

static int t_random(void *buf, size_t len, void *user_data)
{
    (void)user_data;
    memset(buf, 0x5A, len);
    return 0;
}

/* The URL's user and password as written (scheme://user:pass@host...),
   by RFC 3986 3.2: the authority ends at '/', '?' or '#'; userinfo is what
   comes before its last '@'; the password follows the first ':' in it. */
typedef struct url_parts {
    const char *user, *pass;
    size_t user_len, pass_len;
} url_parts;

static url_parts split_url(const char *url)
{
    url_parts u;
    const char *p = strstr(url, "://"), *end, *at = NULL, *q;
    memset(&u, 0, sizeof u);
    if (!p) return u;
    p += 3;
    end = p + strcspn(p, "/?#");
    for (q = p; q < end; q++)
        if (*q == '@') at = q;
    if (!at) return u;
    u.user = p;
    for (q = p; q < at && *q != ':'; q++) {}
    u.user_len = (size_t)(q - p);
    if (q < at) {
        u.pass = q + 1;
        u.pass_len = (size_t)(at - q - 1);
    }
    return u;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 3986 2.1 percent-decoding into out; -1 for a broken escape or %00. */
static int pct_decode(const char *s, size_t n, fuzz_buf *out)
{
    size_t i;
    fuzz_put(out, "", 0);
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) return -1;
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c == 0) return -1;
        fuzz_byte(out, (unsigned char)c);
    }
    return 0;
}

/* The same URL with its password replaced by a canary: any echo of the
   password part shows as the canary. */
#define CANARY "Zq9vK3wX"

static char *with_canary(const char *url, const url_parts *u)
{
    size_t head = (size_t)(u->pass - url), tail = strlen(u->pass + u->pass_len);
    char *out = (char *)fuzz_malloc(head + strlen(CANARY) + tail + 1);
    memcpy(out, url, head);
    memcpy(out + head, CANARY, strlen(CANARY));
    memcpy(out + head + strlen(CANARY), u->pass + u->pass_len, tail + 1);
    return out;
}

static int holds(const smtpmail_error *err, const void *s, size_t n)
{
    return n > 0 && fuzz_find(err->message, strlen(err->message), 0, s, n) >= 0;
}

/* Bytes that no text of the library has: the password's (4 bytes or more)
   cannot be in err.message by coincidence when it holds one of them. A
   plain ASCII password may be ("tp+plain" is in "smtp+plain://"); the
   canary run covers those. */
static int marked(const unsigned char *s, size_t n)
{
    size_t i;
    for (i = 0; n >= 4 && i < n; i++)
        if (s[i] >= 0x80 || s[i] < 0x20) return 1;
    return 0;
}

/* After a failure: err is terminated; the canary run never shows the
   canary; the real run never shows a marked password, as written or
   percent-decoded. */
static void check_secret(const smtpmail_error *err, const smtpmail_error *canary_err, const url_parts *u)
{
    fuzz_buf dec = {0};
    FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL);
    FUZZ_CHECK(memchr(err->field, '\0', sizeof err->field) != NULL);
    if (!u->pass) return;
    if (holds(canary_err, CANARY, strlen(CANARY))) {
        fuzz_dump("err.message", canary_err->message, strlen(canary_err->message));
        FUZZ_FAIL("err.message holds the URL's password (" CANARY ")");
    }
    if (marked((const unsigned char *)u->pass, u->pass_len) && holds(err, u->pass, u->pass_len)) {
        fuzz_dump("err.message", err->message, strlen(err->message));
        FUZZ_FAIL("err.message holds the URL's password");
    }
    if (pct_decode(u->pass, u->pass_len, &dec) == 0 && marked(dec.data, dec.len) &&
        holds(err, dec.data, dec.len)) {
        fuzz_dump("err.message", err->message, strlen(err->message));
        FUZZ_FAIL("err.message holds the URL's decoded password");
    }
    fuzz_buf_free(&dec);
}

static void check_host(const smtpmail_session *s)
{
    const char *nul = (const char *)memchr(s->set.host, '\0', sizeof s->set.host);
    FUZZ_CHECK(nul != NULL && nul > s->set.host);
    FUZZ_CHECK(strpbrk(s->set.host, " \t\"<>\\") == NULL);
}

/* On success, user and password hold the URL's parts, percent-decoded;
   an empty user is replaced by default_user (the sender) when there is one. */
static void check_credentials(const smtpmail_session *s, const url_parts *u, const char *default_user)
{
    fuzz_buf dec = {0};
    if (u->user) {
        FUZZ_CHECK(pct_decode(u->user, u->user_len, &dec) == 0);
        FUZZ_CHECK(strcmp(s->set.user, dec.len == 0 && default_user ? default_user : (const char *)dec.data) == 0);
        dec.len = 0;
    }
    if (u->pass) {
        FUZZ_CHECK(pct_decode(u->pass, u->pass_len, &dec) == 0);
        FUZZ_CHECK(strcmp(s->set.pass, (const char *)dec.data) == 0);
    }
    fuzz_buf_free(&dec);
}

static int t_random(void *buf, size_t len, void *user_data);

/* smtpmail__parse_url on a zeroed session: the session (to free) and err. */
static smtpmail_result run_parse(const char *url, smtpmail_session **out, smtpmail_error *err)
{
    smtpmail_session *s = (smtpmail_session *)calloc(1, sizeof(struct smtpmail_session));
    if (!s) abort();
    memset(err, 0, sizeof *err);
    *out = s;
    return smtpmail__parse_url(&s->set, url, err);
}

/* smtpmail__configure as smtpmail_send runs it, with the sender
   alerts@fuzz.test; hooks that cannot reach the network. */
static smtpmail_result run_configure(const char *url, smtpmail_session **out, smtpmail_error *err)
{
    static const smtpmail_transport transport = {t_connect, t_send, t_recv, t_close, NULL};
    static const smtpmail_hooks hooks = {NULL, NULL, NULL, t_random, NULL, NULL, NULL};
    smtpmail_config cfg;
    smtpmail_session *s = (smtpmail_session *)calloc(1, sizeof(struct smtpmail_session));
    if (!s) abort();
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.helo_name = "client.fuzz.test";
    cfg.transport = &transport;
    cfg.hooks = &hooks;
    /* A pin and no CA option: TLS setup loads no bundle. */
    cfg.pin_sha256 = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    memset(err, 0, sizeof *err);
    *out = s;
    return smtpmail__configure(s, &cfg, "alerts@fuzz.test", err);
}

static void free_session(smtpmail_session *s)
{
    smtpmail__tls_free(&s->ch.tls);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtpmail_error err, canary_err;
    smtpmail_session *s, *c;
    smtpmail_result r;
    char *url = (char *)fuzz_malloc(size + 1), *canary;
    const char *scheme_end;
    url_parts u;

    memcpy(url, data, size);
    url[size] = '\0';
    u = split_url(url);
    canary = u.pass ? with_canary(url, &u) : NULL;
    memset(&canary_err, 0, sizeof canary_err);

    /* The parser alone. */
    r = run_parse(url, &s, &err);
    if (canary) {
        smtpmail_result rc = run_parse(canary, &c, &canary_err);
        (void)rc;
        free_session(c);
    }
    if (r == SMTPMAIL_OK) {
        check_host(s);
        if (strstr(url, "://")) check_credentials(s, &u, NULL);
    } else {
        FUZZ_CHECK(r == SMTPMAIL_ERR_INVALID_ARG);
        FUZZ_CHECK(strcmp(err.field, "config.url") == 0);
        check_secret(&err, &canary_err, &u);
    }
    free_session(s);

    /* The whole configuration step. */
    r = run_configure(url, &s, &err);
    if (canary) {
        smtpmail_result rc = run_configure(canary, &c, &canary_err);
        (void)rc;
        free_session(c);
    }
    if (r == SMTPMAIL_OK) {
        check_host(s);
        FUZZ_CHECK(s->set.port != 0);
        FUZZ_CHECK((unsigned)s->set.mode <= (unsigned)SMTPMAIL_TLS_INSECURE_NONE);
        scheme_end = strstr(url, "://");
        if (scheme_end) {
            size_t n = (size_t)(scheme_end - url);
            check_credentials(s, &u, "alerts@fuzz.test");
            if (n == 5) FUZZ_CHECK(s->set.mode == SMTPMAIL_TLS_IMPLICIT);
            else if (n == 10) FUZZ_CHECK(s->set.mode == SMTPMAIL_TLS_INSECURE_NONE);
            else FUZZ_CHECK(s->set.mode == (s->set.port == 465 ? SMTPMAIL_TLS_IMPLICIT : SMTPMAIL_TLS_STARTTLS));
        }
        if (s->set.mode != SMTPMAIL_TLS_INSECURE_NONE) FUZZ_CHECK(s->ch.tls.ready && s->ch.tls.trust == SMTPMAIL__TRUST_PIN_ONLY);
    } else {
        FUZZ_CHECK(r == SMTPMAIL_ERR_INVALID_ARG);
        FUZZ_CHECK(strncmp(err.field, "config.", 7) == 0);
        check_secret(&err, &canary_err, &u);
    }
    free_session(s);
    free(canary);
    free(url);
    return 0;
}
