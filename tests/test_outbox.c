/* tests/test_outbox.c - the outbox (SMTPMAIL_OUTBOX) against the SMTP
   responder of tests/fake_smtp.h behind the transport hook, on a clock the
   tests move by hand
   (no_thread + smtpmail_outbox_pump), and once with the worker thread.

   What is checked: enqueue returns before any network work; the backoff
   waits (exponential, capped, jitter within [d/2, d]); 4xx retried, 5xx
   reported once and not retried; the retry deadline; a full queue; the
   rate limit and its digest; the spool across a close and a reopen, with
   a half-written and a corrupt file; close reports what it could not send.
   POSIX (pthreads) and Windows (Win32 threads; make windows runs it under
   wine): the few calls that differ are in >>os below. */
#ifndef _WIN32
#  define _POSIX_C_SOURCE 200112L
#endif
#include <errno.h>

#define SMTPMAIL_IMPLEMENTATION
#define SMTPMAIL_OUTBOX
#include "../smtpmail.h"
#include "check.h"

/* >>os: a gate (mutex + condition), a nap, and spool directories. */
#if defined(_WIN32)
#  include <direct.h>
typedef struct gate { CRITICAL_SECTION mu; CONDITION_VARIABLE cv; } gate;
static void gate_init(gate *g) { InitializeCriticalSection(&g->mu), InitializeConditionVariable(&g->cv); }
static void gate_free(gate *g) { DeleteCriticalSection(&g->mu); }
static void gate_lock(gate *g) { EnterCriticalSection(&g->mu); }
static void gate_unlock(gate *g) { LeaveCriticalSection(&g->mu); }
static void gate_wait(gate *g) { SleepConditionVariableCS(&g->cv, &g->mu, INFINITE); }
static void gate_open_all(gate *g) { WakeAllConditionVariable(&g->cv); }
static void nap_10ms(void) { Sleep(10); }
static int make_dir_at(const char *path) { return _mkdir(path); }
/* Calls fn for each file name in dir ending in ext ("" = all). */
static void each_file(const char *dir, const char *ext, void (*fn)(const char *dir, const char *name, void *u),
                      void *u)
{
    char pattern[600];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    snprintf(pattern, sizeof pattern, "%s\\*%s", dir, ext);
    if ((h = FindFirstFileA(pattern, &fd)) == INVALID_HANDLE_VALUE) return;
    do
        if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) fn(dir, fd.cFileName, u);
    while (FindNextFileA(h, &fd));
    FindClose(h);
}
static int remove_dir_at(const char *path) { return RemoveDirectoryA(path) ? 0 : -1; }
#else
#  include <dirent.h>
#  include <pthread.h>
#  include <sys/stat.h>
#  include <unistd.h>
typedef struct gate { pthread_mutex_t mu; pthread_cond_t cv; } gate;
static void gate_init(gate *g) { pthread_mutex_init(&g->mu, NULL), pthread_cond_init(&g->cv, NULL); }
static void gate_free(gate *g) { pthread_cond_destroy(&g->cv), pthread_mutex_destroy(&g->mu); }
static void gate_lock(gate *g) { pthread_mutex_lock(&g->mu); }
static void gate_unlock(gate *g) { pthread_mutex_unlock(&g->mu); }
static void gate_wait(gate *g) { pthread_cond_wait(&g->cv, &g->mu); }
static void gate_open_all(gate *g) { pthread_cond_broadcast(&g->cv); }
static void nap_10ms(void)
{
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
}
static int make_dir_at(const char *path) { return mkdir(path, 0700); }
static void each_file(const char *dir, const char *ext, void (*fn)(const char *dir, const char *name, void *u),
                      void *u)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = strlen(ext);
    if (!d) return;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < n || strcmp(de->d_name + len - n, ext) != 0) continue;
        fn(dir, de->d_name, u);
    }
    closedir(d);
}
static int remove_dir_at(const char *path) { return rmdir(path); }
#endif

