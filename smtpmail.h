/* smtpmail.h - v0.1.0 - send e-mail from C: a streaming MIME builder, with
   SMTP over mbedTLS to follow. One file, no dependencies beyond libc (and
   mbedTLS for the sending side). Licence (MIT or public domain): end of file.

   Write `#define SMTPMAIL_IMPLEMENTATION` before the #include in exactly ONE
   C or C++ file; every other file includes smtpmail.h for the API only.

QUICK START
   The message is a plain struct of pointers that you own: nothing is copied,
   nothing is allocated until you render it, and `= {0}` means "not set".

<quick-start>
#include <stdio.h>
#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

static int to_stdout(const void *data, size_t len, void *user_data)
{
    (void)user_data;
    return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

int main(void)
{
    smtpmail_address to[1] = {{"交易员", "trader@qq.com"}};
    smtpmail_message msg = {0};
    smtpmail_error err;

    msg.from.name = "Alert Bot";
    msg.from.addr = "bot@example.com";
    msg.to = to;
    msg.to_count = 1;
    msg.subject = "交易信号：买入 rb2405 @ 3650";
    msg.text = "Signal: BUY rb2405 @ 3650\nStrategy: breakout-15m\n";

    if (smtpmail_message_write(&msg, NULL, to_stdout, NULL, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "smtpmail: %s\n", err.message);
        return 1;
    }
    return 0;
}
</quick-start>
   (Build: cc -std=c99 quick.c. A test compiles and runs exactly this code.)

THE MESSAGE
   from, to/cc/bcc (arrays), reply_to, subject, text and/or html, attachments
   (from memory, a file path streamed in chunks, or your own read callback),
   inline images (an attachment with content_id, shown by HTML as
   <img src="cid:ID">), and extra headers. Strings are UTF-8.

   What the builder writes:
   - Date (RFC 5322, from hooks->now; default the system clock in UTC),
     Message-ID (random, with the sender's domain), MIME-Version.
   - Bcc is never written: it only adds envelope recipients.
   - text only: text/plain; html only: text/html; both: multipart/alternative.
     Inline parts go with the HTML in multipart/related; attachments wrap the
     whole in multipart/mixed. Inline parts without HTML become ordinary
     parts with Content-Disposition: inline.
   - Text bodies: charset=utf-8, line ends normalised to CRLF, a final line
     break added when missing (as Python's email package does), and the
     transfer encoding chosen from the content: 7bit for ASCII with lines of
     at most 78 octets, quoted-printable when that is shorter than base64,
     base64 otherwise. Attachments are always base64 (76-column lines), so
     their bytes arrive exactly as given.
   - Subject, display names and extra header values: plain ASCII words stay
     readable; words with non-ASCII bytes become RFC 2047 encoded-words
     (UTF-8, "B"), each at most 75 characters, never splitting a UTF-8
     sequence, and lines are folded at 78 columns. Subject words longer
     than a line are encoded too, so a Subject never needs a longer line;
     in custom headers (which may be structured) long ASCII words stay as
     they are, on a line of up to 998 octets. An address longer than a line
     also keeps its own line.
   - Non-ASCII or long attachment file names: RFC 2231 filename* (with
     continuations) plus an RFC 2047 name= fallback for clients such as
     QQ Mail that read only that one. The fallback is one encoded-word on
     a line of its own, so it can be longer than 78 (never than 998).
   - Output lines always end in CRLF and never exceed 998 octets. The
     writer checks this on every byte it emits: a violation stops the
     output with SMTPMAIL_ERR_INTERNAL rather than emitting a bad message.

ERROR HANDLING
   Every fallible call returns smtpmail_result: SMTPMAIL_OK (0) or a stable
   negative code, grouped by area (see the enum). smtpmail_result_str()
   names a code. Each call also takes an optional smtpmail_error *err (NULL
   allowed) that the call fills in on failure: the result, the stage, the
   field that was wrong ("message.to[1].addr") and a one-line message such
   as "message.subject contains CR, LF or NUL". Messages never contain
   credentials.

   The whole message is checked before the first byte is written: a bad
   field, invalid UTF-8 or an unreadable attachment file produces an error
   and no output at all. (A file that becomes unreadable while it is being
   streamed stops the output with SMTPMAIL_ERR_FILE; the SMTP client then
   aborts the transaction, so a truncated message is never delivered.)

HOOKS
   smtpmail_hooks (NULL or zero fields = defaults):
   - alloc/free: set both or neither. The builder allocates only a read
     buffer (SMTPMAIL_READ_CHUNK bytes) when a path or read callback
     attachment exists, plus an output buffer (SMTPMAIL_OUTPUT_BUFFER
     bytes) when writing to a callback. Rendering into a caller buffer
     with in-memory attachments allocates nothing. The encoders never
     allocate.
   - now: returns the Unix time and sets *utc_offset_min (minutes east of
     UTC) for the Date header. Default: time(NULL), +0000. Give hosts
     without a real-time clock one that reads an NTP-set clock or returns
     0 (Date: Thu, 01 Jan 1970 ...) knowingly.
   - random: fills a buffer, returns 0 on success. Used for Message-ID and
     MIME boundaries. Default: RtlGenRandom on Windows, /dev/urandom
     elsewhere; when that fails, a mix of the clock and addresses (weak but
     never fatal: boundaries are made safe by construction, not by luck).

COMPILE-TIME OPTIONS (define before the implementation include)
   SMTPMAIL_STATIC          make every function static (default: extern)
   SMTPMAIL_NO_STDIO        no file access (fopen): attachments come from
                            memory or a read callback (default: off)
   SMTPMAIL_OUTPUT_BUFFER   bytes buffered before each write callback
                            (default 2048, at least 80)
   SMTPMAIL_READ_CHUNK      bytes read from an attachment at a time
                            (default 3420 = 60 base64 lines, at least 57)
   SMTPMAIL_MAX_FIELD       longest subject or header value, in bytes
                            (default 4096)
   SMTPMAIL_MAX_RECIPIENTS  most to + cc + bcc addresses (default 1000)
   SMTPMAIL_ASSERT(x)       internal assertions (default: none)

THREADS
   No global mutable state: any number of threads may build and write
   messages at once, as long as each uses its own buffers. The default
   clock and random source are thread-safe.

SECURITY NOTES
   - CR, LF and NUL are refused in every header value, display name,
     address, file name, header name and content type (no header
     injection); text bodies may contain any line ends (normalised).
   - Invalid UTF-8 (overlong forms, surrogates, beyond U+10FFFF) is refused
     in every text field and body, never passed through.
   - Addresses get a syntax check: ASCII dot-atom local part, a domain of
     letters, digits and hyphens (or an [address literal]). Internationalised
     (SMTPUTF8) addresses are refused for now.
   - Custom headers may not replace the ones the builder writes (From, To,
     Cc, Bcc, Reply-To, Subject, Date, Message-ID, MIME-Version, Content-*).
*/
#ifndef SMTPMAIL_H
#define SMTPMAIL_H

#define SMTPMAIL_VERSION_MAJOR 0
#define SMTPMAIL_VERSION_MINOR 1
#define SMTPMAIL_VERSION_PATCH 0
#define SMTPMAIL_VERSION_STRING "0.1.0"

#include <stddef.h>
#include <stdint.h>

#ifndef SMTPMAIL_API
#  ifdef SMTPMAIL_STATIC
#    if defined(__GNUC__) || defined(__clang__)
#      define SMTPMAIL_API __attribute__((unused)) static
#    else
#      define SMTPMAIL_API static
#    endif
#  else
#    define SMTPMAIL_API extern
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
   Results and error detail
   ------------------------------------------------------------------------ */

/* Stable codes: 0 is success, negative values are grouped by area. New codes
   are only ever added; a code's number never changes. */
typedef enum smtpmail_result {
    SMTPMAIL_OK = 0,

    /* -1 .. -19: the caller and the host */
    SMTPMAIL_ERR_INVALID_ARG = -1,      /* NULL pointer, contradictory fields */
    SMTPMAIL_ERR_NO_MEMORY = -2,        /* the allocator returned NULL */
    SMTPMAIL_ERR_BUFFER_TOO_SMALL = -3, /* *out_len says how much is needed */
    SMTPMAIL_ERR_WRITE = -4,            /* the write callback failed */
    SMTPMAIL_ERR_INTERNAL = -5,         /* a bug in smtpmail.h: please report */

    /* -20 .. -39: the message */
    SMTPMAIL_ERR_HEADER_INJECTION = -20, /* CR, LF or NUL in a header field */
    SMTPMAIL_ERR_BAD_UTF8 = -21,        /* a text field is not valid UTF-8 */
    SMTPMAIL_ERR_BAD_ADDRESS = -22,     /* an address fails the syntax check */
    SMTPMAIL_ERR_NO_RECIPIENT = -23,    /* to, cc and bcc are all empty */
    SMTPMAIL_ERR_TOO_LONG = -24,        /* a field or count over its limit */
    SMTPMAIL_ERR_BAD_FIELD = -25,       /* any other invalid field value */
    SMTPMAIL_ERR_FILE = -26             /* an attachment could not be read */

    /* -40 .. -59 network, -60 .. -79 TLS, -80 .. -99 SMTP: the SMTP client */
} smtpmail_result;

/* Where in the work a failure happened. */
typedef enum smtpmail_stage {
    SMTPMAIL_STAGE_NONE = 0,
    SMTPMAIL_STAGE_MESSAGE,     /* checking or rendering the message */
    SMTPMAIL_STAGE_OUTPUT       /* handing bytes to the write callback */
} smtpmail_stage;

/* Filled in by a failing call when the caller passes one; untouched on
   success. Plain data: no need to free anything. */
typedef struct smtpmail_error {
    smtpmail_result result;
    smtpmail_stage stage;
    char field[64];     /* the field at fault, e.g. "message.to[1].addr"; "" if none */
    int sys_error;      /* errno (GetLastError on Windows) for file errors; else 0 */
    char message[256];  /* one line, no credentials, always NUL-terminated */
} smtpmail_error;

/* A short, static English description of a result code ("ok", "no memory"). */
SMTPMAIL_API const char *smtpmail_result_str(smtpmail_result result);

/* ---------------------------------------------------------------------------
   Hooks
   ------------------------------------------------------------------------ */

typedef struct smtpmail_hooks {
    void *(*alloc)(size_t size, void *user_data);   /* NULL: malloc */
    void (*free)(void *ptr, void *user_data);       /* NULL: free */
    int64_t (*now)(int *utc_offset_min, void *user_data); /* NULL: time(), UTC */
    int (*random)(void *buf, size_t len, void *user_data); /* 0 = ok; NULL: OS */
    void *user_data;                                /* passed to every hook */
} smtpmail_hooks;

