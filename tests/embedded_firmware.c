/* tests/embedded_firmware.c - a firmware-shaped program around the
   embedded build (tests/embedded_impl.c, no TLS), linked for a Cortex-M4
   with newlib-nano and libnosys by make embedded-check. It is never run:
   the link proves that the library needs nothing beyond libc and what
   this file provides, which is what every newlib firmware provides:

   - the transport (here over a pretend modem's byte pipe),
   - the hooks: a heap of its own, the RTC, a free-running millisecond
     counter and a random source (a TRNG in real hardware),
   - _gettimeofday and _times: newlib's time() and clock() end there.
     The library calls them only as fallbacks (a hook left NULL), but it
     references them. Debian's libnosys stubs them silently; newer Arm
     toolchains warn that the stubs "will always fail". */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtpmail.h"

/* >>board: what the hardware and its drivers would give. */

static volatile uint32_t g_systick_ms; /* SysTick_Handler adds 1 */
static volatile uint32_t g_rtc_seconds = 1700000000u;
static unsigned char g_modem_rx[256]; /* filled by the UART interrupt */
static volatile size_t g_modem_rx_len;

static int modem_open(const char *host, uint16_t port)
{
    return host && port ? 0 : -1;
}

static size_t modem_write(const void *data, size_t len)
{
    (void)data;
    return len;
}

/* ---- the transport: the contract of smtpmail_transport ------------------- */

static int fw_connect(void **conn, const char *host, uint16_t port, uint32_t timeout_ms,
                      void *user_data)
{
    (void)timeout_ms;
    (void)user_data;
    if (modem_open(host, port) != 0) return SMTPMAIL_ERR_CONNECT;
    *conn = (void *)g_modem_rx;
    return 0;
}

static int fw_send(void *conn, const void *data, size_t len, uint32_t timeout_ms,
                   void *user_data)
{
    size_t n;
    (void)conn;
    (void)timeout_ms;
    (void)user_data;
    if (len > 1024) len = 1024;
    n = modem_write(data, len);
    return n ? (int)n : SMTPMAIL_ERR_NETWORK;
}

static int fw_recv(void *conn, void *buf, size_t cap, uint32_t timeout_ms, void *user_data)
{
    uint32_t start = g_systick_ms;
    (void)conn;
    (void)user_data;
    for (;;) {
        size_t n = g_modem_rx_len;
        if (n > 0) {
            if (n > cap) n = cap;
            memcpy(buf, g_modem_rx, n);
            g_modem_rx_len = 0;
            return (int)n;
        }
        if ((uint32_t)(g_systick_ms - start) >= timeout_ms) return SMTPMAIL_ERR_TIMEOUT;
    }
}

static void fw_close(void *conn, void *user_data)
{
    (void)conn;
    (void)user_data;
}

/* ---- the hooks ------------------------------------------------------------- */

/* A bump heap: one send at a time, all of it given back at the end. */
static unsigned char g_heap[8192] __attribute__((aligned(8)));
static size_t g_heap_used;
static unsigned g_heap_live;

static void *fw_alloc(size_t size, void *user_data)
{
    void *p;
    (void)user_data;
    size = (size + 7u) & ~(size_t)7u;
    if (size > sizeof g_heap - g_heap_used) return NULL;
    p = g_heap + g_heap_used;
    g_heap_used += size;
    g_heap_live++;
    return p;
}

static void fw_free(void *ptr, void *user_data)
{
    (void)ptr;
    (void)user_data;
    if (--g_heap_live == 0) g_heap_used = 0;
}

static int64_t fw_now(int *utc_offset_min, void *user_data)
{
    (void)user_data;
    *utc_offset_min = 8 * 60;
    return (int64_t)g_rtc_seconds;
}

static int fw_random(void *buf, size_t len, void *user_data)
{
    static uint32_t x = 0x9E3779B9u; /* a TRNG register in real hardware */
    unsigned char *p = (unsigned char *)buf;
    (void)user_data;
    while (len--) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *p++ = (unsigned char)x;
    }
    return 0;
}

static uint64_t fw_ticks(void *user_data)
{
    (void)user_data;
    return g_systick_ms;
}

/* ---- newlib's system calls that the library's fallbacks reach ---------- */

struct timeval;
struct tms;
int _gettimeofday(struct timeval *tv, void *tz);
long _times(struct tms *buf);

int _gettimeofday(struct timeval *tv, void *tz)
{
    (void)tv;
    (void)tz;
    return -1;
}

long _times(struct tms *buf)
{
    (void)buf;
    return -1;
}

int main(void)
{
    static const smtpmail_address to[1] = {{"Desk", "desk@example.com"}};
    static const char report[] = "t,temp\r\n0,21.5\r\n";
    smtpmail_attachment att[1];
    smtpmail_message msg;
    smtpmail_config cfg;
    smtpmail_transport tr;
    smtpmail_hooks hooks;
    smtpmail_error err;

    memset(&msg, 0, sizeof msg);
    memset(&cfg, 0, sizeof cfg);
    memset(&tr, 0, sizeof tr);
    memset(&hooks, 0, sizeof hooks);
    memset(att, 0, sizeof att);
    tr.connect = fw_connect;
    tr.send = fw_send;
    tr.recv = fw_recv;
    tr.close = fw_close;
    hooks.alloc = fw_alloc;
    hooks.free = fw_free;
    hooks.now = fw_now;
    hooks.random = fw_random;
    hooks.ticks_ms = fw_ticks;
    att[0].data = report;
    att[0].data_len = sizeof report - 1;
    att[0].filename = "log.csv";
    msg.from.addr = "sensor7@example.com";
    msg.to = to;
    msg.to_count = 1;
    msg.subject = "Sensor 7: over temperature";
    msg.text = "Temperature 81.5 C at 06:13\n";
    msg.attachments = att;
    msg.attachment_count = 1;
    cfg.url = "smtp+plain://192.168.1.10:25";
    cfg.helo_name = "sensor7.example.com";
    cfg.hooks = &hooks;
    cfg.transport = &tr;
    for (;;) {
        if (smtpmail_send(&cfg, &msg, &err) == SMTPMAIL_OK) break;
    }
    for (;;) {
    }
}
