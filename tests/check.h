/* tests/check.h - the test runner shared by tests/test_main.c and
   tests/test_smtp.c: named tests, CHECK macros that print file:line and
   the expression, and a main loop whose last line is "N passed, M failed".

   A test file includes this, defines `static void test_NAME(void)`
   functions and a table `static const test_case k_tests[] = {T(NAME), ...};`,
   then `int main(int argc, char **argv) { return run_tests(k_tests,
   sizeof k_tests / sizeof k_tests[0], argc, argv); }`. argv[1], if given,
   runs only the tests whose name contains it. */
#ifndef SMTPMAIL_TESTS_CHECK_H
#define SMTPMAIL_TESTS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_test = "";
static int g_failed;  /* failed checks in the current test */
static int g_printed; /* failure lines printed for it (capped at 30) */

static int check_(int ok, const char *expr, const char *file, int line)
{
    if (!ok) {
        g_failed++;
        if (g_printed++ < 30) printf("%s:%d: CHECK(%s) failed [%s]\n", file, line, expr, g_test);
    }
    return ok;
}
#define CHECK(e) check_((e) != 0, #e, __FILE__, __LINE__)

/* s with CR, LF, quotes and non-ASCII made visible, at most max bytes. */
static void print_escaped(const char *s, size_t max)
{
    size_t i;
    if (!s) {
        printf("(null)");
        return;
    }
    for (i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') printf("\\r");
        else if (c == '\n') printf("\\n");
        else if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 32 || c > 126) printf("\\x%02X", c);
        else putchar(c);
    }
    if (s[i]) printf("...");
}

/* Details after a failed check: "    note: what "s"". */
static void note(const char *what, const char *s)
{
    if (g_printed > 30) return;
    printf("    note: %s \"", what);
    print_escaped(s, 600);
    printf("\"\n");
}

static int check_str_(const char *got, const char *want, const char *expr, const char *file,
                      int line)
{
    int ok = got && want && strcmp(got, want) == 0;
    if (!check_(ok, expr, file, line)) note("got ", got), note("want", want);
    return ok;
}
#define CHECK_STR(got, want) check_str_((got), (want), #got " == " #want, __FILE__, __LINE__)

#if defined(__GNUC__) || defined(__clang__)
#  define CHECK_MAYBE_UNUSED __attribute__((unused))
#else
#  define CHECK_MAYBE_UNUSED
#endif

/* Two integers, both printed when they differ. */
CHECK_MAYBE_UNUSED static int check_int_(long got, long want, const char *expr, const char *file, int line)
{
    int ok = got == want;
    if (!check_(ok, expr, file, line) && g_printed <= 30)
        printf("    note: got %ld, want %ld\n", got, want);
    return ok;
}
#define CHECK_INT(got, want) check_int_((long)(got), (long)(want), #got " == " #want, __FILE__, __LINE__)

/* malloc that ends the run when it fails. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        printf("out of memory in the test runner\n");
        exit(2);
    }
    return p;
}

/* Appends p[0..n) to a growable, always NUL-terminated byte array: the one
   growth rule of the tests' buffers. */
static void grow_put(char **data, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 256;
        char *d;
        while (nc < *len + n + 1) nc *= 2;
        d = (char *)xmalloc(nc);
        if (*data) memcpy(d, *data, *len);
        free(*data);
        *data = d;
        *cap = nc;
    }
    if (n) memcpy(*data + *len, p, n);
    *len += n;
    (*data)[*len] = '\0';
}

/* A growable byte buffer on grow_put, always NUL-terminated once used.
   `buf b = {0};` is empty. Not every test file uses every function. */
typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

CHECK_MAYBE_UNUSED static void buf_put(buf *b, const void *p, size_t n)
{
    grow_put(&b->data, &b->len, &b->cap, p, n);
}

CHECK_MAYBE_UNUSED static void buf_str(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

CHECK_MAYBE_UNUSED static void buf_clear(buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
    else buf_put(b, "", 0);
}

CHECK_MAYBE_UNUSED static void buf_free(buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* A write callback (smtpmail_write_fn) appending to a buf. */
CHECK_MAYBE_UNUSED static int buf_write(const void *data, size_t len, void *user_data)
{
    buf_put((buf *)user_data, data, len);
    return 0;
}

/* A file name under $TMPDIR (or /tmp) that does not exist yet; on Windows
   under %TMP% or %TEMP% (or the current directory), as GetTempPath. */
static void temp_path(char *out, size_t cap, const char *tag)
{
    static unsigned counter;
#ifdef _WIN32
    const char *dir = getenv("TMP");
    if (!dir || !dir[0]) dir = getenv("TEMP");
    if (!dir || !dir[0]) dir = ".";
#else
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
#endif
    unsigned long mix = (unsigned long)time(NULL) ^ (unsigned long)clock() ^
                        (unsigned long)(uintptr_t)&counter;
    for (;;) {
        FILE *f;
        snprintf(out, cap, "%s/smtpmail_%s_%lx_%u.bin", dir, tag, mix & 0xFFFFFFul, counter++);
        if (!(f = fopen(out, "rb"))) return;
        fclose(f);
    }
}

#ifdef SMTPMAIL_H
/* The plain message most tests start from (smtpmail.h included first). */
CHECK_MAYBE_UNUSED static const smtpmail_address k_to[2] = {{"Trader", "trader@example.com"},
                                                            {NULL, "desk@example.org"}};

CHECK_MAYBE_UNUSED static smtpmail_message base_msg(void)
{
    smtpmail_message m;
    memset(&m, 0, sizeof m);
    m.from.name = "Alert Bot";
    m.from.addr = "bot@example.com";
    m.to = k_to;
    m.to_count = 1;
    m.subject = "test";
    m.text = "hello\n";
    return m;
}
#endif

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;
#define T(name) {#name, test_##name}

static int run_tests(const test_case *tests, size_t n, int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    size_t i, passed = 0, nfailed = 0;
    for (i = 0; i < n; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        g_test = tests[i].name;
        g_failed = g_printed = 0;
        tests[i].fn();
        if (g_printed > 30) printf("    (%d more failed checks not shown)\n", g_printed - 30);
        if (g_failed) {
            printf("FAILED: %s\n", tests[i].name);
            nfailed++;
        } else {
            passed++;
        }
    }
    printf("%lu passed, %lu failed\n", (unsigned long)passed, (unsigned long)nfailed);
    return nfailed ? 1 : 0;
}

#endif