/* Receives the rendered message in order, in pieces of at most
   SMTPMAIL_OUTPUT_BUFFER bytes. Return 0 to go on; any other value stops
   the output, and the call returns SMTPMAIL_ERR_WRITE. */
typedef int (*smtpmail_write_fn)(const void *data, size_t len, void *user_data);

/* Supplies attachment bytes: copy up to `cap` bytes into `buf`, set *got
   (0 = end of data) and return 0; any other return value is a read error. */
typedef int (*smtpmail_read_fn)(void *buf, size_t cap, size_t *got, void *user_data);

/* ---------------------------------------------------------------------------
   Message builder
   ------------------------------------------------------------------------ */

typedef struct smtpmail_address {
    const char *name;   /* display name, UTF-8; NULL or "": none */
    const char *addr;   /* "user@example.com" (no angle brackets) */
} smtpmail_address;

typedef struct smtpmail_header {
    const char *name;   /* "X-Strategy": printable ASCII, no ':' */
    const char *value;  /* UTF-8 text; RFC 2047-encoded as needed */
} smtpmail_header;

/* Exactly one source: path, data, or read. */
typedef struct smtpmail_attachment {
    const char *path;           /* a file, streamed in chunks */
    const void *data;           /* or bytes in memory ... */
    size_t data_len;            /* ... of this length (0 allowed) */
    smtpmail_read_fn read;      /* or your own reader ... */
    void *read_user_data;       /* ... and its user_data */
    const char *filename;       /* name shown, UTF-8; NULL: last part of path */
    const char *content_type;   /* "text/csv"; NULL: from the file name's extension */
    const char *content_id;     /* set: inline part, <img src="cid:ID"> in the HTML */
} smtpmail_attachment;

/* The whole message as pointers you own. `smtpmail_message msg = {0};` and
   set what you need: from, at least one of to/cc/bcc, and usually subject
   and text. A length of 0 for text or html means strlen(). */
typedef struct smtpmail_message {
    smtpmail_address from;
    const smtpmail_address *to;   size_t to_count;
    const smtpmail_address *cc;   size_t cc_count;
    const smtpmail_address *bcc;  size_t bcc_count;   /* envelope only */
    smtpmail_address reply_to;                        /* addr NULL: none */
    const char *subject;                              /* NULL: no Subject */
    const char *text;  size_t text_len;               /* text/plain body */
    const char *html;  size_t html_len;               /* text/html body */
    const smtpmail_attachment *attachments; size_t attachment_count;
    const smtpmail_header *headers; size_t header_count;  /* extra headers */
} smtpmail_message;

/* Checks every field (and that attachment files can be opened) without
   writing anything. Returns SMTPMAIL_OK or the first problem; err may be NULL. */
SMTPMAIL_API smtpmail_result smtpmail_message_check(const smtpmail_message *msg,
                                                    smtpmail_error *err);

/* Checks the message, then streams it (RFC 5322 + MIME, CRLF line ends, no
   dot-stuffing) to `write` in order. hooks may be NULL; err may be NULL.
   Nothing is written when the check fails. */
SMTPMAIL_API smtpmail_result smtpmail_message_write(const smtpmail_message *msg,
                                                    const smtpmail_hooks *hooks,
                                                    smtpmail_write_fn write,
                                                    void *user_data,
                                                    smtpmail_error *err);

/* Renders into buf[0..cap) and NUL-terminates it when there is room.
   *out_len (may be NULL) gets the message length; when it does not fit, the
   result is SMTPMAIL_ERR_BUFFER_TOO_SMALL and *out_len the size needed
   (excluding the NUL). buf may be NULL when cap is 0, to measure. */
SMTPMAIL_API smtpmail_result smtpmail_message_render(const smtpmail_message *msg,
                                                     const smtpmail_hooks *hooks,
                                                     char *buf, size_t cap,
                                                     size_t *out_len,
                                                     smtpmail_error *err);

#ifndef SMTPMAIL_NO_STDIO
/* Renders into the file at `path` (created or truncated; "-" is stdout).
   On failure the partial file is removed. */
SMTPMAIL_API smtpmail_result smtpmail_message_save(const smtpmail_message *msg,
                                                   const smtpmail_hooks *hooks,
                                                   const char *path,
                                                   smtpmail_error *err);
#endif

/* ---------------------------------------------------------------------------
   Utilities (no allocation)
   ------------------------------------------------------------------------ */

/* Base64 (RFC 4648, with padding, no line breaks) of src[0..len) into dst,
   NUL-terminated. *dst_len (may be NULL) gets the encoded length, also when
   the result is SMTPMAIL_ERR_BUFFER_TOO_SMALL (dst needs *dst_len + 1). */
SMTPMAIL_API smtpmail_result smtpmail_base64_encode(const void *src, size_t len,
                                                    char *dst, size_t cap,
                                                    size_t *dst_len);

/* Decodes base64 (padding required, CR/LF/space/tab ignored) into dst.
   Returns SMTPMAIL_ERR_BAD_FIELD for any other byte or bad padding. */
SMTPMAIL_API smtpmail_result smtpmail_base64_decode(const char *src, size_t len,
                                                    void *dst, size_t cap,
                                                    size_t *dst_len);

/* Writes one complete header field, "Name: value" + CRLF, folded at 78
   columns with RFC 2047 encoded-words where the UTF-8 value needs them
   (the rules of the Subject). NUL-terminated when there is room; *dst_len
   as for smtpmail_base64_encode. err may be NULL. */