/* >>server: tests/fake_smtp.h as a responder (any number of connections
   and transactions), on a clock the tests move by hand (g_srv.ticks). */
#include "fake_smtp.h"

static fake g_srv;
static unsigned char g_rnd = 0;    /* every random byte */

static int byte_random(void *out, size_t len, void *u)
{
    (void)u;
    memset(out, g_rnd, len);
    return 0;
}

static void srv_reset(void)
{
    fake_free(&g_srv);
    fake_init_responder(&g_srv, "250-fake.test\r\n250 SIZE 10000000\r\n");
    g_srv.hooks.random = byte_random;
    g_rnd = 0;
}

/* Thread test: connect waits while the gate is shut. */
static gate g_gate;
static int g_gated;

static int gated_connect(void **conn, const char *host, uint16_t port, uint32_t ms, void *u)
{
    gate_lock(&g_gate);
    while (g_gated) gate_wait(&g_gate);
    gate_unlock(&g_gate);
    return fake_connect(conn, host, port, ms, u);
}

/* The addresses of every RCPT TO the server got, one per line. */
static buf g_rcpts;

static const char *rcpt_list(void)
{
    fake_cmd_args(&g_srv, "RCPT TO:", &g_rcpts);
    return g_rcpts.data;
}

/* The server refuses (550) the next message it is sent. */
static void refuse_next_message(void)
{
    g_srv.finals[g_srv.n_ends] = "550 no\r\n";
    g_srv.n_final = g_srv.n_ends + 1;
}

/* >>fixtures */
static smtpmail_config test_config(void)
{
    smtpmail_config c;
    memset(&c, 0, sizeof c);
    c.url = "smtp+plain://mx.test:25";
    c.transport = &g_srv.tr;
    c.hooks = &g_srv.hooks;
    return c;
}

/* Reports, as they came. */
typedef struct reports {
    int n;
    unsigned long long id[64];
    smtpmail_result result[64];
    unsigned attempts[64];
    size_t digest_of[64];
    char subject[64][64];
} reports;
static reports g_rep;

static void on_done(const smtpmail_outbox_report *r, void *u)
{
    reports *p = (reports *)u;
    if (p->n < 64) {
        p->id[p->n] = r->id, p->result[p->n] = r->result, p->attempts[p->n] = r->attempts;
        p->digest_of[p->n] = r->digest_of;
        snprintf(p->subject[p->n], sizeof p->subject[p->n], "%s", r->subject);
        if ((r->result == SMTPMAIL_OK) != (r->error == NULL)) p->n = 1000; /* error iff failed */
    }
    p->n++;
}

static smtpmail_outbox_options test_options(void)
{
    smtpmail_outbox_options o;
    memset(&o, 0, sizeof o);
    memset(&g_rep, 0, sizeof g_rep);
    o.no_thread = 1;
    o.on_done = on_done;
    o.user_data = &g_rep;
    return o;
}

/* A fresh server, and a config and options for it. */
static void fresh(smtpmail_config *c, smtpmail_outbox_options *o)
{
    srv_reset();
    *c = test_config();
    *o = test_options();
}

/* test_options with the spool in dir. */
static smtpmail_outbox_options spool_options(const char *dir)
{
    smtpmail_outbox_options o = test_options();
    o.spool_dir = dir;
    return o;
}

static smtpmail_address g_to[1] = {{"Desk", "desk@example.com"}};

static smtpmail_message alert(const char *subject, const char *text)
{
    smtpmail_message m;
    memset(&m, 0, sizeof m);
    m.from.name = "Bot";
    m.from.addr = "bot@example.com";
    m.to = g_to, m.to_count = 1;
    m.subject = subject;
    m.text = text;
    return m;
}

/* Pumps until nothing is due now; returns the last wait. */
static uint32_t pump_all(smtpmail_outbox *b)
{
    uint32_t w = 0;
    int i;
    for (i = 0; i < 100 && (w = smtpmail_outbox_pump(b)) == 0; i++) {}
    return w;
}

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

/* >>tests */

