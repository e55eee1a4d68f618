/* tests/fuzz/fuzz_ehlo.c - libFuzzer target: the EHLO capability parser,
   smtpmail__parse_ehlo_line, on arbitrary lines.

   The input is cut at LF into lines (each a C string in a buffer of its
   exact size, so a read past the NUL is caught), parsed in turn into one
   zeroed session, as the lines after the first of an EHLO reply are.
   Properties, after each line:
   - only known bits: caps within the eight SMTPMAIL__CAP_*, mechs within
     PLAIN | LOGIN | XOAUTH2, and a mechanism only with the AUTH bit;
   - bits are only added, and a new bit needs its keyword at the start of
     the line (case-insensitive, RFC 5321 2.4); size_max changes only on a
     SIZE line;
   - a line that is exactly a keyword (any case) sets its bit, and
     "AUTH m1 m2 ..." sets the bit of every mechanism named. */
#define SMTPMAIL_IMPLEMENTATION
#include "../../smtpmail.h"
#include "fuzz.h"

static const struct {
    const char *word;
    unsigned bit;
} k_caps[] = {
    {"PIPELINING", SMTPMAIL__CAP_PIPELINING}, {"CHUNKING", SMTPMAIL__CAP_CHUNKING},
    {"STARTTLS", SMTPMAIL__CAP_STARTTLS},     {"SIZE", SMTPMAIL__CAP_SIZE},
    {"8BITMIME", SMTPMAIL__CAP_8BITMIME},     {"SMTPUTF8", SMTPMAIL__CAP_SMTPUTF8},
    {"ENHANCEDSTATUSCODES", SMTPMAIL__CAP_ENHANCED}, {"AUTH", SMTPMAIL__CAP_AUTH}};

static const struct {
    const char *word;
    unsigned bit;
} k_mechs[] = {{"PLAIN", SMTPMAIL__MECH_PLAIN}, {"LOGIN", SMTPMAIL__MECH_LOGIN},
               {"XOAUTH2", SMTPMAIL__MECH_XOAUTH2}};

static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

/* s[0..n) equals word, ignoring ASCII case. */
static int same(const char *s, size_t n, const char *word)
{
    size_t i;
    if (strlen(word) != n) return 0;
    for (i = 0; i < n; i++)
        if (upper((unsigned char)s[i]) != word[i]) return 0;
    return 1;
}

static int starts(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strlen(s) >= n && same(s, n, word);
}

static void check_line(smtpmail_session *s, const char *line)
{
    unsigned caps0 = s->caps, mechs0 = s->mechs, added;
    unsigned long size0 = s->size_max;
    size_t i, len = strlen(line);
    smtpmail__parse_ehlo_line(s, line);

    FUZZ_CHECK((s->caps & ~0xFFu) == 0);
    FUZZ_CHECK((s->mechs & ~7u) == 0);
    FUZZ_CHECK(s->mechs == 0 || (s->caps & SMTPMAIL__CAP_AUTH));
    FUZZ_CHECK((s->caps & caps0) == caps0 && (s->mechs & mechs0) == mechs0);
    added = s->caps & ~caps0;
    for (i = 0; i < sizeof k_caps / sizeof k_caps[0]; i++) {
        if (added & k_caps[i].bit) FUZZ_CHECK(starts(line, k_caps[i].word));
        if (same(line, len, k_caps[i].word) && k_caps[i].bit != SMTPMAIL__CAP_AUTH)
            FUZZ_CHECK(s->caps & k_caps[i].bit);
    }
    if (s->mechs != mechs0) FUZZ_CHECK(starts(line, "AUTH"));
    if (s->size_max != size0) FUZZ_CHECK(starts(line, "SIZE"));

    /* "AUTH PLAIN LOGIN" and the old "AUTH=LOGIN": every mechanism named. */
    if (len > 4 && starts(line, "AUTH") && (line[4] == ' ' || line[4] == '=')) {
        const char *p = line + 5;
        FUZZ_CHECK(s->caps & SMTPMAIL__CAP_AUTH);
        while (*p) {
            size_t n = strcspn(p, " ");
            for (i = 0; i < sizeof k_mechs / sizeof k_mechs[0]; i++)
                if (same(p, n, k_mechs[i].word)) FUZZ_CHECK(s->mechs & k_mechs[i].bit);
            p += n;
            if (*p) p++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtpmail_session *s = (smtpmail_session *)calloc(1, sizeof(struct smtpmail_session));
    size_t i = 0;
    if (!s) abort();
    while (i <= size) {
        const uint8_t *nl = (const uint8_t *)memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
        char *line = (char *)fuzz_malloc(n + 1);
        if (n) memcpy(line, data + i, n);
        line[n] = '\0';
        check_line(s, line);
        free(line);
        i += n + 1;
    }
    free(s);
    return 0;
}