SMTPMAIL_API smtpmail_result smtpmail_header_encode(const char *name,
                                                    const char *value,
                                                    char *dst, size_t cap,
                                                    size_t *dst_len,
                                                    smtpmail_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SMTPMAIL_H */

/* ===========================================================================
   IMPLEMENTATION
   ======================================================================== */
#if defined(SMTPMAIL_IMPLEMENTATION) && !defined(SMTPMAIL_IMPLEMENTATION_INCLUDED)
#define SMTPMAIL_IMPLEMENTATION_INCLUDED

/* >>config ---------------------------------------------------------------- */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h> /* snprintf always; files only without SMTPMAIL_NO_STDIO */
#ifndef SMTPMAIL_NO_STDIO
#  include <errno.h>
#endif

#ifndef SMTPMAIL_OUTPUT_BUFFER
#  define SMTPMAIL_OUTPUT_BUFFER 2048
#endif
#ifndef SMTPMAIL_READ_CHUNK
#  define SMTPMAIL_READ_CHUNK 3420
#endif
#ifndef SMTPMAIL_MAX_FIELD
#  define SMTPMAIL_MAX_FIELD 4096
#endif
#ifndef SMTPMAIL_MAX_RECIPIENTS
#  define SMTPMAIL_MAX_RECIPIENTS 1000
#endif
#ifndef SMTPMAIL_ASSERT
#  define SMTPMAIL_ASSERT(x) ((void)0)
#endif

#if SMTPMAIL_OUTPUT_BUFFER < 80
#  error "SMTPMAIL_OUTPUT_BUFFER must be at least 80"
#endif
#if SMTPMAIL_READ_CHUNK < 57
#  error "SMTPMAIL_READ_CHUNK must be at least 57"
#endif

/* RFC 5322 2.1.1: lines SHOULD be at most 78 and MUST be at most 998
   characters, excluding the CRLF. */
#define SMTPMAIL__FOLD 78
#define SMTPMAIL__LINE_MAX 998
/* RFC 2047 2: an encoded-word is at most 75 characters. */
#define SMTPMAIL__EWORD_MAX 75
#define SMTPMAIL__NAME_MAX 256      /* display names, bytes */
#define SMTPMAIL__FILENAME_MAX 255  /* attachment names, bytes */
#define SMTPMAIL__ADDR_MAX 254      /* RFC 5321 4.5.3.1.3 path, less <> */
#define SMTPMAIL__HNAME_MAX 76      /* header names */

#define SMTPMAIL__UNUSED(x) ((void)(x))

/* >>platform -------------------------------------------------------------- */

#if defined(_WIN32)
#  include <winsock2.h>
#  include <windows.h>
/* RtlGenRandom: exported as SystemFunction036 by advapi32 since XP. */
#  ifdef __cplusplus
extern "C"
#  endif
BOOLEAN NTAPI SystemFunction036(PVOID buf, ULONG len);
#  if defined(_MSC_VER)
#    pragma comment(lib, "advapi32")
#  endif
#endif

static void *smtpmail__alloc(const smtpmail_hooks *h, size_t size)
{
    if (h && h->alloc) return h->alloc(size, h->user_data);
    return malloc(size);
}

static void smtpmail__free(const smtpmail_hooks *h, void *ptr)
{
    if (!ptr) return;
    if (h && h->free) h->free(ptr, h->user_data);
    else free(ptr);
}

static int64_t smtpmail__now(const smtpmail_hooks *h, int *utc_offset_min)
{
    *utc_offset_min = 0;
    if (h && h->now) return h->now(utc_offset_min, h->user_data);
    /* UTC on purpose: localtime() shares a static buffer between threads and
       localtime_r is not ISO C. Mail clients show the reader's local time. */
    return (int64_t)time(NULL);
}

/* Last resort when the OS has no random source: mixes the clock, the CPU
   clock and addresses (which ASLR varies). Weak, but it only feeds
   Message-IDs; boundaries are safe by construction. */
static void smtpmail__weak_random(unsigned char *buf, size_t len)
{
    uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    size_t i;
    x ^= (uint64_t)(uintptr_t)buf ^ ((uint64_t)(uintptr_t)&x << 16);
    for (i = 0; i < len; i++) {
        /* splitmix64 step */
        uint64_t z;
        x += 0x9E3779B97F4A7C15ull;
        z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        buf[i] = (unsigned char)(z ^ (z >> 31));
    }
}

static void smtpmail__random(const smtpmail_hooks *h, unsigned char *buf, size_t len)
{
    if (h && h->random) {
        if (h->random(buf, len, h->user_data) == 0) return;
    } else {
#if defined(_WIN32)
        if (SystemFunction036(buf, (ULONG)len)) return;
#elif !defined(SMTPMAIL_NO_STDIO)
        FILE *f = fopen("/dev/urandom", "rb");
        if (f) {
            size_t got = fread(buf, 1, len, f);
            fclose(f);
            if (got == len) return;
        }
#endif
    }
    smtpmail__weak_random(buf, len);
}

/* >>util ------------------------------------------------------------------ */

static void smtpmail__copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
static smtpmail_result smtpmail__fail(smtpmail_error *err, smtpmail_result r,
                                      const char *field, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        memset(err, 0, sizeof(*err));
        err->result = r;
        err->stage = SMTPMAIL_STAGE_MESSAGE;
        smtpmail__copy(err->field, sizeof(err->field), field ? field : "");
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return r;
}

/* Length of the valid UTF-8 prefix of s[0..len): len when it is all valid.
   Refuses overlong forms, surrogates and code points past U+10FFFF
   (RFC 3629 4). */
static size_t smtpmail__utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], n, cp, k;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return i;
        if (len - i <= n) return i;
        for (k = 1; k <= n; k++) {
            unsigned t = s[i + k];
            if ((t & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (t & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return i;
        i += n + 1;
    }
    return len;
}

/* Length of the UTF-8 sequence that starts with byte c (1 for ASCII and for
   bytes that validation has already excluded). */
static size_t smtpmail__utf8_seq(unsigned char c)
{
    if (c >= 0xF0) return 4;
    if (c >= 0xE0) return 3;
    if (c >= 0xC0) return 2;
    return 1;
}

static int smtpmail__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static int smtpmail__ieq(const char *a, const char *b)
{
    while (*a && *b && smtpmail__lower((unsigned char)*a) == smtpmail__lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static int smtpmail__istarts(const char *s, const char *prefix)
{
    while (*prefix) {
        if (smtpmail__lower((unsigned char)*s) != smtpmail__lower((unsigned char)*prefix)) return 0;
        s++;
        prefix++;
    }
    return 1;
}

static const char smtpmail__hex[] = "0123456789ABCDEF";

/* >>base64 ---------------------------------------------------------------- */

static const char smtpmail__b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes n (1..3) bytes into 4 characters, with '=' padding. */
static void smtpmail__b64_quad(const unsigned char *in, size_t n, char *out)
{
    uint32_t v = (uint32_t)in[0] << 16;
    if (n > 1) v |= (uint32_t)in[1] << 8;
    if (n > 2) v |= in[2];
    out[0] = smtpmail__b64[(v >> 18) & 63];
    out[1] = smtpmail__b64[(v >> 12) & 63];
    out[2] = n > 1 ? smtpmail__b64[(v >> 6) & 63] : '=';
    out[3] = n > 2 ? smtpmail__b64[v & 63] : '=';
}

/* Base64 of src[0..len) into out (4 * ceil(len / 3) characters); no NUL. */
static size_t smtpmail__b64_block(const unsigned char *src, size_t len, char *out)
{
    size_t i = 0, o = 0;
    for (; i + 3 <= len; i += 3, o += 4) smtpmail__b64_quad(src + i, 3, out + o);
    if (i < len) {
        smtpmail__b64_quad(src + i, len - i, out + o);
        o += 4;
    }
    return o;
}

static int smtpmail__b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* >>output ---------------------------------------------------------------- */

/* The one place bytes leave the builder. It buffers, and it enforces the
   output discipline on every byte: CR only before LF, LF only after CR, and
   at most 998 octets per line. In "direct" mode buf is the caller's buffer
   and bytes past its end are only counted. */
typedef struct smtpmail__out {
    smtpmail_write_fn write;
    void *user_data;
    unsigned char *buf;
    size_t len, cap;
    size_t total;           /* bytes produced so far */
    size_t col;             /* octets on the current line, CRLF excluded */
    int prev_cr;
    int direct;
    int result;             /* first failure; once set, output stops */
    smtpmail_error *err;
} smtpmail__out;

static int smtpmail__out_flush(smtpmail__out *o)
{
    if (o->result == 0 && !o->direct && o->len > 0) {
        int r = o->write(o->buf, o->len, o->user_data);
        if (r != 0) {
            o->result = SMTPMAIL_ERR_WRITE;
            smtpmail__fail(o->err, SMTPMAIL_ERR_WRITE, "",
                           "the write callback failed (it returned %d)", r);
            if (o->err) o->err->stage = SMTPMAIL_STAGE_OUTPUT;
        }
    }
    if (!o->direct) o->len = 0;
    return o->result;
}

static void smtpmail__out_put(smtpmail__out *o, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    if (o->result != 0) return;
    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (o->prev_cr != (c == '\n')) {
            o->result = SMTPMAIL_ERR_INTERNAL;
            smtpmail__fail(o->err, SMTPMAIL_ERR_INTERNAL, "",
                           "internal error: bare CR or LF in output (please report)");
            return;
        }
        o->prev_cr = c == '\r';
        if (c == '\n') o->col = 0;
        else if (c != '\r' && ++o->col > SMTPMAIL__LINE_MAX) {
            o->result = SMTPMAIL_ERR_INTERNAL;
            smtpmail__fail(o->err, SMTPMAIL_ERR_INTERNAL, "",
                           "internal error: output line over 998 octets (please report)");
            return;
        }
    }
    o->total += n;
    while (n > 0) {
        size_t room = o->cap - o->len, k = n < room ? n : room;
        if (k > 0) {
            memcpy(o->buf + o->len, p, k);
            o->len += k;
            p += k;
            n -= k;
        }
        if (n > 0) {
            if (o->direct) return; /* counted in total, not stored */
            if (smtpmail__out_flush(o) != 0) return;
        }
    }
}

static void smtpmail__out_str(smtpmail__out *o, const char *s)
{
    smtpmail__out_put(o, s, strlen(s));
}

static void smtpmail__out_crlf(smtpmail__out *o) { smtpmail__out_put(o, "\r\n", 2); }

/* Ends the current line unless it is already ended. */
static void smtpmail__out_eol(smtpmail__out *o)
{
    if (o->col != 0 || o->total == 0) smtpmail__out_crlf(o);
}

/* >>rfc2047 --------------------------------------------------------------- */

/* Header writer: tracks the column of the current header line and folds
   (RFC 5322 3.2.2: CRLF inserted before whitespace) when the next token
   would pass column 78. */
typedef struct smtpmail__hdr {
    smtpmail__out *o;
    size_t col;
    size_t start;           /* after "Name:" on the first line, 0 after a fold:
                               folding is useful only past this column */
} smtpmail__hdr;

static void smtpmail__hdr_begin(smtpmail__hdr *h, smtpmail__out *o, const char *name)
{
    h->o = o;
    smtpmail__out_str(o, name);
    smtpmail__out_put(o, ":", 1);
    h->col = h->start = strlen(name) + 1;
}

static void smtpmail__hdr_end(smtpmail__hdr *h) { smtpmail__out_crlf(h->o); }

/* Emits whitespace ws (never empty) and a token, folding before ws when the
   token would not fit and something already follows the field name. */
static void smtpmail__hdr_token(smtpmail__hdr *h, const char *ws, size_t ws_len,
                                const char *tok, size_t tok_len)
{
    if (h->col + ws_len + tok_len > SMTPMAIL__FOLD && h->col > h->start) {
        smtpmail__out_crlf(h->o);
        h->col = h->start = 0;
    }
    smtpmail__out_put(h->o, ws, ws_len);
    smtpmail__out_put(h->o, tok, tok_len);
    h->col += ws_len + tok_len;
}

/* Room for an encoded-word after a separator on the current line. */
static size_t smtpmail__hdr_room(const smtpmail__hdr *h, size_t ws_len)
{
    size_t used = h->col + ws_len, room;
    if (used >= SMTPMAIL__FOLD) return 0;
    room = SMTPMAIL__FOLD - used;
    return room < SMTPMAIL__EWORD_MAX ? room : SMTPMAIL__EWORD_MAX;
}

/* Bytes of s[0..len) (whole UTF-8 sequences only) that fit a "B"
   encoded-word of at most `room` characters: "=?UTF-8?B?" + base64 + "?=". */
static size_t smtpmail__eword_take(const unsigned char *s, size_t len, size_t room)
{
    size_t max_bytes, take = 0;
    if (room < 12 + 4) return 0;
    max_bytes = (room - 12) / 4 * 3;
    while (take < len) {
        size_t n = smtpmail__utf8_seq(s[take]);
        if (take + n > max_bytes) break;
        take += n;
    }
    return take;
}

/* Emits s[0..len) as RFC 2047 encoded-words: the first after separator ws,
   the rest separated by a space or a fold (whitespace between adjacent
   encoded-words is not part of the text, RFC 2047 6.2). Words are sized to
   the room left on each line. */
static void smtpmail__hdr_ewords(smtpmail__hdr *h, const char *ws, size_t ws_len,
                                 const unsigned char *s, size_t len)
{
    char word[SMTPMAIL__EWORD_MAX + 1];
    if (h->col > h->start) {
        /* Start on a new line rather than split a run that would fit one
           word there, or leave a stub on this line: some decoders (Python
           3.11's address parser among them) keep the space that RFC 2047
           6.2 says to drop between encoded-words. */
        size_t whole = 12 + (len + 2) / 3 * 4, room = smtpmail__hdr_room(h, ws_len);
        if (whole > room && (whole <= SMTPMAIL__EWORD_MAX || room < 40)) {
            smtpmail__out_crlf(h->o);
            h->col = h->start = 0;
        }
    }
    while (len > 0) {
        size_t take = smtpmail__eword_take(s, len, smtpmail__hdr_room(h, ws_len));
        size_t n;
        if (take == 0) {
            /* Not one character fits here. Fold, unless nothing follows the
               field name yet: a fold right after the colon would give the
               value a leading space in some parsers; then one character
               goes on this line, which may pass 78 (never 998). */
            if (h->col > h->start) {
                smtpmail__out_crlf(h->o);
                h->col = h->start = 0;
                take = smtpmail__eword_take(s, len, smtpmail__hdr_room(h, ws_len));
            } else {
                take = smtpmail__utf8_seq(s[0]);
            }
        }
        memcpy(word, "=?UTF-8?B?", 10);
        n = 10 + smtpmail__b64_block(s, take, word + 10);
        word[n++] = '?';
        word[n++] = '=';
        smtpmail__out_put(h->o, ws, ws_len);
        smtpmail__out_put(h->o, word, n);
        h->col += ws_len + n;
        s += take;
        len -= take;
        ws = " ";
        ws_len = 1;
    }
}

static int smtpmail__is_wsp(unsigned char c) { return c == ' ' || c == '\t'; }

/* Does this word of unstructured text need an encoded-word? Non-ASCII or
   control bytes, and anything a reader would take for an encoded-word. */
static int smtpmail__word_needs_encoding(const unsigned char *w, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (w[i] >= 0x7F || w[i] < 0x20) return 1;
        if (w[i] == '=' && i + 1 < n && w[i + 1] == '?') return 1;
    }
    return 0;
}

/* Index just past the whitespace at s[i..len). */
static size_t smtpmail__skip_wsp(const unsigned char *s, size_t i, size_t len)
{
    while (i < len && smtpmail__is_wsp(s[i])) i++;
    return i;
}

/* Room on a line for separator + token: a token can always move to a new
   line, except while nothing follows the field name (see hdr_ewords). */
static size_t smtpmail__hdr_fit(const smtpmail__hdr *h, size_t sep_len, size_t line_max)
{
    size_t used = sep_len + (h->col > h->start ? 0 : h->col);
    return used < line_max ? line_max - used : 0;
}

/* Writes unstructured text (RFC 5322 3.2.5, RFC 2047 5(1)) as the body of a
   header field. Words that need encoding, with the whitespace between them,
   become one run of encoded-words; plain words stay readable and the
   whitespace around them is kept literally, so unfolding and decoding give
   back the exact text. Leading and trailing whitespace go inside an
   encoded-word, since parsers trim it from plain values, and so does all
   but one character of the whitespace before a run, so that a long gap
   cannot overfill a folded line. A plain word that cannot fit a line of
   line_max octets is encoded too: 78 for the Subject (every line stays
   within 78 columns), 998 for custom headers, which may be structured and
   keep long words readable. */
static void smtpmail__hdr_unstructured(smtpmail__hdr *h, const char *text, size_t line_max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), i = 0, k;
    for (k = 0;; k++) {
        size_t ws = i, w0, w1, sep_len;
        const char *sep;
        int last, enc;
        i = smtpmail__skip_wsp(s, i, len);
        if (i >= len) {
            if (k == 0 && len > 0) smtpmail__hdr_ewords(h, " ", 1, s, len);
            return;
        }
        w0 = i;
        while (i < len && !smtpmail__is_wsp(s[i])) i++;
        w1 = i;
        last = smtpmail__skip_wsp(s, w1, len) == len;
        sep = k == 0 ? " " : text + ws;
        sep_len = k == 0 ? 1 : w0 - ws;
        enc = smtpmail__word_needs_encoding(s + w0, w1 - w0) ||
              w1 - w0 > smtpmail__hdr_fit(h, sep_len, line_max) ||
              (k == 0 && w0 > 0) || (last && w1 < len);
        if (!enc) {
            smtpmail__hdr_token(h, sep, sep_len, text + w0, w1 - w0);
            continue;
        }
        /* Extend the run over the following words that need encoding too. */
        while (!last) {
            size_t b = smtpmail__skip_wsp(s, w1, len), c = b;
            int c_last;
            while (c < len && !smtpmail__is_wsp(s[c])) c++;
            c_last = smtpmail__skip_wsp(s, c, len) == len;
            if (!(smtpmail__word_needs_encoding(s + b, c - b) || (c_last && c < len) ||
                  (b - w1) + (c - b) >= line_max))
                break;
            w1 = c;
            last = c_last;
        }
        if (last) w1 = len;
        if (k == 0) {
            w0 = 0;
        } else if (sep_len > 1) {
            w0 = ws + 1;
            sep_len = 1;
        }
        smtpmail__hdr_ewords(h, sep, sep_len, s + w0, w1 - w0);
        i = w1;
    }
}

/* A display name (RFC 5322 3.2.5 phrase): atoms as they are, a quoted-string
   when it has specials or odd spacing, encoded-words when it has non-ASCII
   or is too long for a line. */
static int smtpmail__is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static void smtpmail__hdr_phrase(smtpmail__hdr *h, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t len = strlen(name), i, quoted_len = 2;
    int atoms = 1, encode = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 0x7F || c < 0x20) encode = 1;
        if (c == '=' && i + 1 < len && s[i + 1] == '?') encode = 1;
        if (c == '"' || c == '\\') quoted_len++;
        quoted_len++;
        if (!smtpmail__is_atext(c) &&
            !(c == ' ' && i > 0 && i + 1 < len && s[i + 1] != ' '))
            atoms = 0;
    }
    if (encode || quoted_len > smtpmail__hdr_fit(h, 1, SMTPMAIL__FOLD)) {
        smtpmail__hdr_ewords(h, " ", 1, s, len);
    } else if (atoms) {
        size_t a = 0;
        while (a < len) {
            size_t b = a;
            while (b < len && s[b] != ' ') b++;
            smtpmail__hdr_token(h, " ", 1, name + a, b - a);
            a = b + 1;
        }
    } else {
        char q[SMTPMAIL__FOLD];
        size_t n = 0;
        q[n++] = '"';
        for (i = 0; i < len; i++) {
            if (s[i] == '"' || s[i] == '\\') q[n++] = '\\';
            q[n++] = (char)s[i];
        }
        q[n++] = '"';
        smtpmail__hdr_token(h, " ", 1, q, n);
    }
}

