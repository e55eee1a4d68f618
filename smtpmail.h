/* smtpmail.h - v0.4.0 - send e-mail from C: a streaming MIME builder and an
   SMTP client over mbedTLS (implicit TLS or STARTTLS, AUTH, bounded time).
   One file; needs libc, and mbedTLS for TLS. Licence (MIT or public
   domain): end of file.

   Write `#define SMTPMAIL_IMPLEMENTATION` before the #include in exactly ONE
   C or C++ file; every other file includes smtpmail.h for the API only.
   Link: -lmbedtls -lmbedx509 -lmbedcrypto (Windows: also -lws2_32 -lcrypt32
   -ladvapi32 with MinGW, and -lbcrypt, which mbedTLS 3.x needs; MSVC finds
   the first three through #pragma comment).

QUICK START
   The message and the config are plain structs of pointers you own:
   nothing is copied, and `= {0}` means "not set" (and secure).

<quick-start>
#include <stdio.h>
#include <stdlib.h>
#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

int main(void)
{
    smtpmail_address to[1] = {{"交易员", "trader@qq.com"}};
    smtpmail_message msg = {0};
    smtpmail_config cfg = {0};
    smtpmail_error err;

    msg.from.name = "Alert Bot";
    msg.from.addr = "bot@qq.com";  // QQ Mail: server, port and TLS from the domain
    msg.to = to;
    msg.to_count = 1;
    msg.subject = "交易信号：买入 rb2405 @ 3650";
    msg.text = "Signal: BUY rb2405 @ 3650\nStrategy: breakout-15m\n";

    cfg.password = getenv("SMTPMAIL_PASSWORD"); // QQ Mail: the authorization code
    cfg.url = getenv("SMTPMAIL_URL");           // NULL: the preset for qq.com

    if (smtpmail_send(&cfg, &msg, &err) != SMTPMAIL_OK) {
        fprintf(stderr, "alert not sent: %s\n", err.message);
        return 1;
    }
    return 0;
}
</quick-start>
   Build: cc quick.c -lmbedtls -lmbedx509 -lmbedcrypto. (With -std=c99 add
   -D_POSIX_C_SOURCE=200112L.) A test compiles this code and runs it against
   a local server.

SENDING
   smtpmail_send(cfg, msg, err) opens, sends one message and closes: the
   call for one alert. For many, smtpmail_session_open / _send / _close keep
   one connection (each further message costs one round trip with
   PIPELINING and CHUNKING); a session whose connection the server dropped
   while idle reconnects by itself, before anything of the message is sent.

   - Success means one thing: the server answered 2xx to the end of the
     message. Nothing after that (QUIT, a dropped line) changes it.
   - Where: config.url ("smtps://user:pass@host:465", "smtp://host:587",
     "smtp+plain://127.0.0.1:25" or a preset name), or config.host/port/tls,
     or nothing: the preset of the sender's domain (qq.com, foxmail.com,
     163.com, 126.com, yeah.net, gmail.com, googlemail.com, outlook.com,
     hotmail.com, live.com; "office365" by name).
   - Round trips: PIPELINING sends MAIL, every RCPT and DATA (or, with
     CHUNKING, BDAT LAST and the message) in one write; AUTH PLAIN goes with
     its initial response; QUIT rides in the last batch or is sent on its
     own, and its 221 is never waited for. Implicit TLS + AUTH +
     PIPELINING + CHUNKING: connect,
     handshake, greeting, EHLO, AUTH, message. A message that fits
     SMTPMAIL_SEND_BUFFER is rendered first (its SIZE is then declared);
     a bigger one, or one with a read-callback attachment, is streamed after
     DATA, dot-stuffed on the way, in fixed memory.
   - A message rendered already (smtpmail_message_render's output, a saved
     .eml): smtpmail_session_send_raw with an smtpmail_envelope of your
     own. Its lines are checked (CRLF, at most 998 octets, a final CRLF)
     before a byte is sent.
   - Recipients: RCPT for every to, cc and bcc. By default one refused
     recipient fails the send and no message goes out (with several
     recipients the data then waits for every RCPT reply: one more round
     trip); allow_partial_recipients sends to the others. on_recipient
     reports each reply.
   - Time: connect_timeout_ms (10 s, TCP connect and TLS handshake),
     io_timeout_ms (30 s, each wait), timeout_ms (120 s, the whole call):
     a call never blocks longer than timeout_ms, except inside the system
     resolver (getaddrinfo), which its own settings bound.
   - Errors: 4xx -> SMTPMAIL_ERR_TEMPORARY, 5xx -> SMTPMAIL_ERR_PERMANENT,
     refused credentials -> SMTPMAIL_ERR_AUTH; network, timeout and TLS
     failures have their own codes. smtpmail_result_is_temporary() says
     whether a retry later makes sense. err->message reads like
     "RCPT <x@y.com>: 550 5.1.1 user unknown" or "TLS: the certificate has
     expired (server smtp.example.com)".

THE MESSAGE
   from, to/cc/bcc (arrays), reply_to, subject, text and/or html, attachments
   (from memory, a file path streamed in chunks, or your own read callback),
   inline images (an attachment with content_id, shown by HTML as
   <img src="cid:ID">), and extra headers. Strings are UTF-8.
   smtpmail_address_parse fills to/cc/bcc from a list as typed ("Bot
   <a@x.com>, c@x.com"), in storage you give it; no allocation.

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
     MIME boundaries (a session asks for 8 messages' worth at a time).
     Default: RtlGenRandom on Windows, /dev/urandom elsewhere; when that
     fails, a mix of the clock and addresses (weak but never fatal:
     boundaries are made safe by construction, not by luck). TLS does not
     rely on it (it only personalises the DRBG): the DRBG is seeded from
     the OS, else from mbedTLS's own entropy sources (a board's hardware
     source on embedded hosts).

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
   SMTPMAIL_NO_TLS          no mbedTLS: plaintext SMTP only (default: off)
   SMTPMAIL_NO_SOCKETS      no BSD sockets / Winsock: config.transport is
                            required (lwIP, a modem, an RTOS stack)
   SMTPMAIL_SEND_BUFFER     a message up to this size is rendered before
                            sending, for SIZE= and BDAT; bigger ones stream
                            (default 16384, at least 1024)
   SMTPMAIL_RECV_BUFFER     bytes for server replies: the longest reply line
                            accepted is one less (default 2048)
   SMTPMAIL_CMD_BUFFER      bytes for queued commands (default 2048)
   SMTPMAIL_ASSERT(x)       internal assertions (default: none)
   SMTPMAIL_OUTBOX          the outbox (smtpmail_outbox_*): POSIX threads
                            or Win32 threads, and stdio for its spool; link
                            -pthread where glibc is older than 2.34

THREADS
   No global mutable state: any number of threads may build, write and send
   messages at once, each with its own session. A session is used by one
   thread at a time. The default clock and random source are thread-safe.

THE OUTBOX (SMTPMAIL_OUTBOX)
   For a loop that must never wait on a mail server (vn.py's EmailEngine,
   done in C): smtpmail_outbox_enqueue checks and renders the message and
   returns; a worker thread sends over one reused session. 4xx, network
   and time-out failures are retried with exponential backoff and jitter
   (2 s doubling to 5 min, for 24 h by default); others are reported at
   once. A refused connection holds back the whole queue, not each message
   in turn. Each message is reported once, through on_done.
   - spool_dir: each message is a file, written and fsync'd before enqueue
     returns, removed after the server's 250; the next open sends what is
     left. A crash between the 250 and the removal sends it again, with the
     same Message-ID (at least once, never lost).
   - per_minute: a burst over the limit becomes one digest mail.
   - no_thread: no worker; call smtpmail_outbox_pump from your own loop.
   examples/alert_outbox.c is the one to copy.
   - One header, though the outbox could be a second one: it sits on the
     session (open, and the engine's one entry for a rendered message with
     its envelope, read from memory or from its spool file) and on the
     platform's thread and file calls; the SMTP engine names neither the
     outbox nor its spool. It stays here so that there is one file to copy
     and one #define to turn it on; without SMTPMAIL_OUTBOX it costs
     nothing (no threads, no code).

PLATFORMS
   - POSIX (Linux, BSD, macOS): sockets with poll(); with -std=c99 define
     _POSIX_C_SOURCE=200112L (the header says so with an #error if not).
   - Windows (MinGW, MSVC): Winsock 2, the system ROOT store for trust
     (never a Unix path such as /etc/ssl/cert.pem; SSL_CERT_FILE and
     SSL_CERT_DIR are honoured), RtlGenRandom; link ws2_32, crypt32 and
     advapi32 (and bcrypt for mbedTLS 3.x). The implementation includes
     winsock2.h before windows.h: include it before <windows.h>, or define
     WIN32_LEAN_AND_MEAN. File names are UTF-8 there too (_wfopen).
     `make windows` cross-builds with MinGW-w64 and mbedTLS 3.6 and runs
     the tests under wine.
   - mbedTLS 2.28 (Debian 12's), 3.6 LTS; 4.x best effort. All version
     differences are in the >>tls-compat section. TLS 1.2 at least.
   - Embedded: SMTPMAIL_NO_SOCKETS + config.transport, SMTPMAIL_NO_STDIO,
     the allocator, clock and random hooks; pass a CA in memory
     (config.ca_pem) or a key pin instead of a whole bundle.

INSIDE THE IMPLEMENTATION
   Sections in the order data flows (search for ">>name"): config (limits,
   options), platform (every OS difference but sockets and the trust
   store: files by UTF-8 name, clocks, random, threads), util, base64
   (both directions), output (the writer that enforces CRLF and 998 on
   every byte), rfc2047, date, check (every field before a byte is
   written), address (address lists), mime (the builder), settings (URL,
   presets, config), sockets (TCP, and smtpmail__pipe: a transport under
   the deadline), tls-compat (every mbedTLS version difference), tls
   (mbedTLS over a pipe), channel (pipe, or TLS over it), smtp (replies,
   EHLO, AUTH, and the transaction: planned as batches, then carried out),
   session (open, deliver, reconnect), public, outbox.

SECURITY NOTES
   - TLS is on by default: STARTTLS required (the zero mode), implicit TLS
     for port 465, plaintext only by choosing SMTPMAIL_TLS_INSECURE_NONE or
     smtp+plain://. A server that does not offer STARTTLS, or refuses it,
     ends the call (SMTPMAIL_ERR_STARTTLS): no downgrade. Bytes received
     before the handshake are dropped and EHLO is sent again (RFC 3207).
   - Certificates are verified against the system bundle (or config.ca_*),
     with the host name checked; config.pin_sha256 pins the server's key.
     Only config.insecure_skip_verify turns checking off, and it logs a
     warning. mbedTLS 2.28 cannot match IP addresses in certificates:
     connect by name.
   - AUTH is never sent over a link without TLS unless plaintext was chosen.
     Passwords and tokens never reach the log ("<redacted>") or an error
     message, and the library's copies are wiped when done.
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
#define SMTPMAIL_VERSION_MINOR 4
#define SMTPMAIL_VERSION_PATCH 0
#define SMTPMAIL_VERSION_STRING "0.4.0"

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
    SMTPMAIL_ERR_QUEUE_FULL = -6,       /* the outbox holds queue_max messages */
    SMTPMAIL_ERR_SPOOL = -7,            /* the outbox's spool could not be written */
    SMTPMAIL_ERR_QUEUE_CLOSED = -8,     /* the outbox closed before it was sent */

    /* -20 .. -39: the message */
    SMTPMAIL_ERR_HEADER_INJECTION = -20, /* CR, LF or NUL in a header field */
    SMTPMAIL_ERR_BAD_UTF8 = -21,        /* a text field is not valid UTF-8 */
    SMTPMAIL_ERR_BAD_ADDRESS = -22,     /* an address fails the syntax check */
    SMTPMAIL_ERR_NO_RECIPIENT = -23,    /* to, cc and bcc are all empty */
    SMTPMAIL_ERR_TOO_LONG = -24,        /* a field or count over its limit */
    SMTPMAIL_ERR_BAD_FIELD = -25,       /* any other invalid field value */
    SMTPMAIL_ERR_FILE = -26,            /* an attachment could not be read */

    /* -40 .. -59: the network */
    SMTPMAIL_ERR_RESOLVE = -40,         /* the host name did not resolve */
    SMTPMAIL_ERR_CONNECT = -41,         /* no address of the host took the connection */
    SMTPMAIL_ERR_TIMEOUT = -42,         /* a step or the whole call ran out of time */
    SMTPMAIL_ERR_NETWORK = -43,         /* send/recv failed or the server hung up */

    /* -60 .. -79: TLS */
    SMTPMAIL_ERR_TLS = -60,             /* the TLS handshake or a record failed */
    SMTPMAIL_ERR_CERTIFICATE = -61,     /* the server's certificate or key was refused */
    SMTPMAIL_ERR_STARTTLS = -62,        /* STARTTLS required but not offered or refused */
    SMTPMAIL_ERR_TRUST = -63,           /* no trust anchors: CA file/dir/PEM/pin unusable */

    /* -80 .. -99: the SMTP dialogue */
    SMTPMAIL_ERR_TEMPORARY = -80,       /* the server answered 4xx: retry later */
    SMTPMAIL_ERR_PERMANENT = -81,       /* the server answered 5xx: do not retry as is */
    SMTPMAIL_ERR_AUTH = -82,            /* the server refused the credentials */
    SMTPMAIL_ERR_AUTH_UNSUPPORTED = -83, /* no AUTH mechanism in common */
    SMTPMAIL_ERR_PROTOCOL = -84         /* a reply that is not SMTP (garbage, too long) */
} smtpmail_result;

/* Where in the work a failure happened. */
typedef enum smtpmail_stage {
    SMTPMAIL_STAGE_NONE = 0,
    SMTPMAIL_STAGE_MESSAGE,     /* checking or rendering the message */
    SMTPMAIL_STAGE_OUTPUT,      /* handing bytes to the write callback */
    SMTPMAIL_STAGE_CONFIG,      /* checking the configuration */
    SMTPMAIL_STAGE_RESOLVE,     /* looking up the host name */
    SMTPMAIL_STAGE_CONNECT,     /* opening the TCP connection */
    SMTPMAIL_STAGE_TLS,         /* the TLS handshake and certificate check */
    SMTPMAIL_STAGE_GREETING,    /* the server's 220 */
    SMTPMAIL_STAGE_EHLO,
    SMTPMAIL_STAGE_STARTTLS,
    SMTPMAIL_STAGE_AUTH,
    SMTPMAIL_STAGE_MAIL,        /* MAIL FROM */
    SMTPMAIL_STAGE_RCPT,        /* RCPT TO */
    SMTPMAIL_STAGE_DATA,        /* DATA and its 354 */
    SMTPMAIL_STAGE_END_OF_DATA, /* the reply to the message itself (DATA or BDAT) */
    SMTPMAIL_STAGE_RSET,
    SMTPMAIL_STAGE_QUIT
} smtpmail_stage;

/* Filled in by a failing call when the caller passes one; untouched on
   success. Plain data: no need to free anything. */
typedef struct smtpmail_error {
    smtpmail_result result;
    smtpmail_stage stage;
    char field[64];         /* the field at fault, e.g. "message.to[1].addr"; "" if none */
    int sys_error;          /* errno / WSA error for files and sockets; else 0 */
    int reply_code;         /* the server's reply, e.g. 550; 0 if none */
    char enhanced[16];      /* RFC 3463 status, e.g. "5.7.8"; "" if none */
    char server_text[256];  /* the reply's first line of text, printable ASCII */
    int tls_error;          /* mbedTLS error code (negative); 0 if none */
    uint32_t verify_flags;  /* mbedTLS X.509 verify flags; 0 if none */
    char message[256];      /* one line, no credentials, always NUL-terminated */
} smtpmail_error;

/* A short, static English description of a result code ("ok", "no memory"). */
SMTPMAIL_API const char *smtpmail_result_str(smtpmail_result result);

/* "RCPT", "TLS", ...: a short, static name of a stage. */
SMTPMAIL_API const char *smtpmail_stage_str(smtpmail_stage stage);

/* 1 when the same call may succeed later unchanged: a 4xx reply, a timeout,
   a network failure or a failed connect or lookup. 0 otherwise (5xx,
   refused credentials, certificates, bad input). */
SMTPMAIL_API int smtpmail_result_is_temporary(smtpmail_result result);

/* ---------------------------------------------------------------------------
   Hooks
   ------------------------------------------------------------------------ */

typedef struct smtpmail_hooks {
    void *(*alloc)(size_t size, void *user_data);   /* NULL: malloc */
    void (*free)(void *ptr, void *user_data);       /* NULL: free */
    int64_t (*now)(int *utc_offset_min, void *user_data); /* NULL: time(), UTC */
    int (*random)(void *buf, size_t len, void *user_data); /* 0 = ok; NULL: OS */
    uint64_t (*ticks_ms)(void *user_data);          /* NULL: monotonic clock */
    /* The SMTP transcript, one line at a time without CRLF: "C: EHLO x",
       "S: 250 ok", "*: TLS 1.2 ..." for events. Credentials are replaced by
       "<redacted>" before a line gets here. NULL: no log. */
    void (*log)(const char *line, void *user_data);
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
   Sending (SMTP over mbedTLS)
   ------------------------------------------------------------------------ */

/* A byte stream to the server: TCP by default, or yours (lwIP, a modem, a
   test script). Each call may block for at most timeout_ms. connect stores
   its connection in *conn and returns 0; send returns the bytes taken (at
   least 1); recv the bytes read (0: the peer closed); all return a negative
   smtpmail_result on failure (SMTPMAIL_ERR_TIMEOUT, SMTPMAIL_ERR_NETWORK,
   SMTPMAIL_ERR_RESOLVE, SMTPMAIL_ERR_CONNECT). recv with timeout_ms 0 is a
   poll: it must not wait (nothing there yet: SMTPMAIL_ERR_TIMEOUT). close is
   always called once after a successful connect. TLS runs on top of
   whatever this carries. */
typedef struct smtpmail_transport {
    int (*connect)(void **conn, const char *host, uint16_t port, uint32_t timeout_ms,
                   void *user_data);
    int (*send)(void *conn, const void *data, size_t len, uint32_t timeout_ms, void *user_data);
    int (*recv)(void *conn, void *buf, size_t cap, uint32_t timeout_ms, void *user_data);
    void (*close)(void *conn, void *user_data);
    void *user_data;
} smtpmail_transport;

/* How the connection is protected. 0 is the secure default. */
typedef enum smtpmail_tls_mode {
    SMTPMAIL_TLS_STARTTLS = 0,      /* plaintext connect, then STARTTLS: required; port 587
                                       (on port 465 this means implicit TLS, RFC 8314) */
    SMTPMAIL_TLS_IMPLICIT,          /* TLS from the first byte; port 465 */
    SMTPMAIL_TLS_INSECURE_NONE      /* no TLS at all, AUTH in clear: local relays, tests; port 25 */
} smtpmail_tls_mode;

typedef enum smtpmail_auth_mech {
    SMTPMAIL_AUTH_AUTO = 0,         /* XOAUTH2 with a token, else PLAIN, else LOGIN, as offered */
    SMTPMAIL_AUTH_PLAIN,            /* forced, whatever the server offers */
    SMTPMAIL_AUTH_LOGIN,
    SMTPMAIL_AUTH_XOAUTH2
} smtpmail_auth_mech;

/* Where and how to send. `smtpmail_config cfg = {0};` plus a password is
   enough for the providers with presets: the host, port and TLS mode come
   from the sender's domain (qq.com, foxmail.com, 163.com, 126.com, yeah.net,
   gmail.com, googlemail.com, outlook.com, hotmail.com, live.com). Strings
   are borrowed: they must stay valid while a session uses them. */
typedef struct smtpmail_config {
    const char *url;            /* "smtps://user:pass@host:port" (implicit TLS),
                                   "smtp://..." (STARTTLS), "smtp+plain://..." (no TLS),
                                   or a preset: "qq.com", "gmail.com", "office365"...
                                   User and password are percent-decoded.
                                   NULL: host below, else the preset of the sender's
                                   domain. (No URL, user or password is ever read
                                   from the environment: only SSL_CERT_FILE/DIR.) */
    const char *host;           /* overrides the URL's host */
    uint16_t port;              /* 0: the URL's, else 465 / 587 / 25 by mode */
    smtpmail_tls_mode tls;      /* used when there is no URL scheme to say */
    const char *username;       /* NULL: the URL's, else (smtpmail_send only) the
                                   sender's address; sessions need one of the two */
    const char *password;       /* NULL: the URL's. QQ/163: the authorization code */
    const char *oauth2_token;   /* XOAUTH2 access token (Gmail, Outlook) */
    smtpmail_auth_mech auth;    /* 0: chosen from the server's list */
    const char *ca_file;        /* PEM bundle to trust; NULL: the system's */
    const char *ca_dir;         /* a directory of PEM certificates to trust */
    const char *ca_pem;         /* PEM certificates in memory ... */
    size_t ca_pem_len;          /* ... of this length (0: strlen) */
    const char *pin_sha256;     /* "sha256//BASE64[;sha256//...]": the server's public
                                   key must match one. Without a CA option above the
                                   pin replaces CA verification (no bundle loaded). */
    int insecure_skip_verify;   /* INSECURE: accept any certificate; logs a warning */
    const char *helo_name;      /* EHLO name; NULL: this host's name, else "localhost" */
    uint32_t connect_timeout_ms; /* 0: 10000, TCP connect and TLS handshake each */
    uint32_t io_timeout_ms;     /* 0: 30000, each wait for the server */
    uint32_t timeout_ms;        /* 0: 120000, a whole open or send call */
    int allow_partial_recipients; /* 0: a refused recipient fails the send and
                                     nothing is sent; 1: send to the others */
    /* Each recipient's RCPT reply (250, 550, ...), when set. */
    void (*on_recipient)(const char *addr, int reply_code, const char *reply_text,
                         void *user_data);
    void *user_data;            /* for on_recipient */
    const smtpmail_hooks *hooks;          /* NULL: defaults */
    const smtpmail_transport *transport;  /* NULL: TCP sockets */
} smtpmail_config;

/* One connection that sends many messages. Opaque. */
typedef struct smtpmail_session smtpmail_session;

/* Connects, secures, greets and authenticates. On success *out is a session
   to send with and to close; on failure *out is NULL. err may be NULL. */
SMTPMAIL_API smtpmail_result smtpmail_session_open(const smtpmail_config *cfg,
                                                   smtpmail_session **out,
                                                   smtpmail_error *err);

/* Sends one message: SMTPMAIL_OK only when the server answered 2xx to the
   end of the message. A connection the server dropped while idle is
   reopened once, before any of the message is sent. After a failed
   transaction the session stays usable when the connection does. */
SMTPMAIL_API smtpmail_result smtpmail_session_send(smtpmail_session *s,
                                                   const smtpmail_message *msg,
                                                   smtpmail_error *err);

/* The envelope of a message that is already rendered: the address the
   server is told it comes from (MAIL FROM) and every address it goes to
   (RCPT TO; Bcc included). Bare addresses, no names or angle brackets. */
typedef struct smtpmail_envelope {
    const char *from;               /* "bot@example.com" */
    const char *const *rcpt;        /* the recipients ... */
    size_t rcpt_count;              /* ... at least 1 */
} smtpmail_envelope;

/* Sends data[0..len), an RFC 5322 message rendered already (by
   smtpmail_message_render, another program, a saved .eml), to the
   envelope's recipients, as smtpmail_session_send would: dot-stuffed for
   DATA, or as one BDAT. The bytes go as they are: CRLF line ends, lines of
   at most 998 octets and a final CRLF are required, and anything else is
   refused before a byte is sent (SMTPMAIL_ERR_BAD_FIELD, field "data").
   The envelope is checked like a message's addresses. err may be NULL. */
SMTPMAIL_API smtpmail_result smtpmail_session_send_raw(smtpmail_session *s,
                                                       const smtpmail_envelope *env,
                                                       const void *data, size_t len,
                                                       smtpmail_error *err);

/* Sends QUIT (without waiting for its 221), closes, wipes the
   credentials and frees the session. NULL is ignored. */
SMTPMAIL_API void smtpmail_session_close(smtpmail_session *s);

/* Opens, sends one message and closes, within cfg->timeout_ms: the call
   for one alert. The result is SMTPMAIL_OK if and only if the server
   accepted the message; what happens at QUIT cannot change it. */
SMTPMAIL_API smtpmail_result smtpmail_send(const smtpmail_config *cfg,
                                           const smtpmail_message *msg,
                                           smtpmail_error *err);

/* ---------------------------------------------------------------------------
   The outbox: alerts that never block the caller (define SMTPMAIL_OUTBOX)
   ------------------------------------------------------------------------ */

/* An outbox owns a queue, a worker thread and one reused session.
   smtpmail_outbox_enqueue checks and renders the message (its Date and
   Message-ID are fixed then, and stay the same on every retry), queues it
   and returns at once; the worker sends. Temporary failures (4xx, network,
   time-outs) are retried with exponential backoff and jitter until
   retry_for_ms; other failures are not retried. Every message taken is
   reported once, through on_done, on the worker thread.

   With spool_dir, each message is first written to its own file there
   (write, fsync, rename) and removed only once the server accepted it; an
   outbox opened on the same directory sends what a crash left behind.
   Refused messages are kept, renamed NAME.failed. A crash after the
   server's 250 but before the file is removed sends that message again,
   with the same Message-ID.

   With per_minute, at most that many messages go out in any 60 seconds;
   what had to wait goes as one digest (same sender and recipients): the
   Subject and text of each, in order. A burst of errors is one mail. */
typedef struct smtpmail_outbox smtpmail_outbox;

typedef struct smtpmail_outbox_report {
    unsigned long long id;        /* from smtpmail_outbox_enqueue */
    smtpmail_result result;       /* SMTPMAIL_OK: the server accepted it */
    const smtpmail_error *error;  /* why not; NULL when result is OK */
    unsigned attempts;            /* transactions tried */
    size_t digest_of;             /* > 1: it went in a digest of this many */
    const char *subject;          /* the message's Subject, UTF-8 ("" none) */
} smtpmail_outbox_report;

typedef struct smtpmail_outbox_options {
    size_t queue_max;             /* messages waiting at most; 0: 256 */
    const char *spool_dir;        /* durable queue in this directory (on Windows,
                                     ASCII for now); NULL: memory */
    size_t max_message_bytes;     /* memory queue only; 0: 4 MiB */
    uint32_t retry_for_ms;        /* retry temporary failures this long (counted
                                     from enqueue, or from the open that found it
                                     in the spool); 0: 24 h */
    uint32_t backoff_first_ms;    /* first wait after a failure; 0: 2 s */
    uint32_t backoff_max_ms;      /* longest wait; 0: 5 min */
    unsigned per_minute;          /* messages per 60 s at most; 0: no limit */
    uint32_t idle_close_ms;       /* QUIT after this long idle; 0: 30 s */
    int no_thread;                /* 1: no worker; you call smtpmail_outbox_pump */
    void (*on_done)(const smtpmail_outbox_report *report, void *user_data);
    void *user_data;              /* for on_done */
} smtpmail_outbox_options;

/* Opens an outbox on a copy of *cfg (strings, hooks and transport are
   copied; callbacks and their user_data must outlive the outbox). No
   connection is made until there is mail. With spool_dir, the directory
   must exist; what it holds is queued first. opt may be NULL. */
SMTPMAIL_API smtpmail_result smtpmail_outbox_open(const smtpmail_config *cfg,
                                                  const smtpmail_outbox_options *opt,
                                                  smtpmail_outbox **out,
                                                  smtpmail_error *err);

/* Checks, renders and queues msg; never waits for the network. It does
   render the whole message (in memory: attachments included, up to
   max_message_bytes) and, with a spool, writes and fsyncs its file before
   it returns. A full queue is SMTPMAIL_ERR_QUEUE_FULL, a spool that cannot
   be written SMTPMAIL_ERR_SPOOL: then nothing was queued. *id (may be
   NULL) names the message in its report. Thread-safe. */
SMTPMAIL_API smtpmail_result smtpmail_outbox_enqueue(smtpmail_outbox *box,
                                                     const smtpmail_message *msg,
                                                     unsigned long long *id,
                                                     smtpmail_error *err);

/* Messages taken and not yet settled (sent, refused or given up; the
   report may still be on its way). Thread-safe. */
SMTPMAIL_API size_t smtpmail_outbox_pending(smtpmail_outbox *box);

/* With no_thread: does the work that is due (at most one transaction,
   within config.timeout_ms) and returns how many ms may pass before it
   has more to do. Call it from your own loop, one thread at a time (the
   one that will close); enqueue may still come from any thread. */
SMTPMAIL_API uint32_t smtpmail_outbox_pump(smtpmail_outbox *box);

/* Sends what it can within flush_ms (the transaction under way may add up
   to config.timeout_ms), then says QUIT and frees everything. Returns the
   messages not sent: with a spool they stay there for the next open;
   without one they are reported as SMTPMAIL_ERR_QUEUE_CLOSED (on_done is
   then called on this thread). Enqueues already under way in other
   threads finish first; none may start once close has returned. */
SMTPMAIL_API size_t smtpmail_outbox_close(smtpmail_outbox *box, uint32_t flush_ms);

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

/* Parses an address list as people type it, "Bot <a@x.com>, \"Doe, J.\"
   <b@x.com>; c@x.com, <d@x.com>", into out[0..cap): each name unquoted
   (\" and \\ resolved; NULL when none) and address copied, NUL-terminated,
   into storage (strlen(list) + 1 bytes always suffice; no overlap with
   list). ',' and ';' separate; blanks around entries and empty entries go
   (an empty list is OK with *count 0). Every entry must pass the check of
   smtpmail_message_check. Not supported: groups ("Team: a@x.com;" is
   refused) and comments ("(...)" stays in a name). An error sets
   err->field "list" and a message with the byte offset (from 0) and the
   entry (from 1): "address list: position 17 (entry 2): missing '>'".
   Too small a cap or storage_cap (once the whole list has passed) gives
   SMTPMAIL_ERR_BUFFER_TOO_SMALL and *count the entries of the list (out
   and storage partly written); other errors leave *count 0. out may be
   NULL when cap is 0, storage when storage_cap is 0 (to count); err may
   be NULL. */
SMTPMAIL_API smtpmail_result smtpmail_address_parse(const char *list,
                                                    smtpmail_address *out, size_t cap,
                                                    size_t *count,
                                                    char *storage, size_t storage_cap,
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
#ifndef SMTPMAIL_RECV_BUFFER
#  define SMTPMAIL_RECV_BUFFER 2048
#endif
#ifndef SMTPMAIL_CMD_BUFFER
#  define SMTPMAIL_CMD_BUFFER 2048
#endif
#ifndef SMTPMAIL_SEND_BUFFER
#  define SMTPMAIL_SEND_BUFFER 16384
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
#if SMTPMAIL_RECV_BUFFER < 520 || SMTPMAIL_CMD_BUFFER < 600 || SMTPMAIL_SEND_BUFFER < 1024
#  error "SMTPMAIL_RECV_BUFFER >= 520, SMTPMAIL_CMD_BUFFER >= 600, SMTPMAIL_SEND_BUFFER >= 1024"
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
#  include <ws2tcpip.h>
#  include <windows.h>
#  include <wincrypt.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "ws2_32")
#    pragma comment(lib, "crypt32")
#  endif
#elif !defined(SMTPMAIL_NO_SOCKETS)
#  if defined(__STRICT_ANSI__) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
      !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(__APPLE__)
#    error "smtpmail.h: sockets need POSIX: compile with -D_POSIX_C_SOURCE=200112L (or -std=gnu99)"
#  endif
#  include <errno.h>
#  include <fcntl.h>
#  include <netdb.h>
#  include <netinet/in.h>
#  include <netinet/tcp.h>
#  include <poll.h>
#  include <sys/socket.h>
#  include <sys/types.h>
#  include <unistd.h>
#endif
#if defined(SMTPMAIL_OUTBOX) && !defined(_WIN32)
#  include <dirent.h>
#  include <fcntl.h>
#  include <pthread.h>
#  include <unistd.h>
#elif defined(SMTPMAIL_OUTBOX)
#  include <io.h> /* _get_osfhandle */
#endif
#ifndef SMTPMAIL_NO_TLS
#  include <mbedtls/version.h>
#  include <mbedtls/ctr_drbg.h>
#  include <mbedtls/entropy.h>
#  include <mbedtls/error.h>
#  include <mbedtls/net_sockets.h> /* error codes only: no mbedtls_net_* */
#  include <mbedtls/sha256.h>
#  include <mbedtls/ssl.h>
#  include <mbedtls/x509_crt.h>
#endif
#if defined(_WIN32)
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

/* The OS's random bytes: 0, or -1 when there is no such source here. */
static int smtpmail__os_random(unsigned char *buf, size_t len)
{
#if defined(_WIN32)
    return SystemFunction036(buf, (ULONG)len) ? 0 : -1;
#elif !defined(SMTPMAIL_NO_STDIO)
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = 0;
    if (f) {
        setvbuf(f, NULL, _IONBF, 0); /* no 4 KB read for 28 bytes */
        got = fread(buf, 1, len, f);
        fclose(f);
    }
    return got == len ? 0 : -1;
#else
    SMTPMAIL__UNUSED(buf), SMTPMAIL__UNUSED(len);
    return -1;
#endif
}

static void smtpmail__random(const smtpmail_hooks *h, unsigned char *buf, size_t len)
{
    if (h && h->random) {
        if (h->random(buf, len, h->user_data) == 0) return;
    } else if (smtpmail__os_random(buf, len) == 0) {
        return;
    }
    smtpmail__weak_random(buf, len);
}

#ifndef SMTPMAIL_NO_STDIO
#if defined(_WIN32)
/* The caller's file names are UTF-8, as every string here; Windows' ANSI
   calls would read them in the code page (and 成交.csv would not open). */
static int smtpmail__widen(const char *path, wchar_t *w, int cap)
{
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, cap) != 0) return 0;
    errno = GetLastError() == ERROR_INSUFFICIENT_BUFFER ? ENAMETOOLONG : EINVAL;
    return -1;
}
#endif

