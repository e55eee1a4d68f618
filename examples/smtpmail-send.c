/* smtpmail-send - build an e-mail from the command line and send it with
   smtpmail.h; an example to read and a tool for scripts:

     export SMTPMAIL_PASSWORD=...   # for QQ Mail: the authorization code
     smtpmail-send --from "Alert Bot <bot@qq.com>" --to ops@example.com \
         --subject "Disk 91% full" --text-file report.txt \
         --attach "df.csv;type=text/csv"

   The server comes from --url or $SMTPMAIL_URL, else from the preset of the
   sender's domain (qq.com here). --dry-run writes the message to stdout
   instead and uses no network.

   Exit status: 0 the server accepted the message (or --dry-run wrote it);
   1 usage error; 2 the message is wrong (bad address, header injection,
   invalid UTF-8, unreadable file); 3 network, DNS, timeout, TLS or protocol
   failure; 4 the server refused it for good (5xx, bad credentials); 5 it
   failed for now (4xx: try again later). A failure prints one line on
   stderr, never the password. ISO C99, smtpmail.h and mbedTLS, so it also
   builds with MinGW. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h" /* on Windows: winsock2.h, then windows.h */
#ifndef SMTPMAIL_NO_TLS
#include <mbedtls/version.h> /* for --version */
#endif

#ifdef _WIN32
#include <shellapi.h> /* CommandLineToArgvW: shell32 */
#ifdef _MSC_VER
#pragma comment(lib, "shell32")
#endif
#endif

#define EXIT_USAGE 1     /* bad command line */
#define EXIT_MESSAGE 2   /* the message cannot be built */
#define EXIT_NETWORK 3   /* no conversation with the server: see exit_status() */
#define EXIT_REJECTED 4  /* the server said no for good */
#define EXIT_TEMPORARY 5 /* the server said not now */
#define DONE (-1)        /* --help or --version was shown: stop, exit 0 */

static const char usage_text[] =
    "usage: smtpmail-send --from ADDR --to LIST [options]\n"
    "Builds an e-mail and sends it over SMTP.\n"
    "\n"
    "  --from ADDR             sender (required)\n"
    "  --to, --cc, --bcc LIST  recipients (repeatable; Bcc is not written)\n"
    "  --subject TEXT          subject (UTF-8)\n"
    "  --text TEXT             plain-text body\n"
    "  --text-file PATH        plain-text body from a file (- = stdin)\n"
    "  --html TEXT             HTML body\n"
    "  --html-file PATH        HTML body from a file (- = stdin)\n"
    "  --attach PATH[;type=MIME/TYPE][;name=NAME]\n"
    "                          attach a file (repeatable)\n"
    "  --inline PATH;cid=ID[;type=MIME/TYPE][;name=NAME]\n"
    "                          image for <img src=\"cid:ID\"> (repeatable)\n"
    "  --header \"Name: value\"  extra header (repeatable)\n"
    "  --dry-run               write the message to stdout; no network\n"
    "  -h, --help              show this text\n"
    "  --version               show the version and the mbedTLS built in\n"
    "\n"
    "Sending (ignored with --dry-run):\n"
    "  --url URL               smtps://user:pass@host:port (TLS), smtp://...\n"
    "                          (STARTTLS), smtp+plain://... (no TLS), or a\n"
    "                          preset such as qq.com or office365; default\n"
    "                          $SMTPMAIL_URL, else the preset of --from's domain\n"
    "  --user USER             login (default: the URL's, else --from)\n"
    "  --password PASS         password or authorization code; default\n"
    "                          $SMTPMAIL_PASSWORD (safer: ps shows arguments)\n"
    "  --oauth2-token TOKEN    XOAUTH2 token; default $SMTPMAIL_OAUTH2_TOKEN\n"
    "  --ca-file PATH          trust these PEM certificates, not the system's\n"
    "  --pin sha256//BASE64    require this server key (repeatable)\n"
    "  --insecure-skip-verify  do not check the certificate (tests only)\n"
    "  --timeout SECONDS       give up after this long (default 120; 2.5 ok)\n"
    "  --repeat N              send the message N times over one connection\n"
    "  -v, --verbose           show the SMTP dialogue on stderr (AUTH hidden)\n"
    "\n"
    "ADDR is \"Name <user@example.com>\" or user@example.com; put a name\n"
    "with a comma in double quotes (\\\" and \\\\ escape inside them).\n"
    "LIST is one ADDR or several separated by commas or semicolons.\n"
    "Every --flag VALUE can also be written --flag=VALUE.\n"
    "Exit status: 0 sent (or written), 1 usage error, 2 bad message or\n"
    "unreadable file, 3 network, TLS or protocol failure, 4 refused by the\n"
    "server, 5 temporary failure (try again later).\n";