/* One mailbox of an address list, followed by a comma when more follow. */
static void smtpmail__hdr_mailbox(smtpmail__hdr *h, const smtpmail_address *a, int comma)
{
    char tok[SMTPMAIL__ADDR_MAX + 4];
    size_t n = 0, alen = strlen(a->addr);
    int named = a->name && a->name[0];
    if (named) {
        smtpmail__hdr_phrase(h, a->name);
        tok[n++] = '<';
    }
    memcpy(tok + n, a->addr, alen);
    n += alen;
    if (named) tok[n++] = '>';
    if (comma) tok[n++] = ',';
    smtpmail__hdr_token(h, " ", 1, tok, n);
}

static void smtpmail__hdr_addresses(smtpmail__out *o, const char *field,
                                    const smtpmail_address *list, size_t count)
{
    smtpmail__hdr h;
    size_t i;
    if (count == 0) return;
    smtpmail__hdr_begin(&h, o, field);
    for (i = 0; i < count; i++) smtpmail__hdr_mailbox(&h, &list[i], i + 1 < count);
    smtpmail__hdr_end(&h);
}

/* >>date ------------------------------------------------------------------ */

/* RFC 5322 3.3 date-time, e.g. "Sat, 22 Nov 2026 08:16:49 +0800". Calendar
   arithmetic on the proleptic Gregorian calendar, counted in 400-year eras
   of 146097 days (March-based years put the leap day last). */
static void smtpmail__format_date(int64_t t, int off_min, char out[48])
{
    static const char *const wdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t local, days, secs, z, era, doe, yoe, doy, mp, day, month, year;
    int aoff;
    if (off_min < -1439 || off_min > 1439) off_min = 0;
    local = t + (int64_t)off_min * 60;
    days = local / 86400;
    secs = local % 86400;
    if (secs < 0) {
        secs += 86400;
        days -= 1;
    }
    z = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = yoe + era * 400 + (month <= 2);
    aoff = off_min < 0 ? -off_min : off_min;
    snprintf(out, 48, "%s, %02d %s %04ld %02d:%02d:%02d %c%02d%02d",
             wdays[(int)(((days % 7) + 11) % 7)], (int)day, months[month - 1], (long)year,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
             off_min < 0 ? '-' : '+', aoff / 60, aoff % 60);
}

/* >>check ----------------------------------------------------------------- */

/* A text field: no CR, LF or NUL when it goes into a header, valid UTF-8,
   at most `max` bytes. */
static smtpmail_result smtpmail__check_text(smtpmail_error *err, const char *field,
                                            const char *s, size_t len, int header, size_t max)
{
    size_t ok;
    if (header && (memchr(s, '\r', len) || memchr(s, '\n', len) || strlen(s) != len))
        return smtpmail__fail(err, SMTPMAIL_ERR_HEADER_INJECTION, field,
                              "%s contains CR, LF or NUL", field);
    if (len > max)
        return smtpmail__fail(err, SMTPMAIL_ERR_TOO_LONG, field,
                              "%s is longer than %lu bytes", field, (unsigned long)max);
    ok = smtpmail__utf8_valid((const unsigned char *)s, len);
    if (ok != len)
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_UTF8, field,
                              "%s is not valid UTF-8 (byte %lu)", field, (unsigned long)ok);
    return SMTPMAIL_OK;
}

/* RFC 5321 4.1.2 / RFC 5322 3.4.1, simplified: a dot-atom local part and a
   domain of LDH labels, or an address literal. */
static int smtpmail__addr_ok(const char *a)
{
    const char *at = strrchr(a, '@'), *p;
    size_t label = 0;
    if (!at || at == a || at[1] == '\0' || at - a > 64) return 0;
    if (a[0] == '.' || at[-1] == '.') return 0;
    for (p = a; p < at; p++) {
        if (*p == '.') {
            if (p[1] == '.') return 0;
        } else if (!smtpmail__is_atext((unsigned char)*p)) {
            return 0;
        }
    }
    p = at + 1;
    if (*p == '[') {
        size_t n = strlen(p);
        if (n < 3 || p[n - 1] != ']') return 0;
        for (p++; *p != ']'; p++)
            if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 || *p == '[' || *p == '\\')
                return 0;
        return p[1] == '\0';
    }
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.') {
            if (label == 0 || p[-1] == '-') return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            if (++label > 63) return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && p[-1] != '-';
}

/* Checks one address; prefix names it in errors ("message.to[2]"). */
static smtpmail_result smtpmail__check_address(smtpmail_error *err, const smtpmail_address *a,
                                               const char *prefix)
{
    char f[64];
    smtpmail_result r;
    snprintf(f, sizeof f, "%s.addr", prefix);
    if (!a->addr || !a->addr[0])
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_ADDRESS, f, "%s is empty", f);
    if ((r = smtpmail__check_text(err, f, a->addr, strlen(a->addr), 1, SMTPMAIL__ADDR_MAX)) != 0)
        return r;
    if (!smtpmail__addr_ok(a->addr)) {
        int ascii = 1;
        const char *p;
        for (p = a->addr; *p; p++)
            if ((unsigned char)*p >= 0x80) ascii = 0;
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_ADDRESS, f,
                              "%s \"%.80s\" is not a valid address (%s)", f, a->addr,
                              ascii ? "want user@example.com"
                                    : "non-ASCII addresses (SMTPUTF8) are not supported");
    }
    if (a->name && a->name[0]) {
        snprintf(f, sizeof f, "%s.name", prefix);
        if ((r = smtpmail__check_text(err, f, a->name, strlen(a->name), 1,
                                      SMTPMAIL__NAME_MAX)) != 0)
            return r;
    }
    return SMTPMAIL_OK;
}