static FILE *smtpmail__fopen(const char *path, const char *mode)
{
#if defined(_WIN32)
    wchar_t wpath[1024], wmode[8];
    size_t i;
    if (smtpmail__widen(path, wpath, 1024) != 0) return NULL;
    for (i = 0; mode[i] && i < 7; i++) wmode[i] = (wchar_t)mode[i];
    wmode[i] = 0;
    return _wfopen(wpath, wmode);
#else
    return fopen(path, mode);
#endif
}
#endif /* SMTPMAIL_NO_STDIO */

/* Monotonic milliseconds for deadlines (hooks->ticks_ms when set). */
static uint64_t smtpmail__ticks(const smtpmail_hooks *h)
{
    if (h && h->ticks_ms) return h->ticks_ms(h->user_data);
#if defined(_WIN32)
    return (uint64_t)GetTickCount64();
#elif !defined(SMTPMAIL_NO_SOCKETS)
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    }
#else
    return (uint64_t)time(NULL) * 1000u;
#endif
}

/* A system error code in words: errno (on Windows a Winsock error), or
   with `resolver` getaddrinfo's code. */
static void smtpmail__sys_strerror(int code, int resolver, char *buf, size_t cap)
{
#if defined(_WIN32)
    SMTPMAIL__UNUSED(resolver);
    snprintf(buf, cap, "Winsock error %d", code);
#elif !defined(SMTPMAIL_NO_SOCKETS)
    snprintf(buf, cap, "%s", resolver ? gai_strerror(code) : strerror(code));
#else
    SMTPMAIL__UNUSED(resolver);
    snprintf(buf, cap, "%s", strerror(code));
#endif
}

#ifndef SMTPMAIL_NO_SOCKETS
/* The EHLO name: this host's name when it is a plain DNS name. */
static void smtpmail__local_name(char *out, size_t cap)
{
    char name[256];
    size_t i;
    int got;
#if defined(_WIN32)
    WSADATA wsa;
    int started = WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
#endif
    memset(name, 0, sizeof name);
    got = gethostname(name, sizeof name - 1) == 0 && name[0];
#if defined(_WIN32)
    if (started) WSACleanup();
#endif
    if (got) {
        for (i = 0; name[i]; i++) {
            char c = name[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.'))
                break;
        }
        if (name[i] == '\0' && i < cap) {
            memcpy(out, name, i + 1);
            return;
        }
    }
    snprintf(out, cap, "localhost");
}
#endif

#ifdef SMTPMAIL_OUTBOX
/* Threads (the outbox's worker): a lock with a condition whose timed wait
   runs on a monotonic clock, and a thread running fn(arg). */
#  if defined(_WIN32)
typedef struct smtpmail__sync {
    CRITICAL_SECTION mu;
    CONDITION_VARIABLE cv;
} smtpmail__sync;
#    define SMTPMAIL__LOCK(y) EnterCriticalSection(&(y)->mu)
#    define SMTPMAIL__UNLOCK(y) LeaveCriticalSection(&(y)->mu)
#    define SMTPMAIL__WAKE_ALL(y) WakeAllConditionVariable(&(y)->cv)
static void smtpmail__sync_init(smtpmail__sync *y)
{
    InitializeCriticalSection(&y->mu);
    InitializeConditionVariable(&y->cv);
}
static void smtpmail__sync_free(smtpmail__sync *y) { DeleteCriticalSection(&y->mu); }
static void smtpmail__sync_wait(smtpmail__sync *y, uint32_t ms) { (void)SleepConditionVariableCS(&y->cv, &y->mu, ms); }
#  else
typedef struct smtpmail__sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} smtpmail__sync;
#    define SMTPMAIL__LOCK(y) (void)pthread_mutex_lock(&(y)->mu)
#    define SMTPMAIL__UNLOCK(y) (void)pthread_mutex_unlock(&(y)->mu)
#    define SMTPMAIL__WAKE_ALL(y) (void)pthread_cond_broadcast(&(y)->cv)
static void smtpmail__sync_init(smtpmail__sync *y)
{
    pthread_condattr_t ca;
    (void)pthread_mutex_init(&y->mu, NULL);
    (void)pthread_condattr_init(&ca);
    (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the clock of sync_wait */
    (void)pthread_cond_init(&y->cv, &ca);
    (void)pthread_condattr_destroy(&ca);
}
static void smtpmail__sync_free(smtpmail__sync *y)
{
    (void)pthread_cond_destroy(&y->cv);
    (void)pthread_mutex_destroy(&y->mu);
}
static void smtpmail__sync_wait(smtpmail__sync *y, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    (void)pthread_cond_timedwait(&y->cv, &y->mu, &ts);
}
#  endif

typedef struct smtpmail__thread {
    void (*fn)(void *arg);
    void *arg;
#  if defined(_WIN32)
    HANDLE handle;
#  else
    pthread_t handle;
#  endif
} smtpmail__thread;

#  if defined(_WIN32)
static DWORD WINAPI smtpmail__thread_main(LPVOID t)
{
    ((smtpmail__thread *)t)->fn(((smtpmail__thread *)t)->arg);
    return 0;
}
static int smtpmail__thread_start(smtpmail__thread *t)
{
    t->handle = CreateThread(NULL, 0, smtpmail__thread_main, t, 0, NULL);
    return t->handle ? 0 : -1;
}
static void smtpmail__thread_join(smtpmail__thread *t)
{
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
}
#  else
static void *smtpmail__thread_main(void *t)
{
    ((smtpmail__thread *)t)->fn(((smtpmail__thread *)t)->arg);
    return NULL;
}
static int smtpmail__thread_start(smtpmail__thread *t)
{
    return pthread_create(&t->handle, NULL, smtpmail__thread_main, t) == 0 ? 0 : -1;
}
static void smtpmail__thread_join(smtpmail__thread *t) { (void)pthread_join(t->handle, NULL); }
#  endif

/* Files (the outbox's spool), by UTF-8 name. */

/* The file's bytes are on disk. */
static int smtpmail__file_sync(FILE *f)
{
    if (fflush(f) != 0) return -1;
#  if defined(_WIN32)
    return FlushFileBuffers((HANDLE)_get_osfhandle(_fileno(f))) ? 0 : -1;
#  else
    return fsync(fileno(f));
#  endif
}

/* The directory's entries (a rename, a removal) are on disk. NTFS
   journals them; POSIX needs the directory itself synced. */
static void smtpmail__dir_sync(const char *dir)
{
#  if !defined(_WIN32)
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) (void)fsync(fd), (void)close(fd);
#  else
    SMTPMAIL__UNUSED(dir);
#  endif
}

/* rename() that replaces the target on every system. */
static int smtpmail__rename(const char *from, const char *to)
{
#  if defined(_WIN32)
    wchar_t wf[1024], wt[1024];
    if (smtpmail__widen(from, wf, 1024) != 0 || smtpmail__widen(to, wt, 1024) != 0) return -1;
    return MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) ? 0 : -1;
#  else
    return rename(from, to);
#  endif
}

static int smtpmail__remove(const char *path)
{
#  if defined(_WIN32)
    wchar_t w[1024];
    return smtpmail__widen(path, w, 1024) == 0 && _wremove(w) == 0 ? 0 : -1;
#  else
    return remove(path);
#  endif
}

/* Calls each(name, user) for every entry of dir until it returns non-0.
   0, or -1 when the directory cannot be read (errno set). */
static int smtpmail__dir_each(const char *dir, int (*each)(const char *name, void *user), void *user)
{
#  if defined(_WIN32)
    WIN32_FIND_DATAW fd;
    HANDLE h;
    wchar_t pattern[1024];
    char name[MAX_PATH * 3];
    size_t n = strlen(dir);
    if (n + 3 > sizeof name || smtpmail__widen(dir, pattern, 1020) != 0) return -1;
    wcscat(pattern, L"\\*");
    if ((h = FindFirstFileW(pattern, &fd)) == INVALID_HANDLE_VALUE) {
        errno = ENOENT;
        return -1;
    }
    do {
        if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, (int)sizeof name, NULL, NULL) == 0) continue;
        if (each(name, user) != 0) break;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return 0;
#  else
    struct dirent *de;
    DIR *d = opendir(dir);
    if (!d) return -1;
    while ((de = readdir(d)) != NULL)
        if (each(de->d_name, user) != 0) break;
    closedir(d);
    return 0;
#  endif
}
#endif /* SMTPMAIL_OUTBOX */

/* >>util ------------------------------------------------------------------ */

/* memset that the optimiser may not drop: for credentials. */
static void smtpmail__wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

static void smtpmail__copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 5, 6)))
#endif
static smtpmail_result smtpmail__fail(smtpmail_error *err, smtpmail_result r, smtpmail_stage stage,
                                      const char *field, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        memset(err, 0, sizeof(*err));
        err->result = r;
        err->stage = stage;
        smtpmail__copy(err->field, sizeof(err->field), field ? field : "");
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return r;
}

static const char *const smtpmail__stage_names[] = {
    "", "message", "output", "config", "resolve", "connect", "TLS", "greeting", "EHLO",
    "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "end of data", "RSET", "QUIT"};

/* A failure after the network is involved: result, stage and the message
   "STAGE: what". Marks nothing; the caller decides if the link is lost. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
static smtpmail_result smtpmail__fail_stage(smtpmail_error *err, smtpmail_result r, smtpmail_stage stage,
                                       const char *fmt, ...)
{
    if (err) {
        char text[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        memset(err, 0, sizeof *err);
        err->result = r;
        err->stage = stage;
        {
            /* "STAGE: " then as much of the text as fits. */
            size_t n = (size_t)snprintf(err->message, sizeof err->message, "%s: ",
                                        smtpmail__stage_names[stage]);
            smtpmail__copy(err->message + n, sizeof err->message - n, text);
        }
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
    for (; i + 3 <= len; i += 3, o += 4) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        out[o] = smtpmail__b64[v >> 18];
        out[o + 1] = smtpmail__b64[(v >> 12) & 63];
        out[o + 2] = smtpmail__b64[(v >> 6) & 63];
        out[o + 3] = smtpmail__b64[v & 63];
    }
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

/* Decodes base64 (RFC 4648 4, padding required; CR, LF, space and tab
   skipped) into dst[0..cap); *dst_len gets the decoded length. */
static smtpmail_result smtpmail__b64_decode(const char *src, size_t len, void *dst, size_t cap, size_t *dst_len)
{
    unsigned char *out = (unsigned char *)dst;
    uint32_t acc = 0;
    size_t i, n = 0, pad = 0, got = 0;
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
            if (pad > 0) {
                /* Nothing but whitespace may follow the padding. */
                for (i++; i < len; i++)
                    if (!strchr("\r\n \t", src[i]) || src[i] == '\0') return SMTPMAIL_ERR_BAD_FIELD;
                break;
            }
        }
    }
    if (got != 0) return SMTPMAIL_ERR_BAD_FIELD;
    if (dst_len) *dst_len = n;
    return n > cap ? SMTPMAIL_ERR_BUFFER_TOO_SMALL : SMTPMAIL_OK;
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
    int stop_when_full;     /* direct: fail with BUFFER_TOO_SMALL instead of counting */
    int result;             /* first failure; once set, output stops */
    smtpmail_error *err;
    const unsigned char *rnd; /* 28 random bytes drawn already; NULL: draw */
    const char *source;     /* set: the bytes are the caller's message, named so
                               in errors (a bad line is theirs, not a bug here) */
} smtpmail__out;

/* The output discipline broken at byte `at`: a bug in the builder, or bad
   bytes in a message the caller rendered. */
static void smtpmail__out_refuse(smtpmail__out *o, size_t at, const char *what)
{
    if (o->source) {
        o->result = SMTPMAIL_ERR_BAD_FIELD;
        smtpmail__fail(o->err, SMTPMAIL_ERR_BAD_FIELD, SMTPMAIL_STAGE_MESSAGE, o->source,
                       "%s: %s at byte %lu (want CRLF line ends, lines of at most 998 octets)",
                       o->source, what, (unsigned long)at);
        return;
    }
    o->result = SMTPMAIL_ERR_INTERNAL;
    smtpmail__fail(o->err, SMTPMAIL_ERR_INTERNAL, SMTPMAIL_STAGE_MESSAGE, "",
                   "internal error: %s in output (please report)", what);
}

static int smtpmail__out_flush(smtpmail__out *o)
{
    if (o->result == 0 && !o->direct && o->len > 0) {
        int r = o->write(o->buf, o->len, o->user_data);
        if (r != 0) {
            o->result = SMTPMAIL_ERR_WRITE;
            smtpmail__fail(o->err, SMTPMAIL_ERR_WRITE, SMTPMAIL_STAGE_OUTPUT, "",
                           "the write callback failed (it returned %d)", r);
        }
    }
    if (!o->direct) o->len = 0;
    return o->result;
}

static void smtpmail__out_put(smtpmail__out *o, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data, *cr, *lf;
    size_t i = 0, run;
    if (o->result != 0) return;
    while (i < n) {
        if (o->prev_cr) { /* after CR, LF and only LF */
            if (p[i] != '\n') {
                smtpmail__out_refuse(o, o->total + i - 1, "a bare CR or LF"); /* the CR */
                return;
            }
            o->prev_cr = 0, o->col = 0, i++;
            continue;
        }
        /* A run up to the next CR: no LF in it, and the line not too long. */
        cr = (const unsigned char *)memchr(p + i, '\r', n - i);
        run = (cr ? (size_t)(cr - p) : n) - i;
        if ((lf = (const unsigned char *)memchr(p + i, '\n', run)) != NULL) {
            smtpmail__out_refuse(o, o->total + (size_t)(lf - p), "a bare CR or LF");
            return;
        }
        if (o->col + run > SMTPMAIL__LINE_MAX) { /* at its 999th octet */
            smtpmail__out_refuse(o, o->total + i + SMTPMAIL__LINE_MAX - o->col, "a line over 998 octets");
            return;
        }
        o->col += run;
        i += run;
        if (cr) o->prev_cr = 1, i++;
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
            if (o->direct) {
                /* Counted in total, not stored; or a stop, for a trial
                   rendering that only wants a message that fits. */
                if (o->stop_when_full) o->result = SMTPMAIL_ERR_BUFFER_TOO_SMALL;
                return;
            }
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
        return smtpmail__fail(err, SMTPMAIL_ERR_HEADER_INJECTION, SMTPMAIL_STAGE_MESSAGE, field,
                              "%s contains CR, LF or NUL", field);
    if (len > max)
        return smtpmail__fail(err, SMTPMAIL_ERR_TOO_LONG, SMTPMAIL_STAGE_MESSAGE, field,
                              "%s is longer than %lu bytes", field, (unsigned long)max);
    ok = smtpmail__utf8_valid((const unsigned char *)s, len);
    if (ok != len)
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_UTF8, SMTPMAIL_STAGE_MESSAGE, field,
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

/* Checks one bare address; field names it in errors ("envelope.rcpt[2]"). */
static smtpmail_result smtpmail__check_addr(smtpmail_error *err, const char *addr, const char *field)
{
    smtpmail_result r;
    if (!addr || !addr[0])
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_ADDRESS, SMTPMAIL_STAGE_MESSAGE, field, "%s is empty", field);
    if ((r = smtpmail__check_text(err, field, addr, strlen(addr), 1, SMTPMAIL__ADDR_MAX)) != 0) return r;
    if (!smtpmail__addr_ok(addr)) {
        int ascii = 1;
        const char *p;
        for (p = addr; *p; p++)
            if ((unsigned char)*p >= 0x80) ascii = 0;
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_ADDRESS, SMTPMAIL_STAGE_MESSAGE, field,
                              "%s \"%.80s\" is not a valid address (%s)", field, addr,
                              ascii ? "want user@example.com"
                                    : "non-ASCII addresses (SMTPUTF8) are not supported");
    }
    return SMTPMAIL_OK;
}

/* An envelope given with a rendered message: its addresses as a message's. */
static smtpmail_result smtpmail__check_envelope(const smtpmail_envelope *env, smtpmail_error *err)
{
    char f[48];
    size_t i;
    smtpmail_result r;
    if (!env) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, "envelope", "envelope is NULL");
    if ((r = smtpmail__check_addr(err, env->from, "envelope.from")) != 0) return r;
    if (env->rcpt_count == 0 || !env->rcpt)
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_RECIPIENT, SMTPMAIL_STAGE_MESSAGE, "envelope.rcpt",
                              "envelope.rcpt has no recipient");
    if (env->rcpt_count > SMTPMAIL_MAX_RECIPIENTS)
        return smtpmail__fail(err, SMTPMAIL_ERR_TOO_LONG, SMTPMAIL_STAGE_MESSAGE, "envelope.rcpt",
                              "envelope has more than %d recipients (SMTPMAIL_MAX_RECIPIENTS)",
                              SMTPMAIL_MAX_RECIPIENTS);
    for (i = 0; i < env->rcpt_count; i++) {
        snprintf(f, sizeof f, "envelope.rcpt[%lu]", (unsigned long)i);
        if ((r = smtpmail__check_addr(err, env->rcpt[i], f)) != 0) return r;
    }
    return SMTPMAIL_OK;
}

/* Checks one address; prefix names it in errors ("message.to[2]"). */
static smtpmail_result smtpmail__check_address(smtpmail_error *err, const smtpmail_address *a,
                                               const char *prefix)
{
    char f[64];
    smtpmail_result r;
    snprintf(f, sizeof f, "%s.addr", prefix);
    if ((r = smtpmail__check_addr(err, a->addr, f)) != 0) return r;
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
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, f,
                              "%s needs exactly one of path, data or read", f);
    }
    if (a->path) {
        snprintf(f, sizeof f, "message.attachments[%lu].path", (unsigned long)i);
        if (!a->path[0]) return smtpmail__fail(err, SMTPMAIL_ERR_FILE, SMTPMAIL_STAGE_MESSAGE, f, "%s is empty", f);
#ifdef SMTPMAIL_NO_STDIO
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, f,
                              "%s: no file access in this build (SMTPMAIL_NO_STDIO)", f);
#else
        {
            FILE *fp = smtpmail__fopen(a->path, "rb");
            if (!fp) {
                int e = errno;
                r = smtpmail__fail(err, SMTPMAIL_ERR_FILE, SMTPMAIL_STAGE_MESSAGE, f, "%s: cannot open \"%.120s\": %s",
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
            return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, SMTPMAIL_STAGE_MESSAGE, f,
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
            return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, SMTPMAIL_STAGE_MESSAGE, f,
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
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, f, "%s needs a name and a value",
                              prefix);
    if ((r = smtpmail__check_text(err, f, h->name, strlen(h->name), 1, SMTPMAIL__HNAME_MAX)) != 0)
        return r;
    for (p = h->name; *p && (unsigned char)*p > 32 && (unsigned char)*p < 127 && *p != ':'; p++) {}
    if (*p || !h->name[0])
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, SMTPMAIL_STAGE_MESSAGE, f,
                              "%s \"%.60s\" is not a header name (printable ASCII, no ':')", f,
                              h->name);
    if (!any_name && smtpmail__reserved_header(h->name))
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, SMTPMAIL_STAGE_MESSAGE, f,
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

    if (!m) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, "message", "message is NULL");
    if (!m->from.addr)
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_ADDRESS, SMTPMAIL_STAGE_MESSAGE, "message.from.addr",
                              "message.from.addr is required");
    if ((r = smtpmail__check_address(err, &m->from, "message.from")) != 0) return r;
    if (m->reply_to.addr && (r = smtpmail__check_address(err, &m->reply_to, "message.reply_to")) != 0)
        return r;

    lists[0] = m->to, lists[1] = m->cc, lists[2] = m->bcc;
    counts[0] = m->to_count, counts[1] = m->cc_count, counts[2] = m->bcc_count;
    for (j = 0; j < 3; j++) {
        if (counts[j] > 0 && !lists[j]) {
            snprintf(f, sizeof f, "message.%s", list_names[j]);
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, f, "%s is NULL but %s_count is %lu",
                                  f, list_names[j], (unsigned long)counts[j]);
        }
        if (counts[j] > SMTPMAIL_MAX_RECIPIENTS) break;
        for (i = 0; i < counts[j]; i++) {
            snprintf(f, sizeof f, "message.%s[%lu]", list_names[j], (unsigned long)i);
            if ((r = smtpmail__check_address(err, &lists[j][i], f)) != 0) return r;
        }
    }
    if (counts[0] + counts[1] + counts[2] == 0)
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_RECIPIENT, SMTPMAIL_STAGE_MESSAGE, "message.to",
                              "message has no recipient (to, cc and bcc are empty)");
    if (j < 3 || counts[0] + counts[1] + counts[2] > SMTPMAIL_MAX_RECIPIENTS)
        return smtpmail__fail(err, SMTPMAIL_ERR_TOO_LONG, SMTPMAIL_STAGE_MESSAGE, "message.to",
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
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, m->text_len ? "message.text" : "message.html",
                              "%s is NULL but its length is not 0", m->text_len ? "message.text" : "message.html");

    if (m->attachment_count > 0 && !m->attachments)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, "message.attachments",
                              "message.attachments is NULL but attachment_count is %lu",
                              (unsigned long)m->attachment_count);
    for (i = 0; i < m->attachment_count; i++)
        if ((r = smtpmail__check_attachment(err, &m->attachments[i], i)) != 0) return r;

    if (m->header_count > 0 && !m->headers)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, "message.headers",
                              "message.headers is NULL but header_count is %lu",
                              (unsigned long)m->header_count);
    for (i = 0; i < m->header_count; i++) {
        snprintf(f, sizeof f, "message.headers[%lu]", (unsigned long)i);
        if ((r = smtpmail__check_header(err, &m->headers[i], f, 0)) != 0) return r;
    }
    return SMTPMAIL_OK;
}

/* >>address --------------------------------------------------------------- */

/* smtpmail_address_parse: an address list as people type or paste it. RFC
   5322 3.4 address-list, less what a sender never needs: groups, comments
   and the obs- forms. ';' separates like ',' (Outlook writes lists so).
   Every entry then goes through smtpmail__check_address, the check of the
   message itself. */