/* The message the server got is the one the builder renders, byte for
   byte: same Date (the clock hook) and Message-ID (the random hook). */
static void test_delivers_what_the_builder_renders(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m = alert("成交 rb2405 买入 2 手", "price 3588\n.leading dot\n");
    char want[8192];
    size_t want_len;
    unsigned long long id;
    fresh(&c, &o);
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m, &id, &err) == SMTPMAIL_OK);
    CHECK_INT(id, 1);
    /* enqueue did no network work */
    CHECK_INT(g_srv.connects, 0);
    CHECK_INT(smtpmail_outbox_pending(b), 1);
    pump_all(b);
    CHECK_INT(g_srv.connects, 1);
    CHECK_INT(g_srv.n_msgs, 1);
    CHECK(smtpmail_message_render(&m, &g_srv.hooks, want, sizeof want, &want_len, &err) == SMTPMAIL_OK);
    if (g_srv.n_msgs == 1) CHECK_STR(g_srv.msgs[0].data, want);
    CHECK(has(g_srv.msgs[0].data, "Subject: =?UTF-8?B?"));
    CHECK_INT(g_rep.n, 1);
    CHECK_INT(g_rep.result[0], SMTPMAIL_OK);
    CHECK_INT(g_rep.attempts[0], 1);
    CHECK_STR(g_rep.subject[0], "成交 rb2405 买入 2 手");
    CHECK_INT(smtpmail_outbox_pending(b), 0);
    /* A second one reuses the connection. */
    CHECK(smtpmail_outbox_enqueue(b, &m, &id, &err) == SMTPMAIL_OK);
    CHECK_INT(id, 2);
    pump_all(b);
    CHECK_INT(g_srv.connects, 1);
    CHECK_INT(g_srv.n_msgs, 2);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
}

static void make_dir(char *path, size_t cap);
static int remove_tree(const char *dir);

/* A message over SMTPMAIL_SEND_BUFFER goes by DATA, streamed from its
   record (memory) or its file (spool), dot-stuffed: the server gets the
   builder's bytes. */
static void test_big_message_streams(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    static char text[60000], want[90000];
    smtpmail_message m;
    size_t want_len, i;
    int spool;
    char dir[512];
    for (i = 0; i + 1 < sizeof text; i++) text[i] = i % 50 == 49 ? '\n' : (i % 50 == 0 ? '.' : 'x');
    m = alert("big", text);
    for (spool = 0; spool < 2; spool++) {
        fresh(&c, &o);
        if (spool) make_dir(dir, sizeof dir), o.spool_dir = dir;
        CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
        CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
        pump_all(b);
        CHECK_INT(g_srv.n_msgs, 1);
        CHECK(smtpmail_message_render(&m, &g_srv.hooks, want, sizeof want, &want_len, &err) == SMTPMAIL_OK);
        CHECK(want_len > SMTPMAIL_SEND_BUFFER);
        if (g_srv.n_msgs == 1) CHECK_STR(g_srv.msgs[0].data, want);
        CHECK_INT(smtpmail_outbox_close(b, 0), 0);
        if (spool) CHECK(remove_tree(dir) == 0);
    }
}

/* A bad message is refused at enqueue, with its field named; nothing is
   queued. A full queue says so and takes nothing. */
static void test_refusals_at_enqueue(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m = alert("ok", "x");
    smtpmail_message bad = alert("line\r\nBcc: evil@example.com", "x");
    int i;
    fresh(&c, &o);
    o.queue_max = 3;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK_INT(smtpmail_outbox_enqueue(b, &bad, NULL, &err), SMTPMAIL_ERR_HEADER_INJECTION);
    CHECK_STR(err.field, "message.subject");
    for (i = 0; i < 3; i++) CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    CHECK_INT(smtpmail_outbox_enqueue(b, &m, NULL, &err), SMTPMAIL_ERR_QUEUE_FULL);
    CHECK_STR(err.field, "outbox");
    CHECK_INT(smtpmail_outbox_pending(b), 3);
    pump_all(b);
    CHECK_INT(g_srv.n_msgs, 3);
    /* A message over max_message_bytes (memory queue). */
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
    o = test_options();
    o.max_message_bytes = 100;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK_INT(smtpmail_outbox_enqueue(b, &m, NULL, &err), SMTPMAIL_ERR_TOO_LONG);
    CHECK_STR(err.field, "outbox.max_message_bytes");
    CHECK_INT(smtpmail_outbox_pending(b), 0);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
}