/* RFC 2045 5.1 token characters (for content types and header names). */
static int smtpmail__is_token(unsigned char c)
{
    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* "type/subtype" with optional "; parameters" in printable ASCII. */
static int smtpmail__content_type_ok(const char *t)
{
    const unsigned char *p = (const unsigned char *)t;
    size_t n = 0;
    while (smtpmail__is_token(*p)) p++, n++;
    if (n == 0 || *p++ != '/') return 0;
    n = 0;
    while (smtpmail__is_token(*p)) p++, n++;
    if (n == 0) return 0;
    if (*p == '\0') return 1;
    if (*p != ';') return 0;
    for (; *p; p++)
        if (*p < 32 || *p > 126) return 0;
    return 1;
}

/* Header fields the builder writes itself: a custom header may not add a
   second one (RFC 5322 3.6 allows each at most once). */
static int smtpmail__reserved_header(const char *name)
{
    static const char *const reserved[] = {"from",    "to",         "cc",          "bcc",
                                           "reply-to", "subject",   "date",        "message-id",
                                           "mime-version", "sender"};
    size_t i;
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (smtpmail__ieq(name, reserved[i])) return 1;
    return smtpmail__istarts(name, "content-");
}

/* The file name shown for an attachment: its filename, else the last
   component of its path (either slash), else none. */
static const char *smtpmail__attachment_name(const smtpmail_attachment *a)
{
    const char *p, *base;
    if (a->filename) return a->filename[0] ? a->filename : NULL;
    if (!a->path) return NULL;
    for (base = p = a->path; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    return *base ? base : NULL;
}

/* Content type from the file name's extension; application/octet-stream
   for anything unknown. */
static const char *smtpmail__guess_type(const char *name)
{
    static const char *const table[][2] = {
        {"txt", "text/plain"},       {"log", "text/plain"},        {"csv", "text/csv"},
        {"htm", "text/html"},        {"html", "text/html"},        {"json", "application/json"},
        {"xml", "application/xml"},  {"pdf", "application/pdf"},   {"zip", "application/zip"},
        {"gz", "application/gzip"},  {"png", "image/png"},         {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},      {"gif", "image/gif"},         {"svg", "image/svg+xml"},
        {"webp", "image/webp"},      {"xls", "application/vnd.ms-excel"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}};
    const char *dot = name ? strrchr(name, '.') : NULL;
    size_t i;
    if (dot)
        for (i = 0; i < sizeof table / sizeof table[0]; i++)
            if (smtpmail__ieq(dot + 1, table[i][0])) return table[i][1];
    return "application/octet-stream";
}

static smtpmail_result smtpmail__check_attachment(smtpmail_error *err,
                                                  const smtpmail_attachment *a, size_t i)
{
    char f[80];
    const char *name;
    smtpmail_result r;
    int sources = (a->path != NULL) + (a->data != NULL) + (a->read != NULL);
    if (sources != 1 || (a->data == NULL && a->data_len > 0)) {
        snprintf(f, sizeof f, "message.attachments[%lu]", (unsigned long)i);
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, f,
                              "%s needs exactly one of path, data or read", f);
    }
    if (a->path) {
        snprintf(f, sizeof f, "message.attachments[%lu].path", (unsigned long)i);
        if (!a->path[0]) return smtpmail__fail(err, SMTPMAIL_ERR_FILE, f, "%s is empty", f);
#ifdef SMTPMAIL_NO_STDIO
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, f,
                              "%s: no file access in this build (SMTPMAIL_NO_STDIO)", f);
#else
        {
            FILE *fp = fopen(a->path, "rb");
            if (!fp) {
                int e = errno;
                r = smtpmail__fail(err, SMTPMAIL_ERR_FILE, f, "%s: cannot open \"%.120s\": %s",
                                   f, a->path, strerror(e));
                if (err) err->sys_error = e;
                return r;
            }
            fclose(fp);
        }
#endif
    }
    name = smtpmail__attachment_name(a);
    if (name) {
        snprintf(f, sizeof f, "message.attachments[%lu].filename", (unsigned long)i);
        if ((r = smtpmail__check_text(err, f, name, strlen(name), 1, SMTPMAIL__FILENAME_MAX)) != 0)
            return r;
    }
    if (a->content_type) {
        snprintf(f, sizeof f, "message.attachments[%lu].content_type", (unsigned long)i);
        if ((r = smtpmail__check_text(err, f, a->content_type, strlen(a->content_type), 1, 200)) != 0)
            return r;
        if (!smtpmail__content_type_ok(a->content_type))
            return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, f,
                                  "%s \"%.60s\" is not a MIME type (want type/subtype)", f,
                                  a->content_type);
    }
    if (a->content_id) {
        const char *p;
        snprintf(f, sizeof f, "message.attachments[%lu].content_id", (unsigned long)i);
        if ((r = smtpmail__check_text(err, f, a->content_id, strlen(a->content_id), 1, 200)) != 0)
            return r;
        for (p = a->content_id; *p; p++)
            if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 || *p == '<' || *p == '>')
                break;
        if (*p || !a->content_id[0])
            return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, f,
                                  "%s must be printable ASCII without spaces or <>", f);
    }
    return SMTPMAIL_OK;
}

/* A custom header field; prefix names it in errors ("message.headers[0]").
   Unless any_name, the fields the builder writes are refused. */
static smtpmail_result smtpmail__check_header(smtpmail_error *err, const smtpmail_header *h,
                                              const char *prefix, int any_name)
{
    char f[80];
    const char *p;
    smtpmail_result r;
    snprintf(f, sizeof f, "%s.name", prefix);
    if (!h->name || !h->value)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, f, "%s needs a name and a value",
                              prefix);
    if ((r = smtpmail__check_text(err, f, h->name, strlen(h->name), 1, SMTPMAIL__HNAME_MAX)) != 0)
        return r;
    for (p = h->name; *p && (unsigned char)*p > 32 && (unsigned char)*p < 127 && *p != ':'; p++) {}
    if (*p || !h->name[0])
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, f,
                              "%s \"%.60s\" is not a header name (printable ASCII, no ':')", f,
                              h->name);
    if (!any_name && smtpmail__reserved_header(h->name))
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, f,
                              "%s: %s is written by the builder; set the message field instead", f,
                              h->name);
    snprintf(f, sizeof f, "%s.value", prefix);
    return smtpmail__check_text(err, f, h->value, strlen(h->value), 1, SMTPMAIL_MAX_FIELD);
}

/* Everything that can be wrong with a message, found before any output. */
static smtpmail_result smtpmail__check(const smtpmail_message *m, smtpmail_error *err)
{
    static const char *const list_names[3] = {"to", "cc", "bcc"};
    const smtpmail_address *lists[3];
    size_t counts[3], i, j;
    char f[80];
    smtpmail_result r;

    if (!m) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "message", "message is NULL");
    if (!m->from.addr)
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_ADDRESS, "message.from.addr",
                              "message.from.addr is required");
    if ((r = smtpmail__check_address(err, &m->from, "message.from")) != 0) return r;
    if (m->reply_to.addr && (r = smtpmail__check_address(err, &m->reply_to, "message.reply_to")) != 0)
        return r;

    lists[0] = m->to, lists[1] = m->cc, lists[2] = m->bcc;
    counts[0] = m->to_count, counts[1] = m->cc_count, counts[2] = m->bcc_count;
    for (j = 0; j < 3; j++) {
        if (counts[j] > 0 && !lists[j]) {
            snprintf(f, sizeof f, "message.%s", list_names[j]);
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, f, "%s is NULL but %s_count is %lu",
                                  f, list_names[j], (unsigned long)counts[j]);
        }
        if (counts[j] > SMTPMAIL_MAX_RECIPIENTS) break;
        for (i = 0; i < counts[j]; i++) {
            snprintf(f, sizeof f, "message.%s[%lu]", list_names[j], (unsigned long)i);
            if ((r = smtpmail__check_address(err, &lists[j][i], f)) != 0) return r;
        }
    }
    if (counts[0] + counts[1] + counts[2] == 0)
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_RECIPIENT, "message.to",
                              "message has no recipient (to, cc and bcc are empty)");
    if (j < 3 || counts[0] + counts[1] + counts[2] > SMTPMAIL_MAX_RECIPIENTS)
        return smtpmail__fail(err, SMTPMAIL_ERR_TOO_LONG, "message.to",
                              "message has more than %d recipients (SMTPMAIL_MAX_RECIPIENTS)",
                              SMTPMAIL_MAX_RECIPIENTS);

    if (m->subject &&
        (r = smtpmail__check_text(err, "message.subject", m->subject, strlen(m->subject), 1,
                                  SMTPMAIL_MAX_FIELD)) != 0)
        return r;
    if (m->text && (r = smtpmail__check_text(err, "message.text", m->text,
                                             m->text_len ? m->text_len : strlen(m->text), 0,
                                             (size_t)-1)) != 0)
        return r;
    if (m->html && (r = smtpmail__check_text(err, "message.html", m->html,
                                             m->html_len ? m->html_len : strlen(m->html), 0,
                                             (size_t)-1)) != 0)
        return r;
    if ((m->text_len && !m->text) || (m->html_len && !m->html))
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, m->text_len ? "message.text" : "message.html",
                              "%s is NULL but its length is not 0", m->text_len ? "message.text" : "message.html");

    if (m->attachment_count > 0 && !m->attachments)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "message.attachments",
                              "message.attachments is NULL but attachment_count is %lu",
                              (unsigned long)m->attachment_count);
    for (i = 0; i < m->attachment_count; i++)
        if ((r = smtpmail__check_attachment(err, &m->attachments[i], i)) != 0) return r;

    if (m->header_count > 0 && !m->headers)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "message.headers",
                              "message.headers is NULL but header_count is %lu",
                              (unsigned long)m->header_count);
    for (i = 0; i < m->header_count; i++) {
        snprintf(f, sizeof f, "message.headers[%lu]", (unsigned long)i);
        if ((r = smtpmail__check_header(err, &m->headers[i], f, 0)) != 0) return r;
    }
    return SMTPMAIL_OK;
}

/* >>mime ------------------------------------------------------------------ */

/* Streaming base64 body writer: 57 input bytes make one 76-column line
   (RFC 2045 6.8); lines are separated by CRLF, the last is not ended. */
typedef struct smtpmail__b64w {
    smtpmail__out *o;
    unsigned char in[57];
    size_t n;
    int lines;
} smtpmail__b64w;

static void smtpmail__b64w_line(smtpmail__b64w *w)
{
    char line[2 + 76];
    size_t n = 0;
    if (w->lines++ > 0) {
        line[0] = '\r';
        line[1] = '\n';
        n = 2;
    }
    n += smtpmail__b64_block(w->in, w->n, line + n);
    smtpmail__out_put(w->o, line, n);
    w->n = 0;
}