static int smtpmail__list_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* "address list: position P (entry E): what", field "list". */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 5, 6)))
#endif
static smtpmail_result smtpmail__list_fail(smtpmail_error *err, smtpmail_result r, size_t pos,
                                           size_t entry, const char *fmt, ...)
{
    if (err) {
        char text[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        smtpmail__fail(err, r, SMTPMAIL_STAGE_MESSAGE, "list", "address list: position %lu (entry %lu): %s",
                       (unsigned long)pos, (unsigned long)entry, text);
    }
    return r;
}

/* One element of the list: [start, end) without the blanks around it, the
   '<' and '>' of an angle-addr, and where the next element may start. */
typedef struct smtpmail__list_item {
    size_t start, end, lt, gt, next;
    int angled;
} smtpmail__list_item;

/* Finds the element that starts at s[start] (not a blank, not a separator).
   ',' and ';' end it unless they are inside a quoted-string; a quoted-string
   runs to its closing '"' (RFC 5322 3.2.4: \x is a quoted-pair). */
static smtpmail_result smtpmail__list_item_find(const char *s, size_t start, size_t entry,
                                                smtpmail__list_item *it, smtpmail_error *err)
{
    size_t i, quote = 0;
    int quoted = 0, closed = 0, square = 0;
    memset(it, 0, sizeof *it);
    it->start = start;
    for (i = start;; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '\0')
                return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, quote, entry,
                                           "unterminated quoted string");
            if (c == '\\' && s[i + 1] != '\0') i++;
            else if (c == '"') quoted = 0;
            continue;
        }
        if (c == '\0' || c == ',' || c == ';') break;
        if (closed) {
            if (!smtpmail__list_blank(c))
                return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, i, entry,
                                           "text after '>'");
        } else if (c == '"') {
            quoted = 1;
            quote = i;
        } else if (c == '<') {
            if (it->angled)
                return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, i, entry,
                                           "missing '>' before the second '<'");
            it->angled = 1;
            it->lt = i;
        } else if (c == '>') {
            if (!it->angled)
                return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, i, entry,
                                           "'>' without '<'");
            closed = 1;
            it->gt = i;
        } else if (c == '[' || c == ']') {
            square = c == '['; /* a domain literal may hold ':' (IPv6) */
        } else if (c == ':' && !it->angled && !square) {
            /* RFC 5322 3.4 group: "display-name: mailbox-list;". */
            return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, i, entry,
                                       "group syntax (\"name: addresses;\") is not supported; "
                                       "a name with ':' needs quotes");
        }
    }
    if (it->angled && !closed)
        return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, i, entry, "missing '>'");
    it->next = s[i] != '\0' ? i + 1 : i;
    while (i > start && smtpmail__list_blank(s[i - 1])) i--;
    it->end = i;
    return SMTPMAIL_OK;
}

/* s[from, to) less the blanks at both ends. */
static void smtpmail__list_trim(const char *s, size_t *from, size_t *to)
{
    while (*from < *to && smtpmail__list_blank(s[*from])) (*from)++;
    while (*to > *from && smtpmail__list_blank(s[*to - 1])) (*to)--;
}

/* The display name s[from, to) (no blanks at its ends) with its quotes
   removed and quoted-pairs resolved (RFC 5322 3.2.4), and each run of
   blanks outside quotes made one space (3.2.2: such a run between tokens
   means one space), into dst: at most cap - 1 bytes and a NUL. Returns
   the full length, which may be more. */
static size_t smtpmail__list_unquote(const char *s, size_t from, size_t to, char *dst, size_t cap)
{
    size_t i, n = 0;
    int quoted = 0;
    for (i = from; i < to; i++) {
        char c = s[i];
        if (c == '"') {
            quoted = !quoted;
            continue;
        }
        if (quoted && c == '\\' && i + 1 < to) {
            c = s[++i];
        } else if (!quoted && smtpmail__list_blank(c)) {
            if (smtpmail__list_blank(s[i + 1])) continue;
            c = ' ';
        }
        if (n + 1 < cap) dst[n] = c;
        n++;
    }
    dst[n + 1 < cap ? n : cap - 1] = '\0';
    return n;
}

static smtpmail_result smtpmail__address_parse(const char *list, smtpmail_address *out,
                                               size_t cap, size_t *count, char *storage,
                                               size_t storage_cap, smtpmail_error *err)
{
    /* One more byte than the check allows, so that a longer string is
       refused by the check itself (as too long), whatever storage is. */
    char name[SMTPMAIL__NAME_MAX + 2], addr[SMTPMAIL__ADDR_MAX + 2];
    size_t pos = 0, n = 0, used = 0, cap_pos = 0, store_pos = 0, store_entry = 0;
    int store_full = 0;

    if (count) *count = 0;
    if (!list || !count || (!out && cap > 0) || (!storage && storage_cap > 0))
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, "list",
                              "list or count is NULL, or out or storage is NULL with a capacity");
    for (;;) {
        smtpmail__list_item it;
        smtpmail_address a;
        smtpmail_result r;
        size_t name_from, name_to, addr_from, addr_to, name_len, addr_len, need;

        while (smtpmail__list_blank(list[pos]) || list[pos] == ',' || list[pos] == ';') pos++;
        if (list[pos] == '\0') break;
        if ((r = smtpmail__list_item_find(list, pos, n + 1, &it, err)) != 0) return r;
        pos = it.next;

        if (it.angled) {
            name_from = it.start, name_to = it.lt;
            addr_from = it.lt + 1, addr_to = it.gt;
            smtpmail__list_trim(list, &name_from, &name_to);
            smtpmail__list_trim(list, &addr_from, &addr_to);
            if (addr_from == addr_to)
                return smtpmail__list_fail(err, SMTPMAIL_ERR_BAD_ADDRESS, it.lt, n + 1,
                                           "nothing between '<' and '>'");
        } else {
            name_from = name_to = it.start;
            addr_from = it.start, addr_to = it.end;
        }
        name_len = smtpmail__list_unquote(list, name_from, name_to, name, sizeof name);
        addr_len = addr_to - addr_from;
        memcpy(addr, list + addr_from, addr_len < sizeof addr ? addr_len : sizeof addr - 1);
        addr[addr_len < sizeof addr ? addr_len : sizeof addr - 1] = '\0';
        a.name = name_len > 0 ? name : NULL;
        a.addr = addr;
        if ((r = smtpmail__check_address(err, &a, "list")) != 0) {
            if (err) {
                /* "list.addr is ..." becomes "address list: position P
                   (entry E): address is ...". */
                char text[256];
                size_t flen = strlen(err->field);
                int is_name = flen >= 5 && strcmp(err->field + flen - 5, ".name") == 0;
                smtpmail__copy(text, sizeof text,
                               strncmp(err->message, err->field, flen) == 0 ? err->message + flen
                                                                            : err->message);
                smtpmail__list_fail(err, r, is_name ? name_from : addr_from, n + 1, "%s%s",
                                    is_name ? "display name" : "address", text);
            }
            return r;
        }

        /* Too small a cap or storage: go on counting, write no more. */
        need = (name_len > 0 ? name_len + 1 : 0) + addr_len + 1;
        if (n == cap) cap_pos = it.start;
        if (n < cap && !store_full && storage_cap - used < need) {
            store_full = 1;
            store_pos = it.start;
            store_entry = n + 1;
        }
        if (n < cap && !store_full) {
            char *w = storage + used;
            out[n].name = NULL;
            if (name_len > 0) {
                memcpy(w, name, name_len + 1);
                out[n].name = w;
                w += name_len + 1;
            }
            memcpy(w, addr, addr_len + 1);
            out[n].addr = w;
        }
        used += need;
        n++;
    }
    if (n > cap || store_full) {
        *count = n;
        if (n > cap)
            return smtpmail__list_fail(err, SMTPMAIL_ERR_BUFFER_TOO_SMALL, cap_pos, cap + 1,
                                       "out has room for %lu entries, the list has %lu "
                                       "(and needs %lu bytes of storage)",
                                       (unsigned long)cap, (unsigned long)n, (unsigned long)used);
        return smtpmail__list_fail(err, SMTPMAIL_ERR_BUFFER_TOO_SMALL, store_pos, store_entry,
                                   "storage_cap %lu is too small: %lu bytes needed",
                                   (unsigned long)storage_cap, (unsigned long)used);
    }
    *count = n;
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
        if (w->n == 0 && len >= sizeof w->in) {
            /* Whole lines straight from the source, 16 to a write. */
            char lines[16 * (2 + 76)];
            for (k = 0; len >= sizeof w->in && k + 2 + 76 <= sizeof lines; p += 57, len -= 57) {
                if (w->lines++ > 0) lines[k++] = '\r', lines[k++] = '\n';
                k += smtpmail__b64_block(p, 57, lines + k);
            }
            smtpmail__out_put(w->o, lines, k);
            continue;
        }
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
        if (a->path && !(fp = smtpmail__fopen(a->path, "rb"))) failed = 1, sys = errno;
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
            smtpmail__fail(c->err, SMTPMAIL_ERR_FILE, SMTPMAIL_STAGE_MESSAGE, f, "%s: reading \"%.120s\" failed%s%s", f,
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
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "hooks.alloc",
                              "hooks.alloc and hooks.free must be set together");
    return SMTPMAIL_OK;
}

/* Renders a checked message into o; the caller flushes it. */
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
            return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_MESSAGE, "", "out of memory (%d bytes)",
                                  SMTPMAIL_READ_CHUNK);
    }
    if (o->rnd) memcpy(rnd, o->rnd, sizeof rnd);
    else smtpmail__random(hooks, rnd, sizeof rnd);
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
    smtpmail__free(hooks, c.chunk);
    return (smtpmail_result)o->result;
}

/* >>settings -------------------------------------------------------------- */

/* Where and as whom a session connects. */
typedef struct smtpmail__settings {
    char host[256];
    uint16_t port;
    smtpmail_tls_mode mode;
    char user[256];             /* wiped at close */
    char pass[512];             /* wiped at close */
    char helo[256];             /* the EHLO name */
} smtpmail__settings;

/* Providers by the sender's domain (or by name in config.url). */
static const struct {
    const char *key, *host;
    uint16_t port;
    smtpmail_tls_mode mode;
} smtpmail__presets[] = {
    {"qq.com", "smtp.qq.com", 465, SMTPMAIL_TLS_IMPLICIT},
    {"foxmail.com", "smtp.qq.com", 465, SMTPMAIL_TLS_IMPLICIT},
    {"163.com", "smtp.163.com", 465, SMTPMAIL_TLS_IMPLICIT},
    {"126.com", "smtp.126.com", 465, SMTPMAIL_TLS_IMPLICIT},
    {"yeah.net", "smtp.yeah.net", 465, SMTPMAIL_TLS_IMPLICIT},
    {"gmail.com", "smtp.gmail.com", 465, SMTPMAIL_TLS_IMPLICIT},
    {"googlemail.com", "smtp.gmail.com", 465, SMTPMAIL_TLS_IMPLICIT},
    {"outlook.com", "smtp-mail.outlook.com", 587, SMTPMAIL_TLS_STARTTLS},
    {"hotmail.com", "smtp-mail.outlook.com", 587, SMTPMAIL_TLS_STARTTLS},
    {"live.com", "smtp-mail.outlook.com", 587, SMTPMAIL_TLS_STARTTLS},
    {"office365", "smtp.office365.com", 587, SMTPMAIL_TLS_STARTTLS},
};

static int smtpmail__preset(smtpmail__settings *set, const char *key)
{
    size_t i;
    for (i = 0; key && i < sizeof smtpmail__presets / sizeof smtpmail__presets[0]; i++) {
        if (!smtpmail__ieq(key, smtpmail__presets[i].key)) continue;
        smtpmail__copy(set->host, sizeof set->host, smtpmail__presets[i].host);
        set->port = smtpmail__presets[i].port;
        set->mode = smtpmail__presets[i].mode;
        return 1;
    }
    return 0;
}

static int smtpmail__hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies src[0..len) to dst, percent-decoded (RFC 3986 2.1). */
static int smtpmail__pct_decode(char *dst, size_t cap, const char *src, size_t len)
{
    size_t i, n = 0;
    for (i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < len ? smtpmail__hexval(src[i + 1]) : -1;
            int lo = i + 2 < len ? smtpmail__hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || n + 1 >= cap) return -1;
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return 0;
}

/* A host name or address as it goes to the resolver, SNI and messages:
   printable ASCII without spaces, quotes, brackets or backslashes. */
static int smtpmail__host_ok(const char *h)
{
    if (!h[0]) return 0;
    for (; *h; h++)
        if ((unsigned char)*h <= 32 || (unsigned char)*h >= 127 || strchr("\"<>\\", *h)) return 0;
    return 1;
}

/* smtps://user:pass@host:port, smtp://..., smtp+plain://... */
static smtpmail_result smtpmail__parse_url(smtpmail__settings *set, const char *url, smtpmail_error *err)
{
    const char *p = strstr(url, "://"), *auth, *at = NULL, *end, *q, *colon = NULL;
    size_t slen;
    if (!p) {
        if (smtpmail__preset(set, url)) return SMTPMAIL_OK;
        /* Not echoed: a URL may hold a password. */
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url",
                              "config.url is neither smtps://, smtp://, smtp+plain:// nor a "
                              "preset (qq.com, 163.com, gmail.com, office365, ...)");
    }
    slen = (size_t)(p - url);
    if (slen == 5 && smtpmail__istarts(url, "smtps")) set->mode = SMTPMAIL_TLS_IMPLICIT;
    else if (slen == 4 && smtpmail__istarts(url, "smtp")) set->mode = SMTPMAIL_TLS_STARTTLS;
    else if (slen == 10 && smtpmail__istarts(url, "smtp+plain")) set->mode = SMTPMAIL_TLS_INSECURE_NONE;
    else
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url",
                              "config.url: unknown scheme (use smtps://, smtp:// or smtp+plain://)");
    auth = p + 3;
    end = auth + strcspn(auth, "/?#");
    for (q = auth; q < end; q++)
        if (*q == '@') at = q; /* the last '@': a user may be an address */
    if (at) {
        for (q = auth; q < at && *q != ':'; q++) {}
        if (q < at) colon = q;
        if (smtpmail__pct_decode(set->user, sizeof set->user, auth, (size_t)((colon ? colon : at) - auth)) != 0 ||
            (colon && smtpmail__pct_decode(set->pass, sizeof set->pass, colon + 1, (size_t)(at - colon - 1)) != 0))
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url",
                                  "config.url: bad user or password (percent-encode ':', '@' and '%%')");
        auth = at + 1;
    }
    if (*auth == '[') {
        q = (const char *)memchr(auth, ']', (size_t)(end - auth));
        if (!q) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url", "config.url: unclosed '['");
        if ((size_t)(q - auth - 1) >= sizeof set->host) goto too_long;
        memcpy(set->host, auth + 1, (size_t)(q - auth - 1));
        set->host[q - auth - 1] = '\0';
        q++;
    } else {
        for (q = auth; q < end && *q != ':'; q++) {}
        if ((size_t)(q - auth) >= sizeof set->host) goto too_long;
        memcpy(set->host, auth, (size_t)(q - auth));
        set->host[q - auth] = '\0';
    }
    if (!smtpmail__host_ok(set->host))
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url", "config.url: bad host");
    if (q < end && *q == ':') {
        unsigned long port = 0;
        const char *d = q + 1;
        for (; d < end && *d >= '0' && *d <= '9' && port <= 65535; d++) port = port * 10 + (unsigned long)(*d - '0');
        if (d != end || d == q + 1 || port == 0 || port > 65535)
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url", "config.url: bad port");
        set->port = (uint16_t)port;
    } else if (q != end) {
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url", "config.url: bad host");
    }
    return SMTPMAIL_OK;
too_long:
    return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.url", "config.url: host name too long");
}

/* A config string that goes on the wire: no CR, LF; fits its buffer. The
   message names the field, never the value (it may be a password). */
static smtpmail_result smtpmail__config_str(smtpmail_error *err, const char *field, const char *v, size_t cap)
{
    if (!v) return SMTPMAIL_OK;
    if (strpbrk(v, "\r\n"))
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, field, "%s contains CR or LF", field);
    if (strlen(v) >= cap)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, field, "%s is longer than %lu bytes", field,
                              (unsigned long)cap - 1);
    return SMTPMAIL_OK;
}

/* Where and as whom, from the config: checked, with the presets and
   defaults applied. default_user is the sender's address, if known. */
static smtpmail_result smtpmail__settings_resolve(smtpmail__settings *set, const smtpmail_config *cfg,
                                                  const char *default_user, smtpmail_error *err)
{
    const char *who;
    smtpmail_result r;
    set->mode = cfg->tls;
    if ((unsigned)cfg->tls > (unsigned)SMTPMAIL_TLS_INSECURE_NONE)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.tls", "config.tls is not a smtpmail_tls_mode");
    if ((unsigned)cfg->auth > (unsigned)SMTPMAIL_AUTH_XOAUTH2)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.auth", "config.auth is not a smtpmail_auth_mech");
    if ((r = smtpmail__config_str(err, "config.host", cfg->host, sizeof set->host)) != 0 ||
        (r = smtpmail__config_str(err, "config.username", cfg->username, sizeof set->user)) != 0 ||
        (r = smtpmail__config_str(err, "config.password", cfg->password, sizeof set->pass)) != 0 ||
        (r = smtpmail__config_str(err, "config.oauth2_token", cfg->oauth2_token, 16384)) != 0 ||
        (r = smtpmail__config_str(err, "config.helo_name", cfg->helo_name, sizeof set->helo)) != 0 ||
        (r = smtpmail__config_str(err, "config.url", cfg->url, 2048)) != 0)
        return r;
    /* An empty string counts as not set, so that getenv() of an empty
       variable does not override the URL's password with nothing. */
    if (cfg->url && cfg->url[0] && (r = smtpmail__parse_url(set, cfg->url, err)) != 0) return r;
    if (cfg->host && cfg->host[0]) {
        if (!smtpmail__host_ok(cfg->host))
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.host",
                                  "config.host must be printable ASCII without spaces");
        smtpmail__copy(set->host, sizeof set->host, cfg->host);
    }
    if (cfg->port) set->port = cfg->port;
    if (cfg->username && cfg->username[0]) smtpmail__copy(set->user, sizeof set->user, cfg->username);
    else if (!set->user[0] && default_user) smtpmail__copy(set->user, sizeof set->user, default_user);
    if (cfg->password && cfg->password[0]) smtpmail__copy(set->pass, sizeof set->pass, cfg->password);
    if (!set->host[0]) {
        who = strrchr(set->user, '@');
        if (!who || !smtpmail__preset(set, who + 1))
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.host",
                                  "config.host is not set and \"%.60s\" has no preset: set config.url or "
                                  "config.host", who ? who + 1 : set->user[0] ? set->user : "(no sender)");
        if (cfg->port) set->port = cfg->port;
    }
    if (!set->port) set->port = set->mode == SMTPMAIL_TLS_IMPLICIT ? 465 : set->mode == SMTPMAIL_TLS_STARTTLS ? 587 : 25;
    if (set->mode == SMTPMAIL_TLS_STARTTLS && set->port == 465) set->mode = SMTPMAIL_TLS_IMPLICIT; /* RFC 8314 */
#ifdef SMTPMAIL_NO_TLS
    if (set->mode != SMTPMAIL_TLS_INSECURE_NONE)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.tls",
                              "this build has no TLS (SMTPMAIL_NO_TLS): only SMTPMAIL_TLS_INSECURE_NONE");
#endif
    if (cfg->helo_name && cfg->helo_name[0]) smtpmail__copy(set->helo, sizeof set->helo, cfg->helo_name);
    else {
#ifndef SMTPMAIL_NO_SOCKETS
        smtpmail__local_name(set->helo, sizeof set->helo);
#else
        smtpmail__copy(set->helo, sizeof set->helo, "localhost");
#endif
    }
    return SMTPMAIL_OK;
}

/* >>sockets --------------------------------------------------------------- */

#ifndef SMTPMAIL_NO_SOCKETS

#if defined(_WIN32)
typedef SOCKET smtpmail__sock;
#  define SMTPMAIL__BAD_SOCK INVALID_SOCKET
#  define smtpmail__sock_errno() WSAGetLastError()
#  define smtpmail__closesocket(s) closesocket(s)
#  define SMTPMAIL__EINTR WSAEINTR
#  define SMTPMAIL__WOULDBLOCK(e) ((e) == WSAEWOULDBLOCK || (e) == WSAEINPROGRESS)
#else
typedef int smtpmail__sock;
#  define SMTPMAIL__BAD_SOCK (-1)
#  define smtpmail__sock_errno() errno
#  define smtpmail__closesocket(s) close(s)
#  define SMTPMAIL__EINTR EINTR
#  define SMTPMAIL__WOULDBLOCK(e) ((e) == EAGAIN || (e) == EWOULDBLOCK || (e) == EINPROGRESS)
#endif
#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0 /* BSD and macOS: SO_NOSIGPIPE is set on the socket */
#endif

/* The socket travels in the transport's void *conn: socket + 1, so that a
   valid socket 0 is not a NULL pointer. No allocation. */
static void *smtpmail__sock_to_conn(smtpmail__sock s) { return (void *)((uintptr_t)s + 1u); }
static smtpmail__sock smtpmail__conn_to_sock(void *c) { return (smtpmail__sock)((uintptr_t)c - 1u); }

/* Waits until the socket is readable (want_write 0) or writable. Returns 1
   when ready, 0 on timeout, -1 on error (errno / WSA error kept). EINTR is
   retried with the time that is left. */
static int smtpmail__sock_wait(smtpmail__sock s, int want_write, uint32_t timeout_ms)
{
    uint64_t end = smtpmail__ticks(NULL) + timeout_ms;
    for (;;) {
        uint64_t now = smtpmail__ticks(NULL);
        int left = now >= end ? 0 : end - now > 0x7FFFFFFF ? 0x7FFFFFFF : (int)(end - now), r;
#if defined(_WIN32)
        /* select, not WSAPoll: WSAPoll missed failed connects before
           Windows 10 2004. FD_SETSIZE does not limit socket values here. */
        fd_set set, errs;
        struct timeval tv;
        FD_ZERO(&set);
        FD_ZERO(&errs);
        FD_SET(s, &set);
        FD_SET(s, &errs);
        tv.tv_sec = left / 1000;
        tv.tv_usec = (left % 1000) * 1000;
        r = select(0, want_write ? NULL : &set, want_write ? &set : NULL, &errs, &tv);
        /* A failed connect shows in the exception set: "ready", and the
           caller's SO_ERROR says why. */
#else
        /* poll, not select: no FD_SETSIZE limit on descriptor numbers. */
        struct pollfd p;
        p.fd = s;
        p.events = (short)(want_write ? POLLOUT : POLLIN);
        p.revents = 0;
        r = poll(&p, 1, left);
#endif
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (smtpmail__sock_errno() != SMTPMAIL__EINTR) return -1;
    }
}

static int smtpmail__sock_nonblocking(smtpmail__sock s)
{
#if defined(_WIN32)
    u_long on = 1;
    return ioctlsocket(s, (long)FIONBIO, &on) == 0 ? 0 : -1;
#else
    int fl = fcntl(s, F_GETFL, 0);
    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    (void)fcntl(s, F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

/* One address within budget_ms: 0 with *out connected, or
   SMTPMAIL_ERR_TIMEOUT, or SMTPMAIL_ERR_CONNECT (*sys_error says why). */
static int smtpmail__tcp_try(const struct addrinfo *ai, uint64_t budget_ms, smtpmail__sock *out, int *sys_error)
{
    smtpmail__sock s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int one = 1, r, result = SMTPMAIL_ERR_CONNECT;
    if (s == SMTPMAIL__BAD_SOCK) return SMTPMAIL_ERR_CONNECT;
    /* TCP_NODELAY: each command is one segment now, not after the peer's
       delayed ACK (Nagle costs whole round trips otherwise). */
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
#ifdef SO_NOSIGPIPE
    (void)setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, (const char *)&one, sizeof one);
#endif
    if (smtpmail__sock_nonblocking(s) != 0) {
        smtpmail__closesocket(s);
        return SMTPMAIL_ERR_CONNECT;
    }
#if defined(_WIN32)
    r = connect(s, ai->ai_addr, (int)ai->ai_addrlen);
#else
    r = connect(s, ai->ai_addr, ai->ai_addrlen);
#endif
    /* In progress (or interrupted, which POSIX lets finish the same way):
       wait until writable, then ask how it ended. */
    if (r != 0 && (SMTPMAIL__WOULDBLOCK(smtpmail__sock_errno()) || smtpmail__sock_errno() == SMTPMAIL__EINTR)) {
        int w = smtpmail__sock_wait(s, 1, (uint32_t)budget_ms), soerr = 0;
#if defined(_WIN32)
        int len = (int)sizeof soerr;
#else
        socklen_t len = (socklen_t)sizeof soerr;
#endif
        if (w == 0) result = SMTPMAIL_ERR_TIMEOUT;
        if (w == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &len) == 0) {
            if (soerr == 0) r = 0;
            else *sys_error = soerr;
        }
    } else if (r != 0) {
        *sys_error = smtpmail__sock_errno();
    }
    if (r == 0) {
        *out = s;
        return 0;
    }
    smtpmail__closesocket(s);
    return result;
}

/* Resolves and connects; *sys_error gets the resolver's or the last
   connect's error code for the message. */
static int smtpmail__tcp_open(void **conn, const char *host, uint16_t port, uint32_t timeout_ms,
                              int *sys_error)
{
    struct addrinfo hints, *list = NULL, *ai;
    char service[8];
    uint64_t end = smtpmail__ticks(NULL) + timeout_ms;
    int gai, result = SMTPMAIL_ERR_CONNECT;
    uint64_t n_addr = 0;
    *sys_error = 0;
#if defined(_WIN32)
    {
        WSADATA wsa;
        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) return SMTPMAIL_ERR_CONNECT;
    }
#endif
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    /* getaddrinfo has no timeout of its own: the system resolver's settings
       (resolv.conf timeout and attempts) bound it. */
    gai = getaddrinfo(host, service, &hints, &list);
    if (gai != 0 || !list) {
#if defined(_WIN32)
        WSACleanup();
#endif
        *sys_error = gai;
        return SMTPMAIL_ERR_RESOLVE;
    }
    /* Every address in turn (IPv6 and IPv4, in the resolver's order). Each
       gets an equal share of what is left, but at least 2 s: one address
       whose packets vanish (a broken IPv6 route) must not use up the time
       of the others. */
    for (ai = list; ai; ai = ai->ai_next) n_addr++;
    for (ai = list; ai; ai = ai->ai_next, n_addr--) {
        uint64_t now = smtpmail__ticks(NULL), budget;
        smtpmail__sock s;
        int r;
        if (now >= end) {
            result = SMTPMAIL_ERR_TIMEOUT;
            break;
        }
        budget = (end - now) / n_addr;
        if (budget < 2000) budget = end - now < 2000 ? end - now : 2000;
        r = smtpmail__tcp_try(ai, budget, &s, sys_error);
        if (r == 0) {
            freeaddrinfo(list);
            *conn = smtpmail__sock_to_conn(s);
            return 0;
        }
        if (r == SMTPMAIL_ERR_TIMEOUT) result = r;
    }
    freeaddrinfo(list);
#if defined(_WIN32)
    WSACleanup();
#endif
    return result;
}

static int smtpmail__tcp_connect(void **conn, const char *host, uint16_t port,
                                 uint32_t timeout_ms, void *user_data)
{
    int sys_error;
    SMTPMAIL__UNUSED(user_data);
    return smtpmail__tcp_open(conn, host, port, timeout_ms, &sys_error);
}

static int smtpmail__tcp_send(void *conn, const void *data, size_t len, uint32_t timeout_ms,
                              void *user_data)
{
    smtpmail__sock s = smtpmail__conn_to_sock(conn);
    int n = len > 65536 ? 65536 : (int)len;
    SMTPMAIL__UNUSED(user_data);
    for (;;) {
#if defined(_WIN32)
        int r = send(s, (const char *)data, n, 0);
#else
        ssize_t r = send(s, data, (size_t)n, MSG_NOSIGNAL);
#endif
        int e;
        if (r > 0) return (int)r;
        e = smtpmail__sock_errno();
        if (r < 0 && e == SMTPMAIL__EINTR) continue;
        if (r < 0 && SMTPMAIL__WOULDBLOCK(e)) {
            int w = smtpmail__sock_wait(s, 1, timeout_ms);
            if (w == 1) continue;
            return w == 0 ? SMTPMAIL_ERR_TIMEOUT : SMTPMAIL_ERR_NETWORK;
        }
        return SMTPMAIL_ERR_NETWORK;
    }
}

static int smtpmail__tcp_recv(void *conn, void *buf, size_t cap, uint32_t timeout_ms,
                              void *user_data)
{
    smtpmail__sock s = smtpmail__conn_to_sock(conn);
    int n = cap > 65536 ? 65536 : (int)cap;
    SMTPMAIL__UNUSED(user_data);
    for (;;) {
#if defined(_WIN32)
        int r = recv(s, (char *)buf, n, 0);
#else
        ssize_t r = recv(s, buf, (size_t)n, 0);
#endif
        int e;
        if (r >= 0) return (int)r;
        e = smtpmail__sock_errno();
        if (e == SMTPMAIL__EINTR) continue;
        if (SMTPMAIL__WOULDBLOCK(e)) {
            int w = smtpmail__sock_wait(s, 0, timeout_ms);
            if (w == 1) continue;
            return w == 0 ? SMTPMAIL_ERR_TIMEOUT : SMTPMAIL_ERR_NETWORK;
        }
        return SMTPMAIL_ERR_NETWORK;
    }
}

static void smtpmail__tcp_close(void *conn, void *user_data)
{
    SMTPMAIL__UNUSED(user_data);
    smtpmail__closesocket(smtpmail__conn_to_sock(conn));
#if defined(_WIN32)
    WSACleanup();
#endif
}

static const smtpmail_transport smtpmail__tcp = {smtpmail__tcp_connect, smtpmail__tcp_send,
                                                 smtpmail__tcp_recv, smtpmail__tcp_close, NULL};

