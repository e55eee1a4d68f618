/* tests/fuzz/fuzz_spool.c - libFuzzer target: the outbox's record header,
   as smtpmail__record_parse reads it from a spool file (the disk is not
   trusted: a file may be cut short, corrupted or written by someone else).

   The input is the record. Properties:
   - the parser never reads or writes outside the record (ASan);
   - when it accepts: the header length is inside the record, there is at
     least one recipient, and every string it returns (from, name, subject,
     each recipient, the text excerpt) lies inside the header, NUL-terminated
     there;
   - a record written by smtpmail__record_head for a message made from the
     input (as subject and text) parses back to the same envelope, subject
     and text excerpt. */
#define SMTPMAIL_IMPLEMENTATION
#define SMTPMAIL_OUTBOX
#include "../../smtpmail.h"
#include "fuzz.h"

static int inside(const smtpmail__item *it, const char *s, size_t len)
{
    const char *lo = (const char *)it->rec, *hi = lo + it->raw_off;
    return s >= lo && s + len < hi && s[len] == '\0';
}

static void parse_one(smtpmail_outbox *b, const uint8_t *data, size_t size)
{
    smtpmail__item it;
    size_t i;
    memset(&it, 0, sizeof it);
    it.rec = (unsigned char *)malloc(size ? size : 1);
    if (!it.rec) return;
    if (size) memcpy(it.rec, data, size);
    it.rec_len = size;
    if (smtpmail__record_parse(b, &it) == 0) {
        FUZZ_CHECK(it.raw_off >= 32 && it.raw_off <= size);
        FUZZ_CHECK(it.n_rcpt >= 1);
        FUZZ_CHECK(inside(&it, it.from, strlen(it.from)));
        if (it.name) FUZZ_CHECK(inside(&it, it.name, strlen(it.name)));
        if (it.subject[0]) FUZZ_CHECK(inside(&it, it.subject, strlen(it.subject)));
        for (i = 0; i < it.n_rcpt; i++) FUZZ_CHECK(inside(&it, it.rcpt[i].addr, strlen(it.rcpt[i].addr)));
        if (it.text) FUZZ_CHECK(inside(&it, it.text, it.text_len));
    }
    free(it.rcpt);
    free(it.rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtpmail_outbox b;
    smtpmail_address to[2] = {{NULL, "desk@example.com"}, {"Risk", "risk@example.net"}};
    smtpmail_message m;
    smtpmail__grow g;
    smtpmail__item it;
    char *subject;
    size_t half = size / 2, cut;
    memset(&b, 0, sizeof b);
    parse_one(&b, data, size);

    /* Round trip: the input's first half as subject, the rest as text. */
    subject = (char *)malloc(half + 1);
    if (!subject) return 0;
    memcpy(subject, data, half);
    subject[half] = '\0';
    memset(&m, 0, sizeof m);
    m.from.addr = "bot@example.com", m.from.name = "Bot";
    m.to = to, m.to_count = 2;
    m.subject = subject;
    m.text = (const char *)data + half, m.text_len = size - half;
    if (size - half == 0) m.text = NULL;
    if (smtpmail__check(&m, NULL) == SMTPMAIL_OK) {
        memset(&g, 0, sizeof g);
        g.max = (size_t)-1;
        FUZZ_CHECK(smtpmail__record_head(&g, &m) == 0);
        memset(&it, 0, sizeof it);
        it.rec = g.p, it.rec_len = g.len;
        FUZZ_CHECK(smtpmail__record_parse(&b, &it) == 0);
        FUZZ_CHECK(it.raw_off == g.len);
        FUZZ_CHECK(strcmp(it.from, "bot@example.com") == 0 && strcmp(it.name, "Bot") == 0);
        FUZZ_CHECK(it.n_rcpt == 2 && strcmp(it.rcpt[1].addr, "risk@example.net") == 0);
        FUZZ_CHECK(strcmp(it.subject, subject) == 0);
        if (m.text) {
            cut = it.text_len;
            FUZZ_CHECK(cut <= m.text_len && cut + 4 > (m.text_len < SMTPMAIL__TEXT_EXCERPT ? m.text_len : SMTPMAIL__TEXT_EXCERPT));
            FUZZ_CHECK(memcmp(it.text, m.text, cut) == 0);
        }
        free(it.rcpt);
        free(g.p);
    }
    free(subject);
    return 0;
}