static void smtpmail__b64w_feed(smtpmail__b64w *w, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    while (len > 0 && w->o->result == 0) {
        size_t k = sizeof w->in - w->n;
        if (k > len) k = len;
        memcpy(w->in + w->n, p, k);
        w->n += k;
        p += k;
        len -= k;
        if (w->n == sizeof w->in) smtpmail__b64w_line(w);
    }
}

static void smtpmail__b64w_finish(smtpmail__b64w *w)
{
    if (w->n > 0) smtpmail__b64w_line(w);
}

/* Content-Transfer-Encoding of a text body (RFC 2045 6). */
enum { SMTPMAIL__7BIT, SMTPMAIL__QP, SMTPMAIL__BASE64 };
static const char *const smtpmail__cte_names[3] = {"7bit", "quoted-printable", "base64"};

/* Length of the line break at s[i] (CRLF, CR or LF), 0 when none. */
static size_t smtpmail__linebreak(const unsigned char *s, size_t i, size_t len)
{
    if (s[i] == '\n') return 1;
    if (s[i] == '\r') return (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
    return 0;
}

/* Picks the transfer encoding of a text body from its content, after line
   ends are normalised: 7bit when it is printable ASCII with short lines
   and no line that could be taken for one of our boundaries ("--=_"),
   else whichever of quoted-printable and base64 comes out shorter. */
static int smtpmail__choose_cte(const unsigned char *s, size_t len)
{
    size_t i, col = 0, qp = 0, bytes = 0;
    int seven = 1;
    for (i = 0; i < len; i++) {
        size_t lb = smtpmail__linebreak(s, i, len);
        unsigned char c = s[i];
        if (lb) {
            i += lb - 1;
            bytes += 2;
            qp += 2;
            col = 0;
            continue;
        }
        if (col == 0 && len - i >= 4 && memcmp(s + i, "--=_", 4) == 0) seven = 0;
        if (++col > SMTPMAIL__FOLD) seven = 0;
        bytes++;
        if (c >= 0x7F || (c < 0x20 && c != '\t') || c == '=') {
            qp += 3;
            if (c != '=') seven = 0;
        } else {
            qp += 1;
        }
    }
    if (seven) return SMTPMAIL__7BIT;
    bytes += 2; /* the final line break, if missing; close enough */
    return qp <= (bytes + 2) / 3 * 4 * 78 / 76 ? SMTPMAIL__QP : SMTPMAIL__BASE64;
}

/* 7bit body: the text with line ends made CRLF and a final CRLF. */
static void smtpmail__write_7bit(smtpmail__out *o, const unsigned char *s, size_t len)
{
    size_t i = 0, run = 0;
    while (i < len) {
        size_t lb = smtpmail__linebreak(s, i, len);
        if (!lb) {
            i++;
            continue;
        }
        smtpmail__out_put(o, s + run, i - run);
        smtpmail__out_crlf(o);
        i += lb;
        run = i;
    }
    smtpmail__out_put(o, s + run, len - run);
    if (run < len || len == 0) smtpmail__out_crlf(o);
}

/* Quoted-printable (RFC 2045 6.7): lines of at most 76 characters with soft
   breaks, hard CRLF for each line break of the text, whitespace before a
   line break encoded (rule 3). Beyond the RFC, a '.' or "From " at the
   start of a line is encoded too, against mangling by relays and mbox. */
static void smtpmail__write_qp(smtpmail__out *o, const unsigned char *s, size_t len)
{
    char line[80];
    size_t i, n = 0;
    for (i = 0; i < len && o->result == 0; i++) {
        unsigned char c = s[i];
        size_t lb = smtpmail__linebreak(s, i, len);
        char piece[3];
        size_t pn = 1;
        if (lb) {
            line[n++] = '\r';
            line[n++] = '\n';
            smtpmail__out_put(o, line, n);
            n = 0;
            i += lb - 1;
            continue;
        }
        piece[0] = (char)c;
        if (c == ' ' || c == '\t') {
            if (i + 1 >= len || smtpmail__linebreak(s, i + 1, len)) pn = 3;
        } else if (c < 33 || c > 126 || c == '=') {
            pn = 3;
        } else if (n == 0 && (c == '.' || (c == 'F' && len - i >= 5 && memcmp(s + i, "From ", 5) == 0))) {
            pn = 3;
        }
        if (pn == 3) {
            piece[0] = '=';
            piece[1] = smtpmail__hex[c >> 4];
            piece[2] = smtpmail__hex[c & 15];
        }
        if (n + pn > 75) {
            line[n++] = '=';
            line[n++] = '\r';
            line[n++] = '\n';
            smtpmail__out_put(o, line, n);
            n = 0;
            /* After a soft break this byte starts a line: re-check the
               start-of-line rule for '.' and "From ". */
            if (pn == 1 && (c == '.' || (c == 'F' && len - i >= 5 && memcmp(s + i, "From ", 5) == 0))) {
                piece[0] = '=';
                piece[1] = smtpmail__hex[c >> 4];
                piece[2] = smtpmail__hex[c & 15];
                pn = 3;
            }
        }
        memcpy(line + n, piece, pn);
        n += pn;
    }
    if (n > 0 || len == 0 || !smtpmail__linebreak(s, len - 1, len)) {
        line[n++] = '\r';
        line[n++] = '\n';
        smtpmail__out_put(o, line, n);
    }
}

/* Base64 text body: the normalised text (CRLF line ends, final CRLF). */
static void smtpmail__write_b64_text(smtpmail__out *o, const unsigned char *s, size_t len)
{
    smtpmail__b64w w;
    size_t i = 0, run = 0;
    memset(&w, 0, sizeof w);
    w.o = o;
    while (i < len) {
        size_t lb = smtpmail__linebreak(s, i, len);
        if (!lb) {
            i++;
            continue;
        }
        smtpmail__b64w_feed(&w, s + run, i - run);
        smtpmail__b64w_feed(&w, "\r\n", 2);
        i += lb;
        run = i;
    }
    smtpmail__b64w_feed(&w, s + run, len - run);
    if (run < len || len == 0) smtpmail__b64w_feed(&w, "\r\n", 2);
    smtpmail__b64w_finish(&w);
}

/* State of one rendering. */
typedef struct smtpmail__ctx {
    const smtpmail_message *m;
    smtpmail__out *o;
    smtpmail_error *err;
    char boundary[32];          /* "=_" + 24 hex + "_?": the '?' names the level */
    unsigned char *chunk;       /* SMTPMAIL_READ_CHUNK bytes, for files and readers */
    size_t n_related, n_mixed;  /* inline parts beside the HTML; other attachments */
} smtpmail__ctx;

static int smtpmail__is_related(const smtpmail__ctx *c, const smtpmail_attachment *a)
{
    return a->content_id != NULL && c->m->html != NULL;
}

static void smtpmail__text_part(smtpmail__ctx *c, int html)
{
    const char *text = html ? c->m->html : c->m->text;
    size_t len = html ? c->m->html_len : c->m->text_len;
    const unsigned char *s;
    int cte;
    if (!text) text = "";
    if (len == 0) len = strlen(text);
    s = (const unsigned char *)text;
    cte = smtpmail__choose_cte(s, len);
    smtpmail__out_str(c->o, html ? "Content-Type: text/html; charset=utf-8\r\n"
                                 : "Content-Type: text/plain; charset=utf-8\r\n");
    smtpmail__out_str(c->o, "Content-Transfer-Encoding: ");
    smtpmail__out_str(c->o, smtpmail__cte_names[cte]);
    smtpmail__out_str(c->o, "\r\n\r\n");
    if (cte == SMTPMAIL__7BIT) smtpmail__write_7bit(c->o, s, len);
    else if (cte == SMTPMAIL__QP) smtpmail__write_qp(c->o, s, len);
    else smtpmail__write_b64_text(c->o, s, len);
}

/* A MIME parameter, with ';' when more follow, as one foldable token. */
static void smtpmail__hdr_param(smtpmail__hdr *h, const char *text, size_t len, int more)
{
    char tok[SMTPMAIL__LINE_MAX];
    memcpy(tok, text, len);
    if (more) tok[len++] = ';';
    smtpmail__hdr_token(h, " ", 1, tok, len);
}

/* RFC 2231 7 attribute-char: kept as is in an extended value. */
static int smtpmail__attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

/* Appends s[0..len) to buf as an RFC 2231 extended value (UTF-8 bytes,
   percent-encoded) up to `limit` characters, whole UTF-8 sequences only.
   Returns the number of bytes of s consumed. */
static size_t smtpmail__ext_value(char *buf, size_t *n, size_t limit, const unsigned char *s,
                                  size_t len)
{
    size_t i = 0, start = *n;
    while (i < len) {
        size_t seq = smtpmail__utf8_seq(s[i]), need = 0, k;
        if (seq > len - i) seq = len - i;
        for (k = 0; k < seq; k++) need += smtpmail__attr_char(s[i + k]) ? 1 : 3;
        if (*n + need > limit && *n > start) break;
        for (k = 0; k < seq; k++, i++) {
            if (smtpmail__attr_char(s[i])) {
                buf[(*n)++] = (char)s[i];
            } else {
                buf[(*n)++] = '%';
                buf[(*n)++] = smtpmail__hex[s[i] >> 4];
                buf[(*n)++] = smtpmail__hex[s[i] & 15];
            }
        }
    }
    return i;
}

/* A file name parameter ("name" or "filename"). Short printable ASCII goes
   in a quoted-string. Anything else: for filename, an RFC 2231 extended
   value (UTF-8, percent-encoded), split into numbered continuations when it
   does not fit one line; for name, one RFC 2047 encoded-word, the form
   that clients which ignore RFC 2231 (QQ Mail among them) understand. */
static void smtpmail__hdr_filename(smtpmail__hdr *h, const char *param, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t len = strlen(name), i, n, section;
    char buf[600];
    int simple = len <= 60;
    for (i = 0; i < len && simple; i++)
        if (s[i] < 32 || s[i] > 126) simple = 0;
    if (simple) {
        n = (size_t)snprintf(buf, sizeof buf, "%s=\"", param);
        for (i = 0; i < len; i++) {
            if (s[i] == '"' || s[i] == '\\') buf[n++] = '\\';
            buf[n++] = (char)s[i];
        }
        buf[n++] = '"';
        smtpmail__hdr_param(h, buf, n, 0);
        return;
    }
    if (strcmp(param, "name") == 0) {
        n = (size_t)snprintf(buf, sizeof buf, "name=\"=?UTF-8?B?");
        n += smtpmail__b64_block(s, len, buf + n);
        memcpy(buf + n, "?=\"", 3);
        smtpmail__hdr_param(h, buf, n + 3, 0);
        return;
    }
    /* One line if it fits: filename*=UTF-8''... */
    n = (size_t)snprintf(buf, sizeof buf, "%s*=UTF-8''", param);
    if (smtpmail__ext_value(buf, &n, SMTPMAIL__FOLD - 2, s, len) == len) {
        smtpmail__hdr_param(h, buf, n, 0);
        return;
    }
    for (i = 0, section = 0; i < len; section++) {
        n = (size_t)snprintf(buf, sizeof buf, "%s*%lu*=%s", param, (unsigned long)section,
                             section == 0 ? "UTF-8''" : "");
        i += smtpmail__ext_value(buf, &n, 70, s + i, len - i);
        smtpmail__hdr_param(h, buf, n, i < len);
    }
}

/* Streams one attachment's bytes from its source through base64. */
static void smtpmail__attachment_body(smtpmail__ctx *c, const smtpmail_attachment *a, size_t index)
{
    smtpmail__b64w w;
    char f[80];
    memset(&w, 0, sizeof w);
    w.o = c->o;
    if (a->data) {
        smtpmail__b64w_feed(&w, a->data, a->data_len);
    } else {
        int failed = 0, sys = 0;
#ifndef SMTPMAIL_NO_STDIO
        FILE *fp = NULL;
        if (a->path && !(fp = fopen(a->path, "rb"))) failed = 1, sys = errno;
#endif
        while (!failed && c->o->result == 0) {
            size_t got = 0;
#ifndef SMTPMAIL_NO_STDIO
            if (fp) {
                got = fread(c->chunk, 1, SMTPMAIL_READ_CHUNK, fp);
                if (got == 0 && ferror(fp)) failed = 1, sys = errno;
            } else
#endif
            if (a->read(c->chunk, SMTPMAIL_READ_CHUNK, &got, a->read_user_data) != 0 ||
                got > SMTPMAIL_READ_CHUNK) {
                failed = 1;
            }
            if (failed || got == 0) break;
            smtpmail__b64w_feed(&w, c->chunk, got);
        }
#ifndef SMTPMAIL_NO_STDIO
        if (fp) fclose(fp);
#endif
        if (failed && c->o->result == 0) {
            snprintf(f, sizeof f, "message.attachments[%lu].%s", (unsigned long)index,
                     a->path ? "path" : "read");
            c->o->result = SMTPMAIL_ERR_FILE;
            smtpmail__fail(c->err, SMTPMAIL_ERR_FILE, f, "%s: reading \"%.120s\" failed%s%s", f,
                           a->path ? a->path : "(callback)", sys ? ": " : "",
                           sys ? strerror(sys) : "");
            if (c->err) c->err->sys_error = sys;
            return;
        }
    }
    smtpmail__b64w_finish(&w);
}

static void smtpmail__attachment_part(smtpmail__ctx *c, size_t index)
{
    const smtpmail_attachment *a = &c->m->attachments[index];
    const char *name = smtpmail__attachment_name(a);
    const char *type = a->content_type ? a->content_type : smtpmail__guess_type(name);
    smtpmail__hdr h;
    smtpmail__hdr_begin(&h, c->o, "Content-Type");
    smtpmail__hdr_param(&h, type, strlen(type), name != NULL);
    if (name) smtpmail__hdr_filename(&h, "name", name);
    smtpmail__hdr_end(&h);
    smtpmail__out_str(c->o, "Content-Transfer-Encoding: base64\r\n");
    smtpmail__hdr_begin(&h, c->o, "Content-Disposition");
    if (a->content_id) smtpmail__hdr_param(&h, "inline", 6, name != NULL);
    else smtpmail__hdr_param(&h, "attachment", 10, name != NULL);
    if (name) smtpmail__hdr_filename(&h, "filename", name);
    smtpmail__hdr_end(&h);
    if (a->content_id) {
        smtpmail__out_str(c->o, "Content-ID: <");
        smtpmail__out_str(c->o, a->content_id);
        smtpmail__out_str(c->o, ">\r\n");
    }
    smtpmail__out_crlf(c->o);
    smtpmail__attachment_body(c, a, index);
}

/* Opens a multipart entity (RFC 2046 5.1): its Content-Type and the blank
   line. Each level has its own boundary; all are the same length and
   differ in the last character, so none is a prefix of another, and the
   "=_" in them cannot occur in base64 or quoted-printable output. */
static void smtpmail__multipart_begin(smtpmail__ctx *c, const char *subtype, char level)
{
    smtpmail__out *o = c->o;
    c->boundary[27] = level;
    smtpmail__out_str(o, "Content-Type: multipart/");
    smtpmail__out_str(o, subtype);
    smtpmail__out_str(o, strcmp(subtype, "related") == 0 ? "; type=\"text/html\";\r\n boundary=\""
                                                         : ";\r\n boundary=\"");
    smtpmail__out_str(o, c->boundary);
    smtpmail__out_str(o, "\"\r\n\r\n");
}

/* The delimiter before a body part; `first` has no CRLF before it. */
static void smtpmail__multipart_next(smtpmail__ctx *c, char level, int first)
{
    c->boundary[27] = level;
    smtpmail__out_str(c->o, first ? "--" : "\r\n--");
    smtpmail__out_str(c->o, c->boundary);
    smtpmail__out_crlf(c->o);
}

static void smtpmail__multipart_end(smtpmail__ctx *c, char level)
{
    c->boundary[27] = level;
    smtpmail__out_str(c->o, "\r\n--");
    smtpmail__out_str(c->o, c->boundary);
    smtpmail__out_str(c->o, "--");
}

/* The HTML body, with its inline parts in multipart/related (RFC 2387). */
static void smtpmail__html_entity(smtpmail__ctx *c)
{
    size_t i;
    if (c->n_related == 0) {
        smtpmail__text_part(c, 1);
        return;
    }
    smtpmail__multipart_begin(c, "related", 'r');
    smtpmail__multipart_next(c, 'r', 1);
    smtpmail__text_part(c, 1);
    for (i = 0; i < c->m->attachment_count; i++) {
        if (!smtpmail__is_related(c, &c->m->attachments[i])) continue;
        smtpmail__multipart_next(c, 'r', 0);
        smtpmail__attachment_part(c, i);
    }
    smtpmail__multipart_end(c, 'r');
}

/* text, html, or both as multipart/alternative (RFC 2046 5.1.4): plainest
   first, so clients show the last one they understand. */
static void smtpmail__body_entity(smtpmail__ctx *c)
{
    if (c->m->text && c->m->html) {
        smtpmail__multipart_begin(c, "alternative", 'a');
        smtpmail__multipart_next(c, 'a', 1);
        smtpmail__text_part(c, 0);
        smtpmail__multipart_next(c, 'a', 0);
        smtpmail__html_entity(c);
        smtpmail__multipart_end(c, 'a');
    } else if (c->m->html) {
        smtpmail__html_entity(c);
    } else {
        smtpmail__text_part(c, 0);
    }
}

/* The whole MIME tree: the body, wrapped with the attachments in
   multipart/mixed when there are any. */
static void smtpmail__top_entity(smtpmail__ctx *c)
{
    size_t i;
    int first = 1;
    if (c->n_mixed == 0) {
        smtpmail__body_entity(c);
        return;
    }
    smtpmail__multipart_begin(c, "mixed", 'm');
    if (c->m->text || c->m->html) {
        smtpmail__multipart_next(c, 'm', 1);
        smtpmail__body_entity(c);
        first = 0;
    }
    for (i = 0; i < c->m->attachment_count; i++) {
        if (smtpmail__is_related(c, &c->m->attachments[i])) continue;
        smtpmail__multipart_next(c, 'm', first);
        smtpmail__attachment_part(c, i);
        first = 0;
    }
    smtpmail__multipart_end(c, 'm');
}

static void smtpmail__hex_str(char *dst, const unsigned char *src, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        dst[2 * i] = smtpmail__hex[src[i] >> 4];
        dst[2 * i + 1] = smtpmail__hex[src[i] & 15];
    }
    dst[2 * n] = '\0';
}