#endif /* SMTPMAIL_NO_SOCKETS */

/* The transport under the session's deadline: TCP above, or the caller's
   (config.transport). Each wait is bounded by io_ms and by what is left
   of the call. TLS and plaintext alike move their bytes through it. */
typedef struct smtpmail__pipe {
    smtpmail_transport tr;
    void *conn;
    int open;
    int default_tcp;            /* tr is ours: richer errors through tcp_open */
    const smtpmail_hooks *hooks;
    uint64_t deadline;          /* absolute ticks: the end of the current call */
    uint32_t io_ms;             /* longest single wait */
} smtpmail__pipe;

/* How long the next wait may take: the step limit or what is left of the
   call, whichever is less; 0 when the deadline has passed. */
static uint32_t smtpmail__pipe_wait_ms(const smtpmail__pipe *p)
{
    uint64_t now = smtpmail__ticks(p->hooks);
    uint64_t left = p->deadline > now ? p->deadline - now : 0;
    return left < p->io_ms ? (uint32_t)left : p->io_ms;
}

static int smtpmail__pipe_write(smtpmail__pipe *p, const unsigned char *data, size_t len)
{
    while (len > 0) {
        uint32_t ms = smtpmail__pipe_wait_ms(p);
        int n;
        if (ms == 0) return SMTPMAIL_ERR_TIMEOUT;
        n = p->tr.send(p->conn, data, len, ms, p->tr.user_data);
        if (n < 0) return n;
        if (n == 0 || (size_t)n > len) return SMTPMAIL_ERR_NETWORK;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads at least one byte: > 0 bytes, or a negative result. */
static int smtpmail__pipe_read(smtpmail__pipe *p, unsigned char *buf, size_t cap)
{
    uint32_t ms = smtpmail__pipe_wait_ms(p);
    int n;
    if (ms == 0) return SMTPMAIL_ERR_TIMEOUT;
    n = p->tr.recv(p->conn, buf, cap, ms, p->tr.user_data);
    if (n == 0) return SMTPMAIL_ERR_NETWORK; /* the server closed the connection */
    if (n > 0 && (size_t)n > cap) return SMTPMAIL_ERR_NETWORK;
    return n;
}

/* A read that never waits: SMTPMAIL_ERR_TIMEOUT when nothing is there. */
static int smtpmail__pipe_poll(smtpmail__pipe *p, unsigned char *buf, size_t cap)
{
    return p->tr.recv(p->conn, buf, cap, 0, p->tr.user_data);
}

static void smtpmail__pipe_close(smtpmail__pipe *p)
{
    if (p->open) p->tr.close(p->conn, p->tr.user_data);
    p->open = 0;
    p->conn = NULL;
}

#ifndef SMTPMAIL_NO_TLS
/* >>tls-compat ------------------------------------------------------------ */
/* Every difference between mbedTLS 2.28, 3.6 and 4.x lives here. (Before
   >>tls: the definitions come before their use.) */

#if MBEDTLS_VERSION_NUMBER >= 0x03020000 /* 3.2 brought the version enum */
#  define smtpmail__tls_min_12(conf) mbedtls_ssl_conf_min_tls_version((conf), MBEDTLS_SSL_VERSION_TLS1_2)
#else
#  define smtpmail__tls_min_12(conf) \
       mbedtls_ssl_conf_min_version((conf), MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
#endif
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#  define smtpmail__sha256(in, n, out) mbedtls_sha256((in), (n), (out), 0)
#  define SMTPMAIL__PK_CONST const
#else
#  define smtpmail__sha256(in, n, out) mbedtls_sha256_ret((in), (n), (out), 0)
#  define SMTPMAIL__PK_CONST
#endif
#if defined(MBEDTLS_PSA_CRYPTO_C) && MBEDTLS_VERSION_NUMBER >= 0x03000000
#  include <psa/crypto.h>
#  define smtpmail__psa_init() (psa_crypto_init() == PSA_SUCCESS ? 0 : -1)
#else
#  define smtpmail__psa_init() 0
#endif
/* TLS 1.3 tickets arrive as a "result" of mbedtls_ssl_read/write (3.x). */
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#  define SMTPMAIL__TLS_RETRY(r) ((r) == MBEDTLS_ERR_SSL_WANT_READ || (r) == MBEDTLS_ERR_SSL_WANT_WRITE || \
                                 (r) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#else
#  define SMTPMAIL__TLS_RETRY(r) ((r) == MBEDTLS_ERR_SSL_WANT_READ || (r) == MBEDTLS_ERR_SSL_WANT_WRITE)
#endif

/* >>tls ------------------------------------------------------------------- */

/* What a server's certificate is checked against. */
typedef enum smtpmail__trust {
    SMTPMAIL__TRUST_CHAIN = 0,          /* a CA chain (config.ca_*, the system's), and the pin if any */
    SMTPMAIL__TRUST_PIN_ONLY,           /* the pin alone: no bundle, no chain */
    SMTPMAIL__TRUST_INSECURE_NONE       /* config.insecure_skip_verify: nothing */
} smtpmail__trust;

/* mbedTLS over a pipe: the configuration, trust anchors and RNG of a
   session (set up once), and the TLS state of its current connection. */
typedef struct smtpmail__tls {
    smtpmail__pipe *pipe;       /* the transport the records go over */
    int io_result;              /* what the transport said, under TLS */
    int poll_only;              /* the next recv must not wait */
    int ready, on, ssl_inited;  /* set up; handshake done; ssl to free */
    smtpmail__trust trust;
    const char *pins;
    int pin_state;              /* 1 the peer's key matched a pin, -1 it did not */
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_entropy_context *entropy; /* only when the OS gives no random bytes */
    mbedtls_ctr_drbg_context drbg;
} smtpmail__tls;

/* mbedTLS's I/O callbacks: the active transport, with the channel's time
   limits. A transport failure is kept in io_result so that the caller
   reports a timeout as a timeout, not as a TLS error. */
static int smtpmail__bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    smtpmail__tls *t = (smtpmail__tls *)ctx;
    uint32_t ms = smtpmail__pipe_wait_ms(t->pipe);
    int n = ms == 0 ? SMTPMAIL_ERR_TIMEOUT : t->pipe->tr.send(t->pipe->conn, buf, len, ms, t->pipe->tr.user_data);
    if (n > 0 && (size_t)n <= len) return n;
    t->io_result = n < 0 ? n : SMTPMAIL_ERR_NETWORK;
    return n == SMTPMAIL_ERR_TIMEOUT ? MBEDTLS_ERR_SSL_TIMEOUT : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int smtpmail__bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    smtpmail__tls *t = (smtpmail__tls *)ctx;
    int n;
    if (t->poll_only) {
        n = t->pipe->tr.recv(t->pipe->conn, buf, len, 0, t->pipe->tr.user_data);
        if (n == SMTPMAIL_ERR_TIMEOUT) return MBEDTLS_ERR_SSL_WANT_READ; /* nothing yet */
        if (n == 0) n = SMTPMAIL_ERR_NETWORK;
        if (n > 0) return n;
        t->io_result = n;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
    n = smtpmail__pipe_read(t->pipe, buf, len);
    if (n > 0) return n;
    t->io_result = n;
    return n == SMTPMAIL_ERR_TIMEOUT ? MBEDTLS_ERR_SSL_TIMEOUT : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* mbedTLS's error text, or its number when the library has no strings. */
static void smtpmail__tls_strerror(int code, char *buf, size_t cap)
{
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(code, buf, cap);
#else
    snprintf(buf, cap, "mbedTLS error -0x%04X", (unsigned)-code);
#endif
}

/* Why a certificate was refused, in words, from the X.509 verify flags. */
static void smtpmail__verify_reason(uint32_t flags, char *buf, size_t cap)
{
    static const struct {
        uint32_t flag;
        const char *text;
    } reasons[] = {
        {MBEDTLS_X509_BADCERT_EXPIRED, "the certificate has expired"},
        {MBEDTLS_X509_BADCERT_FUTURE, "the certificate is not valid yet"},
        {MBEDTLS_X509_BADCERT_CN_MISMATCH, "the certificate is for another host name"},
        {MBEDTLS_X509_BADCERT_NOT_TRUSTED,
         "the certificate is not signed by a trusted CA (self-signed or unknown issuer)"},
        {MBEDTLS_X509_BADCERT_REVOKED, "the certificate was revoked"},
        {MBEDTLS_X509_BADCERT_MISSING, "the server sent no certificate"},
        {MBEDTLS_X509_BADCERT_SKIP_VERIFY, "verification was skipped"},
        {MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
             MBEDTLS_X509_BADCERT_NS_CERT_TYPE,
         "the certificate is not for TLS servers"},
        {MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY,
         "the certificate uses a weak or unsupported algorithm"},
        {MBEDTLS_X509_BADCERT_OTHER, "the certificate was refused"},
    };
    size_t i, n = 0;
    buf[0] = '\0';
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (!(flags & reasons[i].flag)) continue;
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "; " : "",
                              reasons[i].text);
        if (n >= cap) break;
    }
    if (!buf[0]) snprintf(buf, cap, "the certificate was refused (flags 0x%lx)", (unsigned long)flags);
}

#if defined(_WIN32)
/* Windows keeps its roots in the system store, not in a PEM file. */
static int smtpmail__load_windows_roots(mbedtls_x509_crt *ca)
{
    HCERTSTORE store = CertOpenSystemStoreA(0, "ROOT");
    PCCERT_CONTEXT c = NULL;
    int loaded = 0;
    if (!store) return 0;
    while ((c = CertEnumCertificatesInStore(store, c)) != NULL)
        if (c->dwCertEncodingType == X509_ASN_ENCODING &&
            mbedtls_x509_crt_parse_der(ca, c->pbCertEncoded, c->cbCertEncoded) == 0)
            loaded++;
    CertCloseStore(store, 0);
    return loaded;
}
#endif

/* The system's trust anchors: $SSL_CERT_FILE, the usual bundle files of
   Linux distributions and BSDs, then $SSL_CERT_DIR or /etc/ssl/certs; on
   Windows $SSL_CERT_FILE, the ROOT store, then $SSL_CERT_DIR, and never the
   Unix paths: there "/etc/ssl/cert.pem" is C:\etc\ssl\cert.pem, in a folder
   any user may create. Returns the file or place used, NULL if none.
   An mbedTLS without MBEDTLS_FS_IO (most embedded configurations) reads no
   files: there is no system store, config.ca_pem or a pin is the trust. */
static const char *smtpmail__load_system_roots(mbedtls_x509_crt *ca)
{
#if !defined(MBEDTLS_FS_IO)
    SMTPMAIL__UNUSED(ca);
    return NULL;
#else
#  if !defined(_WIN32)
    static const char *const bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Arch, Alpine */
        "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL */
        "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
        "/etc/ssl/cert.pem",                                 /* macOS, FreeBSD, Alpine */
        "/usr/local/share/certs/ca-root-nss.crt",            /* FreeBSD ports */
    };
    size_t i;
#  endif
    const char *env = getenv("SSL_CERT_FILE");
    if (env && env[0] && mbedtls_x509_crt_parse_file(ca, env) >= 0 && ca->version != 0) return env;
#  if defined(_WIN32)
    if (smtpmail__load_windows_roots(ca) > 0) return "the Windows ROOT store";
#  else
    for (i = 0; i < sizeof bundles / sizeof bundles[0]; i++)
        if (mbedtls_x509_crt_parse_file(ca, bundles[i]) >= 0 && ca->version != 0) return bundles[i];
#  endif
    env = getenv("SSL_CERT_DIR");
    if (env && env[0] && mbedtls_x509_crt_parse_path(ca, env) >= 0 && ca->version != 0) return env;
#  if !defined(_WIN32)
    if (mbedtls_x509_crt_parse_path(ca, "/etc/ssl/certs") >= 0 && ca->version != 0)
        return "/etc/ssl/certs";
#  endif
    return NULL;
#endif
}

/* Does this certificate's public key (SHA-256 of its DER
   SubjectPublicKeyInfo, as curl's --pinnedpubkey) match one of
   "sha256//B64;sha256//B64"? */
static int smtpmail__pin_match(const char *pins, mbedtls_x509_crt *crt)
{
    unsigned char der[2600], hash[32];
    char b64[48];
    const char *p = pins;
    int n = mbedtls_pk_write_pubkey_der(&crt->pk, der, sizeof der); /* at the end of der */
    if (n <= 0 || smtpmail__sha256(der + sizeof der - (size_t)n, (size_t)n, hash) != 0) return 0;
    smtpmail__b64_block(hash, sizeof hash, b64);
    b64[44] = '\0';
    while (*p) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && *p == ' ') p++, len--;
        if (len == 8 + 44 && memcmp(p, "sha256//", 8) == 0 && memcmp(p + 8, b64, 44) == 0) return 1;
        p += len;
        if (*p == ';') p++;
    }
    return 0;
}

/* mbedTLS calls this for each certificate of the chain. The pin is judged
   on the server's own certificate (depth 0), during the handshake, so no
   copy of the peer certificate needs to be kept after it
   (MBEDTLS_SSL_KEEP_PEER_CERTIFICATE may be off). In pin-only mode a match
   is the trust; otherwise a mismatch fails the chain. */
static int smtpmail__verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    smtpmail__tls *t = (smtpmail__tls *)ctx;
    if (depth != 0 || !t->pins) return 0;
    t->pin_state = smtpmail__pin_match(t->pins, crt) ? 1 : -1;
    if (t->pin_state < 0) *flags |= MBEDTLS_X509_BADCERT_OTHER;
    return 0;
}

/* The DRBG's entropy: the OS (RtlGenRandom, /dev/urandom), else mbedTLS's
   own collector (getrandom, a board's hardware source), allocated only
   then: in Debian's 2.28 it carries a 37 KB HAVEGE state. Never the random
   hook nor the weak fallback of smtpmail__random. */
static int smtpmail__tls_entropy(void *ctx, unsigned char *buf, size_t len)
{
    smtpmail__tls *t = (smtpmail__tls *)ctx;
    if (smtpmail__os_random(buf, len) == 0) return 0;
    if (!t->entropy) {
        t->entropy = (mbedtls_entropy_context *)smtpmail__alloc(t->pipe->hooks, sizeof *t->entropy);
        if (!t->entropy) return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
        mbedtls_entropy_init(t->entropy);
    }
    return mbedtls_entropy_func(t->entropy, buf, len);
}

/* The trust anchors the config names (config.ca_file, ca_dir, ca_pem),
   else the pin alone, else the system's; or nothing when INSECURE. */
static smtpmail_result smtpmail__tls_trust(smtpmail__tls *t, const smtpmail_config *cfg, smtpmail_error *err)
{
    int r = 0;
    t->pins = cfg->pin_sha256 && cfg->pin_sha256[0] ? cfg->pin_sha256 : NULL;
    if (cfg->insecure_skip_verify) {
        t->trust = SMTPMAIL__TRUST_INSECURE_NONE;
    } else if (cfg->ca_file || cfg->ca_dir || cfg->ca_pem) {
#if !defined(MBEDTLS_FS_IO)
        if (cfg->ca_file || cfg->ca_dir) {
            const char *f = cfg->ca_file ? "config.ca_file" : "config.ca_dir";
            smtpmail__fail_stage(err, SMTPMAIL_ERR_TRUST, SMTPMAIL_STAGE_TLS,
                            "%s: this mbedTLS reads no files (no MBEDTLS_FS_IO): use config.ca_pem", f);
            if (err) smtpmail__copy(err->field, sizeof err->field, f);
            return SMTPMAIL_ERR_TRUST;
        }
#else
        if (cfg->ca_file && ((r = mbedtls_x509_crt_parse_file(&t->ca, cfg->ca_file)) < 0 ||
                             t->ca.version == 0)) {
            char text[160];
            smtpmail__tls_strerror(r, text, sizeof text);
            smtpmail__fail_stage(err, SMTPMAIL_ERR_TRUST, SMTPMAIL_STAGE_TLS,
                            "config.ca_file \"%.100s\": no certificate loaded (%s)", cfg->ca_file, text);
            if (err) smtpmail__copy(err->field, sizeof err->field, "config.ca_file");
            return SMTPMAIL_ERR_TRUST;
        }
        if (cfg->ca_dir && mbedtls_x509_crt_parse_path(&t->ca, cfg->ca_dir) < 0) {
            smtpmail__fail_stage(err, SMTPMAIL_ERR_TRUST, SMTPMAIL_STAGE_TLS,
                            "config.ca_dir \"%.100s\": no certificate loaded", cfg->ca_dir);
            return SMTPMAIL_ERR_TRUST;
        }
#endif
        if (cfg->ca_pem) {
            /* mbedtls_x509_crt_parse wants PEM with its NUL counted. */
            size_t n = cfg->ca_pem_len ? cfg->ca_pem_len : strlen(cfg->ca_pem);
            unsigned char *pem = (unsigned char *)smtpmail__alloc(t->pipe->hooks, n + 1);
            if (!pem)
                return smtpmail__fail_stage(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_TLS, "out of memory");
            memcpy(pem, cfg->ca_pem, n);
            pem[n] = '\0';
            r = mbedtls_x509_crt_parse(&t->ca, pem, n + 1);
            smtpmail__free(t->pipe->hooks, pem);
            if (r < 0 || t->ca.version == 0) {
                smtpmail__fail_stage(err, SMTPMAIL_ERR_TRUST, SMTPMAIL_STAGE_TLS,
                                "config.ca_pem: no certificate loaded");
                return SMTPMAIL_ERR_TRUST;
            }
        }
        t->trust = SMTPMAIL__TRUST_CHAIN;
    } else if (t->pins) {
        t->trust = SMTPMAIL__TRUST_PIN_ONLY;
    } else {
        if (!smtpmail__load_system_roots(&t->ca))
            return smtpmail__fail_stage(err, SMTPMAIL_ERR_TRUST, SMTPMAIL_STAGE_TLS,
                                   "no system CA bundle found: set config.ca_file (or "
                                   "SSL_CERT_FILE), or pin the server's key");
        t->trust = SMTPMAIL__TRUST_CHAIN;
    }
    return SMTPMAIL_OK;
}

/* Loads the RNG and the trust anchors once per session; every connection
   of the session shares them. */
static smtpmail_result smtpmail__tls_setup(smtpmail__tls *t, const smtpmail_config *cfg,
                                           smtpmail_error *err)
{
    static const char pers[] = "smtpmail.h";
    unsigned char seed[32];
    char text[160];
    int r;
    if (t->ready) return SMTPMAIL_OK;
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_ctr_drbg_init(&t->drbg);
    t->ready = 1;
    if (smtpmail__psa_init() != 0)
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_TLS, SMTPMAIL_STAGE_TLS, "psa_crypto_init failed");
    /* The OS entropy source, personalised with the random hook's bytes. */
    smtpmail__random(t->pipe->hooks, seed, sizeof seed);
    memcpy(seed, pers, sizeof pers - 1);
    r = mbedtls_ctr_drbg_seed(&t->drbg, smtpmail__tls_entropy, t, seed, sizeof seed);
    smtpmail__wipe(seed, sizeof seed);
    if (r == 0)
        r = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT);
    if (r != 0) {
        smtpmail__tls_strerror(r, text, sizeof text);
        smtpmail__fail_stage(err, SMTPMAIL_ERR_TLS, SMTPMAIL_STAGE_TLS, "TLS setup failed: %s", text);
        if (err) err->tls_error = r;
        return SMTPMAIL_ERR_TLS;
    }
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    smtpmail__tls_min_12(&t->conf); /* no SSL 3, TLS 1.0 or 1.1 */

    if ((r = smtpmail__tls_trust(t, cfg, err)) != SMTPMAIL_OK) return (smtpmail_result)r;
    if (t->trust == SMTPMAIL__TRUST_CHAIN) {
        mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else {
        /* Pin only (checked after the handshake), or INSECURE: the
           handshake does not fail on the chain. */
        mbedtls_ssl_conf_authmode(&t->conf, t->pins ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_NONE);
    }
    if (t->pins) mbedtls_ssl_conf_verify(&t->conf, smtpmail__verify_cb, t);
    return SMTPMAIL_OK;
}

/* The TLS handshake on the open transport: SNI and the host name check
   (mbedtls_ssl_set_hostname), then the pin. */
static smtpmail_result smtpmail__tls_start(smtpmail__tls *t, const char *host, uint32_t limit_ms,
                                           smtpmail_error *err)
{
    char text[200];
    uint32_t saved = t->pipe->io_ms;
    int r;
    mbedtls_ssl_init(&t->ssl);
    t->ssl_inited = 1;
    if ((r = mbedtls_ssl_setup(&t->ssl, &t->conf)) != 0 ||
        (r = mbedtls_ssl_set_hostname(&t->ssl, host)) != 0) {
        smtpmail__tls_strerror(r, text, sizeof text);
        smtpmail__fail_stage(err, SMTPMAIL_ERR_TLS, SMTPMAIL_STAGE_TLS, "TLS setup failed: %s", text);
        if (err) err->tls_error = r;
        return SMTPMAIL_ERR_TLS;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, smtpmail__bio_send, smtpmail__bio_recv, NULL);
    t->io_result = 0;
    t->pin_state = 0;
    t->pipe->io_ms = limit_ms < saved ? limit_ms : saved;
    do r = mbedtls_ssl_handshake(&t->ssl);
    while (SMTPMAIL__TLS_RETRY(r));
    t->pipe->io_ms = saved;
    if (r != 0) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
        if (t->io_result != 0) {
            smtpmail__fail_stage(err, (smtpmail_result)t->io_result, SMTPMAIL_STAGE_TLS, "%s during the TLS handshake",
                            t->io_result == SMTPMAIL_ERR_TIMEOUT ? "timed out" : "connection lost");
            return (smtpmail_result)t->io_result;
        }
        if (t->pin_state < 0) {
            smtpmail__fail_stage(err, SMTPMAIL_ERR_CERTIFICATE, SMTPMAIL_STAGE_TLS,
                            "the server's public key does not match config.pin_sha256 (server %s)", host);
            if (err) err->verify_flags = flags, err->tls_error = r;
            return SMTPMAIL_ERR_CERTIFICATE;
        }
        if (t->trust == SMTPMAIL__TRUST_CHAIN && flags != 0 && flags != (uint32_t)-1) {
            smtpmail__verify_reason(flags, text, sizeof text);
            smtpmail__fail_stage(err, SMTPMAIL_ERR_CERTIFICATE, SMTPMAIL_STAGE_TLS, "%s (server %s)", text, host);
            if (err) err->verify_flags = flags, err->tls_error = r;
            return SMTPMAIL_ERR_CERTIFICATE;
        }
        smtpmail__tls_strerror(r, text, sizeof text);
        smtpmail__fail_stage(err, SMTPMAIL_ERR_TLS, SMTPMAIL_STAGE_TLS, "handshake failed: %s", text);
        if (err) err->tls_error = r;
        return SMTPMAIL_ERR_TLS;
    }
    if (t->pins && t->pin_state != 1) {
        smtpmail__fail_stage(err, SMTPMAIL_ERR_CERTIFICATE, SMTPMAIL_STAGE_TLS,
                        "the server's public key does not match config.pin_sha256 (server %s)", host);
        return SMTPMAIL_ERR_CERTIFICATE;
    }
    t->on = 1;
    return SMTPMAIL_OK;
}

/* Ends TLS on this connection (close_notify, best effort) and frees the
   per-connection state; the session's config stays for the next one. */
static void smtpmail__tls_stop(smtpmail__tls *t)
{
    if (t->on) {
        uint32_t saved = t->pipe->io_ms;
        t->pipe->io_ms = saved < 1000 ? saved : 1000;
        (void)mbedtls_ssl_close_notify(&t->ssl);
        t->pipe->io_ms = saved;
    }
    if (t->ssl_inited) mbedtls_ssl_free(&t->ssl);
    t->ssl_inited = t->on = 0;
}

static void smtpmail__tls_free(smtpmail__tls *t)
{
    smtpmail__tls_stop(t);
    if (!t->ready) return;
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_ctr_drbg_free(&t->drbg);
    if (t->entropy) mbedtls_entropy_free(t->entropy);
    smtpmail__free(t->pipe->hooks, t->entropy);
    t->entropy = NULL;
    t->ready = 0;
}
/* Reads at least one byte of a record: > 0, or a negative result. */
static int smtpmail__tls_read(smtpmail__tls *t, unsigned char *buf, size_t cap)
{
    int r;
    t->io_result = 0;
    do r = mbedtls_ssl_read(&t->ssl, buf, cap);
    while (SMTPMAIL__TLS_RETRY(r));
    if (r > 0) return r;
    if (t->io_result != 0) return t->io_result;
    return r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? SMTPMAIL_ERR_NETWORK : SMTPMAIL_ERR_TLS;
}

static int smtpmail__tls_write(smtpmail__tls *t, const unsigned char *p, size_t len)
{
    t->io_result = 0;
    while (len > 0) {
        int r = mbedtls_ssl_write(&t->ssl, p, len);
        if (SMTPMAIL__TLS_RETRY(r)) continue;
        if (r <= 0) return t->io_result != 0 ? t->io_result : SMTPMAIL_ERR_TLS;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* A read that never waits: 1 when a record or the peer's close was there. */
static int smtpmail__tls_poll(smtpmail__tls *t, unsigned char *buf, size_t cap)
{
    int n;
    t->poll_only = 1;
    do n = mbedtls_ssl_read(&t->ssl, buf, cap);
    while (n != MBEDTLS_ERR_SSL_WANT_READ && n != MBEDTLS_ERR_SSL_WANT_WRITE && SMTPMAIL__TLS_RETRY(n));
    t->poll_only = 0;
    return n != MBEDTLS_ERR_SSL_WANT_READ;
}
#endif /* SMTPMAIL_NO_TLS */

/* >>channel --------------------------------------------------------------- */

/* The secure channel: the pipe, and TLS on top of it once it is on. The
   SMTP engine reads and writes through it without knowing which. */
typedef struct smtpmail__chan {
    smtpmail__pipe pipe;
#ifndef SMTPMAIL_NO_TLS
    smtpmail__tls tls;
#endif
} smtpmail__chan;

/* Reads at least one byte: > 0 bytes, or a negative result. */
static int smtpmail__chan_read(smtpmail__chan *ch, unsigned char *buf, size_t cap)
{
#ifndef SMTPMAIL_NO_TLS
    if (ch->tls.on) return smtpmail__tls_read(&ch->tls, buf, cap);
#endif
    return smtpmail__pipe_read(&ch->pipe, buf, cap);
}

static int smtpmail__chan_write(smtpmail__chan *ch, const void *data, size_t len)
{
#ifndef SMTPMAIL_NO_TLS
    if (ch->tls.on) return smtpmail__tls_write(&ch->tls, (const unsigned char *)data, len);
#endif
    return smtpmail__pipe_write(&ch->pipe, (const unsigned char *)data, len);
}

/* Before a connection is reused: has the server closed it, or spoken
   (a 421 before hanging up) while we were idle? A poll that never waits:
   1 when the link is not fit for a new transaction. */
static int smtpmail__chan_dead(smtpmail__chan *ch, unsigned char *buf, size_t cap)
{
#ifndef SMTPMAIL_NO_TLS
    if (ch->tls.on) return smtpmail__tls_poll(&ch->tls, buf, cap);
#endif
    return smtpmail__pipe_poll(&ch->pipe, buf, cap) != SMTPMAIL_ERR_TIMEOUT;
}

/* Closes TLS and the transport. */
static void smtpmail__chan_close(smtpmail__chan *ch)
{
#ifndef SMTPMAIL_NO_TLS
    smtpmail__tls_stop(&ch->tls);
#endif
    smtpmail__pipe_close(&ch->pipe);
}

/* >>smtp ------------------------------------------------------------------ */

enum {
    SMTPMAIL__CAP_PIPELINING = 1, /* RFC 2920 */
    SMTPMAIL__CAP_CHUNKING = 2,   /* RFC 3030 */
    SMTPMAIL__CAP_STARTTLS = 4,   /* RFC 3207 */
    SMTPMAIL__CAP_SIZE = 8,       /* RFC 1870 */
    SMTPMAIL__CAP_8BITMIME = 16,  /* RFC 6152: not needed, the builder writes 7-bit */
    SMTPMAIL__CAP_SMTPUTF8 = 32,  /* RFC 6531: not needed, addresses are ASCII */
    SMTPMAIL__CAP_ENHANCED = 64,  /* RFC 2034 */
    SMTPMAIL__CAP_AUTH = 128      /* RFC 4954 */
};
enum { SMTPMAIL__MECH_PLAIN = 1, SMTPMAIL__MECH_LOGIN = 2, SMTPMAIL__MECH_XOAUTH2 = 4 };

/* One server reply: the code, the RFC 3463 status and the first line. */
typedef struct smtpmail__reply {
    int code;
    char enhanced[16];
    char text[256];
} smtpmail__reply;

/* The state of a session's connection. */
typedef enum smtpmail__link {
    SMTPMAIL__LINK_DOWN = 0,    /* none, or not ready yet (connecting, greeting,
                                   AUTH): connect before a transaction */
    SMTPMAIL__LINK_READY,       /* secured, logged in, between transactions */
    SMTPMAIL__LINK_LOST         /* failed, spoke garbage, or is closing (421): not
                                   another byte on it, not even QUIT */
} smtpmail__link;

/* Room after a rendered message for "." and QUIT. */
#define SMTPMAIL__TAILROOM 16

struct smtpmail_session {
    smtpmail_config cfg;        /* the caller's, strings borrowed */
    smtpmail__chan ch;
    smtpmail__settings set;     /* where and as whom */
    unsigned caps, mechs;
    unsigned long size_max;
    smtpmail__link link;
    unsigned long replies;      /* complete replies read on this connection */
    int data_sent;              /* bytes of this transaction's message went out */
    int fresh;                  /* connected during the current call */
    int quit_sent;
    size_t in_pos, in_len;
    size_t cmd_len;
    int cmd_result;             /* the first failure of a queued write since the
                                   last smtpmail__cmd_flush, which reports it */
    size_t rnd_pos;             /* random bytes for messages: 8 at a time */
    unsigned char rnd[28 * 8];  /* from the OS, not one open per message */
    unsigned char in[SMTPMAIL_RECV_BUFFER];
    /* The command queue (SMTPMAIL__CMDS), then a whole message that fits
       (SMTPMAIL__MSG) or stream chunks: one array, so that a batch's
       commands move up against its message and leave in one write. */
    unsigned char io[SMTPMAIL_CMD_BUFFER + SMTPMAIL_SEND_BUFFER + SMTPMAIL__TAILROOM];
};
#define SMTPMAIL__CMDS(s) ((char *)(s)->io)
#define SMTPMAIL__MSG(s) ((s)->io + SMTPMAIL_CMD_BUFFER)

/* One line of transcript to the log hook, control bytes made visible. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void smtpmail__log(const smtpmail_session *s, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    size_t i;
    const smtpmail_hooks *h = s->cfg.hooks;
    if (!h || !h->log) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (i = 0; line[i]; i++)
        if ((unsigned char)line[i] < 32 || (unsigned char)line[i] == 127) line[i] = '?';
    h->log(line, h->user_data);
}

/* An I/O failure at a stage: the connection is not usable any more. */
static smtpmail_result smtpmail__io_fail(smtpmail_session *s, smtpmail_error *err, smtpmail_stage stage,
                                         int r)
{
    s->link = SMTPMAIL__LINK_LOST;
    if (r == SMTPMAIL_ERR_INTERNAL)
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_INTERNAL, stage,
                                    "internal error: a command over SMTPMAIL_CMD_BUFFER (please report)");
    if (r == SMTPMAIL_ERR_TIMEOUT)
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_TIMEOUT, stage, "timed out waiting for %s", s->set.host);
    if (r == SMTPMAIL_ERR_PROTOCOL)
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_PROTOCOL, stage,
                               "reply line longer than %d bytes: not an SMTP server?",
                               SMTPMAIL_RECV_BUFFER - 1);
    if (r == SMTPMAIL_ERR_TLS)
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_TLS, stage, "TLS record error from %s", s->set.host);
    return smtpmail__fail_stage(err, r < 0 ? (smtpmail_result)r : SMTPMAIL_ERR_NETWORK, stage,
                           "connection to %s lost", s->set.host);
}