/* A growing array of `count` elements; see push(). */
struct list {
    void *v;
    size_t count, cap;
};

/* A body comes from --text/--html (the value) or --*-file (a path). */
struct body {
    const char *flag;   /* the flag that gave it; NULL: no body */
    const char *arg;    /* its value */
    int is_file;
};

/* Everything the command line gives. The message only points into it. */
struct cli {
    smtpmail_address from;
    struct list to, cc, bcc;    /* of smtpmail_address */
    const char *subject;
    struct body text, html;
    struct list attachments;    /* of smtpmail_attachment */
    struct list headers;        /* of smtpmail_header */
    struct list owned;          /* of char *: copies and file contents */
    int dry_run;
    smtpmail_config cfg;        /* the sending flags */
    struct list pins;           /* of char: the --pin values joined by ';' */
    unsigned long repeat;       /* --repeat; 0: not given (once) */
    int verbose;
};

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Control characters become '?': a line stays one line whatever the values
   (or the server) put in it. */
static void make_printable(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Prints "smtpmail-send: ..." on stderr and returns `status`. */
static int fail(int status, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int fail(int status, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    make_printable(line);
    fprintf(stderr, "smtpmail-send: %s\n", line);
    return status;
}

/* ---- memory ------------------------------------------------------------ */

/* Appends n elements of `size` bytes each, growing the array with realloc.
   Returns 0, or -1 when out of memory (the array is then unchanged). */
static int push(struct list *l, const void *items, size_t n, size_t size)
{
    if (l->cap - l->count < n) {
        size_t cap = l->cap ? l->cap : 16;
        void *v;

        while (cap - l->count < n)
            cap *= 2;
        if (cap > (size_t)-1 / size || (v = realloc(l->v, cap * size)) == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    memcpy((char *)l->v + l->count * size, items, n * size);
    l->count += n;
    return 0;
}

/* n bytes that live until cli_free. */
static char *keep_alloc(struct cli *cli, size_t n)
{
    char *p = malloc(n);

    if (p && push(&cli->owned, &p, 1, sizeof p) == 0)
        return p;
    free(p);
    return NULL;
}

/* A copy of s that the parsers may cut up in place; freed by cli_free. */
static char *keep_copy(struct cli *cli, const char *s)
{
    char *p = keep_alloc(cli, strlen(s) + 1);

    return p ? strcpy(p, s) : NULL;
}

static void cli_free(struct cli *cli)
{
    char **owned = cli->owned.v;
    size_t i;

    for (i = 0; i < cli->owned.count; i++)
        free(owned[i]);
    free(cli->owned.v);
    free(cli->to.v);
    free(cli->cc.v);
    free(cli->bcc.v);
    free(cli->attachments.v);
    free(cli->headers.v);
    free(cli->pins.v);
}

/* ---- parsing values, in place ------------------------------------------ */

static char *skip_space(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Cuts s at the first c: returns what follows it, or NULL if there is none. */
static char *split_at(char *s, char c)
{
    char *p = strchr(s, c);

    if (!p)
        return NULL;
    *p = '\0';
    return p + 1;
}

/* The addresses of `value`, a list such as `Name <a@b>, "Doe, J." <c@d>`,
   parsed by the library into out[0..cap) and memory that cli owns
   (strlen(value) + 1 bytes always hold the strings). Returns NULL, or why
   not: the library's message gives the position ("address list: position
   23 (entry 2): missing '>'"). *count: as smtpmail_address_parse sets it. */
static const char *parse_addresses(struct cli *cli, const char *value,
                                   smtpmail_address *out, size_t cap,
                                   size_t *count, smtpmail_error *err)
{
    size_t size = strlen(value) + 1;
    char *storage = keep_alloc(cli, size);
    smtpmail_result r;

    if (!storage)
        return "out of memory";
    r = smtpmail_address_parse(value, out, cap, count, storage, size, err);
    if (r == SMTPMAIL_ERR_BUFFER_TOO_SMALL && cap == 1)
        return "one address expected";
    if (r != SMTPMAIL_OK)
        return err->message;
    return *count == 0 ? (cap == 1 ? "empty address" : "no address") : NULL;
}

/* Adds the addresses of a list to `list`: counted first, so that the
   array is allocated once. An empty list is refused. */
static const char *parse_list(struct cli *cli, const char *value,
                              struct list *list, smtpmail_error *err)
{
    smtpmail_address *a;
    const char *why;
    size_t n = 0;
    smtpmail_result r = smtpmail_address_parse(value, NULL, 0, &n, NULL, 0, err);

    if (r != SMTPMAIL_OK && r != SMTPMAIL_ERR_BUFFER_TOO_SMALL)
        return err->message;
    if (n == 0)
        return "no address";
    if ((a = malloc(n * sizeof *a)) == NULL)
        return "out of memory";
    why = parse_addresses(cli, value, a, n, &n, err);
    if (!why && push(list, a, n, sizeof *a) != 0)
        why = "out of memory";
    free(a);
    return why;
}

/* Parses "PATH[;type=MIME/TYPE][;name=NAME][;cid=ID]". cid= is for --inline
   only, and required there. Returns NULL, or why not. */
static const char *parse_attach_spec(char *spec, int is_inline,
                                     smtpmail_attachment *a)
{
    char *next = split_at(spec, ';');

    memset(a, 0, sizeof *a);
    a->path = spec;
    if (*spec == '\0')
        return "no file path";
    while (next) {
        char *opt = skip_space(next), *val;
        const char **slot = NULL;

        next = split_at(opt, ';');
        val = split_at(opt, '=');
        if (val && strcmp(opt, "type") == 0)
            slot = &a->content_type;
        else if (val && strcmp(opt, "name") == 0)
            slot = &a->filename;
        else if (val && is_inline && strcmp(opt, "cid") == 0)
            slot = &a->content_id;
        if (!slot)
            return is_inline ? "expected type=, name= or cid= after ';'"
                             : "expected type= or name= after ';'";
        if (*slot)
            return "option given twice";
        if (*val == '\0')
            return "empty option value";
        *slot = val;
    }
    return is_inline && !a->content_id ? "cid=ID is required" : NULL;
}

/* "Name: value", split at the first ':'; spaces after it are dropped. */
static const char *parse_header(char *s, smtpmail_header *h)
{
    char *value = split_at(s, ':');

    if (!value || *s == '\0')
        return "expected \"Name: value\"";
    h->name = s;
    h->value = skip_space(value);
    return NULL;
}

/* ---- the command line -------------------------------------------------- */

static const struct flag {
    const char *name;
    int has_value;
    int sending;    /* 1: handled by apply_send_flag() */
} flags[] = {
    {"--from", 1, 0}, {"--to", 1, 0}, {"--cc", 1, 0}, {"--bcc", 1, 0},
    {"--subject", 1, 0}, {"--text", 1, 0}, {"--text-file", 1, 0},
    {"--html", 1, 0}, {"--html-file", 1, 0}, {"--attach", 1, 0},
    {"--inline", 1, 0}, {"--header", 1, 0},
    {"--dry-run", 0, 0}, {"--help", 0, 0}, {"-h", 0, 0}, {"--version", 0, 0},
    {"--url", 1, 1}, {"--user", 1, 1}, {"--password", 1, 1},
    {"--oauth2-token", 1, 1}, {"--ca-file", 1, 1}, {"--pin", 1, 1},
    {"--insecure-skip-verify", 0, 1}, {"--timeout", 1, 1},
    {"--repeat", 1, 1}, {"--verbose", 0, 1}, {"-v", 0, 1}
};

/* The flag named by arg[0..len), or NULL. */
static const struct flag *find_flag(const char *arg, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strlen(flags[i].name) == len &&
            memcmp(flags[i].name, arg, len) == 0)
            return &flags[i];
    return NULL;
}

static int set_body(struct body *b, const char *flag, const char *value)
{
    if (b->flag)
        return fail(EXIT_USAGE, "two sources for one body: %s and %s",
                    b->flag, flag);
    b->flag = flag;
    b->arg = value;
    b->is_file = strstr(flag, "-file") != NULL;
    return 0;
}

/* Applies one flag. Values that need parsing are parsed in a copy, so the
   error can quote the value as given. Returns 0, DONE or an exit status. */
static int apply_flag(struct cli *cli, const char *flag, const char *value)
{
    char *copy = NULL;
    const char *why = NULL;
    smtpmail_attachment a;
    smtpmail_header h;
    smtpmail_error err;
    size_t n;

    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
        fputs(usage_text, stdout);
        return DONE;
    }
    if (strcmp(flag, "--version") == 0) {
        /* The mbedTLS whose headers it was compiled with. */
#ifdef SMTPMAIL_NO_TLS
        printf("smtpmail-send %s (no TLS)\n", SMTPMAIL_VERSION_STRING);
#else
        printf("smtpmail-send %s (%s)\n", SMTPMAIL_VERSION_STRING, MBEDTLS_VERSION_STRING_FULL);
#endif
        return DONE;
    }
    if (strcmp(flag, "--dry-run") == 0) {
        cli->dry_run = 1;
        return 0;
    }
    if ((strcmp(flag, "--from") == 0 && cli->from.addr) ||
        (strcmp(flag, "--subject") == 0 && cli->subject))
        return fail(EXIT_USAGE, "%s given twice", flag);
    if (strcmp(flag, "--subject") == 0) {
        cli->subject = value;
        return 0;
    }
    if (strcmp(flag, "--text") == 0 || strcmp(flag, "--text-file") == 0)
        return set_body(&cli->text, flag, value);
    if (strcmp(flag, "--html") == 0 || strcmp(flag, "--html-file") == 0)
        return set_body(&cli->html, flag, value);

    if (strcmp(flag, "--from") == 0)
        why = parse_addresses(cli, value, &cli->from, 1, &n, &err);
    else if (strcmp(flag, "--to") == 0)
        why = parse_list(cli, value, &cli->to, &err);
    else if (strcmp(flag, "--cc") == 0)
        why = parse_list(cli, value, &cli->cc, &err);
    else if (strcmp(flag, "--bcc") == 0)
        why = parse_list(cli, value, &cli->bcc, &err);
    else if ((copy = keep_copy(cli, value)) == NULL)
        why = "out of memory";
    else if (strcmp(flag, "--header") == 0) {
        why = parse_header(copy, &h);
        if (!why && push(&cli->headers, &h, 1, sizeof h) != 0)
            why = "out of memory";
    } else {    /* --attach or --inline */
        why = parse_attach_spec(copy, strcmp(flag, "--inline") == 0, &a);
        if (!why && push(&cli->attachments, &a, 1, sizeof a) != 0)
            why = "out of memory";
    }
    return why ? fail(EXIT_MESSAGE, "%s \"%s\": %s", flag, value, why) : 0;
}

/* Parses a number above 0 with at most `decimals` digits after a '.'
   ("2.5"), counted in units of 10^-decimals ("2.5" -> 2500 for 3). Plain
   digits only: no sign, no exponent, no locale. Returns 0, or -1 when s is
   anything else or the value exceeds max. */
static int parse_positive(const char *s, int decimals, unsigned long max,
                          unsigned long *out)
{
    unsigned long v = 0, digit;
    int digits = 0, point = 0, frac = 0;

    for (; *s != '\0'; s++) {
        if (*s == '.' && !point && digits > 0 && decimals > 0) {
            point = 1;
            continue;
        }
        if (*s < '0' || *s > '9' || (point && frac == decimals))
            return -1;
        digit = (unsigned long)(*s - '0');
        if (v > (max - digit) / 10)
            return -1;
        v = v * 10 + digit;
        digits++;
        frac += point;
    }
    if (digits == 0 || (point && frac == 0))
        return -1;
    for (; frac < decimals; frac++) {
        if (v > max / 10)
            return -1;
        v *= 10;
    }
    if (v == 0)
        return -1;
    *out = v;
    return 0;
}

/* --pin is repeatable; cfg.pin_sha256 takes "sha256//A;sha256//B". */
static int add_pin(struct cli *cli, const char *value)
{
    struct list *p = &cli->pins;

    if (p->count > 0)
        p->count--;             /* drop the NUL: the next pin follows */
    if ((p->count > 0 && push(p, ";", 1, 1) != 0) ||
        push(p, value, strlen(value) + 1, 1) != 0)
        return fail(EXIT_MESSAGE, "out of memory");
    cli->cfg.pin_sha256 = p->v;
    return 0;
}

/* Applies one of the sending flags; the strings stay in argv, which lives
   as long as the program. Never quotes --url or --password: they may hold
   the password. Returns 0 or an exit status. */
static int apply_send_flag(struct cli *cli, const char *flag, const char *value)
{
    smtpmail_config *cfg = &cli->cfg;
    const char **slot = NULL;
    unsigned long n;

    if (strcmp(flag, "--verbose") == 0 || strcmp(flag, "-v") == 0)
        cli->verbose = 1;
    else if (strcmp(flag, "--insecure-skip-verify") == 0)
        cfg->insecure_skip_verify = 1;
    else if (strcmp(flag, "--pin") == 0)
        return add_pin(cli, value);
    else if (strcmp(flag, "--timeout") == 0) {
        if (cfg->timeout_ms != 0)
            return fail(EXIT_USAGE, "--timeout given twice");
        if (parse_positive(value, 3, UINT32_MAX, &n) != 0)
            return fail(EXIT_USAGE, "--timeout \"%s\": expected seconds "
                        "above 0, such as 30 or 2.5", value);
        cfg->timeout_ms = (uint32_t)n;
    } else if (strcmp(flag, "--repeat") == 0) {
        if (cli->repeat != 0)
            return fail(EXIT_USAGE, "--repeat given twice");
        if (parse_positive(value, 0, (unsigned long)-1, &n) != 0)
            return fail(EXIT_USAGE, "--repeat \"%s\": expected a whole "
                        "number above 0", value);
        cli->repeat = n;
    } else {
        if (strcmp(flag, "--url") == 0)
            slot = &cfg->url;
        else if (strcmp(flag, "--user") == 0)
            slot = &cfg->username;
        else if (strcmp(flag, "--password") == 0)
            slot = &cfg->password;
        else if (strcmp(flag, "--oauth2-token") == 0)
            slot = &cfg->oauth2_token;
        else    /* --ca-file */
            slot = &cfg->ca_file;
        if (*slot)
            return fail(EXIT_USAGE, "%s given twice", flag);
        *slot = value;
    }
    return 0;
}

static int body_is_stdin(const struct body *b)
{
    return b->is_file && strcmp(b->arg, "-") == 0;
}

/* Reads the flags in order ("--flag value" or "--flag=value"), then checks
   that the required ones are there. Returns 0, DONE or an exit status. */
static int parse_args(struct cli *cli, int argc, char **argv)
{
    int i, rc;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        size_t len = strcspn(arg, "=");
        const struct flag *f = find_flag(arg, len);

        if (!f && arg[0] != '-')
            return fail(EXIT_USAGE, "unexpected argument \"%s\" (see --help)",
                        arg);
        if (!f)
            return fail(EXIT_USAGE, "unknown flag %.*s (see --help)",
                        (int)len, arg);
        if (arg[len] == '=' && !f->has_value)
            return fail(EXIT_USAGE, "%s takes no value", f->name);
        if (arg[len] == '=')
            value = arg + len + 1;
        else if (f->has_value && i + 1 >= argc)
            return fail(EXIT_USAGE, "%s needs a value", f->name);
        else if (f->has_value)
            value = argv[++i];
        rc = f->sending ? apply_send_flag(cli, f->name, value)
                        : apply_flag(cli, f->name, value);
        if (rc != 0)
            return rc;
    }
    if (!cli->from.addr)
        return fail(EXIT_USAGE, "--from is required (see --help)");
    if (cli->to.count + cli->cc.count + cli->bcc.count == 0)
        return fail(EXIT_USAGE, "no recipient: give --to, --cc or --bcc");
    if (body_is_stdin(&cli->text) && body_is_stdin(&cli->html))
        return fail(EXIT_USAGE,
                    "only one of --text-file and --html-file may be -");
    return 0;
}

/* ---- the message ------------------------------------------------------- */

#ifdef _WIN32
/* Windows: a UTF-8 string as UTF-16, in memory the caller frees; NULL if
   it is not UTF-8 or memory ran out. */
static wchar_t *to_utf16(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? (wchar_t *)malloc((size_t)n * sizeof *w) : NULL;
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

/* fopen takes names in the ANSI code page; ours are UTF-8 (see main). */
static FILE *open_file(const char *path)
{
    wchar_t *w = to_utf16(path);
    FILE *f = w ? _wfopen(w, L"rb") : NULL;
    if (!w) errno = EINVAL;
    free(w);
    return f;
}

/* main's argv is in the ANSI code page, where 交易 turns into "??": the
   command line itself is UTF-16, so take it from there, as UTF-8. The
   strings live until the program ends. NULL when that fails. */
static char **utf8_argv(int *argc)
{
    int n = 0, i, len;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    char **v = w ? (char **)calloc((size_t)n + 1, sizeof *v) : NULL;
    for (i = 0; v && i < n; i++) {
        len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
        v[i] = len > 0 ? (char *)malloc((size_t)len) : NULL;
        if (!v[i] || WideCharToMultiByte(CP_UTF8, 0, w[i], -1, v[i], len, NULL, NULL) != len)
            v = NULL; /* the program stops: what was allocated goes with it */
    }
    if (w)
        LocalFree(w);
    if (v)
        *argc = n;
    return v;
}
#else
static FILE *open_file(const char *path)
{
    return fopen(path, "rb");
}
#endif

/* Sets *data from --text/--html (a *len of 0 tells the library to take
   strlen), or reads the whole file of --text-file/--html-file ("-": stdin)
   into memory that cli owns. Fine for bodies; the library streams
   attachments itself. */
static int load_body(struct cli *cli, const struct body *b,
                     const char **data, size_t *len)
{
    struct list buf = {0};
    char chunk[4096];
    int from_stdin, bad, no_memory = 0;
    size_t got;
    FILE *f;

    if (!b->is_file) {
        *data = b->arg;
        *len = 0;
        return 0;
    }
    from_stdin = strcmp(b->arg, "-") == 0;
    errno = 0;
    f = from_stdin ? stdin : open_file(b->arg);
    if (!f)
        return fail(EXIT_MESSAGE, "%s %s: cannot open: %s", b->flag, b->arg,
                    errno ? strerror(errno) : "unknown error");
    while (!no_memory && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        no_memory = push(&buf, chunk, got, 1) != 0;
    bad = ferror(f);
    if (!from_stdin)
        fclose(f);
    if (no_memory || push(&buf, "", 1, 1) != 0 ||      /* the final NUL */
        push(&cli->owned, &buf.v, 1, sizeof buf.v) != 0) {
        free(buf.v);
        return fail(EXIT_MESSAGE, "out of memory");
    }
    if (bad)
        return fail(EXIT_MESSAGE, "%s %s: read error", b->flag, b->arg);
    *data = buf.v;
    *len = buf.count - 1;
    return 0;
}

/* The library's message names the field: "message.to[1].addr ...". */
static int library_error(smtpmail_result r, const smtpmail_error *err)
{
    if (r == SMTPMAIL_ERR_WRITE)
        return fail(EXIT_MESSAGE, "cannot write to stdout");
    return fail(EXIT_MESSAGE, "%s",
                err->message[0] ? err->message : smtpmail_result_str(r));
}

/* Any non-zero return stops the output with SMTPMAIL_ERR_WRITE. */
static int write_stdout(const void *data, size_t len, void *user_data)
{
    (void)user_data;
    return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

/* ---- sending ----------------------------------------------------------- */

/* The exit status for a failed send. Scripts rely on these numbers. */
static int exit_status(const smtpmail_error *err)
{
    switch (err->result) {
    case SMTPMAIL_ERR_INVALID_ARG:
    case SMTPMAIL_ERR_BAD_FIELD:
        /* The message, or the settings ("config.url": a bad --url, no
           preset for the domain, no user name): the command line's fault. */
        if (err->stage == SMTPMAIL_STAGE_MESSAGE &&
            strncmp(err->field, "config.", 7) != 0)
            return EXIT_MESSAGE;
        return EXIT_USAGE;
    case SMTPMAIL_ERR_HEADER_INJECTION:
    case SMTPMAIL_ERR_BAD_UTF8:
    case SMTPMAIL_ERR_BAD_ADDRESS:
    case SMTPMAIL_ERR_NO_RECIPIENT:
    case SMTPMAIL_ERR_TOO_LONG:
    case SMTPMAIL_ERR_FILE:
        return EXIT_MESSAGE;
    case SMTPMAIL_ERR_PERMANENT:
    case SMTPMAIL_ERR_AUTH:
    case SMTPMAIL_ERR_AUTH_UNSUPPORTED:
        return EXIT_REJECTED;
    case SMTPMAIL_ERR_TEMPORARY:
        return EXIT_TEMPORARY;
    case SMTPMAIL_ERR_RESOLVE:
    case SMTPMAIL_ERR_CONNECT:
    case SMTPMAIL_ERR_TIMEOUT:
    case SMTPMAIL_ERR_NETWORK:
    case SMTPMAIL_ERR_TLS:
    case SMTPMAIL_ERR_CERTIFICATE:
    case SMTPMAIL_ERR_STARTTLS:
    case SMTPMAIL_ERR_TRUST:
    case SMTPMAIL_ERR_PROTOCOL:
    default:    /* no memory, an internal error: the send failed all the same */
        return EXIT_NETWORK;
    }
}

/* The library's one-line message: stage, reply code, enhanced code and
   server text, or the TLS reason. It never holds a credential. */
static const char *why(const smtpmail_error *err)
{
    return err->message[0] ? err->message : smtpmail_result_str(err->result);
}

/* hooks.log for --verbose: "C: MAIL FROM:<...>", "S: 250 ok", "*: TLS ...".
   The library has replaced credentials with "<redacted>" already. */
static void log_line(const char *line, void *user_data)
{
    char buf[1024];

    (void)user_data;
    snprintf(buf, sizeof buf, "%s", line);
    make_printable(buf);
    fprintf(stderr, "%s\n", buf);
}

/* A default from the environment, for a flag that was not given (the
   library never reads the environment). Copied, because the C standard lets
   the next getenv() overwrite the value. Returns 0, or -1: out of memory. */
static int from_env(struct cli *cli, const char **slot, const char *name)
{
    const char *value = getenv(name);

    if (*slot || !value || *value == '\0')
        return 0;
    return (*slot = keep_copy(cli, value)) != NULL ? 0 : -1;
}

/* "smtp://user:pass@host" and the like: the URL names the login. */
static int url_has_user(const char *url)
{
    const char *host = url ? strstr(url, "://") : NULL;

    return host && memchr(host + 3, '@', strcspn(host + 3, "/?#")) != NULL;
}

/* Sends the checked message: one smtpmail_send call, or with --repeat N
   one session for all N. Returns 0 or an exit status. */
static int send_message(struct cli *cli, const smtpmail_message *msg)
{
    smtpmail_config *cfg = &cli->cfg;
    smtpmail_hooks hooks = {0};
    smtpmail_session *session;
    smtpmail_error err = {0};
    smtpmail_result r;
    unsigned long round;

    if (from_env(cli, &cfg->url, "SMTPMAIL_URL") != 0 ||
        from_env(cli, &cfg->password, "SMTPMAIL_PASSWORD") != 0 ||
        from_env(cli, &cfg->oauth2_token, "SMTPMAIL_OAUTH2_TOKEN") != 0)
        return fail(EXIT_MESSAGE, "out of memory");
    if (cli->verbose) {
        hooks.log = log_line;
        cfg->hooks = &hooks;
    }
    if (cfg->insecure_skip_verify)
        fputs("smtpmail-send: warning: --insecure-skip-verify: the server's "
              "certificate is not checked\n", stderr);

    if (cli->repeat <= 1) {
        if (smtpmail_send(cfg, msg, &err) != SMTPMAIL_OK)
            return fail(exit_status(&err), "%s", why(&err));
        return 0;
    }
    /* smtpmail_send logs in as the sender (and picks the preset of its
       domain) when nothing else says; a session sees no message, so say it. */
    if (!cfg->username && !url_has_user(cfg->url))
        cfg->username = cli->from.addr;
    if (smtpmail_session_open(cfg, &session, &err) != SMTPMAIL_OK)
        return fail(exit_status(&err), "%s", why(&err));
    r = SMTPMAIL_OK;
    for (round = 0; round < cli->repeat && r == SMTPMAIL_OK; round++)
        r = smtpmail_session_send(session, msg, &err);
    smtpmail_session_close(session);
    if (r != SMTPMAIL_OK)   /* round: the one that failed, counted from 1 */
        return fail(exit_status(&err), "round %lu of %lu: %s", round,
                    cli->repeat, why(&err));
    return 0;
}

static int run(struct cli *cli)
{
    smtpmail_message msg = {0};
    smtpmail_error err = {0};
    smtpmail_result r;
    int rc;

    msg.from = cli->from;
    msg.to = cli->to.v;    msg.to_count = cli->to.count;
    msg.cc = cli->cc.v;    msg.cc_count = cli->cc.count;
    msg.bcc = cli->bcc.v;  msg.bcc_count = cli->bcc.count;
    msg.subject = cli->subject;
    msg.attachments = cli->attachments.v;
    msg.attachment_count = cli->attachments.count;
    msg.headers = cli->headers.v;  msg.header_count = cli->headers.count;
    if ((rc = load_body(cli, &cli->text, &msg.text, &msg.text_len)) != 0 ||
        (rc = load_body(cli, &cli->html, &msg.html, &msg.html_len)) != 0)
        return rc;

    if (!cli->dry_run) {
        /* A bad message fails here, before any connection is made. */
        if ((r = smtpmail_message_check(&msg, &err)) != SMTPMAIL_OK)
            return library_error(r, &err);
        return send_message(cli, &msg);
    }
    /* A big message goes out in 64 KB writes, not stdio's 4 KB. */
    (void)setvbuf(stdout, NULL, _IOFBF, 65536);
    r = smtpmail_message_write(&msg, NULL, write_stdout, NULL, &err);
    if (r != SMTPMAIL_OK)
        return library_error(r, &err);
    if (fflush(stdout) != 0)
        return fail(EXIT_MESSAGE, "cannot write to stdout");
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = {0};
    int rc;

#ifdef _WIN32
    /* Bodies and the message are bytes: no CRLF translation, no ^Z. */
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    if (!(argv = utf8_argv(&argc)))
        return fail(EXIT_USAGE, "cannot read the command line as UTF-8");
#endif
    rc = parse_args(&cli, argc, argv);
    if (rc == 0)
        rc = run(&cli);
    cli_free(&cli);
    return rc == DONE ? 0 : rc;
}
