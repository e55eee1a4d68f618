/* heap - the library's peak heap while it sends one message with a file
   attachment, measured through the allocator hook; and, for context, the
   whole process's peak malloc use over the same call (mbedTLS and libc's
   stdio allocate with calloc/malloc, not through the hook).

     SMTPMAIL_PASSWORD=... build/bench/heap URL CA_FILE FILE

   Sends FILE as an attachment with smtpmail_send() to URL (for the bench:
   smtps://localhost:PORT, tests/bench/sinkd.py) as bot@example.com and
   prints one line:

     hook_peak=B hook_allocs=N malloc_peak=B malloc_calls=N

   hook_peak: the most bytes the library held at once through hooks.alloc
   (requested sizes). malloc_peak: the most bytes the process held at once
   during the call beyond what it held before it (malloc_usable_size, so
   allocator rounding included), counted by the malloc/calloc/realloc/free
   defined below, which replace glibc's for the whole process (glibc
   supports this, "Replacing malloc" in its manual) and pass on to
   glibc's own __libc_* functions. Exit status 0 only if the send succeeded. */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMTPMAIL_IMPLEMENTATION
#include "smtpmail.h"

/* ---- the process's malloc, counted ------------------------------------- */

#if defined(__GLIBC__)
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

static size_t proc_live, proc_peak;
static unsigned long proc_calls;

static void proc_add(void *p)
{
    if (!p) return;
    proc_live += malloc_usable_size(p);
    if (proc_live > proc_peak) proc_peak = proc_live;
    proc_calls++;
}

static void proc_sub(void *p)
{
    if (p) proc_live -= malloc_usable_size(p);
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    proc_add(p);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    proc_add(p);
    return p;
}

void *realloc(void *ptr, size_t size)
{
    void *p;
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    p = __libc_realloc(ptr, size);
    if (p || size == 0) proc_live -= old;
    proc_add(p);
    return p;
}

void free(void *ptr)
{
    proc_sub(ptr);
    __libc_free(ptr);
}
#define HAVE_PROC_COUNT 1
#else
#define HAVE_PROC_COUNT 0
#endif

/* ---- the library's heap, through the hook ------------------------------ */

struct heap {
    size_t live, peak;
    unsigned long allocs;
};

/* Each block carries its size in front, kept at max_align_t alignment. */
#define HEADER 16

static void *hook_alloc(size_t size, void *user_data)
{
    struct heap *h = (struct heap *)user_data;
    unsigned char *p = (unsigned char *)malloc(size + HEADER);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    h->live += size;
    if (h->live > h->peak) h->peak = h->live;
    h->allocs++;
    return p + HEADER;
}

static void hook_free(void *ptr, void *user_data)
{
    struct heap *h = (struct heap *)user_data;
    unsigned char *p = (unsigned char *)ptr;
    size_t size;
    if (!p) return;
    p -= HEADER;
    memcpy(&size, p, sizeof size);
    h->live -= size;
    free(p);
}

int main(int argc, char **argv)
{
    struct heap h = {0, 0, 0};
    smtpmail_hooks hooks = {0};
    smtpmail_config cfg = {0};
    smtpmail_message msg = {0};
    smtpmail_attachment att = {0};
    smtpmail_address to = {NULL, "ops@example.com"};
    smtpmail_error err;
    smtpmail_result r;
    size_t base;

    if (argc != 4) {
        fprintf(stderr, "usage: %s URL CA_FILE FILE (password in SMTPMAIL_PASSWORD)\n", argv[0]);
        return 2;
    }
    hooks.alloc = hook_alloc;
    hooks.free = hook_free;
    hooks.user_data = &h;
    cfg.url = argv[1];
    cfg.ca_file = argv[2];
    cfg.password = getenv("SMTPMAIL_PASSWORD");
    cfg.hooks = &hooks;
    att.path = argv[3];
    att.content_type = "application/octet-stream";
    msg.from.addr = "bot@example.com";
    msg.to = &to;
    msg.to_count = 1;
    msg.subject = "heap bench";
    msg.text = "The attachment.\n";
    msg.attachments = &att;
    msg.attachment_count = 1;

#if HAVE_PROC_COUNT
    base = proc_live;
    proc_peak = proc_live;
    proc_calls = 0;
#else
    base = 0;
#endif
    r = smtpmail_send(&cfg, &msg, &err);
    if (r != SMTPMAIL_OK) {
        fprintf(stderr, "heap: %s\n", err.message);
        return 1;
    }
    if (h.live != 0) {
        fprintf(stderr, "heap: %lu bytes still held after the call\n", (unsigned long)h.live);
        return 1;
    }
#if HAVE_PROC_COUNT
    printf("hook_peak=%lu hook_allocs=%lu malloc_peak=%lu malloc_calls=%lu\n",
           (unsigned long)h.peak, h.allocs, (unsigned long)(proc_peak - base), proc_calls);
#else
    (void)base;
    printf("hook_peak=%lu hook_allocs=%lu\n", (unsigned long)h.peak, h.allocs);
#endif
    return 0;
}