/* A reply that is not the one wanted: 4xx temporary, 5xx permanent; at
   AUTH, refused credentials are their own result. `who` names the
   recipient for RCPT. */
static smtpmail_result smtpmail__reply_fail(smtpmail_error *err, smtpmail_stage stage,
                                            const smtpmail__reply *rep, const char *who)
{
    smtpmail_result r = SMTPMAIL_ERR_PROTOCOL;
    if (rep->code >= 400 && rep->code < 500) r = SMTPMAIL_ERR_TEMPORARY;
    else if (rep->code >= 500 && rep->code < 600) r = SMTPMAIL_ERR_PERMANENT;
    if (stage == SMTPMAIL_STAGE_AUTH && r == SMTPMAIL_ERR_PERMANENT)
        r = (rep->code == 504 || rep->code == 502) ? SMTPMAIL_ERR_AUTH_UNSUPPORTED : SMTPMAIL_ERR_AUTH;
    smtpmail__fail_stage(err, r, stage, "%s%s%d%s%s %s", who ? who : "", who ? ": " : "", rep->code,
                    rep->enhanced[0] ? " " : "", rep->enhanced, rep->text);
    if (err) {
        err->reply_code = rep->code;
        smtpmail__copy(err->enhanced, sizeof err->enhanced, rep->enhanced);
        smtpmail__copy(err->server_text, sizeof err->server_text, rep->text);
    }
    return r;
}

/* Writes the queued commands; 0, or the first failure since the last
   flush (a queued command's too). The queue is wiped after every write,
   since AUTH lines pass through it. */
static int smtpmail__cmd_flush(smtpmail_session *s)
{
    int r = s->cmd_result;
    if (r == 0 && s->cmd_len) r = smtpmail__chan_write(&s->ch, s->io, s->cmd_len);
    smtpmail__wipe(s->io, s->cmd_len);
    s->cmd_len = 0;
    s->cmd_result = 0;
    if (r < 0) s->link = SMTPMAIL__LINK_LOST;
    return r;
}

/* Queues one command line (CRLF added), writing the queue out first when
   the line does not fit. It cannot fail by itself: a failure is kept in
   cmd_result for the next smtpmail__cmd_flush, which every caller makes
   before it waits for a reply. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void smtpmail__cmd(smtpmail_session *s, const char *fmt, ...)
{
    va_list ap;
    int n = -1;
    char *q = SMTPMAIL__CMDS(s);
    size_t room = SMTPMAIL_CMD_BUFFER - s->cmd_len;
    if (s->cmd_result != 0) return;
    va_start(ap, fmt);
    n = vsnprintf(q + s->cmd_len, room, fmt, ap);
    va_end(ap);
    if ((n < 0 || (size_t)n + 2 >= room) && s->cmd_len > 0) {
        int r = smtpmail__chan_write(&s->ch, q, s->cmd_len);
        smtpmail__wipe(q, s->cmd_len);
        s->cmd_len = 0;
        if (r < 0) {
            s->cmd_result = r;
            return;
        }
        room = SMTPMAIL_CMD_BUFFER;
        va_start(ap, fmt);
        n = vsnprintf(q, room, fmt, ap);
        va_end(ap);
    }
    if (n < 0 || (size_t)n + 2 >= room) {
        s->cmd_result = SMTPMAIL_ERR_INTERNAL; /* one command longer than the buffer */
        return;
    }
    smtpmail__log(s, "C: %s", q + s->cmd_len);
    s->cmd_len += (size_t)n;
    q[s->cmd_len++] = '\r';
    q[s->cmd_len++] = '\n';
}

/* Reads one line of a reply into *line (without CRLF; valid until the next
   read). A line that does not fit the buffer is a protocol error: the
   memory a server can make us use is bounded. */
static int smtpmail__read_line(smtpmail_session *s, char **line, size_t *len)
{
    for (;;) {
        unsigned char *p = s->in + s->in_pos;
        unsigned char *nl = (unsigned char *)memchr(p, '\n', s->in_len - s->in_pos);
        int n;
        if (nl) {
            *line = (char *)p;
            *len = (size_t)(nl - p);
            if (*len > 0 && p[*len - 1] == '\r') (*len)--;
            p[*len] = '\0';
            s->in_pos = (size_t)(nl - s->in) + 1;
            return 0;
        }
        if (s->in_pos > 0) {
            memmove(s->in, p, s->in_len - s->in_pos);
            s->in_len -= s->in_pos;
            s->in_pos = 0;
        }
        if (s->in_len >= sizeof s->in - 1) return SMTPMAIL_ERR_PROTOCOL;
        n = smtpmail__chan_read(&s->ch, s->in + s->in_len, sizeof s->in - 1 - s->in_len);
        if (n < 0) return n;
        s->in_len += (size_t)n;
    }
}

/* The EHLO keywords we use (RFC 5321 4.1.1.1; AUTH= is an old form). */
static void smtpmail__parse_ehlo_line(smtpmail_session *s, const char *t)
{
    if (smtpmail__ieq(t, "PIPELINING")) s->caps |= SMTPMAIL__CAP_PIPELINING;
    else if (smtpmail__ieq(t, "CHUNKING")) s->caps |= SMTPMAIL__CAP_CHUNKING;
    else if (smtpmail__ieq(t, "STARTTLS")) s->caps |= SMTPMAIL__CAP_STARTTLS;
    else if (smtpmail__ieq(t, "8BITMIME")) s->caps |= SMTPMAIL__CAP_8BITMIME;
    else if (smtpmail__ieq(t, "SMTPUTF8")) s->caps |= SMTPMAIL__CAP_SMTPUTF8;
    else if (smtpmail__ieq(t, "ENHANCEDSTATUSCODES")) s->caps |= SMTPMAIL__CAP_ENHANCED;
    else if (smtpmail__istarts(t, "SIZE") && (t[4] == '\0' || t[4] == ' ')) {
        s->caps |= SMTPMAIL__CAP_SIZE;
        s->size_max = strtoul(t + 4, NULL, 10);
    } else if (smtpmail__istarts(t, "AUTH") && (t[4] == ' ' || t[4] == '=')) {
        const char *p = t + 5;
        s->caps |= SMTPMAIL__CAP_AUTH;
        while (*p) {
            size_t n = 0;
            char mech[16];
            while (*p == ' ') p++;
            while (p[n] && p[n] != ' ') n++;
            if (n > 0 && n < sizeof mech) {
                memcpy(mech, p, n);
                mech[n] = '\0';
                if (smtpmail__ieq(mech, "PLAIN")) s->mechs |= SMTPMAIL__MECH_PLAIN;
                else if (smtpmail__ieq(mech, "LOGIN")) s->mechs |= SMTPMAIL__MECH_LOGIN;
                else if (smtpmail__ieq(mech, "XOAUTH2")) s->mechs |= SMTPMAIL__MECH_XOAUTH2;
            }
            p += n;
        }
    }
}

/* A server that echoes what it was sent at AUTH must not get the
   credentials into the log or an error: the password, the token, and any
   base64 run of 16 or more characters with a digit, '+', '/' or '=' in it
   (how AUTH sends them; ordinary words stay readable) are masked in place. */
static void smtpmail__mask(char *line, size_t len, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0, i;
    char *p;
    if (n < 4) return;
    while ((p = strstr(line, secret)) != NULL)
        for (i = 0; i < n; i++) p[i] = '*';
    (void)len;
}

static void smtpmail__scrub(smtpmail_session *s, char *line, size_t len)
{
    size_t i = 0, j;
    smtpmail__mask(line, len, s->set.pass);
    smtpmail__mask(line, len, s->cfg.oauth2_token);
    while (i < len) {
        int coded = 0;
        for (j = i; j < len && (smtpmail__b64_value((unsigned char)line[j]) >= 0 || line[j] == '='); j++)
            if ((line[j] >= '0' && line[j] <= '9') || line[j] == '+' || line[j] == '/' || line[j] == '=')
                coded = 1;
        if (j - i >= 16 && coded) memset(line + i, '*', j - i);
        i = j + 1;
    }
}

/* Reads a whole reply (RFC 5321 4.2): "ddd-text" lines then "ddd text".
   Garbage, mixed codes, an over-long line or an endless reply are protocol
   errors. With `ehlo`, each line after the first is a capability. */
static smtpmail_result smtpmail__read_reply(smtpmail_session *s, smtpmail_error *err,
                                            smtpmail_stage stage, smtpmail__reply *rep, int ehlo)
{
    int lines;
    memset(rep, 0, sizeof *rep);
    for (lines = 0;; lines++) {
        char *line, *text;
        size_t len, i;
        int code, r = smtpmail__read_line(s, &line, &len);
        if (r < 0) return smtpmail__io_fail(s, err, stage, r);
        if (stage == SMTPMAIL_STAGE_AUTH) smtpmail__scrub(s, line, len);
        smtpmail__log(s, "S: %s", line);
        if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
            line[2] < '0' || line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-')) {
            s->link = SMTPMAIL__LINK_LOST;
            for (i = 0; i < len && i < 60; i++)
                if ((unsigned char)line[i] < 32 || (unsigned char)line[i] > 126) line[i] = '?';
            if (len > 60) line[60] = '\0';
            return smtpmail__fail_stage(err, SMTPMAIL_ERR_PROTOCOL, stage, "not an SMTP reply: \"%s\"", line);
        }
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        text = len > 4 ? line + 4 : line + len;
        if (lines == 0) {
            const char *e = text;
            size_t n = 0;
            rep->code = code;
            /* RFC 3463 class.subject.detail, then a space. */
            if ((*e == '2' || *e == '4' || *e == '5') && e[1] == '.') {
                n = 2;
                while (e[n] >= '0' && e[n] <= '9') n++;
                if (e[n] == '.' && n > 2) {
                    size_t m = n + 1;
                    while (e[m] >= '0' && e[m] <= '9') m++;
                    if (m > n + 1 && (e[m] == ' ' || e[m] == '\0') && m < sizeof rep->enhanced) {
                        memcpy(rep->enhanced, e, m);
                        rep->enhanced[m] = '\0';
                        text += m + (e[m] == ' ');
                    }
                }
            }
            for (i = 0; text[i] && i < sizeof rep->text - 1; i++)
                rep->text[i] = ((unsigned char)text[i] < 32 || (unsigned char)text[i] > 126) ? '?' : text[i];
            rep->text[i] = '\0';
        } else {
            if (code != rep->code) {
                s->link = SMTPMAIL__LINK_LOST;
                return smtpmail__fail_stage(err, SMTPMAIL_ERR_PROTOCOL, stage,
                                       "reply lines with different codes (%d, %d)", rep->code, code);
            }
            if (ehlo) smtpmail__parse_ehlo_line(s, text);
        }
        if (len == 3 || line[3] == ' ') {
            s->replies++;
            if (rep->code == 421) s->link = SMTPMAIL__LINK_LOST; /* the server is closing */
            return SMTPMAIL_OK;
        }
        if (lines >= 100) {
            s->link = SMTPMAIL__LINK_LOST;
            return smtpmail__fail_stage(err, SMTPMAIL_ERR_PROTOCOL, stage, "reply of more than 100 lines");
        }
    }
}

/* Sends what is queued and reads the reply; SMTPMAIL_OK when its code is
   in [lo, hi]. */
static smtpmail_result smtpmail__exchange(smtpmail_session *s, smtpmail_error *err, smtpmail_stage stage,
                                          smtpmail__reply *rep, int lo, int hi)
{
    smtpmail_result r;
    int w = smtpmail__cmd_flush(s);
    if (w < 0) return smtpmail__io_fail(s, err, stage, w);
    if ((r = smtpmail__read_reply(s, err, stage, rep, stage == SMTPMAIL_STAGE_EHLO)) != 0) return r;
    if (rep->code < lo || rep->code > hi) return smtpmail__reply_fail(err, stage, rep, NULL);
    return SMTPMAIL_OK;
}

static smtpmail_result smtpmail__ehlo(smtpmail_session *s, smtpmail_error *err)
{
    smtpmail__reply rep;
    smtpmail_result r;
    s->caps = s->mechs = 0;
    s->size_max = 0;
    smtpmail_error first;
    smtpmail__cmd(s, "EHLO %s", s->set.helo);
    r = smtpmail__exchange(s, &first, SMTPMAIL_STAGE_EHLO, &rep, 250, 259);
    if (r == SMTPMAIL_ERR_PERMANENT && (rep.code == 500 || rep.code == 502)) {
        /* RFC 5321 3.2: an old server without EHLO. It offers nothing, so
           this only gets far with SMTPMAIL_TLS_INSECURE_NONE and no AUTH. */
        smtpmail__cmd(s, "HELO %s", s->set.helo);
        return smtpmail__exchange(s, err, SMTPMAIL_STAGE_EHLO, &rep, 250, 259);
    }
    if (r != SMTPMAIL_OK && err) *err = first;
    return r;
}

/* Writes prefix + base64(parts) as one line whose secret part never
   reaches the log, then wipes every copy. */
static smtpmail_result smtpmail__send_secret(smtpmail_session *s, smtpmail_error *err, const char *prefix,
                                             const char *const *parts, const size_t *lens, size_t n)
{
    size_t raw_len = 0, i, plen = strlen(prefix), b64_len;
    unsigned char *raw;
    char *line;
    int w;
    for (i = 0; i < n; i++) raw_len += lens[i];
    b64_len = (raw_len + 2) / 3 * 4;
    raw = (unsigned char *)smtpmail__alloc(s->cfg.hooks, raw_len + plen + b64_len + 3);
    if (!raw) return smtpmail__fail_stage(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_AUTH, "out of memory");
    line = (char *)raw + raw_len;
    for (raw_len = 0, i = 0; i < n; i++) {
        memcpy(raw + raw_len, parts[i], lens[i]);
        raw_len += lens[i];
    }
    memcpy(line, prefix, plen);
    smtpmail__b64_block(raw, raw_len, line + plen);
    memcpy(line + plen + b64_len, "\r\n", 2);
    smtpmail__log(s, "C: %s<redacted>", prefix);
    w = smtpmail__cmd_flush(s);
    if (w == 0) w = smtpmail__chan_write(&s->ch, line, plen + b64_len + 2);
    smtpmail__wipe(raw, raw_len + plen + b64_len + 2);
    smtpmail__free(s->cfg.hooks, raw);
    return w < 0 ? smtpmail__io_fail(s, err, SMTPMAIL_STAGE_AUTH, w) : SMTPMAIL_OK;
}

/* RFC 4954 AUTH: PLAIN with an initial response (one round trip), LOGIN,
   or XOAUTH2 (Google's and Microsoft's bearer-token form). */
static smtpmail_result smtpmail__auth(smtpmail_session *s, smtpmail_error *err)
{
    const char *token = s->cfg.oauth2_token;
    const char *parts[5];
    size_t lens[5];
    smtpmail__reply rep;
    smtpmail_result r;
    smtpmail_auth_mech mech = s->cfg.auth;
    if ((!token || !token[0]) && !s->set.pass[0]) return SMTPMAIL_OK; /* nothing to log in with */
    if (!s->set.user[0])
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.username",
                              "config.username is not set (nor a user in config.url)");
    if (mech == SMTPMAIL_AUTH_AUTO) {
        if (token && token[0]) mech = SMTPMAIL_AUTH_XOAUTH2;
        else if (s->mechs & SMTPMAIL__MECH_PLAIN) mech = SMTPMAIL_AUTH_PLAIN;
        else if (s->mechs & SMTPMAIL__MECH_LOGIN) mech = SMTPMAIL_AUTH_LOGIN;
        if (mech == SMTPMAIL_AUTH_AUTO || (mech == SMTPMAIL_AUTH_XOAUTH2 && !(s->mechs & SMTPMAIL__MECH_XOAUTH2)))
            return smtpmail__fail_stage(err, SMTPMAIL_ERR_AUTH_UNSUPPORTED, SMTPMAIL_STAGE_AUTH, "%s",
                                   !(s->caps & SMTPMAIL__CAP_AUTH) ? "the server offers no AUTH"
                                   : (s->mechs & SMTPMAIL__MECH_XOAUTH2) && !(token && token[0])
                                       ? "the server offers only XOAUTH2: set config.oauth2_token"
                                       : "no AUTH mechanism in common (we have PLAIN, LOGIN, XOAUTH2)");
    }
    if (mech == SMTPMAIL_AUTH_XOAUTH2 && !(token && token[0]))
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_AUTH,
                               "XOAUTH2 needs config.oauth2_token");
    if (mech == SMTPMAIL_AUTH_PLAIN) {
        /* RFC 4616: authzid NUL authcid NUL password. */
        parts[0] = "", lens[0] = 1;
        parts[1] = s->set.user, lens[1] = strlen(s->set.user);
        parts[2] = "", lens[2] = 1;
        parts[3] = s->set.pass, lens[3] = strlen(s->set.pass);
        if ((r = smtpmail__send_secret(s, err, "AUTH PLAIN ", parts, lens, 4)) != 0) return r;
        if ((r = smtpmail__read_reply(s, err, SMTPMAIL_STAGE_AUTH, &rep, 0)) != 0) return r;
        if (rep.code == 334) { /* a server that wants the response on its own line */
            if ((r = smtpmail__send_secret(s, err, "", parts, lens, 4)) != 0) return r;
            if ((r = smtpmail__read_reply(s, err, SMTPMAIL_STAGE_AUTH, &rep, 0)) != 0) return r;
        }
    } else if (mech == SMTPMAIL_AUTH_LOGIN) {
        smtpmail__cmd(s, "AUTH LOGIN");
        if ((r = smtpmail__exchange(s, err, SMTPMAIL_STAGE_AUTH, &rep, 334, 334)) != 0) return r;
        parts[0] = s->set.user, lens[0] = strlen(s->set.user);
        if ((r = smtpmail__send_secret(s, err, "", parts, lens, 1)) != 0) return r;
        if ((r = smtpmail__read_reply(s, err, SMTPMAIL_STAGE_AUTH, &rep, 0)) != 0) return r;
        if (rep.code != 334) return smtpmail__reply_fail(err, SMTPMAIL_STAGE_AUTH, &rep, NULL);
        parts[0] = s->set.pass, lens[0] = strlen(s->set.pass);
        if ((r = smtpmail__send_secret(s, err, "", parts, lens, 1)) != 0) return r;
        if ((r = smtpmail__read_reply(s, err, SMTPMAIL_STAGE_AUTH, &rep, 0)) != 0) return r;
    } else {
        parts[0] = "user=", lens[0] = 5;
        parts[1] = s->set.user, lens[1] = strlen(s->set.user);
        parts[2] = "\001auth=Bearer ", lens[2] = 13;
        parts[3] = token, lens[3] = strlen(token);
        parts[4] = "\001\001", lens[4] = 2;
        if ((r = smtpmail__send_secret(s, err, "AUTH XOAUTH2 ", parts, lens, 5)) != 0) return r;
        if ((r = smtpmail__read_reply(s, err, SMTPMAIL_STAGE_AUTH, &rep, 0)) != 0) return r;
        if (rep.code == 334) {
            /* An error as a base64 JSON challenge: answer empty to get the
               final reply (Google's documented flow). */
            smtpmail__cmd(s, "%s", "");
            if ((r = smtpmail__exchange(s, err, SMTPMAIL_STAGE_AUTH, &rep, 235, 235)) != 0) return r;
        }
    }
    if (rep.code != 235) return smtpmail__reply_fail(err, SMTPMAIL_STAGE_AUTH, &rep, NULL);
    return SMTPMAIL_OK;
}

/* Why the transport did not connect, in words: c is its result, sys the
   resolver's or the system's error code (0: none known). */
static smtpmail_result smtpmail__connect_failed(smtpmail_session *s, int c, int sys, uint32_t limit,
                                                smtpmail_error *err)
{
    char why[160];
    smtpmail_result r;
    why[0] = '\0';
    if (c == SMTPMAIL_ERR_RESOLVE) {
        if (sys) smtpmail__sys_strerror(sys, 1, why, sizeof why);
        r = smtpmail__fail_stage(err, SMTPMAIL_ERR_RESOLVE, SMTPMAIL_STAGE_RESOLVE, "cannot resolve \"%.100s\"%s%s",
                                 s->set.host, why[0] ? ": " : "", why);
    } else if (c == SMTPMAIL_ERR_TIMEOUT) {
        r = smtpmail__fail_stage(err, SMTPMAIL_ERR_TIMEOUT, SMTPMAIL_STAGE_CONNECT,
                                 "no answer from %.100s port %u within %lu ms", s->set.host, (unsigned)s->set.port,
                                 (unsigned long)limit);
    } else {
        if (sys) smtpmail__sys_strerror(sys, 0, why, sizeof why);
        r = smtpmail__fail_stage(err, c < 0 ? (smtpmail_result)c : SMTPMAIL_ERR_CONNECT, SMTPMAIL_STAGE_CONNECT,
                                 "cannot connect to %.100s port %u%s%s", s->set.host, (unsigned)s->set.port,
                                 why[0] ? ": " : "", why);
    }
    if (err) err->sys_error = sys;
    return r;
}

/* Connects and brings the session to "ready to send": TCP, TLS (implicit
   or STARTTLS), greeting, EHLO, AUTH. */
static smtpmail_result smtpmail__connect_steps(smtpmail_session *s, smtpmail_error *err)
{
    smtpmail__reply rep;
    smtpmail_result r;
    uint64_t now = smtpmail__ticks(s->cfg.hooks);
    uint64_t left = s->ch.pipe.deadline > now ? s->ch.pipe.deadline - now : 0;
    uint32_t limit;
    int c, sys = 0;
    smtpmail__chan_close(&s->ch);
    s->link = SMTPMAIL__LINK_DOWN;
    s->fresh = 1;
    s->quit_sent = 0;
    s->in_pos = s->in_len = s->cmd_len = 0;
    s->cmd_result = 0;
    s->replies = 0;
    limit = s->cfg.connect_timeout_ms ? s->cfg.connect_timeout_ms : 10000;
    if (left < limit) limit = (uint32_t)left;
    if (limit == 0) return smtpmail__fail_stage(err, SMTPMAIL_ERR_TIMEOUT, SMTPMAIL_STAGE_CONNECT, "no time left");
    smtpmail__log(s, "*: connecting to %s port %u", s->set.host, (unsigned)s->set.port);
#ifndef SMTPMAIL_NO_SOCKETS
    if (s->ch.pipe.default_tcp) c = smtpmail__tcp_open(&s->ch.pipe.conn, s->set.host, s->set.port, limit, &sys);
    else
#endif
        c = s->ch.pipe.tr.connect(&s->ch.pipe.conn, s->set.host, s->set.port, limit, s->ch.pipe.tr.user_data);
    if (c != 0) return smtpmail__connect_failed(s, c, sys, limit, err);
    s->ch.pipe.open = 1;
#ifndef SMTPMAIL_NO_TLS
    if (s->set.mode == SMTPMAIL_TLS_IMPLICIT) {
        if ((r = smtpmail__tls_start(&s->ch.tls, s->set.host, limit, err)) != 0) return r;
        smtpmail__log(s, "*: %s, %s", mbedtls_ssl_get_version(&s->ch.tls.ssl),
                      mbedtls_ssl_get_ciphersuite(&s->ch.tls.ssl));
    }
#endif
    if ((r = smtpmail__read_reply(s, err, SMTPMAIL_STAGE_GREETING, &rep, 0)) != 0) return r;
    if (rep.code != 220) return smtpmail__reply_fail(err, SMTPMAIL_STAGE_GREETING, &rep, NULL);
    if ((r = smtpmail__ehlo(s, err)) != 0) return r;
#ifndef SMTPMAIL_NO_TLS
    if (s->set.mode == SMTPMAIL_TLS_STARTTLS) {
        /* RFC 3207: never a silent downgrade. */
        if (!(s->caps & SMTPMAIL__CAP_STARTTLS))
            return smtpmail__fail_stage(err, SMTPMAIL_ERR_STARTTLS, SMTPMAIL_STAGE_STARTTLS,
                                   "%s does not offer STARTTLS; refusing to go on without TLS", s->set.host);
        smtpmail__cmd(s, "STARTTLS");
        r = smtpmail__exchange(s, err, SMTPMAIL_STAGE_STARTTLS, &rep, 220, 220);
        if (r == SMTPMAIL_ERR_TEMPORARY || r == SMTPMAIL_ERR_PERMANENT ||
            (r == SMTPMAIL_ERR_PROTOCOL && s->link != SMTPMAIL__LINK_LOST)) { /* a refusal, not garbage */
            if (err) err->result = SMTPMAIL_ERR_STARTTLS;
            return SMTPMAIL_ERR_STARTTLS;
        }
        if (r != 0) return r;
        /* RFC 3207 4.2: whatever came with or after the 220 was sent in
           clear and could be an attacker's: drop it. */
        if (s->in_len > s->in_pos)
            smtpmail__log(s, "*: discarding %lu bytes received before TLS",
                          (unsigned long)(s->in_len - s->in_pos));
        s->in_pos = s->in_len = 0;
        if ((r = smtpmail__tls_start(&s->ch.tls, s->set.host, limit, err)) != 0) return r;
        smtpmail__log(s, "*: %s, %s", mbedtls_ssl_get_version(&s->ch.tls.ssl),
                      mbedtls_ssl_get_ciphersuite(&s->ch.tls.ssl));
        /* RFC 3207 4.2: forget what was learnt in clear, ask again. */
        if ((r = smtpmail__ehlo(s, err)) != 0) return r;
    }
#endif
    return smtpmail__auth(s, err);
}