static smtpmail_result smtpmail__check_hooks(const smtpmail_hooks *hooks, smtpmail_error *err)
{
    if (hooks && (hooks->alloc == NULL) != (hooks->free == NULL))
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "hooks.alloc",
                              "hooks.alloc and hooks.free must be set together");
    return SMTPMAIL_OK;
}

/* Renders a checked message into o, then flushes it. */
static smtpmail_result smtpmail__render(const smtpmail_message *m, const smtpmail_hooks *hooks,
                                        smtpmail__out *o, smtpmail_error *err)
{
    smtpmail__ctx c;
    smtpmail__hdr h;
    unsigned char rnd[28];
    char date[48], id[40];
    const char *domain;
    size_t i;
    int off = 0, need_chunk = 0;
    int64_t now;

    memset(&c, 0, sizeof c);
    c.m = m;
    c.o = o;
    c.err = err;
    o->err = err;
    for (i = 0; i < m->attachment_count; i++) {
        const smtpmail_attachment *a = &m->attachments[i];
        if (smtpmail__is_related(&c, a)) c.n_related++;
        else c.n_mixed++;
        if (!a->data) need_chunk = 1;
    }
    if (need_chunk) {
        c.chunk = (unsigned char *)smtpmail__alloc(hooks, SMTPMAIL_READ_CHUNK);
        if (!c.chunk)
            return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, "", "out of memory (%d bytes)",
                                  SMTPMAIL_READ_CHUNK);
    }
    smtpmail__random(hooks, rnd, sizeof rnd);
    memcpy(c.boundary, "=_", 2);
    smtpmail__hex_str(c.boundary + 2, rnd, 12);
    memcpy(c.boundary + 26, "_m", 3);
    smtpmail__hex_str(id, rnd + 12, 16);
    now = smtpmail__now(hooks, &off); /* sets off: call it first */
    smtpmail__format_date(now, off, date);
    domain = strrchr(m->from.addr, '@') + 1;

    /* RFC 5322 3.6: the header block. */
    smtpmail__out_str(o, "Date: ");
    smtpmail__out_str(o, date);
    smtpmail__out_crlf(o);
    smtpmail__hdr_addresses(o, "From", &m->from, 1);
    if (m->reply_to.addr) smtpmail__hdr_addresses(o, "Reply-To", &m->reply_to, 1);
    smtpmail__hdr_addresses(o, "To", m->to, m->to_count);
    smtpmail__hdr_addresses(o, "Cc", m->cc, m->cc_count);
    if (m->subject) {
        smtpmail__hdr_begin(&h, o, "Subject");
        smtpmail__hdr_unstructured(&h, m->subject, SMTPMAIL__FOLD);
        smtpmail__hdr_end(&h);
    }
    smtpmail__out_str(o, "Message-ID: <");
    smtpmail__out_str(o, id);
    smtpmail__out_str(o, "@");
    smtpmail__out_str(o, domain);
    smtpmail__out_str(o, ">\r\n");
    for (i = 0; i < m->header_count; i++) {
        smtpmail__hdr_begin(&h, o, m->headers[i].name);
        smtpmail__hdr_unstructured(&h, m->headers[i].value, SMTPMAIL__LINE_MAX);
        smtpmail__hdr_end(&h);
    }
    smtpmail__out_str(o, "MIME-Version: 1.0\r\n");
    smtpmail__top_entity(&c);
    smtpmail__out_eol(o);
    smtpmail__out_flush(o);
    smtpmail__free(hooks, c.chunk);
    return (smtpmail_result)o->result;
}

