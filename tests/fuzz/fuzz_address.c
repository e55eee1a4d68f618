/* tests/fuzz/fuzz_address.c - libFuzzer target: smtpmail_address_parse.

   The input up to its first NUL is the list, in a buffer of exactly that
   many bytes plus the NUL, so that AddressSanitizer sees any read past it.
   out has room for 16 entries and storage exactly strlen(list) + 1 bytes
   (the documented bound), both in buffers of their exact size.
   Properties:
   - the result is OK, BUFFER_TOO_SMALL (then and only then more than 16
     entries), or a refusal of the list (BAD_ADDRESS, BAD_UTF8, TOO_LONG,
     HEADER_INJECTION) with *count 0, err.field "list" and a message
     "address list: position P (entry E): ..." with P <= strlen(list) and
     E >= 1;
   - counting (out and storage NULL, capacities 0) agrees: the same
     refusal and message, or the same number of entries;
   - err NULL gives the same result;
   - on success every entry lies in storage, names are NULL or non-empty,
     every address appears as is in the list, the entries as to (and
     each as from) pass smtpmail_message_check, and the entries written
     back as "\"name\" <addr>" (\" and \\ escaped) parse to the same
     entries. With more than 16, a second call with room for all of them
     succeeds with the same count. */
#define SMTPMAIL_IMPLEMENTATION
#include "../../smtpmail.h"
#include "fuzz.h"

#define CAP 16

static void check_refusal(smtpmail_result r, const smtpmail_error *err, size_t n, size_t len)
{
    unsigned long pos = 0, entry = 0;
    int used = 0;
    FUZZ_CHECK(r == SMTPMAIL_ERR_BAD_ADDRESS || r == SMTPMAIL_ERR_BAD_UTF8 ||
               r == SMTPMAIL_ERR_TOO_LONG || r == SMTPMAIL_ERR_HEADER_INJECTION);
    FUZZ_CHECK(n == 0);
    FUZZ_CHECK(err->result == r && strcmp(err->field, "list") == 0);
    FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL);
    FUZZ_CHECK(sscanf(err->message, "address list: position %lu (entry %lu): %n", &pos, &entry,
                      &used) == 2 && used > 0);
    FUZZ_CHECK(pos <= len && entry >= 1);
}

/* The entries as a list again, every name quoted. */
static void write_back(const smtpmail_address *a, size_t n, fuzz_buf *out)
{
    size_t i;
    const char *p;
    for (i = 0; i < n; i++) {
        if (i) fuzz_put(out, ", ", 2);
        if (a[i].name) {
            fuzz_byte(out, '"');
            for (p = a[i].name; *p; p++) {
                if (*p == '"' || *p == '\\') fuzz_byte(out, '\\');
                fuzz_byte(out, (unsigned char)*p);
            }
            fuzz_put(out, "\" ", 2);
        }
        fuzz_byte(out, '<');
        fuzz_put(out, a[i].addr, strlen(a[i].addr));
        fuzz_byte(out, '>');
    }
}

static void check_entries(const char *list, size_t len, const smtpmail_address *a, size_t n,
                          const char *storage)
{
    smtpmail_message m;
    smtpmail_error err;
    smtpmail_address again[CAP];
    fuzz_buf back = {0};
    char *store2;
    size_t i, n2 = 0;

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(a[i].addr >= storage && a[i].addr + strlen(a[i].addr) < storage + len + 1);
        FUZZ_CHECK(!a[i].name || (a[i].name[0] != '\0' && a[i].name >= storage &&
                                  a[i].name + strlen(a[i].name) < storage + len + 1));
        FUZZ_CHECK(fuzz_find(list, len, 0, a[i].addr, strlen(a[i].addr)) >= 0);
    }
    if (n == 0) return;
    memset(&m, 0, sizeof m);
    m.from.addr = "bot@fuzz.test";
    m.to = a;
    m.to_count = n;
    if (smtpmail_message_check(&m, &err) != SMTPMAIL_OK) {
        fuzz_dump("err.message", err.message, strlen(err.message));
        FUZZ_FAIL("a parsed entry fails smtpmail_message_check as a recipient");
    }
    m.to_count = 1;
    m.to = a;
    for (i = 0; i < n; i++) {
        m.from = a[i];
        FUZZ_CHECK(smtpmail_message_check(&m, &err) == SMTPMAIL_OK);
    }

    write_back(a, n, &back);
    store2 = (char *)fuzz_malloc(back.len + 1);
    if (smtpmail_address_parse((const char *)back.data, again, CAP, &n2, store2, back.len + 1,
                               &err) != SMTPMAIL_OK) {
        fuzz_dump("written back", back.data, back.len);
        fuzz_dump("err.message", err.message, strlen(err.message));
        FUZZ_FAIL("the entries written back do not parse");
    }
    FUZZ_CHECK(n2 == n);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(strcmp(again[i].addr, a[i].addr) == 0);
        FUZZ_CHECK((!again[i].name && !a[i].name) ||
                   (again[i].name && a[i].name && strcmp(again[i].name, a[i].name) == 0));
    }
    free(store2);
    fuzz_buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = (const uint8_t *)memchr(data, 0, size);
    size_t len = nul ? (size_t)(nul - data) : size, n = 99, n0 = 99, n1 = 99;
    char *list = (char *)fuzz_malloc(len + 1), *storage = (char *)fuzz_malloc(len + 1);
    smtpmail_address *out = (smtpmail_address *)fuzz_malloc(CAP * sizeof *out);
    smtpmail_error err, err0;
    smtpmail_result r, r0;

    memcpy(list, data, len);
    list[len] = '\0';
    r = smtpmail_address_parse(list, out, CAP, &n, storage, len + 1, &err);
    r0 = smtpmail_address_parse(list, NULL, 0, &n0, NULL, 0, &err0);
    FUZZ_CHECK(smtpmail_address_parse(list, out, CAP, &n1, storage, len + 1, NULL) == r);
    FUZZ_CHECK(n1 == n);

    if (r == SMTPMAIL_OK) {
        FUZZ_CHECK(n <= CAP);
        FUZZ_CHECK(n == 0 ? r0 == SMTPMAIL_OK : r0 == SMTPMAIL_ERR_BUFFER_TOO_SMALL);
        FUZZ_CHECK(n0 == n);
        check_entries(list, len, out, n, storage);
    } else if (r == SMTPMAIL_ERR_BUFFER_TOO_SMALL) {
        smtpmail_address *all;
        FUZZ_CHECK(n > CAP && err.result == r && strcmp(err.field, "list") == 0);
        FUZZ_CHECK(r0 == r && n0 == n);
        all = (smtpmail_address *)fuzz_malloc(n * sizeof *all);
        FUZZ_CHECK(smtpmail_address_parse(list, all, n, &n1, storage, len + 1, &err) ==
                   SMTPMAIL_OK);
        FUZZ_CHECK(n1 == n);
        free(all);
    } else {
        check_refusal(r, &err, n, len);
        FUZZ_CHECK(r0 == r && n0 == 0 && strcmp(err0.message, err.message) == 0);
    }
    free(out);
    free(storage);
    free(list);
    return 0;
}