/* Ends the connection: with `polite`, QUIT first (once, within at most a
   second) unless the link is lost. Its 221 changes nothing, so it is not
   waited for: what has already arrived is read (so the close is not a
   reset), then the link closes. That saves the round trip a server without
   PIPELINING costs. A QUIT that cannot be written is no reason to keep a
   connection open: its failure is only remembered in quit_sent. */
static void smtpmail__hang_up(smtpmail_session *s, int polite)
{
    if (polite && s->ch.pipe.open && s->link != SMTPMAIL__LINK_LOST) {
        uint64_t saved = s->ch.pipe.deadline, bound = smtpmail__ticks(s->cfg.hooks) + 1000u;
        if (bound < s->ch.pipe.deadline) s->ch.pipe.deadline = bound;
        if (!s->quit_sent) {
            smtpmail__cmd(s, "QUIT");
            s->quit_sent = smtpmail__cmd_flush(s) == 0;
        }
        if (s->quit_sent) (void)smtpmail__chan_dead(&s->ch, s->in, sizeof s->in);
        s->ch.pipe.deadline = saved;
    }
    smtpmail__chan_close(&s->ch);
    s->link = SMTPMAIL__LINK_DOWN;
}

static smtpmail_result smtpmail__connect(smtpmail_session *s, smtpmail_error *err)
{
    smtpmail_result r = smtpmail__connect_steps(s, err);
    if (r == SMTPMAIL_OK) {
        s->link = SMTPMAIL__LINK_READY;
        return SMTPMAIL_OK;
    }
    /* Never left half-open: a link that is not secured or not logged in
       must not carry mail. When the server said no (a reply, not a lost or
       garbled link, not a failed handshake), it gets its QUIT first
       (RFC 5321 4.1.1.10). */
    smtpmail__hang_up(s, (r == SMTPMAIL_ERR_TEMPORARY || r == SMTPMAIL_ERR_PERMANENT ||
                              r == SMTPMAIL_ERR_AUTH || r == SMTPMAIL_ERR_AUTH_UNSUPPORTED ||
                              r == SMTPMAIL_ERR_STARTTLS || r == SMTPMAIL_ERR_INVALID_ARG));
    return r;
}

/* Where a transaction's message comes from: the builder (msg), bytes the
   caller rendered (data), or len bytes from a reader (a file). `name`
   names the caller's bytes in errors. */
typedef struct smtpmail__source smtpmail__source;
struct smtpmail__source {
    /* Writes the message into o: smtpmail__emit_message or
       smtpmail__emit_bytes (a pointer, so that a program that never sends
       bytes of its own does not link that code). */
    smtpmail_result (*emit)(smtpmail_session *s, const smtpmail__source *src, smtpmail__out *o,
                            smtpmail_error *err);
    const smtpmail_message *msg;
    const unsigned char *data;
    smtpmail_read_fn read;
    void *read_user_data;
    size_t len;
    const char *name;
};

/* The envelope: a message's from and to, cc, bcc; or the caller's. */
typedef struct smtpmail__env {
    const smtpmail_message *msg;
    const smtpmail_envelope *raw;
    const char *from;
    size_t n_rcpt;
} smtpmail__env;

/* Recipient i, in envelope order (to, cc, then bcc), and the field that
   names it in errors ("message.cc[0].addr", "envelope.rcpt[3]"). */
static const char *smtpmail__env_rcpt(const smtpmail__env *e, size_t i, char *field, size_t cap)
{
    static const char *const names[3] = {"to", "cc", "bcc"};
    const smtpmail_address *lists[3];
    size_t counts[3], j;
    if (e->raw) {
        snprintf(field, cap, "envelope.rcpt[%lu]", (unsigned long)i);
        return e->raw->rcpt[i];
    }
    lists[0] = e->msg->to, lists[1] = e->msg->cc, lists[2] = e->msg->bcc;
    counts[0] = e->msg->to_count, counts[1] = e->msg->cc_count, counts[2] = e->msg->bcc_count;
    for (j = 0; j < 2 && i >= counts[j]; j++) i -= counts[j];
    snprintf(field, cap, "message.%s[%lu].addr", names[j], (unsigned long)i);
    return lists[j][i].addr;
}

/* The message, rendered into o. */
static smtpmail_result smtpmail__emit_message(smtpmail_session *s, const smtpmail__source *src, smtpmail__out *o,
                                              smtpmail_error *err)
{
    o->rnd = s->rnd + s->rnd_pos; /* the same for a trial and a stream */
    return smtpmail__render(src->msg, s->cfg.hooks, o, err);
}

/* The caller's bytes into o as they are, checked on the way (a bad line
   is refused, never sent): from memory, or len bytes from a reader. */
static smtpmail_result smtpmail__emit_bytes(smtpmail_session *s, const smtpmail__source *src, smtpmail__out *o,
                                            smtpmail_error *err)
{
    unsigned char chunk[1024];
    size_t left = src->len, got;
    SMTPMAIL__UNUSED(s);
    o->err = err;
    o->source = src->name;
    if (src->data) smtpmail__out_put(o, src->data, src->len);
    while (!src->data && left > 0 && o->result == 0) {
        got = 0;
        if (src->read(chunk, left < sizeof chunk ? left : sizeof chunk, &got, src->read_user_data) != 0 ||
            got == 0 || got > left)
            return smtpmail__fail(err, SMTPMAIL_ERR_FILE, SMTPMAIL_STAGE_MESSAGE, src->name,
                                  "%s could not be read (%lu of %lu bytes left)", src->name,
                                  (unsigned long)left, (unsigned long)src->len);
        smtpmail__out_put(o, chunk, got);
        left -= got;
    }
    if (o->result == 0 && (o->col != 0 || o->prev_cr || o->total == 0))
        return smtpmail__fail(err, SMTPMAIL_ERR_BAD_FIELD, SMTPMAIL_STAGE_MESSAGE, src->name,
                              "%s does not end with CRLF", src->name);
    return (smtpmail_result)o->result;
}

/* Dot-stuffing (RFC 5321 4.5.2) on the way to the channel: a '.' that
   starts a line is doubled. The builder's output is CRLF-only. */
typedef struct smtpmail__dot {
    smtpmail_session *s;
    int bol;
    int result;
} smtpmail__dot;

static int smtpmail__dot_write(const void *data, size_t len, void *user_data)
{
    smtpmail__dot *d = (smtpmail__dot *)user_data;
    const unsigned char *p = (const unsigned char *)data;
    size_t i, start = 0;
    int r = 0;
    for (i = 0; i < len && r == 0; i++) {
        if (d->bol && p[i] == '.') {
            r = smtpmail__chan_write(&d->s->ch, p + start, i + 1 - start);
            start = i;
        }
        d->bol = p[i] == '\n';
    }
    if (r == 0 && start < len) r = smtpmail__chan_write(&d->s->ch, p + start, len - start);
    if (r < 0) d->result = r;
    return r;
}

/* A transaction (RFC 5321 3.3) is planned, then carried out batch by
   batch. A batch is what goes before the client waits: with PIPELINING
   (RFC 2920) all of it in one write, then its replies in order; without,
   each command on its own, its reply read before the next. Bits, in wire
   order: */
enum {
    SMTPMAIL__SEND_MAIL = 1,    /* MAIL FROM (SIZE= when the size is known) */
    SMTPMAIL__SEND_RCPT = 2,    /* RCPT TO, every recipient */
    SMTPMAIL__SEND_DATA = 4,    /* DATA, answered 354 */
    SMTPMAIL__SEND_BDAT = 8,    /* BDAT <size> LAST and the rendered message (RFC 3030) */
    SMTPMAIL__SEND_BODY = 16,   /* the message dot-stuffed, then "." (RFC 5321 4.1.1.4) */
    SMTPMAIL__SEND_QUIT = 32    /* QUIT after the message: its 221 is never read */
};

/* The ways a message can go, as batches: by whether it goes as BDAT
   (CHUNKING, and the message rendered whole, so that its size is known)
   and whether it may go with the envelope (PIPELINING, unless one refused
   recipient must stop it, the default with several recipients: then every
   RCPT reply is read first). */
#define SMTPMAIL__ENVELOPE (SMTPMAIL__SEND_MAIL | SMTPMAIL__SEND_RCPT)
typedef struct smtpmail__way {
    size_t n_batches;
    unsigned batch[3];
} smtpmail__way;
static const smtpmail__way smtpmail__ways[2][2] = {
    {/* DATA, after the RCPT replies */ {3, {SMTPMAIL__ENVELOPE, SMTPMAIL__SEND_DATA, SMTPMAIL__SEND_BODY}},
     /* DATA with the envelope */ {2, {SMTPMAIL__ENVELOPE | SMTPMAIL__SEND_DATA, SMTPMAIL__SEND_BODY}}},
    {/* BDAT, after the RCPT replies */ {2, {SMTPMAIL__ENVELOPE, SMTPMAIL__SEND_BDAT}},
     /* BDAT with the envelope */ {1, {SMTPMAIL__ENVELOPE | SMTPMAIL__SEND_BDAT}}}};

typedef struct smtpmail__plan {
    smtpmail__way way;
    int pipelined;              /* a batch is one write */
    int rendered;               /* the message is at SMTPMAIL__MSG(s), msg_len bytes */
    size_t msg_len;
} smtpmail__plan;

/* What the server has answered so far; code 0: not yet. */
typedef struct smtpmail__answers {
    smtpmail__reply mail, data, end;
    size_t rcpt_read, rcpt_accepted;
    smtpmail__reply first_bad;  /* the first refused recipient's reply ... */
    size_t bad_rcpt;            /* ... and which one */
    smtpmail__reply closing;    /* the first 421 (RFC 5321 3.8) ... */
    smtpmail_stage closing_stage; /* ... to which command ... */
    size_t closing_rcpt;        /* ... and recipient (1-based; 0 none) */
    int started;                /* MAIL was written */
    smtpmail_stage verdict;     /* what the judge refused: MAIL, RCPT, DATA, END_OF_DATA */
} smtpmail__answers;

/* Renders the message into SMTPMAIL__MSG(s) when it fits (and when it can be read
   twice: a read callback attachment, or a source known to be too big,
   streams), then picks the way. */
static smtpmail_result smtpmail__plan_make(smtpmail_session *s, const smtpmail__env *env,
                                           const smtpmail__source *src, int quit_after,
                                           smtpmail__plan *p, smtpmail_error *err)
{
    size_t i;
    int streams = src->len > SMTPMAIL_SEND_BUFFER, bdat, together;
    smtpmail__out o;
    memset(p, 0, sizeof *p);
    for (i = 0; src->msg && i < src->msg->attachment_count; i++)
        if (src->msg->attachments[i].read) streams = 1;
    if (!streams) {
        smtpmail_result r;
        memset(&o, 0, sizeof o);
        o.direct = o.stop_when_full = 1;
        o.buf = SMTPMAIL__MSG(s);
        o.cap = SMTPMAIL_SEND_BUFFER;
        o.err = err;
        r = src->emit(s, src, &o, err);
        if (r == SMTPMAIL_OK) p->rendered = 1, p->msg_len = o.total;
        else if (r != SMTPMAIL_ERR_BUFFER_TOO_SMALL) return r;
    }
    if (p->rendered && s->size_max && p->msg_len > s->size_max)
        return smtpmail__fail_stage(err, SMTPMAIL_ERR_PERMANENT, SMTPMAIL_STAGE_MAIL,
                                    "the message is %lu bytes, over the server's limit of %lu (SIZE)",
                                    (unsigned long)p->msg_len, s->size_max);
    p->pipelined = (s->caps & SMTPMAIL__CAP_PIPELINING) != 0;
    together = p->pipelined && (s->cfg.allow_partial_recipients || env->n_rcpt == 1);
    bdat = p->rendered && (s->caps & SMTPMAIL__CAP_CHUNKING);
    p->way = smtpmail__ways[bdat][together];
    /* QUIT may end a pipelined batch: its 221 costs no wait. */
    if (quit_after && p->pipelined) p->way.batch[p->way.n_batches - 1] |= SMTPMAIL__SEND_QUIT;
    return SMTPMAIL_OK;
}

/* Writes the queued commands, then the rendered message and `tail`, in
   one write: the queue moves up against the message (they share s->io),
   no copy of the message. Not on
   a connection that sat idle: the server may have closed it without our
   seeing it yet (its FIN in flight), and only a second write shows that
   (it fails), before the message went out whole and so while a retry on a
   new connection cannot deliver twice. That costs no wait. */
static int smtpmail__send_rendered(smtpmail_session *s, const smtpmail__plan *p, const char *tail)
{
    unsigned char *msg = SMTPMAIL__MSG(s), *end = msg + p->msg_len;
    size_t n = strlen(tail);
    int r = s->cmd_result;
    memcpy(end, tail, n);
    end += n;
    if (r == 0 && s->fresh) { /* the queue, moved up to the message */
        msg -= s->cmd_len;
        memmove(msg, s->io, s->cmd_len);
        s->cmd_len = 0;
    } else {
        r = smtpmail__cmd_flush(s);
    }
    if (r == 0) r = smtpmail__chan_write(&s->ch, msg, (size_t)(end - msg));
    if (r < 0) s->link = SMTPMAIL__LINK_LOST;
    else s->data_sent = 1;
    return r;
}

/* Does the rendered message have a line that starts with '.'? */
static int smtpmail__needs_stuffing(const unsigned char *m, size_t len)
{
    const unsigned char *p = m, *end = m + len;
    if (len > 0 && m[0] == '.') return 1;
    while ((p = (const unsigned char *)memchr(p, '\n', (size_t)(end - p))) != NULL && ++p < end)
        if (*p == '.') return 1;
    return 0;
}

/* The message for DATA, dot-stuffed, then "." (and QUIT). A rendered one
   without lines to stuff goes in one write with its terminator; a source
   that fails part-way ends the connection instead of the DATA, so the
   server drops the transaction rather than deliver half a message. */
static smtpmail_result smtpmail__send_body(smtpmail_session *s, const smtpmail__plan *p, const smtpmail__source *src,
                                           int quit, smtpmail_error *err)
{
    smtpmail__dot dot;
    smtpmail__out o;
    smtpmail_result r;
    int w;
    smtpmail__log(s, "C: <message>");
    if (p->rendered && !smtpmail__needs_stuffing(SMTPMAIL__MSG(s), p->msg_len)) {
        smtpmail__log(s, "C: .");
        if (quit) smtpmail__log(s, "C: QUIT");
        w = smtpmail__send_rendered(s, p, quit ? ".\r\nQUIT\r\n" : ".\r\n");
        return w < 0 ? smtpmail__io_fail(s, err, SMTPMAIL_STAGE_END_OF_DATA, w) : SMTPMAIL_OK;
    }
    if ((w = smtpmail__cmd_flush(s)) < 0) return smtpmail__io_fail(s, err, SMTPMAIL_STAGE_END_OF_DATA, w);
    memset(&dot, 0, sizeof dot);
    dot.s = s;
    dot.bol = 1;
    if (p->rendered) {
        w = smtpmail__dot_write(SMTPMAIL__MSG(s), p->msg_len, &dot);
    } else {
        memset(&o, 0, sizeof o);
        o.buf = SMTPMAIL__MSG(s);
        o.cap = SMTPMAIL_SEND_BUFFER;
        o.write = smtpmail__dot_write;
        o.user_data = &dot;
        o.err = err;
        r = src->emit(s, src, &o, err);
        if (r == SMTPMAIL_OK) r = (smtpmail_result)smtpmail__out_flush(&o);
        if (r != SMTPMAIL_OK && dot.result == 0) {
            s->link = SMTPMAIL__LINK_LOST;
            smtpmail__chan_close(&s->ch);
            return r;
        }
        w = dot.result;
    }
    if (w < 0) return smtpmail__io_fail(s, err, SMTPMAIL_STAGE_END_OF_DATA, dot.result ? dot.result : w);
    s->data_sent = 1;
    smtpmail__cmd(s, ".");
    if (quit) smtpmail__cmd(s, "QUIT");
    if ((w = smtpmail__cmd_flush(s)) < 0) return smtpmail__io_fail(s, err, SMTPMAIL_STAGE_END_OF_DATA, w);
    return SMTPMAIL_OK;
}

/* Queues (and for the message, writes) command `what` of a batch; the
   rest of the batch's bits say whether QUIT rides along. */
static smtpmail_result smtpmail__put(smtpmail_session *s, unsigned what, unsigned batch, size_t rcpt,
                                     const smtpmail__env *env, const smtpmail__source *src,
                                     const smtpmail__plan *p, smtpmail__answers *a, smtpmail_error *err)
{
    char field[64];
    int quit = (batch & SMTPMAIL__SEND_QUIT) != 0, w;
    switch (what) {
    case SMTPMAIL__SEND_MAIL:
        a->started = 1;
        if ((s->caps & SMTPMAIL__CAP_SIZE) && p->rendered)
            smtpmail__cmd(s, "MAIL FROM:<%s> SIZE=%lu", env->from, (unsigned long)p->msg_len);
        else
            smtpmail__cmd(s, "MAIL FROM:<%s>", env->from);
        return SMTPMAIL_OK;
    case SMTPMAIL__SEND_RCPT:
        smtpmail__cmd(s, "RCPT TO:<%s>", smtpmail__env_rcpt(env, rcpt, field, sizeof field));
        return SMTPMAIL_OK;
    case SMTPMAIL__SEND_DATA:
        smtpmail__cmd(s, "DATA");
        return SMTPMAIL_OK;
    case SMTPMAIL__SEND_BDAT:
        smtpmail__cmd(s, "BDAT %lu LAST", (unsigned long)p->msg_len);
        smtpmail__log(s, "C: <message>");
        if (quit) smtpmail__log(s, "C: QUIT");
        w = smtpmail__send_rendered(s, p, quit ? "QUIT\r\n" : "");
        return w < 0 ? smtpmail__io_fail(s, err, SMTPMAIL_STAGE_END_OF_DATA, w) : SMTPMAIL_OK;
    case SMTPMAIL__SEND_BODY:
        return smtpmail__send_body(s, p, src, quit, err);
    default: /* QUIT went with the message */
        return SMTPMAIL_OK;
    }
}

/* The stage a command's failure is reported at. */
static smtpmail_stage smtpmail__stage_of(unsigned what)
{
    switch (what) {
    case SMTPMAIL__SEND_MAIL: return SMTPMAIL_STAGE_MAIL;
    case SMTPMAIL__SEND_RCPT: return SMTPMAIL_STAGE_RCPT;
    case SMTPMAIL__SEND_DATA: return SMTPMAIL_STAGE_DATA;
    case SMTPMAIL__SEND_QUIT: return SMTPMAIL_STAGE_QUIT;
    default: return SMTPMAIL_STAGE_END_OF_DATA;
    }
}

/* Reads the reply to command `what` into the answers. A lost link after
   a 421 reports the 421: the server said it was closing (RFC 5321 3.8). */
static smtpmail_result smtpmail__take(smtpmail_session *s, unsigned what, size_t rcpt, const smtpmail__env *env,
                                      smtpmail__answers *a, smtpmail_error *err)
{
    smtpmail__reply rep, *into = &rep;
    smtpmail_stage stage = smtpmail__stage_of(what);
    char field[64];
    smtpmail_result r;
    if (what == SMTPMAIL__SEND_QUIT) return SMTPMAIL_OK;
    if (what == SMTPMAIL__SEND_MAIL) into = &a->mail;
    else if (what == SMTPMAIL__SEND_DATA) into = &a->data;
    else if (what != SMTPMAIL__SEND_RCPT) into = &a->end;
    if ((r = smtpmail__read_reply(s, err, stage, into, 0)) != SMTPMAIL_OK) {
        if (!a->closing.code) return r;
        return smtpmail__reply_fail(err, a->closing_stage, &a->closing,
                                    a->closing_rcpt ? smtpmail__env_rcpt(env, a->closing_rcpt - 1, field, sizeof field)
                                                    : NULL);
    }
    if (what == SMTPMAIL__SEND_RCPT) {
        if (s->cfg.on_recipient)
            s->cfg.on_recipient(smtpmail__env_rcpt(env, rcpt, field, sizeof field), rep.code, rep.text,
                                s->cfg.user_data);
        a->rcpt_read++;
        if (rep.code >= 200 && rep.code <= 299) a->rcpt_accepted++;
        else if (!a->first_bad.code) a->first_bad = rep, a->bad_rcpt = rcpt;
    }
    if (into->code == 421 && !a->closing.code) {
        a->closing = *into, a->closing_stage = stage;
        if (what == SMTPMAIL__SEND_RCPT) a->closing_rcpt = rcpt + 1;
    }
    return SMTPMAIL_OK;
}

/* The verdict on what has been answered: go on (OK), or why not. The one
   place success is decided is the 2xx to the end of the message. */
static smtpmail_result smtpmail__judge(const smtpmail_session *s, const smtpmail__env *env,
                                       smtpmail__answers *a, smtpmail_error *err)
{
    smtpmail_result r;
    char field[64];
    if (a->mail.code && (a->mail.code < 200 || a->mail.code > 299))
        return smtpmail__reply_fail(err, a->verdict = SMTPMAIL_STAGE_MAIL, &a->mail, NULL);
    if (a->rcpt_read == env->n_rcpt &&
        (a->rcpt_accepted == 0 || (a->first_bad.code && !s->cfg.allow_partial_recipients))) {
        r = smtpmail__reply_fail(err, a->verdict = SMTPMAIL_STAGE_RCPT, &a->first_bad,
                                 smtpmail__env_rcpt(env, a->bad_rcpt, field, sizeof field));
        if (err) smtpmail__copy(err->field, sizeof err->field, field);
        return r;
    }
    if (a->data.code && a->data.code != 354)
        return smtpmail__reply_fail(err, a->verdict = SMTPMAIL_STAGE_DATA, &a->data, NULL);
    if (a->end.code && (a->end.code < 200 || a->end.code > 299))
        return smtpmail__reply_fail(err, a->verdict = SMTPMAIL_STAGE_END_OF_DATA, &a->end, NULL);
    return SMTPMAIL_OK;
}

/* One batch: its commands written (pipelined: one write), its replies
   read in order, then judged; without PIPELINING each command is a write,
   a reply and a verdict of its own. */
static smtpmail_result smtpmail__run_batch(smtpmail_session *s, unsigned batch, const smtpmail__env *env,
                                           const smtpmail__source *src, const smtpmail__plan *p,
                                           smtpmail__answers *a, smtpmail_error *err)
{
    unsigned what;
    size_t i, n;
    smtpmail_result r;
    int w;
    for (what = 1; what <= SMTPMAIL__SEND_QUIT; what <<= 1) {
        if (!(batch & what)) continue;
        n = what == SMTPMAIL__SEND_RCPT ? env->n_rcpt : 1;
        for (i = 0; i < n; i++) {
            if ((r = smtpmail__put(s, what, batch, i, env, src, p, a, err)) != SMTPMAIL_OK) return r;
            /* A full queue was written out on the way: its failure is this
               command's. */
            if (s->cmd_result) return smtpmail__io_fail(s, err, smtpmail__stage_of(what), s->cmd_result);
            if (what == SMTPMAIL__SEND_QUIT) s->quit_sent = 1;
            if (p->pipelined) continue;
            if ((w = smtpmail__cmd_flush(s)) < 0) return smtpmail__io_fail(s, err, smtpmail__stage_of(what), w);
            if ((r = smtpmail__take(s, what, i, env, a, err)) != SMTPMAIL_OK) return r;
            if ((r = smtpmail__judge(s, env, a, err)) != SMTPMAIL_OK) return r;
        }
    }
    if (!p->pipelined) return SMTPMAIL_OK;
    if ((w = smtpmail__cmd_flush(s)) < 0) /* the batch's first command failed */
        return smtpmail__io_fail(s, err, smtpmail__stage_of(batch & (~batch + 1u)), w);
    for (what = 1; what < SMTPMAIL__SEND_QUIT; what <<= 1) {
        if (!(batch & what)) continue;
        n = what == SMTPMAIL__SEND_RCPT ? env->n_rcpt : 1;
        for (i = 0; i < n; i++)
            if ((r = smtpmail__take(s, what, i, env, a, err)) != SMTPMAIL_OK) return r;
    }
    return smtpmail__judge(s, env, a, err);
}

/* A failed transaction: RSET (RFC 5321 4.1.1.5) so that the session can
   carry the next message, unless nothing was sent, the message itself was
   refused (the transaction is over), QUIT went out, or the link is gone.
   A 354 not followed by the message leaves a server that reads all as
   message text: only hanging up ends that. */
static smtpmail_result smtpmail__transaction_failed(smtpmail_session *s, const smtpmail__answers *a,
                                                    smtpmail_result r)
{
    if (a->data.code == 354 && !s->data_sent) s->link = SMTPMAIL__LINK_LOST;
    if (a->started && a->verdict != SMTPMAIL_STAGE_END_OF_DATA && !s->quit_sent &&
        s->link == SMTPMAIL__LINK_READY) {
        smtpmail__reply rep;
        smtpmail_error ignored; /* the transaction's error is the one to report */
        smtpmail__cmd(s, "RSET");
        if (smtpmail__exchange(s, &ignored, SMTPMAIL_STAGE_RSET, &rep, 200, 299) != SMTPMAIL_OK)
            s->link = SMTPMAIL__LINK_LOST;
    }
    if (s->link != SMTPMAIL__LINK_READY) smtpmail__hang_up(s, 0);
    return r;
}

/* One mail transaction on a ready connection: plan, then each batch.
   *retry_safe says the server dropped the connection before it could
   have taken the message (a 421 to MAIL), so a new connection may try
   again without delivering twice. */
static smtpmail_result smtpmail__transaction(smtpmail_session *s, const smtpmail__env *env,
                                             const smtpmail__source *src, int quit_after,
                                             smtpmail_error *err, int *retry_safe)
{
    smtpmail__plan plan;
    smtpmail__answers a;
    smtpmail_result r;
    size_t b;
    *retry_safe = 0;
    s->data_sent = 0;
    memset(&a, 0, sizeof a);
    if ((r = smtpmail__plan_make(s, env, src, quit_after, &plan, err)) != SMTPMAIL_OK) return r;
    for (b = 0; b < plan.way.n_batches; b++) {
        r = smtpmail__run_batch(s, plan.way.batch[b], env, src, &plan, &a, err);
        *retry_safe = a.mail.code == 421;
        if (r != SMTPMAIL_OK) return smtpmail__transaction_failed(s, &a, r);
    }
    if (!a.end.code) return smtpmail__fail(err, SMTPMAIL_ERR_INTERNAL, SMTPMAIL_STAGE_END_OF_DATA, "",
                                           "internal error: no reply to the message (please report)");
    return SMTPMAIL_OK;
}

/* >>session --------------------------------------------------------------- */

/* A session from the config: its settings, its transport and, unless
   plaintext was chosen, its TLS configuration and trust anchors. */
static smtpmail_result smtpmail__configure(smtpmail_session *s, const smtpmail_config *cfg,
                                           const char *default_user, smtpmail_error *err)
{
    smtpmail_result r;
    s->cfg = *cfg;
    if ((r = smtpmail__check_hooks(cfg->hooks, err)) != 0) return r;
    if ((r = smtpmail__settings_resolve(&s->set, cfg, default_user, err)) != 0) return r;
    if (cfg->transport) {
        if (!cfg->transport->connect || !cfg->transport->send || !cfg->transport->recv || !cfg->transport->close)
            return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.transport",
                                  "config.transport needs connect, send, recv and close");
        s->ch.pipe.tr = *cfg->transport;
    } else {
#ifdef SMTPMAIL_NO_SOCKETS
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_CONFIG, "config.transport",
                              "config.transport is required in a SMTPMAIL_NO_SOCKETS build");
#else
        s->ch.pipe.tr = smtpmail__tcp;
        s->ch.pipe.default_tcp = 1;
#endif
    }
    s->ch.pipe.hooks = cfg->hooks;
    s->ch.pipe.io_ms = cfg->io_timeout_ms ? cfg->io_timeout_ms : 30000;
#ifndef SMTPMAIL_NO_TLS
    s->ch.tls.pipe = &s->ch.pipe; /* the session never moves */
    if (s->set.mode != SMTPMAIL_TLS_INSECURE_NONE) {
        if ((r = smtpmail__tls_setup(&s->ch.tls, cfg, err)) != 0) return r;
        if (cfg->insecure_skip_verify)
            smtpmail__log(s, "*: WARNING: config.insecure_skip_verify: the certificate of %s is not checked",
                          s->set.host);
    }
#endif
    return SMTPMAIL_OK;
}


