/* Two threads render two different messages many times at once; every
   rendering must equal the one made before the threads started. Any shared
   mutable state in the library (a static buffer, a global counter) shows up
   here as a mismatch. POSIX threads; run by `make test`. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

#define ROUNDS 300
#define CAP 65536

typedef struct job {
    smtpmail_message msg;
    char expected[CAP];
    char got[CAP];
    int mismatches;
} job;

static int64_t fixed_now(int *utc_offset_min, void *user_data)
{
    (void)user_data;
    *utc_offset_min = 480;
    return 1700000000;
}

static int fixed_random(void *buf, size_t len, void *user_data)
{
    memset(buf, *(const int *)user_data, len);
    return 0;
}

static void *worker(void *arg)
{
    job *j = (job *)arg;
    smtpmail_hooks hooks;
    int seed = (int)(j->msg.subject[0]);
    int i;
    memset(&hooks, 0, sizeof hooks);
    hooks.now = fixed_now;
    hooks.random = fixed_random;
    hooks.user_data = &seed;
    for (i = 0; i < ROUNDS; i++) {
        size_t len = 0;
        if (smtpmail_message_render(&j->msg, &hooks, j->got, CAP, &len, NULL) != SMTPMAIL_OK ||
            strcmp(j->got, j->expected) != 0)
            j->mismatches++;
    }
    return NULL;
}

int main(void)
{
    static job jobs[2];
    static const char *const subjects[2] = {"A 交易信号：买入 rb2405 @ 3650", "B 止损触发 🚨 stop-loss hit"};
    smtpmail_address to[2] = {{"交易员", "trader@qq.com"}, {"Ops, Desk", "ops@example.com"}};
    smtpmail_attachment att[1];
    pthread_t threads[2];
    int i, failed = 0;
    memset(att, 0, sizeof att);
    att[0].data = "time,price\n09:30,3650\n";
    att[0].data_len = strlen((const char *)att[0].data);
    att[0].filename = "成交.csv";
    for (i = 0; i < 2; i++) {
        job *j = &jobs[i];
        j->msg.from.addr = i ? "risk@example.com" : "bot@example.com";
        j->msg.to = &to[i];
        j->msg.to_count = 1;
        j->msg.subject = subjects[i];
        j->msg.text = i ? "止损\n" : "signal\n";
        j->msg.html = i ? NULL : "<b>买入</b>";
        j->msg.attachments = att;
        j->msg.attachment_count = (size_t)i;
        /* The reference rendering, single-threaded. */
        worker(j);
        memcpy(j->expected, j->got, CAP);
        j->mismatches = 0;
        worker(j);
        if (j->mismatches) {
            printf("FAIL rendering %d is not deterministic\n", i);
            failed++;
        }
    }
    for (i = 0; i < 2; i++) pthread_create(&threads[i], NULL, worker, &jobs[i]);
    for (i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < 2; i++) {
        if (jobs[i].mismatches) {
            printf("FAIL thread %d: %d of %d renderings differ\n", i, jobs[i].mismatches, ROUNDS);
            failed++;
        }
    }
    if (strcmp(jobs[0].expected, jobs[1].expected) == 0) {
        printf("FAIL the two messages render the same\n");
        failed++;
    }
    if (!failed) printf("ok   two threads, %d renderings each, all identical to the reference\n", ROUNDS);
    return failed ? 1 : 0;
}