/* Server down: the waits between attempts double from backoff_first_ms up
   to backoff_max_ms; with random bytes 0 the jitter takes exactly d/2,
   with 0xFF something in [d/2, d]. Nothing is reported until it is sent. */
static void test_backoff_while_the_server_is_down(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m = alert("down", "x");
    static const uint32_t d[] = {1000, 2000, 4000, 8000, 8000, 8000};
    int k, jitter;
    for (jitter = 0; jitter < 2; jitter++) {
        srv_reset();
        g_rnd = jitter ? 0xFF : 0;
        c = test_config();
        o = test_options();
        o.backoff_first_ms = 1000;
        o.backoff_max_ms = 8000;
        g_srv.refuse_connect = 1;
        CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
        CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
        CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
        for (k = 0; k < 6; k++) {
            uint32_t w = pump_all(b);
            /* one connect per round, not one per queued message */
            CHECK_INT(g_srv.connects, k + 1);
            if (jitter) CHECK(w >= d[k] / 2 && w <= d[k]);
            else CHECK_INT(w, d[k] / 2);
            g_srv.ticks += w - 1; /* not yet */
            CHECK_INT(smtpmail_outbox_pump(b) > 0, 1);
            CHECK_INT(g_srv.connects, k + 1);
            g_srv.ticks += 1;
        }
        CHECK_INT(g_rep.n, 0);
        g_srv.refuse_connect = 0;
        pump_all(b);
        CHECK_INT(g_srv.n_msgs, 2);
        CHECK_INT(g_rep.n, 2);
        CHECK_INT(g_rep.result[0], SMTPMAIL_OK);
        CHECK_INT(g_rep.attempts[0], 7);
        CHECK_INT(smtpmail_outbox_close(b, 0), 0);
    }
}

/* 4xx at the end of data: retried after a backoff; 5xx: reported once,
   never retried; retry_for_ms ends the retries of a 4xx that persists. */
static void test_temporary_permanent_and_the_deadline(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m1 = alert("first", "x"), m2 = alert("second", "x");
    int i;
    fresh(&c, &o);
    o.backoff_first_ms = 1000;
    g_srv.finals[0] = "451 4.3.0 try later\r\n";
    g_srv.finals[1] = "554 5.7.1 spam\r\n";
    g_srv.n_final = 2;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m1, NULL, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m2, NULL, &err) == SMTPMAIL_OK);
    pump_all(b);
    /* first: 451, waits; second: 554, reported */
    CHECK_INT(g_srv.n_ends, 2);
    CHECK_INT(g_rep.n, 1);
    CHECK_INT(g_rep.result[0], SMTPMAIL_ERR_PERMANENT);
    CHECK_STR(g_rep.subject[0], "second");
    CHECK_INT(smtpmail_outbox_pending(b), 1);
    g_srv.ticks += 1000;
    pump_all(b);
    CHECK_INT(g_srv.n_ends, 3);
    CHECK_INT(g_rep.n, 2);
    CHECK_INT(g_rep.result[1], SMTPMAIL_OK);
    CHECK_INT(g_rep.attempts[1], 2);
    CHECK_STR(g_rep.subject[1], "first");
    CHECK_INT(g_srv.n_msgs, 1);
    /* No more transactions happen: 554 was not retried. */
    g_srv.ticks += 600000;
    pump_all(b);
    CHECK_INT(g_srv.n_ends, 3);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);

    /* A 4xx forever: given up once retry_for_ms has passed. */
    fresh(&c, &o);
    o.backoff_first_ms = 2000, o.backoff_max_ms = 2000, o.retry_for_ms = 10000;
    for (i = 0; i < 16; i++) g_srv.finals[i] = "452 4.2.2 mailbox full\r\n";
    g_srv.n_final = 16;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m1, NULL, &err) == SMTPMAIL_OK);
    for (i = 0; i < 40 && g_rep.n == 0; i++) {
        pump_all(b);
        g_srv.ticks += 500;
    }
    CHECK_INT(g_rep.n, 1);
    CHECK_INT(g_rep.result[0], SMTPMAIL_ERR_TEMPORARY);
    /* attempts 1000 ms apart (d/2 with random bytes 0), until 10 s */
    CHECK(g_rep.attempts[0] >= 10 && g_rep.attempts[0] <= 12);
    CHECK_INT(smtpmail_outbox_pending(b), 0);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
}