static void smtpmail__deadline(smtpmail_session *s)
{
    s->ch.pipe.deadline = smtpmail__ticks(s->cfg.hooks) + (s->cfg.timeout_ms ? s->cfg.timeout_ms : 120000u);
}

/* Closes everything and frees; with `quit`, says QUIT first if the link
   is in a state to carry it. */
static void smtpmail__session_free(smtpmail_session *s, int quit)
{
    const smtpmail_hooks *hooks;
    if (!s) return;
    smtpmail__hang_up(s, quit && s->link == SMTPMAIL__LINK_READY);
#ifndef SMTPMAIL_NO_TLS
    smtpmail__tls_free(&s->ch.tls);
#endif
    hooks = s->cfg.hooks;
    smtpmail__wipe(s, sizeof *s); /* credentials, and the last message's bytes */
    smtpmail__free(hooks, s);
}

static smtpmail_result smtpmail__open(const smtpmail_config *cfg, const char *default_user,
                                      smtpmail_session **out, smtpmail_error *err)
{
    smtpmail_session *s;
    smtpmail_result r;
    *out = NULL;
    if ((r = smtpmail__check_hooks(cfg->hooks, err)) != 0) return r;
    s = (smtpmail_session *)smtpmail__alloc(cfg->hooks, sizeof *s);
    if (!s) return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory (%lu bytes)",
                                  (unsigned long)sizeof *s);
    memset(s, 0, sizeof *s);
    s->cfg.hooks = cfg->hooks;
    s->link = SMTPMAIL__LINK_DOWN;
    s->rnd_pos = sizeof s->rnd - 28; /* the first message draws */
    if ((r = smtpmail__configure(s, cfg, default_user, err)) == 0) {
        smtpmail__deadline(s);
        r = smtpmail__connect(s, err);
    }
    if (r != SMTPMAIL_OK) {
        smtpmail__session_free(s, 1);
        return r;
    }
    *out = s;
    return SMTPMAIL_OK;
}

/* Sends within the current deadline, reconnecting once when the server
   dropped an idle connection before the transaction started. */
static smtpmail_result smtpmail__deliver(smtpmail_session *s, const smtpmail__env *env, const smtpmail__source *src,
                                         int quit_after, smtpmail_error *err)
{
    int attempt, retry_safe;
    unsigned long before;
    smtpmail_result r;
    if (src->msg) {
        /* This message's 28 random bytes (boundary, Message-ID): the same
           for its trial rendering, its stream and a retry. */
        s->rnd_pos += 28;
        if (s->rnd_pos >= sizeof s->rnd) {
            smtpmail__random(s->cfg.hooks, s->rnd, sizeof s->rnd);
            s->rnd_pos = 0;
        }
    }
    if (s->link == SMTPMAIL__LINK_READY && !s->fresh && smtpmail__chan_dead(&s->ch, s->in, sizeof s->in - 1)) {
        /* Servers close idle connections (often after a 421): a new one,
           before anything of this message is sent. */
        smtpmail__log(s, "*: the server closed the idle connection");
        smtpmail__hang_up(s, 0);
    }
    for (attempt = 0;; attempt++) {
        if (s->link != SMTPMAIL__LINK_READY) {
            smtpmail__log(s, "*: reconnecting");
            if ((r = smtpmail__connect(s, err)) != 0) return r;
        }
        before = s->replies;
        r = smtpmail__transaction(s, env, src, quit_after, err, &retry_safe);
        /* Dropped while idle: a 421 to MAIL, or the link was found closed
           before the server answered anything and before any of the
           message went out (so the server cannot have accepted it). Never
           after a timeout: a slow server may still deliver, and waiting
           twice is worse. At most one message, at most once. */
        retry_safe = retry_safe || (r == SMTPMAIL_ERR_NETWORK && s->replies == before && !s->data_sent);
        if (r == SMTPMAIL_OK || attempt > 0 || s->fresh || !retry_safe) return r;
        smtpmail__hang_up(s, 0);
        smtpmail__log(s, "*: the server closed the idle connection");
    }
}

/* The entry for a message on an open session, a call of its own: a new
   deadline, and a connection found open counts as idle. smtpmail_session_send,
   smtpmail_session_send_raw and the outbox send through here. */
static smtpmail_result smtpmail__session_deliver(smtpmail_session *s, const smtpmail__env *env,
                                                 const smtpmail__source *src, smtpmail_error *err)
{
    smtpmail__deadline(s);
    s->fresh = 0;
    return smtpmail__deliver(s, env, src, 0, err);
}

/* A message's envelope: its from, then to, cc and bcc. */
static void smtpmail__env_of_message(smtpmail__env *e, const smtpmail_message *m)
{
    memset(e, 0, sizeof *e);
    e->msg = m;
    e->from = m->from.addr;
    e->n_rcpt = m->to_count + m->cc_count + m->bcc_count;
}

/* A message (checked already) as what the engine sends. */
static void smtpmail__source_of_message(smtpmail__env *env, smtpmail__source *src, const smtpmail_message *m)
{
    smtpmail__env_of_message(env, m);
    memset(src, 0, sizeof *src);
    src->emit = smtpmail__emit_message;
    src->msg = m;
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
    case SMTPMAIL_ERR_QUEUE_FULL: return "outbox queue full";
    case SMTPMAIL_ERR_SPOOL: return "outbox spool not writable";
    case SMTPMAIL_ERR_QUEUE_CLOSED: return "outbox closed before sending";
    case SMTPMAIL_ERR_HEADER_INJECTION: return "CR, LF or NUL in a header field";
    case SMTPMAIL_ERR_BAD_UTF8: return "invalid UTF-8";
    case SMTPMAIL_ERR_BAD_ADDRESS: return "invalid address";
    case SMTPMAIL_ERR_NO_RECIPIENT: return "no recipient";
    case SMTPMAIL_ERR_TOO_LONG: return "field too long";
    case SMTPMAIL_ERR_BAD_FIELD: return "invalid field";
    case SMTPMAIL_ERR_FILE: return "attachment not readable";
    case SMTPMAIL_ERR_RESOLVE: return "host name did not resolve";
    case SMTPMAIL_ERR_CONNECT: return "connection refused or unreachable";
    case SMTPMAIL_ERR_TIMEOUT: return "timed out";
    case SMTPMAIL_ERR_NETWORK: return "connection lost";
    case SMTPMAIL_ERR_TLS: return "TLS failure";
    case SMTPMAIL_ERR_CERTIFICATE: return "server certificate refused";
    case SMTPMAIL_ERR_STARTTLS: return "STARTTLS not available";
    case SMTPMAIL_ERR_TRUST: return "no trust anchors";
    case SMTPMAIL_ERR_TEMPORARY: return "temporary failure (4xx)";
    case SMTPMAIL_ERR_PERMANENT: return "permanent failure (5xx)";
    case SMTPMAIL_ERR_AUTH: return "authentication refused";
    case SMTPMAIL_ERR_AUTH_UNSUPPORTED: return "no common AUTH mechanism";
    case SMTPMAIL_ERR_PROTOCOL: return "SMTP protocol error";
    }
    return "unknown result";
}

SMTPMAIL_API const char *smtpmail_stage_str(smtpmail_stage stage)
{
    if ((unsigned)stage >= sizeof smtpmail__stage_names / sizeof smtpmail__stage_names[0]) return "?";
    return stage == SMTPMAIL_STAGE_NONE ? "none" : smtpmail__stage_names[stage];
}

SMTPMAIL_API int smtpmail_result_is_temporary(smtpmail_result result)
{
    return result == SMTPMAIL_ERR_TEMPORARY || result == SMTPMAIL_ERR_TIMEOUT ||
           result == SMTPMAIL_ERR_NETWORK || result == SMTPMAIL_ERR_CONNECT || result == SMTPMAIL_ERR_RESOLVE;
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
    if (!write) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "write", "write is NULL");
    if ((r = smtpmail__check_hooks(hooks, err)) != 0) return r;
    memset(&o, 0, sizeof o);
    o.write = write;
    o.user_data = user_data;
    o.cap = SMTPMAIL_OUTPUT_BUFFER;
    /* Check first, so that a bad message costs no allocation. */
    if ((r = smtpmail__check(msg, err)) != 0) return r;
    o.buf = (unsigned char *)smtpmail__alloc(hooks, o.cap);
    if (!o.buf)
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory (%d bytes)",
                              SMTPMAIL_OUTPUT_BUFFER);
    r = smtpmail__render(msg, hooks, &o, err);
    if (r == SMTPMAIL_OK) r = (smtpmail_result)smtpmail__out_flush(&o);
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
        return smtpmail__fail(err, SMTPMAIL_ERR_BUFFER_TOO_SMALL, SMTPMAIL_STAGE_OUTPUT, "",
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
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "buf", "buf is NULL but cap is not 0");
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
    if (!path) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "path", "path is NULL");
    if ((r = smtpmail__check(msg, err)) != 0) return r;
    to_stdout = strcmp(path, "-") == 0;
    fp = to_stdout ? stdout : smtpmail__fopen(path, "wb");
    if (!fp) {
        int e = errno;
        r = smtpmail__fail(err, SMTPMAIL_ERR_WRITE, SMTPMAIL_STAGE_OUTPUT, "path", "cannot create \"%.120s\": %s", path,
                           strerror(e));
        if (err) err->sys_error = e;
        return r;
    }
    r = smtpmail_message_write(msg, hooks, smtpmail__write_file, fp, err);
    if (to_stdout) {
        if (fflush(fp) != 0 && r == SMTPMAIL_OK)
            r = smtpmail__fail(err, SMTPMAIL_ERR_WRITE, SMTPMAIL_STAGE_OUTPUT, "path", "writing to stdout failed");
    } else {
        if (fclose(fp) != 0 && r == SMTPMAIL_OK)
            r = smtpmail__fail(err, SMTPMAIL_ERR_WRITE, SMTPMAIL_STAGE_OUTPUT, "path", "writing \"%.120s\" failed", path);
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
    if ((!src && len > 0) || (!dst && cap > 0)) return SMTPMAIL_ERR_INVALID_ARG;
    return smtpmail__b64_decode(src, len, dst, cap, dst_len);
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
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "", "name, value or dst is NULL");
    one.name = name;
    one.value = value;
    if ((r = smtpmail__check_header(err, &one, "header", 1)) != 0) return r;
    smtpmail__out_direct(&o, dst, cap, err);
    smtpmail__hdr_begin(&h, &o, name);
    smtpmail__hdr_unstructured(&h, value, SMTPMAIL__FOLD);
    smtpmail__hdr_end(&h);
    return smtpmail__out_direct_end(&o, (smtpmail_result)o.result, dst_len, err);
}

SMTPMAIL_API smtpmail_result smtpmail_address_parse(const char *list, smtpmail_address *out,
                                                    size_t cap, size_t *count, char *storage,
                                                    size_t storage_cap, smtpmail_error *err)
{
    return smtpmail__address_parse(list, out, cap, count, storage, storage_cap, err);
}

/* Sending. */

SMTPMAIL_API smtpmail_result smtpmail_session_open(const smtpmail_config *cfg, smtpmail_session **out,
                                                   smtpmail_error *err)
{
    if (!out) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "out", "out is NULL");
    *out = NULL;
    if (!cfg) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "config", "config is NULL");
    return smtpmail__open(cfg, NULL, out, err);
}

SMTPMAIL_API smtpmail_result smtpmail_session_send(smtpmail_session *s, const smtpmail_message *msg,
                                                   smtpmail_error *err)
{
    smtpmail__env env;
    smtpmail__source src;
    smtpmail_result r;
    if (!s) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "session", "session is NULL");
    if ((r = smtpmail__check(msg, err)) != SMTPMAIL_OK) return r;
    smtpmail__source_of_message(&env, &src, msg);
    return smtpmail__session_deliver(s, &env, &src, err);
}

SMTPMAIL_API smtpmail_result smtpmail_session_send_raw(smtpmail_session *s, const smtpmail_envelope *envelope,
                                                       const void *data, size_t len, smtpmail_error *err)
{
    smtpmail__env env;
    smtpmail__source src;
    smtpmail__out o;
    smtpmail_result r;
    if (!s) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "session", "session is NULL");
    if (!data && len > 0)
        return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_MESSAGE, "data", "data is NULL");
    if ((r = smtpmail__check_envelope(envelope, err)) != SMTPMAIL_OK) return r;
    memset(&env, 0, sizeof env);
    env.raw = envelope;
    env.from = envelope->from;
    env.n_rcpt = envelope->rcpt_count;
    memset(&src, 0, sizeof src);
    src.emit = smtpmail__emit_bytes;
    src.data = (const unsigned char *)(data ? data : "");
    src.len = len;
    src.name = "data";
    /* Every line checked before anything is sent (counted, not stored). */
    memset(&o, 0, sizeof o);
    o.direct = 1;
    o.err = err;
    if ((r = smtpmail__emit_bytes(s, &src, &o, err)) != SMTPMAIL_OK) return r;
    return smtpmail__session_deliver(s, &env, &src, err);
}

SMTPMAIL_API void smtpmail_session_close(smtpmail_session *s)
{
    if (s) smtpmail__deadline(s);
    smtpmail__session_free(s, 1);
}

SMTPMAIL_API smtpmail_result smtpmail_send(const smtpmail_config *cfg, const smtpmail_message *msg,
                                           smtpmail_error *err)
{
    smtpmail_session *s = NULL;
    smtpmail__env env;
    smtpmail__source src;
    smtpmail_result r;
    if (!cfg) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "config", "config is NULL");
    /* The message first: a bad one costs no connection. */
    if ((r = smtpmail__check(msg, err)) != 0) return r;
    if ((r = smtpmail__open(cfg, msg->from.addr, &s, err)) != 0) return r;
    smtpmail__source_of_message(&env, &src, msg); /* checked above */
    r = smtpmail__deliver(s, &env, &src, 1, err);
    smtpmail__session_free(s, 1);
    return r;
}

/* >>outbox ---------------------------------------------------------------- */
#ifdef SMTPMAIL_OUTBOX
#if defined(SMTPMAIL_NO_STDIO)
#  error "SMTPMAIL_OUTBOX needs stdio (its spool): drop SMTPMAIL_NO_STDIO"
#endif

/* The outbox sits on top of a session. A message is checked and rendered
   once, at enqueue, into a record:

       smtpmail-outbox 1 HEADER_LEN CRLF
       F from-address CRLF      N from-name CRLF (optional)
       R to-address CRLF ...    C cc-address CRLF ...    B bcc-address CRLF ...
       S subject CRLF (optional)
       T text-length CRLF text-excerpt CRLF (optional)
       CRLF
       the RFC 5322 message, as smtpmail_message_write wrote it

   kept in memory, or as the spool file NNNNNNNNNNNNNNNN.msg. The header
   gives the envelope (and the digest its lines); the message is sent as
   it is, so a retry repeats the same Date and Message-ID. */

#define SMTPMAIL__TEXT_EXCERPT 2000   /* bytes of text kept for a digest */

typedef struct smtpmail__item {
    struct smtpmail__item *next;
    unsigned long long id;
    uint64_t due, born;         /* ticks: not before; taken */
    unsigned attempts;
    int held;                   /* waited for the rate limit */
    const char *from, *name, *subject, *text;
    size_t text_len, n_rcpt;
    size_t n_to, n_cc;          /* rcpt: to, then cc, then bcc (a digest's headers) */
    smtpmail_address *rcpt;     /* strings point into rec */
    unsigned char *rec;         /* the header, and in memory the message */
    size_t rec_len, raw_off, raw_len;
    char *path;                 /* spool file; NULL: in memory */
} smtpmail__item;

struct smtpmail_outbox {
    smtpmail_config cfg;        /* strings point into cfg_mem */
    smtpmail_hooks hooks;
    smtpmail_transport transport;
    char *cfg_mem;              /* wiped at close: it holds the password */
    size_t cfg_mem_len;
    smtpmail_outbox_options opt;
    char *spool;
    smtpmail_session *session;
    uint64_t last_used, hold_until;
    unsigned fails;             /* link failures in a row */
    uint64_t *sent_at;          /* ring: when the last per_minute went */
    size_t sent_n, sent_next;
    smtpmail__item *head, *tail;
    size_t count;               /* queued, and being rendered */
    size_t rendering;           /* enqueues between their two locks: close waits */
    unsigned long long next_id;
    unsigned long gen;          /* bumped by enqueue: work may be there */
    int closing, thread_on;
    uint64_t flush_until;
    smtpmail__sync sync;        /* the queue's lock; wakes the worker, and close */
    smtpmail__thread thread;
};

/* A growing byte buffer with a limit, for records. */
typedef struct smtpmail__grow {
    const smtpmail_hooks *hooks;
    unsigned char *p;
    size_t len, cap, max;
    int full;
} smtpmail__grow;

static int smtpmail__grow_put(const void *data, size_t len, void *user_data)
{
    smtpmail__grow *g = (smtpmail__grow *)user_data;
    if (len > g->max - g->len) return g->full = 1, -1;
    if (g->len + len > g->cap) {
        size_t cap = g->cap ? g->cap : 1024;
        unsigned char *p;
        while (cap < g->len + len) cap *= 2;
        if (cap > g->max) cap = g->max;
        if (!(p = (unsigned char *)smtpmail__alloc(g->hooks, cap))) return -1;
        if (g->len) memcpy(p, g->p, g->len);
        smtpmail__free(g->hooks, g->p);
        g->p = p, g->cap = cap;
    }
    memcpy(g->p + g->len, data, len);
    g->len += len;
    return 0;
}

static int smtpmail__grow_str(smtpmail__grow *g, const char *tag, const char *v, size_t n)
{
    return smtpmail__grow_put(tag, strlen(tag), g) || smtpmail__grow_put(v, n, g) ||
           smtpmail__grow_put("\r\n", 2, g);
}

/* The record's header for msg (message checked already). */
static int smtpmail__record_head(smtpmail__grow *g, const smtpmail_message *m)
{
    char num[40];
    size_t i, n = m->to_count + m->cc_count + m->bcc_count, tl;
    char field[64];
    smtpmail__env env;
    int r = smtpmail__grow_put("smtpmail-outbox 1 0000000000\r\n", 30, g);
    smtpmail__env_of_message(&env, m);
    r = r || smtpmail__grow_str(g, "F ", m->from.addr, strlen(m->from.addr));
    if (m->from.name) r = r || smtpmail__grow_str(g, "N ", m->from.name, strlen(m->from.name));
    for (i = 0; i < n; i++) {
        const char *a = smtpmail__env_rcpt(&env, i, field, sizeof field);
        const char *tag = i < m->to_count ? "R " : i < m->to_count + m->cc_count ? "C " : "B ";
        r = r || smtpmail__grow_str(g, tag, a, strlen(a));
    }
    if (m->subject) r = r || smtpmail__grow_str(g, "S ", m->subject, strlen(m->subject));
    if (m->text) {
        tl = m->text_len ? m->text_len : strlen(m->text);
        if (tl > SMTPMAIL__TEXT_EXCERPT) {
            tl = SMTPMAIL__TEXT_EXCERPT;
            while (tl > 0 && ((unsigned char)m->text[tl] & 0xC0) == 0x80) tl--; /* whole UTF-8 */
        }
        snprintf(num, sizeof num, "%lu", (unsigned long)tl);
        r = r || smtpmail__grow_str(g, "T ", num, strlen(num)) || smtpmail__grow_put(m->text, tl, g) ||
            smtpmail__grow_put("\r\n", 2, g);
    }
    r = r || smtpmail__grow_put("\r\n", 2, g);
    if (!r) {
        snprintf(num, sizeof num, "%010lu", (unsigned long)g->len);
        memcpy(g->p + 18, num, 10);
    }
    return r;
}

/* Reads the header of a record into it (envelope, subject, text). 0 when
   it is well formed. The strings are made NUL-terminated in place. */
static int smtpmail__record_parse(smtpmail_outbox *b, smtpmail__item *it)
{
    unsigned char *p = it->rec, *end;
    size_t head, n = 0, k;
    char *e;
    if (it->rec_len < 32 || memcmp(p, "smtpmail-outbox 1 ", 18) != 0) return -1;
    head = (size_t)strtoul((const char *)p + 18, &e, 10);
    if (e != (char *)p + 28 || head < 32 || head > it->rec_len) return -1;
    it->raw_off = head;
    end = p + head - 2;
    for (p += 30; p < end; p++)
        if (*p == '\n' && (p[1] == 'R' || p[1] == 'C' || p[1] == 'B')) n++;
    it->rcpt = (smtpmail_address *)smtpmail__alloc(&b->hooks, (n ? n : 1) * sizeof *it->rcpt);
    if (!it->rcpt) return -1;
    memset(it->rcpt, 0, (n ? n : 1) * sizeof *it->rcpt);
    it->subject = "";
    for (p = it->rec + 30; p < end;) {
        unsigned char tag = p[0], *v = p + 2, *nl;
        if (end - p < 2 || p[1] != ' ' || !(nl = (unsigned char *)memchr(v, '\r', (size_t)(end - v))) ||
            nl + 2 > end || nl[1] != '\n')
            return -1;
        *nl = '\0';
        if (tag == 'F') it->from = (const char *)v;
        else if (tag == 'N') it->name = (const char *)v;
        else if (tag == 'S') it->subject = (const char *)v;
        else if ((tag == 'R' || tag == 'C' || tag == 'B') && it->n_rcpt < n) {
            /* to, cc, bcc in that order (as smtpmail__rcpt gives them) */
            if ((tag == 'R' && it->n_rcpt != it->n_to) || (tag == 'C' && it->n_rcpt != it->n_to + it->n_cc))
                return -1;
            it->rcpt[it->n_rcpt++].addr = (const char *)v;
            if (tag == 'R') it->n_to++;
            else if (tag == 'C') it->n_cc++;
        }
        else if (tag == 'T') {
            /* nl + 2 <= end (checked above) */
            k = (size_t)strtoul((const char *)v, NULL, 10);
            if ((size_t)(end - (nl + 2)) < 2 || k > (size_t)(end - (nl + 2)) - 2) return -1; /* no wrap */
            it->text = (const char *)nl + 2, it->text_len = k;
            nl += k + 2;
            if (nl[0] != '\r' || nl[1] != '\n') return -1;
            *nl = '\0';
        } else return -1;
        p = nl + 2;
    }
    return it->from && it->n_rcpt ? 0 : -1;
}

static void smtpmail__item_free(smtpmail_outbox *b, smtpmail__item *it)
{
    if (!it) return;
    smtpmail__free(&b->hooks, it->rcpt);
    smtpmail__free(&b->hooks, it->rec);
    smtpmail__free(&b->hooks, it->path);
    smtpmail__free(&b->hooks, it);
}

static char *smtpmail__strdup(const smtpmail_hooks *h, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = (char *)smtpmail__alloc(h, n);
    if (p) memcpy(p, s, n);
    return p;
}

/* "DIR/0000000000000012.msg" and the like. */
static char *smtpmail__spool_path(smtpmail_outbox *b, unsigned long long id, const char *ext)
{
    size_t n = strlen(b->spool) + 40;
    char *p = (char *)smtpmail__alloc(&b->hooks, n);
    if (p) snprintf(p, n, "%s/%016llx.%s", b->spool, id, ext);
    return p;
}

/* Write, fsync, rename: the .msg file exists whole or not at all. */
static smtpmail_result smtpmail__spool_write(smtpmail_outbox *b, smtpmail__item *it, const smtpmail_message *m,
                                             smtpmail_error *err)
{
    char *tmp = smtpmail__spool_path(b, it->id, "tmp");
    FILE *f;
    smtpmail_result r = SMTPMAIL_OK;
    long end;
    int bad;
    it->path = smtpmail__spool_path(b, it->id, "msg");
    if (!tmp || !it->path) {
        smtpmail__free(&b->hooks, tmp);
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
    }
    if (!(f = smtpmail__fopen(tmp, "wb"))) {
        r = smtpmail__fail(err, SMTPMAIL_ERR_SPOOL, SMTPMAIL_STAGE_NONE, "outbox.spool_dir", "cannot create %s: %s", tmp,
                           strerror(errno));
        smtpmail__free(&b->hooks, tmp);
        return r;
    }
    bad = fwrite(it->rec, 1, it->raw_off, f) != it->raw_off;
    if (!bad) {
        r = smtpmail_message_write(m, &b->hooks, smtpmail__write_file, f, err);
        bad = r != SMTPMAIL_OK || (end = ftell(f)) < 0;
        if (!bad) it->raw_len = (size_t)end - it->raw_off;
    }
    if (!bad && smtpmail__file_sync(f) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
    if (!bad && smtpmail__rename(tmp, it->path) != 0) bad = 1;
    if (bad) {
        if (r == SMTPMAIL_OK || r == SMTPMAIL_ERR_WRITE)
            r = smtpmail__fail(err, SMTPMAIL_ERR_SPOOL, SMTPMAIL_STAGE_NONE, "outbox.spool_dir", "cannot write %s: %s", tmp,
                               strerror(errno));
        (void)smtpmail__remove(tmp);
    } else {
        smtpmail__dir_sync(b->spool);
    }
    smtpmail__free(&b->hooks, tmp);
    return r;
}

/* A spool file back into an item: its header only; the message stays on
   disk until it is sent. */
static smtpmail__item *smtpmail__spool_load(smtpmail_outbox *b, const char *name)
{
    smtpmail__item *it = (smtpmail__item *)smtpmail__alloc(&b->hooks, sizeof *it);
    unsigned char first[31]; /* the first line, NUL-terminated for strtoul */
    size_t head;
    long size;
    FILE *f = NULL;
    if (!it) return NULL;
    memset(it, 0, sizeof *it);
    it->id = strtoull(name, NULL, 16);
    if (!(it->path = smtpmail__spool_path(b, it->id, "msg")) || !(f = smtpmail__fopen(it->path, "rb")) || fread(first, 1, 30, f) != 30 || memcmp(first, "smtpmail-outbox 1 ", 18) != 0)
        goto bad;
    first[30] = '\0';
    head = (size_t)strtoul((const char *)first + 18, NULL, 10);
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || head < 32 || head > (size_t)size ||
        head > 4u * 1024 * 1024 || !(it->rec = (unsigned char *)smtpmail__alloc(&b->hooks, head)) ||
        fseek(f, 0, SEEK_SET) != 0 || fread(it->rec, 1, head, f) != head)
        goto bad;
    it->rec_len = head;
    it->raw_len = (size_t)size - head;
    if (smtpmail__record_parse(b, it) != 0) goto bad;
    fclose(f);
    return it;
bad:
    if (f) fclose(f);
    smtpmail__item_free(b, it);
    return NULL;
}

static void smtpmail__queue_push(smtpmail_outbox *b, smtpmail__item *it)
{
    it->next = NULL;
    if (b->tail) b->tail->next = it;
    else b->head = it;
    b->tail = it;
}

/* The spool directory's names, as smtpmail__spool_scan collects them. */
typedef struct smtpmail__scan {
    smtpmail_outbox *b;
    char **names;               /* NNNNNNNNNNNNNNNN.msg */
    size_t n, cap;
    int no_memory;
} smtpmail__scan;

static int smtpmail__spool_entry(const char *name, void *user)
{
    smtpmail__scan *sc = (smtpmail__scan *)user;
    smtpmail_outbox *b = sc->b;
    unsigned long long seen;
    if (strlen(name) < 20 || strspn(name, "0123456789abcdef") != 16 || name[16] != '.') return 0;
    /* Every name in use, .failed included: a new message must never take
       an old one's name (its .failed would be replaced). */
    seen = strtoull(name, NULL, 16);
    if (seen >= b->next_id) b->next_id = seen + 1;
    if (strlen(name) != 20) return 0;
    if (strcmp(name + 16, ".tmp") == 0) { /* a write a crash interrupted */
        char *p = smtpmail__spool_path(b, seen, "tmp");
        if (p) (void)smtpmail__remove(p);
        smtpmail__free(&b->hooks, p);
        return 0;
    }
    if (strcmp(name + 16, ".msg") != 0) return 0;
    if (sc->n == sc->cap) {
        char **more = (char **)smtpmail__alloc(&b->hooks, (sc->cap ? sc->cap * 2 : 16) * sizeof *more);
        if (!more) return sc->no_memory = 1;
        if (sc->n) memcpy(more, sc->names, sc->n * sizeof *more);
        smtpmail__free(&b->hooks, sc->names);
        sc->names = more;
        sc->cap = sc->cap ? sc->cap * 2 : 16;
    }
    if (!(sc->names[sc->n] = smtpmail__strdup(&b->hooks, name))) return sc->no_memory = 1;
    sc->n++;
    return 0;
}

/* What a crash or an earlier close left in the spool, oldest first (the
   names are the ids, fixed-width hex, so name order is queue order). */