/* >>public ---------------------------------------------------------------- */

SMTPMAIL_API const char *smtpmail_result_str(smtpmail_result result)
{
    switch (result) {
    case SMTPMAIL_OK: return "ok";
    case SMTPMAIL_ERR_INVALID_ARG: return "invalid argument";
    case SMTPMAIL_ERR_NO_MEMORY: return "out of memory";
    case SMTPMAIL_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case SMTPMAIL_ERR_WRITE: return "write callback failed";
    case SMTPMAIL_ERR_INTERNAL: return "internal error";
    case SMTPMAIL_ERR_HEADER_INJECTION: return "CR, LF or NUL in a header field";
    case SMTPMAIL_ERR_BAD_UTF8: return "invalid UTF-8";
    case SMTPMAIL_ERR_BAD_ADDRESS: return "invalid address";
    case SMTPMAIL_ERR_NO_RECIPIENT: return "no recipient";
    case SMTPMAIL_ERR_TOO_LONG: return "field too long";
    case SMTPMAIL_ERR_BAD_FIELD: return "invalid field";
    case SMTPMAIL_ERR_FILE: return "attachment not readable";
    }
    return "unknown result";
}

SMTPMAIL_API smtpmail_result smtpmail_message_check(const smtpmail_message *msg,
                                                    smtpmail_error *err)
{
    return smtpmail__check(msg, err);
}

SMTPMAIL_API smtpmail_result smtpmail_message_write(const smtpmail_message *msg,
                                                    const smtpmail_hooks *hooks,
                                                    smtpmail_write_fn write, void *user_data,
                                                    smtpmail_error *err)
{
    smtpmail__out o;
    smtpmail_result r;
    if (!write) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "write", "write is NULL");
    if ((r = smtpmail__check_hooks(hooks, err)) != 0) return r;
    memset(&o, 0, sizeof o);
    o.write = write;
    o.user_data = user_data;
    o.cap = SMTPMAIL_OUTPUT_BUFFER;
    /* Check first, so that a bad message costs no allocation. */
    if ((r = smtpmail__check(msg, err)) != 0) return r;
    o.buf = (unsigned char *)smtpmail__alloc(hooks, o.cap);
    if (!o.buf)
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, "", "out of memory (%d bytes)",
                              SMTPMAIL_OUTPUT_BUFFER);
    r = smtpmail__render(msg, hooks, &o, err);
    smtpmail__free(hooks, o.buf);
    return r;
}

/* An output stream into caller memory, keeping one byte for the NUL. */
static void smtpmail__out_direct(smtpmail__out *o, char *buf, size_t cap, smtpmail_error *err)
{
    memset(o, 0, sizeof *o);
    o->direct = 1;
    o->buf = (unsigned char *)buf;
    o->cap = cap > 0 ? cap - 1 : 0;
    o->err = err;
}

/* Ends a direct rendering: NUL, *out_len, and the too-small verdict. */
static smtpmail_result smtpmail__out_direct_end(smtpmail__out *o, smtpmail_result r,
                                                size_t *out_len, smtpmail_error *err)
{
    if (out_len) *out_len = o->total;
    if (r != SMTPMAIL_OK) return r;
    if (o->total > o->cap)
        return smtpmail__fail(err, SMTPMAIL_ERR_BUFFER_TOO_SMALL, "",
                              "buffer too small: %lu bytes needed, plus 1 for the NUL",
                              (unsigned long)o->total);
    o->buf[o->total] = '\0';
    return SMTPMAIL_OK;
}

SMTPMAIL_API smtpmail_result smtpmail_message_render(const smtpmail_message *msg,
                                                     const smtpmail_hooks *hooks, char *buf,
                                                     size_t cap, size_t *out_len,
                                                     smtpmail_error *err)
{
    smtpmail__out o;
    smtpmail_result r;
    if (!buf && cap > 0)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "buf", "buf is NULL but cap is not 0");
    if ((r = smtpmail__check_hooks(hooks, err)) != 0) return r;
    if ((r = smtpmail__check(msg, err)) != 0) return r;
    smtpmail__out_direct(&o, buf, cap, err);
    return smtpmail__out_direct_end(&o, smtpmail__render(msg, hooks, &o, err), out_len, err);
}

#ifndef SMTPMAIL_NO_STDIO
static int smtpmail__write_file(const void *data, size_t len, void *user_data)
{
    return fwrite(data, 1, len, (FILE *)user_data) == len ? 0 : -1;
}

SMTPMAIL_API smtpmail_result smtpmail_message_save(const smtpmail_message *msg,
                                                   const smtpmail_hooks *hooks, const char *path,
                                                   smtpmail_error *err)
{
    FILE *fp;
    smtpmail_result r;
    int to_stdout;
    if (!path) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "path", "path is NULL");
    if ((r = smtpmail__check(msg, err)) != 0) return r;
    to_stdout = strcmp(path, "-") == 0;
    fp = to_stdout ? stdout : fopen(path, "wb");
    if (!fp) {
        int e = errno;
        r = smtpmail__fail(err, SMTPMAIL_ERR_WRITE, "path", "cannot create \"%.120s\": %s", path,
                           strerror(e));
        if (err) err->sys_error = e;
        return r;
    }
    r = smtpmail_message_write(msg, hooks, smtpmail__write_file, fp, err);
    if (to_stdout) {
        if (fflush(fp) != 0 && r == SMTPMAIL_OK)
            r = smtpmail__fail(err, SMTPMAIL_ERR_WRITE, "path", "writing to stdout failed");
    } else {
        if (fclose(fp) != 0 && r == SMTPMAIL_OK)
            r = smtpmail__fail(err, SMTPMAIL_ERR_WRITE, "path", "writing \"%.120s\" failed", path);
        if (r != SMTPMAIL_OK) remove(path);
    }
    return r;
}
#endif

SMTPMAIL_API smtpmail_result smtpmail_base64_encode(const void *src, size_t len, char *dst,
                                                    size_t cap, size_t *dst_len)
{
    size_t need;
    if ((!src && len > 0) || (!dst && cap > 0))
        return SMTPMAIL_ERR_INVALID_ARG;
    if (len > ((size_t)-1 - 3) / 4 * 3) return SMTPMAIL_ERR_TOO_LONG;
    need = (len + 2) / 3 * 4;
    if (dst_len) *dst_len = need;
    if (cap <= need) return SMTPMAIL_ERR_BUFFER_TOO_SMALL;
    smtpmail__b64_block((const unsigned char *)src, len, dst);
    dst[need] = '\0';
    return SMTPMAIL_OK;
}

SMTPMAIL_API smtpmail_result smtpmail_base64_decode(const char *src, size_t len, void *dst,
                                                    size_t cap, size_t *dst_len)
{
    unsigned char *out = (unsigned char *)dst;
    uint32_t acc = 0;
    size_t i, n = 0, quads = 0, pad = 0, got = 0;
    if ((!src && len > 0) || (!dst && cap > 0)) return SMTPMAIL_ERR_INVALID_ARG;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        int v;
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
        if (c == '=') {
            /* Padding: only in the last quad, at positions 3 and 4. */
            if (got < 2 || ++pad > 2) return SMTPMAIL_ERR_BAD_FIELD;
            acc <<= 6;
            got++;
        } else {
            if (pad > 0 || (v = smtpmail__b64_value(c)) < 0) return SMTPMAIL_ERR_BAD_FIELD;
            acc = (acc << 6) | (uint32_t)v;
            got++;
        }
        if (got == 4) {
            size_t k, emit = 3 - pad;
            unsigned char b[3];
            b[0] = (unsigned char)(acc >> 16);
            b[1] = (unsigned char)(acc >> 8);
            b[2] = (unsigned char)acc;
            for (k = 0; k < emit; k++) {
                if (n < cap) out[n] = b[k];
                n++;
            }
            acc = 0;
            got = 0;
            quads++;
            if (pad > 0) {
                /* Nothing but whitespace may follow the padding. */
                for (i++; i < len; i++)
                    if (!strchr("\r\n \t", src[i]) || src[i] == '\0') return SMTPMAIL_ERR_BAD_FIELD;
                break;
            }
        }
    }
    if (got != 0) return SMTPMAIL_ERR_BAD_FIELD;
    (void)quads;
    if (dst_len) *dst_len = n;
    return n > cap ? SMTPMAIL_ERR_BUFFER_TOO_SMALL : SMTPMAIL_OK;
}

SMTPMAIL_API smtpmail_result smtpmail_header_encode(const char *name, const char *value,
                                                    char *dst, size_t cap, size_t *dst_len,
                                                    smtpmail_error *err)
{
    smtpmail_header one;
    smtpmail__out o;
    smtpmail__hdr h;
    smtpmail_result r;
    if (!name || !value || (!dst && cap > 0))
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, "", "name, value or dst is NULL");
    one.name = name;
    one.value = value;
    if ((r = smtpmail__check_header(err, &one, "header", 1)) != 0) return r;
    smtpmail__out_direct(&o, dst, cap, err);
    smtpmail__hdr_begin(&h, &o, name);
    smtpmail__hdr_unstructured(&h, value, SMTPMAIL__FOLD);
    smtpmail__hdr_end(&h);
    return smtpmail__out_direct_end(&o, (smtpmail_result)o.result, dst_len, err);
}

#endif /* SMTPMAIL_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
Dual licensed: use smtpmail.h under the MIT License or as public domain
(the Unlicense), whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the smtpmail.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of all present and future heirs and successors. We intend this
dedication to be an overt act of relinquishment in perpetuity of all present
and future rights to this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