/* per_minute = 2 and a burst of 7: two go at once, the five that had to
   wait go as one digest when the minute is over. */
static void test_rate_limit_makes_a_digest(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    char subj[7][32];
    smtpmail_message m;
    uint32_t w;
    int i, digests = 0;
    fresh(&c, &o);
    o.per_minute = 2;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    for (i = 0; i < 7; i++) {
        snprintf(subj[i], sizeof subj[i], "止损 %d", i);
        m = alert(subj[i], "stop hit");
        CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    }
    w = pump_all(b);
    CHECK_INT(g_srv.n_msgs, 2);
    CHECK(w > 0 && w <= 60000);
    g_srv.ticks += 30000; /* (the idle session is closed on the way) */
    pump_all(b);
    g_srv.ticks += 29999;
    pump_all(b);
    CHECK_INT(g_srv.n_msgs, 2);
    g_srv.ticks += 1;
    pump_all(b);
    CHECK_INT(g_srv.n_msgs, 3);
    CHECK_INT(g_rep.n, 7);
    for (i = 0; i < g_rep.n && i < 7; i++) {
        CHECK_INT(g_rep.result[i], SMTPMAIL_OK);
        digests += g_rep.digest_of[i] == 5;
    }
    CHECK_INT(digests, 5);
    if (g_srv.n_msgs == 3) {
        /* The digest: "5 alerts: <first held>", then each subject and text. */
        /* 止损 is E6 AD A2 E6 8D 9F in UTF-8; the body is quoted-printable. */
        CHECK(has(g_srv.msgs[2].data, "Subject: 5 alerts: =?UTF-8?B?5q2i5o2f?= 2\r\n"));
        for (i = 2; i < 7; i++) {
            char want[64];
            snprintf(want, sizeof want, "--- %d of 5: =E6=AD=A2=E6=8D=9F %d\r\nstop hit\r\n", i - 1, i);
            CHECK(has(g_srv.msgs[2].data, want));
        }
        CHECK(has(g_srv.msgs[2].data, "To: desk@example.com"));
        CHECK(!has(g_srv.msgs[0].data, "alerts"));
    }
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
}

static void make_dir(char *path, size_t cap)
{
    temp_path(path, cap, "spool");
    CHECK(make_dir_at(path) == 0);
}

static void count_one(const char *dir, const char *name, void *u)
{
    (void)dir, (void)name;
    (*(int *)u)++;
}

static int count_files(const char *dir, const char *ext)
{
    char dot_ext[16];
    int n = 0;
    snprintf(dot_ext, sizeof dot_ext, ".%s", ext);
    each_file(dir, dot_ext, count_one, &n);
    return n;
}

static void remove_one(const char *dir, const char *name, void *u)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (remove(path) != 0) (*(int *)u)++;
}

/* The spool directory and its files, gone. */
static int remove_tree(const char *dir)
{
    int bad = 0;
    each_file(dir, "", remove_one, &bad);
    return bad == 0 ? remove_dir_at(dir) : -1;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fputs(text, f), fclose(f);
}