static smtpmail_result smtpmail__spool_scan(smtpmail_outbox *b, smtpmail_error *err)
{
    smtpmail__scan sc;
    size_t i, j;
    char *name;
    memset(&sc, 0, sizeof sc);
    sc.b = b;
    if (smtpmail__dir_each(b->spool, smtpmail__spool_entry, &sc) != 0)
        return smtpmail__fail(err, SMTPMAIL_ERR_SPOOL, SMTPMAIL_STAGE_NONE, "outbox.spool_dir",
                              "cannot read the directory %s: %s", b->spool, strerror(errno));
    for (i = 1; i < sc.n; i++) /* insertion sort: spools are short */
        for (j = i; j > 0 && strcmp(sc.names[j - 1], sc.names[j]) > 0; j--)
            name = sc.names[j], sc.names[j] = sc.names[j - 1], sc.names[j - 1] = name;
    for (i = 0; i < sc.n; i++) {
        smtpmail__item *it = sc.no_memory ? NULL : smtpmail__spool_load(b, sc.names[i]);
        unsigned long long id = strtoull(sc.names[i], NULL, 16);
        if (it) {
            it->born = smtpmail__ticks(&b->hooks);
            smtpmail__queue_push(b, it), b->count++;
        } else if (!sc.no_memory) { /* unreadable: set aside, never lost */
            char *from = smtpmail__spool_path(b, id, "msg"), *to = smtpmail__spool_path(b, id, "failed");
            if (from && to) (void)smtpmail__rename(from, to);
            smtpmail__free(&b->hooks, from);
            smtpmail__free(&b->hooks, to);
        }
        smtpmail__free(&b->hooks, sc.names[i]);
    }
    smtpmail__free(&b->hooks, sc.names);
    if (sc.no_memory) return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
    return SMTPMAIL_OK;
}

/* The config, deep: the caller's strings may be gone by the time the
   worker connects. */
static smtpmail_result smtpmail__outbox_copy_config(smtpmail_outbox *b, const smtpmail_config *cfg)
{
    const char **fields[9];
    size_t i, need = 0, pem_len = cfg->ca_pem ? (cfg->ca_pem_len ? cfg->ca_pem_len : strlen(cfg->ca_pem)) : 0;
    char *p;
    b->cfg = *cfg;
    fields[0] = &b->cfg.url, fields[1] = &b->cfg.host, fields[2] = &b->cfg.username;
    fields[3] = &b->cfg.password, fields[4] = &b->cfg.oauth2_token, fields[5] = &b->cfg.ca_file;
    fields[6] = &b->cfg.ca_dir, fields[7] = &b->cfg.pin_sha256, fields[8] = &b->cfg.helo_name;
    for (i = 0; i < 9; i++)
        if (*fields[i]) need += strlen(*fields[i]) + 1;
    need += pem_len + 1;
    if (!(b->cfg_mem = (char *)smtpmail__alloc(&b->hooks, need))) return SMTPMAIL_ERR_NO_MEMORY;
    b->cfg_mem_len = need;
    p = b->cfg_mem;
    for (i = 0; i < 9; i++) {
        if (!*fields[i]) continue;
        memcpy(p, *fields[i], strlen(*fields[i]) + 1);
        *fields[i] = p;
        p += strlen(p) + 1;
    }
    if (cfg->ca_pem) {
        memcpy(p, cfg->ca_pem, pem_len);
        p[pem_len] = '\0';
        b->cfg.ca_pem = p, b->cfg.ca_pem_len = pem_len;
    }
    if (cfg->hooks) b->hooks = *cfg->hooks;
    b->cfg.hooks = &b->hooks;
    if (cfg->transport) b->transport = *cfg->transport, b->cfg.transport = &b->transport;
    return SMTPMAIL_OK;
}

/* Exponential, capped, with "equal jitter": half fixed, half random. */
static uint64_t smtpmail__backoff(smtpmail_outbox *b, unsigned n)
{
    uint64_t d = b->opt.backoff_first_ms;
    uint32_t rnd;
    while (n-- > 1 && d < b->opt.backoff_max_ms) d *= 2;
    if (d > b->opt.backoff_max_ms) d = b->opt.backoff_max_ms;
    smtpmail__random(&b->hooks, (unsigned char *)&rnd, sizeof rnd);
    return d / 2 + (d / 2 ? rnd % (d / 2 + 1) : 0);
}

static int smtpmail__same_envelope(const smtpmail__item *a, const smtpmail__item *b)
{
    size_t i;
    if (strcmp(a->from, b->from) != 0 || a->n_rcpt != b->n_rcpt || a->n_to != b->n_to || a->n_cc != b->n_cc)
        return 0;
    for (i = 0; i < a->n_rcpt; i++)
        if (strcmp(a->rcpt[i].addr, b->rcpt[i].addr) != 0) return 0;
    return 1;
}

/* One digest message for the held items in group[0..n). */
static smtpmail_result smtpmail__send_digest(smtpmail_outbox *b, smtpmail__item **group, size_t n,
                                             smtpmail_error *err)
{
    smtpmail__grow text;
    char subject[300], line[80];
    smtpmail_message m;
    smtpmail_result r;
    size_t i;
    memset(&text, 0, sizeof text);
    text.hooks = &b->hooks;
    text.max = (size_t)-1;
    for (i = 0; i < n; i++) {
        snprintf(line, sizeof line, "--- %lu of %lu: ", (unsigned long)i + 1, (unsigned long)n);
        if (smtpmail__grow_put(line, strlen(line), &text) ||
            smtpmail__grow_str(&text, "", group[i]->subject[0] ? group[i]->subject : "(no subject)",
                               strlen(group[i]->subject[0] ? group[i]->subject : "(no subject)")) ||
            (group[i]->text && smtpmail__grow_put(group[i]->text, group[i]->text_len, &text)) ||
            smtpmail__grow_put("\r\n\r\n", 4, &text)) {
            smtpmail__free(&b->hooks, text.p);
            return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
        }
    }
    /* "12 alerts: first subject", cut on a UTF-8 boundary. */
    i = strlen(group[0]->subject);
    if (i > 250)
        for (i = 250; i > 0 && ((unsigned char)group[0]->subject[i] & 0xC0) == 0x80; i--) {}
    snprintf(subject, sizeof subject, "%lu alerts: %.*s", (unsigned long)n, (int)i, group[0]->subject);
    memset(&m, 0, sizeof m);
    m.from.addr = group[0]->from, m.from.name = group[0]->name;
    /* The original's To and Cc; its Bcc stays in the envelope only. */
    m.to = group[0]->rcpt, m.to_count = group[0]->n_to;
    m.cc = group[0]->rcpt + group[0]->n_to, m.cc_count = group[0]->n_cc;
    m.bcc = m.cc + m.cc_count, m.bcc_count = group[0]->n_rcpt - group[0]->n_to - group[0]->n_cc;
    m.subject = subject;
    m.text = (const char *)text.p, m.text_len = text.len;
    r = smtpmail_session_send(b->session, &m, err);
    smtpmail__free(&b->hooks, text.p);
    return r;
}

#ifndef SMTPMAIL_NO_STDIO
/* The engine's reader over a spool file, from the message's first byte. */
static int smtpmail__spool_read(void *buf, size_t cap, size_t *got, void *user_data)
{
    FILE *f = (FILE *)user_data;
    *got = fread(buf, 1, cap, f);
    return ferror(f) ? -1 : 0;
}
#endif

/* One item as recorded: the envelope from its header, the message as it
   was rendered at enqueue (memory, or read from its spool file). */
static smtpmail_result smtpmail__send_item(smtpmail_outbox *b, smtpmail__item *it, smtpmail_error *err)
{
    smtpmail_message m;
    smtpmail__env env;
    smtpmail__source src;
    smtpmail_result r;
    FILE *f = NULL;
    memset(&m, 0, sizeof m);
    m.from.addr = it->from;
    m.to = it->rcpt, m.to_count = it->n_rcpt;
    /* The envelope as a message's: a spool file's addresses are checked
       again, as the caller's were at enqueue. */
    if ((r = smtpmail__check(&m, err)) != SMTPMAIL_OK) return r;
    smtpmail__env_of_message(&env, &m);
    memset(&src, 0, sizeof src);
    src.emit = smtpmail__emit_bytes;
    src.len = it->raw_len;
    if (it->path) {
        if (!(f = smtpmail__fopen(it->path, "rb")) || fseek(f, (long)it->raw_off, SEEK_SET) != 0) {
            r = smtpmail__fail(err, SMTPMAIL_ERR_SPOOL, SMTPMAIL_STAGE_MESSAGE, "outbox.spool_dir",
                               "cannot read %s: %s", it->path, strerror(errno));
            if (f) fclose(f);
            return r;
        }
        src.read = smtpmail__spool_read, src.read_user_data = f, src.name = it->path;
    } else {
        src.data = it->rec + it->raw_off, src.name = "the queued message";
    }
    r = smtpmail__session_deliver(b->session, &env, &src, err);
    if (f) fclose(f);
    /* The engine names the source; the outbox says what it is. */
    if (it->path && (r == SMTPMAIL_ERR_FILE || r == SMTPMAIL_ERR_BAD_FIELD) && err &&
        strcmp(err->field, it->path) == 0) {
        err->result = r = SMTPMAIL_ERR_SPOOL;
        smtpmail__copy(err->field, sizeof err->field, "outbox.spool_dir");
    }
    return r;
}

/* Takes the item out of the spool: removed when sent, else kept aside. */
static void smtpmail__spool_done(smtpmail_outbox *b, smtpmail__item *it, int sent)
{
    char *to;
    if (!it->path) return;
    if (sent) {
        (void)smtpmail__remove(it->path);
    } else if ((to = smtpmail__spool_path(b, it->id, "failed")) != NULL) {
        (void)smtpmail__rename(it->path, to);
        smtpmail__free(&b->hooks, to);
    }
    smtpmail__dir_sync(b->spool);
}

static void smtpmail__unlink_item(smtpmail_outbox *b, smtpmail__item *it)
{
    smtpmail__item **pp = &b->head, *prev = NULL;
    while (*pp && *pp != it) prev = *pp, pp = &(*pp)->next;
    if (!*pp) return;
    *pp = it->next;
    if (b->tail == it) b->tail = prev;
    b->count--;
}

static void smtpmail__report(smtpmail_outbox *b, smtpmail__item *it, smtpmail_result r, const smtpmail_error *e,
                             size_t digest_of)
{
    smtpmail_outbox_report rep;
    if (!b->opt.on_done) return;
    memset(&rep, 0, sizeof rep);
    rep.id = it->id;
    rep.result = r;
    rep.error = r == SMTPMAIL_OK ? NULL : e;
    rep.attempts = it->attempts;
    rep.digest_of = digest_of;
    rep.subject = it->subject;
    b->opt.on_done(&rep, b->opt.user_data);
}

/* Whether a failure was the link's, not the message's: getting a
   connection fit to send (the config, the name, TCP, TLS, the greeting,
   EHLO, STARTTLS, AUTH). A link failure holds the whole queue back, and
   one refused for good answers every message. Whether to retry at all is
   smtpmail_result_is_temporary's alone. */
static int smtpmail__link_failed(smtpmail_result r, const smtpmail_error *e)
{
    if (r == SMTPMAIL_OK) return 0;
    switch (e->stage) {
    case SMTPMAIL_STAGE_CONFIG: case SMTPMAIL_STAGE_RESOLVE: case SMTPMAIL_STAGE_CONNECT:
    case SMTPMAIL_STAGE_TLS: case SMTPMAIL_STAGE_GREETING: case SMTPMAIL_STAGE_EHLO:
    case SMTPMAIL_STAGE_STARTTLS: case SMTPMAIL_STAGE_AUTH:
        return 1;
    default:
        return 0;
    }
}

/* With the lock held: the group to send now (the first due item, and when
   the rate limit held it back, every held item with the same envelope: a
   digest), marked busy: in `one` when it is one item (or there is no
   memory for a digest). NULL when nothing is due: *wait says how long. */
static smtpmail__item **smtpmail__outbox_pick(smtpmail_outbox *b, uint64_t now, size_t *n, uint64_t *wait,
                                              smtpmail__item **one)
{
    smtpmail__item *it, *first = NULL, **group;
    size_t i, in_window = 0;
    uint64_t oldest = 0;
    for (i = 0; b->opt.per_minute && i < b->sent_n; i++)
        if (now - b->sent_at[i] < 60000u) {
            in_window++;
            if (!oldest || b->sent_at[i] < oldest) oldest = b->sent_at[i];
        }
    for (it = b->head; it; it = it->next) {
        if (it->due > now) {
            if (it->due - now < *wait) *wait = it->due - now;
        } else if (b->opt.per_minute && in_window >= b->opt.per_minute) {
            it->held = 1;
        } else if (!first) {
            first = it;
        }
    }
    if (b->hold_until > now && b->head) {
        if (b->hold_until - now < *wait) *wait = b->hold_until - now;
        first = NULL;
    }
    if (b->opt.per_minute && in_window >= b->opt.per_minute && oldest + 60000u - now < *wait)
        *wait = oldest + 60000u - now;
    if (!first) return NULL;
    *n = 1;
    if (first->held)
        for (it = first->next; it; it = it->next)
            if (it->held && it->due <= now && smtpmail__same_envelope(first, it)) (*n)++;
    group = *n > 1 ? (smtpmail__item **)smtpmail__alloc(&b->hooks, *n * sizeof *group) : NULL;
    if (!group) *n = 1, group = one;
    group[0] = first;
    for (i = 1, it = first->next; it && i < *n; it = it->next)
        if (it->held && it->due <= now && smtpmail__same_envelope(first, it)) group[i++] = it;
    for (i = 0; i < *n; i++) group[i]->attempts++, group[i]->due = (uint64_t)-1; /* busy */
    return group;
}

/* With the lock held: what a send's result means for the queue. Items to
   retry are rescheduled and taken out of group (NULL); the others are
   unlinked for their report. A link refused for good also unlinks every
   other queued item into *dead. */
static void smtpmail__outbox_settle(smtpmail_outbox *b, smtpmail__item **group, size_t n, smtpmail_result r,
                                    const smtpmail_error *err, smtpmail__item **dead)
{
    smtpmail__item *it, *next, **tail = dead;
    uint64_t now = smtpmail__ticks(&b->hooks);
    int retry = smtpmail_result_is_temporary(r), link = smtpmail__link_failed(r, err);
    size_t i;
    b->last_used = now;
    if (r == SMTPMAIL_OK) {
        b->fails = 0;
        if (b->opt.per_minute) {
            b->sent_at[b->sent_next] = now;
            b->sent_next = (b->sent_next + 1) % b->opt.per_minute;
            if (b->sent_n < b->opt.per_minute) b->sent_n++;
        }
    }
    if (retry && link) { /* the link, not the message: everything waits */
        b->fails++;
        b->hold_until = now + smtpmail__backoff(b, b->fails);
    }
    for (i = 0; i < n; i++) {
        it = group[i];
        if (retry && now - it->born < b->opt.retry_for_ms) {
            it->due = link ? b->hold_until : now + smtpmail__backoff(b, it->attempts);
            it->held = 0;
            group[i] = NULL;
        } else {
            smtpmail__unlink_item(b, it);
        }
    }
    if (link && !retry) {
        /* Refused for good (a 5xx greeting, 535 to AUTH, the certificate,
           the config): every queued message would get the same answer,
           one connection each. It gets it now. */
        for (it = b->head; it; it = next) {
            next = it->next;
            if (it->due == (uint64_t)-1) continue; /* another pump's */
            smtpmail__unlink_item(b, it);
            it->next = NULL, *tail = it, tail = &it->next;
        }
    }
}

/* The items' ends: the spool file, the report, the memory. */
static void smtpmail__outbox_finish(smtpmail_outbox *b, smtpmail__item *it, smtpmail_result r,
                                    const smtpmail_error *err, size_t digest_of)
{
    smtpmail__spool_done(b, it, r == SMTPMAIL_OK);
    smtpmail__report(b, it, r, err, digest_of);
    smtpmail__item_free(b, it);
}

/* The scheduler. With the lock held: picks what is due; without it:
   connects and sends; with it again: settles. Returns ms to the next
   thing to do. */
static uint32_t smtpmail__outbox_step(smtpmail_outbox *b)
{
    smtpmail__item **group, *one[1], *dead = NULL, *it;
    size_t n = 0, i;
    uint64_t now, wait = 60000;
    smtpmail_error err;
    smtpmail_result r = SMTPMAIL_OK;

    SMTPMAIL__LOCK(&b->sync);
    now = smtpmail__ticks(&b->hooks);
    if (!(group = smtpmail__outbox_pick(b, now, &n, &wait, one))) {
        /* Nothing to send: hang up a session idle for too long. */
        smtpmail_session *idle = NULL;
        if (b->session && now - b->last_used >= b->opt.idle_close_ms) idle = b->session, b->session = NULL;
        else if (b->session && b->last_used + b->opt.idle_close_ms - now < wait)
            wait = b->last_used + b->opt.idle_close_ms - now;
        SMTPMAIL__UNLOCK(&b->sync);
        if (idle) smtpmail_session_close(idle);
        return (uint32_t)wait;
    }
    SMTPMAIL__UNLOCK(&b->sync);

    /* The network, unlocked: enqueue never waits for it. */
    memset(&err, 0, sizeof err);
    if (!b->session) r = smtpmail__open(&b->cfg, group[0]->from, &b->session, &err);
    if (r == SMTPMAIL_OK) r = n > 1 ? smtpmail__send_digest(b, group, n, &err) : smtpmail__send_item(b, group[0], &err);

    SMTPMAIL__LOCK(&b->sync);
    smtpmail__outbox_settle(b, group, n, r, &err, &dead);
    SMTPMAIL__UNLOCK(&b->sync);
    for (i = 0; i < n; i++)
        if (group[i]) smtpmail__outbox_finish(b, group[i], r, &err, n);
    while ((it = dead) != NULL) {
        dead = it->next;
        smtpmail__outbox_finish(b, it, r, &err, 1);
    }
    if (group != one) smtpmail__free(&b->hooks, group);
    return 0;
}

/* The worker: steps, and sleeps until the next thing is due or enqueue
   wakes it; once closing, until the queue is empty or flush_until. */
static void smtpmail__outbox_run(smtpmail_outbox *b)
{
    uint32_t wait = 0;
    unsigned long gen;
    uint64_t now;
    /* The lock is held from the check of gen to the wait: an enqueue (or a
       close) either shows in gen or signals a waiting worker, never falls
       between the two. */
    SMTPMAIL__LOCK(&b->sync);
    for (;;) {
        now = smtpmail__ticks(&b->hooks);
        if (b->closing && (!b->head || now >= b->flush_until)) {
            SMTPMAIL__UNLOCK(&b->sync);
            return;
        }
        if (b->closing && b->flush_until - now < wait) wait = (uint32_t)(b->flush_until - now);
        if (wait > 1000) wait = 1000; /* a hooked clock may run apart from the real one */
        if (wait > 0) smtpmail__sync_wait(&b->sync, wait);
        gen = b->gen;
        SMTPMAIL__UNLOCK(&b->sync);
        wait = smtpmail__outbox_step(b);
        SMTPMAIL__LOCK(&b->sync);
        if (b->gen != gen) wait = 0; /* enqueued while we were busy */
    }
}

/* The worker thread's body. */
static void smtpmail__outbox_thread(void *arg) { smtpmail__outbox_run((smtpmail_outbox *)arg); }

SMTPMAIL_API smtpmail_result smtpmail_outbox_open(const smtpmail_config *cfg, const smtpmail_outbox_options *opt,
                                                  smtpmail_outbox **out, smtpmail_error *err)
{
    smtpmail_outbox *b;
    smtpmail_result r;
    if (!out) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "out", "out is NULL");
    *out = NULL;
    if (!cfg) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "config", "config is NULL");
    if ((r = smtpmail__check_hooks(cfg->hooks, err)) != 0) return r;
    if (!(b = (smtpmail_outbox *)smtpmail__alloc(cfg->hooks, sizeof *b)))
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
    memset(b, 0, sizeof *b);
    if (opt) b->opt = *opt;
    if (!b->opt.queue_max) b->opt.queue_max = 256;
    if (!b->opt.max_message_bytes) b->opt.max_message_bytes = 4u * 1024 * 1024;
    if (!b->opt.retry_for_ms) b->opt.retry_for_ms = 24u * 3600 * 1000;
    if (!b->opt.backoff_first_ms) b->opt.backoff_first_ms = 2000;
    if (!b->opt.backoff_max_ms) b->opt.backoff_max_ms = 300000;
    if (b->opt.backoff_max_ms < b->opt.backoff_first_ms) b->opt.backoff_max_ms = b->opt.backoff_first_ms;
    if (!b->opt.idle_close_ms) b->opt.idle_close_ms = 30000;
    b->opt.spool_dir = NULL;
    b->next_id = 1;
    if (smtpmail__outbox_copy_config(b, cfg) != SMTPMAIL_OK ||
        (opt && opt->spool_dir && opt->spool_dir[0] && !(b->spool = smtpmail__strdup(&b->hooks, opt->spool_dir))) ||
        (b->opt.per_minute &&
         !(b->sent_at = (uint64_t *)smtpmail__alloc(&b->hooks, b->opt.per_minute * sizeof *b->sent_at)))) {
        r = smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
        goto fail;
    }
    if (b->spool && (r = smtpmail__spool_scan(b, err)) != SMTPMAIL_OK) goto fail;
    smtpmail__sync_init(&b->sync);
    b->thread.fn = smtpmail__outbox_thread, b->thread.arg = b;
    if (!b->opt.no_thread) b->thread_on = smtpmail__thread_start(&b->thread) == 0;
    if (!b->opt.no_thread && !b->thread_on) {
        smtpmail_outbox_close(b, 0);
        return smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "cannot start the outbox's thread");
    }
    *out = b;
    return SMTPMAIL_OK;
fail:
    while (b->head) {
        smtpmail__item *it = b->head;
        b->head = it->next;
        smtpmail__item_free(b, it);
    }
    if (b->cfg_mem) smtpmail__wipe(b->cfg_mem, b->cfg_mem_len);
    smtpmail__free(&b->hooks, b->cfg_mem);
    smtpmail__free(&b->hooks, b->spool);
    smtpmail__free(&b->hooks, b->sent_at);
    smtpmail__free(cfg->hooks, b);
    return r;
}

SMTPMAIL_API smtpmail_result smtpmail_outbox_enqueue(smtpmail_outbox *b, const smtpmail_message *msg,
                                                     unsigned long long *id, smtpmail_error *err)
{
    smtpmail__item *it;
    smtpmail__grow g;
    smtpmail_result r;
    if (id) *id = 0;
    if (!b) return smtpmail__fail(err, SMTPMAIL_ERR_INVALID_ARG, SMTPMAIL_STAGE_NONE, "outbox", "outbox is NULL");
    if ((r = smtpmail__check(msg, err)) != SMTPMAIL_OK) return r;
    SMTPMAIL__LOCK(&b->sync);
    if (b->count >= b->opt.queue_max || b->closing) {
        SMTPMAIL__UNLOCK(&b->sync);
        return b->closing ? smtpmail__fail(err, SMTPMAIL_ERR_QUEUE_CLOSED, SMTPMAIL_STAGE_NONE, "outbox", "the outbox is closing")
                          : smtpmail__fail(err, SMTPMAIL_ERR_QUEUE_FULL, SMTPMAIL_STAGE_NONE, "outbox",
                                           "the outbox holds %lu messages (queue_max)",
                                           (unsigned long)b->opt.queue_max);
    }
    b->count++; /* the place is taken while the message renders, unlocked */
    b->rendering++;
    SMTPMAIL__UNLOCK(&b->sync);

    memset(&g, 0, sizeof g);
    g.hooks = &b->hooks;
    g.max = (size_t)-1;
    it = (smtpmail__item *)smtpmail__alloc(&b->hooks, sizeof *it);
    if (!it || smtpmail__record_head(&g, msg) != 0) {
        r = smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
        goto fail;
    }
    memset(it, 0, sizeof *it);
    it->raw_off = g.len;
    if (b->spool) {
        SMTPMAIL__LOCK(&b->sync);
        it->id = b->next_id++;
        SMTPMAIL__UNLOCK(&b->sync);
        it->rec = g.p, it->rec_len = g.len, g.p = NULL;
        if ((r = smtpmail__spool_write(b, it, msg, err)) != SMTPMAIL_OK) goto fail;
    } else {
        g.max = g.len + b->opt.max_message_bytes;
        r = smtpmail_message_write(msg, &b->hooks, smtpmail__grow_put, &g, err);
        if (r != SMTPMAIL_OK) {
            if (g.full)
                r = smtpmail__fail(err, SMTPMAIL_ERR_TOO_LONG, SMTPMAIL_STAGE_NONE, "outbox.max_message_bytes",
                                   "the message is over max_message_bytes (%lu): use a spool_dir",
                                   (unsigned long)b->opt.max_message_bytes);
            else if (r == SMTPMAIL_ERR_WRITE)
                r = smtpmail__fail(err, SMTPMAIL_ERR_NO_MEMORY, SMTPMAIL_STAGE_NONE, "", "out of memory");
            goto fail;
        }
        it->rec = g.p, it->rec_len = g.len, g.p = NULL;
        it->raw_len = it->rec_len - it->raw_off;
    }
    if (smtpmail__record_parse(b, it) != 0) {
        r = smtpmail__fail(err, SMTPMAIL_ERR_INTERNAL, SMTPMAIL_STAGE_NONE, "", "internal error: outbox record (please report)");
        goto fail;
    }
    SMTPMAIL__LOCK(&b->sync);
    if (!it->id) it->id = b->next_id++;
    it->born = smtpmail__ticks(&b->hooks);
    smtpmail__queue_push(b, it);
    b->gen++;
    b->rendering--;
    SMTPMAIL__WAKE_ALL(&b->sync);
    SMTPMAIL__UNLOCK(&b->sync);
    if (id) *id = it->id;
    return SMTPMAIL_OK;
fail:
    if (it && it->path) (void)smtpmail__remove(it->path);
    smtpmail__free(&b->hooks, g.p);
    if (it) smtpmail__item_free(b, it);
    SMTPMAIL__LOCK(&b->sync);
    b->count--;
    b->rendering--;
    SMTPMAIL__WAKE_ALL(&b->sync);
    SMTPMAIL__UNLOCK(&b->sync);
    return r;
}

SMTPMAIL_API size_t smtpmail_outbox_pending(smtpmail_outbox *b)
{
    size_t n;
    if (!b) return 0;
    SMTPMAIL__LOCK(&b->sync);
    n = b->count;
    SMTPMAIL__UNLOCK(&b->sync);
    return n;
}

SMTPMAIL_API uint32_t smtpmail_outbox_pump(smtpmail_outbox *b)
{
    if (!b || b->thread_on) return 1000;
    return smtpmail__outbox_step(b);
}

SMTPMAIL_API size_t smtpmail_outbox_close(smtpmail_outbox *b, uint32_t flush_ms)
{
    smtpmail_error err;
    size_t left = 0;
    if (!b) return 0;
    SMTPMAIL__LOCK(&b->sync);
    b->closing = 1;
    /* An enqueue under way (rendering, unlocked) still holds b: it ends
       first, and its message is flushed or reported like the others. */
    while (b->rendering > 0) smtpmail__sync_wait(&b->sync, 1000);
    b->flush_until = smtpmail__ticks(&b->hooks) + flush_ms;
    SMTPMAIL__WAKE_ALL(&b->sync);
    SMTPMAIL__UNLOCK(&b->sync);
    if (b->thread_on) {
        smtpmail__thread_join(&b->thread);
    } else if (flush_ms > 0) {
        smtpmail__outbox_run(b); /* no_thread: the flush happens here */
    }
    if (b->session) smtpmail_session_close(b->session);
    memset(&err, 0, sizeof err);
    smtpmail__fail(&err, SMTPMAIL_ERR_QUEUE_CLOSED, SMTPMAIL_STAGE_NONE, "outbox", "the outbox closed before this message was sent");
    while (b->head) {
        smtpmail__item *it = b->head;
        b->head = it->next;
        left++;
        if (!it->path) smtpmail__report(b, it, SMTPMAIL_ERR_QUEUE_CLOSED, &err, 1);
        smtpmail__item_free(b, it);
    }
    smtpmail__sync_free(&b->sync);
    smtpmail__wipe(b->cfg_mem, b->cfg_mem_len);
    smtpmail__free(&b->hooks, b->cfg_mem);
    smtpmail__free(&b->hooks, b->spool);
    smtpmail__free(&b->hooks, b->sent_at);
    {
        smtpmail_hooks h = b->hooks;
        smtpmail__free(&h, b);
    }
    return left;
}

#endif /* SMTPMAIL_OUTBOX */

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