/* The spool: enqueued while the server is down, closed (as a crash would
   leave it), reopened with the server up: each sent once, in order, and
   the files gone. A .tmp (a write cut short) is dropped; a corrupt .msg
   is set aside as .failed. */
static void test_spool_survives_a_restart(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    char dir[512], subj[3][24];
    smtpmail_message m;
    int i;
    srv_reset();
    make_dir(dir, sizeof dir);
    c = test_config();
    o = spool_options(dir);
    g_srv.refuse_connect = 1;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    for (i = 0; i < 3; i++) {
        snprintf(subj[i], sizeof subj[i], "alert %d", i);
        m = alert(subj[i], "x");
        CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    }
    CHECK_INT(count_files(dir, "msg"), 3);
    pump_all(b);
    CHECK_INT(smtpmail_outbox_close(b, 0), 3);
    CHECK_INT(g_rep.n, 0); /* kept in the spool: not reported as lost */
    CHECK_INT(count_files(dir, "msg"), 3);

    write_file(dir, "00000000000000ff.tmp", "smtpmail-outbox 1 00000");
    write_file(dir, "00000000000000fe.msg", "smtpmail-outbox 1 0000000040\r\nX nonsense\r\n\r\n");
    g_srv.refuse_connect = 0;
    o = spool_options(dir);
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK_INT(smtpmail_outbox_pending(b), 3);
    CHECK_INT(count_files(dir, "tmp"), 0);
    CHECK_INT(count_files(dir, "failed"), 1);
    pump_all(b);
    CHECK_INT(g_srv.n_msgs, 3);
    for (i = 0; i < g_srv.n_msgs && i < 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "Subject: alert %d\r\n", i);
        CHECK(has(g_srv.msgs[i].data, line));
    }
    CHECK_INT(g_rep.n, 3);
    CHECK_INT(count_files(dir, "msg"), 0);
    /* New ids continue after the spool's. */
    m = alert("later", "x");
    {
        unsigned long long id;
        CHECK(smtpmail_outbox_enqueue(b, &m, &id, &err) == SMTPMAIL_OK);
        CHECK(id > 0xfe);
    }
    pump_all(b);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
    /* A permanent refusal keeps the file, as .failed. */
    refuse_next_message();
    o = spool_options(dir);
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    pump_all(b);
    CHECK_INT(g_rep.n, 1);
    CHECK_INT(g_rep.result[0], SMTPMAIL_ERR_PERMANENT);
    CHECK_INT(count_files(dir, "failed"), 2);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
    /* Only .failed files left: new ids still pass them, none is replaced. */
    refuse_next_message();
    o = spool_options(dir);
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    {
        unsigned long long id;
        CHECK(smtpmail_outbox_enqueue(b, &m, &id, &err) == SMTPMAIL_OK);
        CHECK(id > 0xfe + 1);
    }
    pump_all(b);
    CHECK_INT(count_files(dir, "failed"), 3);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
    CHECK(remove_tree(dir) == 0);

    /* A spool that cannot be written: SPOOL, the path named, nothing queued. */
    o = spool_options("/nonexistent-smtpmail-spool");
    CHECK_INT(smtpmail_outbox_open(&c, &o, &b, &err), SMTPMAIL_ERR_SPOOL);
    CHECK_STR(err.field, "outbox.spool_dir");
    CHECK(has(err.message, "/nonexistent-smtpmail-spool"));
}

/* Close without a spool: what could not go is reported, and counted. */
static void test_close_reports_what_is_left(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m = alert("left", "x");
    fresh(&c, &o);
    g_srv.refuse_connect = 1;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    pump_all(b);
    CHECK_INT(smtpmail_outbox_close(b, 0), 2);
    CHECK_INT(g_rep.n, 2);
    CHECK_INT(g_rep.result[0], SMTPMAIL_ERR_QUEUE_CLOSED);
}

/* A digest keeps the messages' Bcc out of its headers (envelope only). */
static void test_digest_keeps_bcc_hidden(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_address bcc[1] = {{NULL, "compliance@example.net"}};
    smtpmail_message m = alert("fill", "x");
    int i;
    fresh(&c, &o);
    o.per_minute = 1;
    m.bcc = bcc, m.bcc_count = 1;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    for (i = 0; i < 3; i++) CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    pump_all(b);
    g_srv.ticks += 60000;
    pump_all(b);
    CHECK_INT(g_srv.n_msgs, 2);
    if (g_srv.n_msgs == 2) {
        CHECK(has(g_srv.msgs[1].data, "Subject: 2 alerts: fill\r\n"));
        CHECK(has(g_srv.msgs[1].data, "To: desk@example.com\r\n"));
        CHECK(!has(g_srv.msgs[1].data, "compliance"));
        CHECK(!has(g_srv.msgs[0].data, "compliance"));
    }
    /* ... but the Bcc got both mails. */
    CHECK_STR(rcpt_list(), "<desk@example.com>\n<compliance@example.net>\n"
                           "<desk@example.com>\n<compliance@example.net>\n");
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
}

/* A server that refuses the connection for good (554 greeting): one
   connection answers for the whole queue, not one per message. */
static void test_permanent_refusal_of_the_link(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m = alert("x", "x");
    int i;
    fresh(&c, &o);
    g_srv.r_greet = "554 5.7.1 go away\r\n";
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    for (i = 0; i < 5; i++) CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    pump_all(b);
    CHECK_INT(g_srv.connects, 1);
    CHECK_INT(g_rep.n, 5);
    for (i = 0; i < g_rep.n && i < 5; i++) CHECK_INT(g_rep.result[i], SMTPMAIL_ERR_PERMANENT);
    CHECK_INT(smtpmail_outbox_pending(b), 0);
    CHECK_INT(smtpmail_outbox_close(b, 0), 0);
}

/* The worker thread: enqueue returns while the worker is stuck in
   connect (the gate), and everything goes once the gate opens. */
static void test_worker_thread(void)
{
    smtpmail_config c;
    smtpmail_outbox_options o;
    smtpmail_outbox *b;
    smtpmail_error err;
    smtpmail_message m = alert("threaded", "x");
    int i;
    srv_reset();
    c = test_config();
    g_srv.hooks.ticks_ms = NULL; /* the real clock */
    o = test_options();
    o.no_thread = 0;
    g_srv.tr.connect = gated_connect;
    gate_init(&g_gate);
    g_gated = 1;
    CHECK(smtpmail_outbox_open(&c, &o, &b, &err) == SMTPMAIL_OK);
    for (i = 0; i < 5; i++) CHECK(smtpmail_outbox_enqueue(b, &m, NULL, &err) == SMTPMAIL_OK);
    CHECK_INT(smtpmail_outbox_pending(b), 5);
    gate_lock(&g_gate);
    g_gated = 0;
    gate_open_all(&g_gate);
    gate_unlock(&g_gate);
    for (i = 0; i < 1000 && smtpmail_outbox_pending(b) > 0; i++) nap_10ms();
    CHECK_INT(smtpmail_outbox_close(b, 5000), 0);
    CHECK_INT(g_srv.n_msgs, 5);
    CHECK_INT(g_srv.connects, 1);
    CHECK_INT(g_rep.n, 5);
    gate_free(&g_gate);
}

static const test_case k_tests[] = {
    T(delivers_what_the_builder_renders),
    T(big_message_streams),
    T(refusals_at_enqueue),
    T(backoff_while_the_server_is_down),
    T(temporary_permanent_and_the_deadline),
    T(rate_limit_makes_a_digest),
    T(spool_survives_a_restart),
    T(close_reports_what_is_left),
    T(digest_keeps_bcc_hidden),
    T(permanent_refusal_of_the_link),
    T(worker_thread),
};

int main(int argc, char **argv)
{
    int r = run_tests(k_tests, sizeof k_tests / sizeof k_tests[0], argc, argv);
    fake_free(&g_srv);
    buf_free(&g_rcpts);
    return r;
}
