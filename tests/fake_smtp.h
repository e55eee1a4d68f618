/* tests/fake_smtp.h - one scripted, in-memory SMTP server for the C suites
   (tests/test_smtp.c, tests/test_outbox.c, tests/test_embedded.c).

   It sits behind the public transport hook (config.transport: connect,
   send, recv, close) and offers the clock, random and log hooks a suite may
   plug in (fake.hooks). It uses nothing private of the implementation, so
   test_embedded.c, which links a separately built object, includes it too.
   Include smtpmail.h and tests/check.h first; every function is static and
   a file uses what it needs.

   SCRIPT: an array of steps {expect, reply}.
   - expect: the command line the client must send next (CRLF removed),
     exactly, or as a prefix when it ends in '*' ("MAIL FROM:<a@b.c>*");
     FAKE_CONNECT: the client connects (the reply is the greeting);
     FAKE_BODY: the client ends a DATA body with "." (the reply answers the
     end of the data). A "BDAT n" step is answered after the n bytes.
   - reply: the bytes to queue (several replies in one string reach the
     client in one read), or a fault: FAKE_CLOSE (hang up instead of
     answering), FAKE_SILENCE (never answer: the client's recv times out),
     FAKE_ENDLESS ("250-x" lines for ever); a reply that ends in
     FAKE_THEN_CLOSE is sent, then the server hangs up. fake_fault_at() puts
     a fault on a step at run time, including FAULT_TAKE_THEN_CLOSE and
     FAULT_TAKE_THEN_SILENCE (the server takes the message, then its replies
     are lost). fake_server_close() hangs up while the client is idle.
   A line the script does not expect gets no reply (but an unplanned QUIT
   gets 221, and an RSET 250 when rset_ok), is counted in `unexpected`, and
   is described in `bad` with what the step wanted; fake_followed() and
   fake_done() print that when they fail.

   RESPONDER (responder = 1, no script): a well-behaved server for any
   number of connections and transactions: the greeting r_greet, EHLO
   r_ehlo, AUTH r_auth (AUTH LOGIN gets its two 334 challenges first), RCPT
   r_rcpt, each BDAT chunk but the last "250 chunk ok", each end of a
   message the next of finals[0..n_final) (then 250), QUIT 221 and a close;
   an unknown command 500 (counted in `unexpected`). refuse_connect: every
   connect fails. A NULL reply means the default.

   KNOBS: piece (recv hands out at most this many bytes), send_max (send
   takes at most this many), send_fail_at (the n-th send() fails, with
   send_fail_with or NETWORK), rst_after_close (a closed peer: the first
   send works, later ones fail), close_unseen (a poll does not see a close),
   latency_ms (each wait moves the clock on), rset_ok.

   RECORDS: sent (every byte, all connections) and writes (where each send()
   started); cmds (the command lines, one per line, "<end of data>" for each
   end of a DATA body); msgs (each message the server took: DATA with its
   dot-stuffing undone, BDAT chunks joined); waits: a recv made when no
   reply bytes are on their way to the client is one wait (connect counts as
   one); replies produced while the client was still writing travel
   together, so a pipelined batch costs one wait. fake_rounds() tells what
   the client sent before each wait. A server that has closed, stalled or
   started an endless reply answers nothing more (not the rest of a batch
   either), and once closed it reads nothing more. */
#ifndef SMTPMAIL_TESTS_FAKE_SMTP_H
#define SMTPMAIL_TESTS_FAKE_SMTP_H

#define FAKE_UNUSED CHECK_MAYBE_UNUSED

/* >>replies: the usual replies, and EHLO replies built from capabilities. */
#define FAKE_GREET "220 mx.test ESMTP ready\r\n"
#define FAKE_OK "250 2.0.0 ok\r\n"
#define FAKE_AUTH_OK "235 2.7.0 Authentication successful\r\n"
#define FAKE_GO "354 end data with <CR><LF>.<CR><LF>\r\n"
#define FAKE_QUEUED "250 2.0.0 queued as 4711\r\n"
#define FAKE_BYE "221 2.0.0 bye\r\n"
/* One EHLO keyword line, for FAKE_EHLO_AS's caps. */
#define FAKE_CAP(keyword) "250-" keyword "\r\n"
/* "250-<first>", the caps (FAKE_CAP lines), "250 <last>". */
#define FAKE_EHLO_AS(first, caps, last) "250-" first "\r\n" caps "250 " last "\r\n"
/* The EHLO reply of mx.test with the given capabilities, AUTH PLAIN LOGIN last. */
#define FAKE_EHLO_REPLY(caps) FAKE_EHLO_AS("mx.test greets client.test", caps, "AUTH PLAIN LOGIN")

/* >>script */
#define FAKE_CONNECT NULL
#define FAKE_BODY "<end of data>"
#define FAKE_ENDLESS "<endless>"
#define FAKE_CLOSE "<close>"
#define FAKE_SILENCE "<silence>"
#define FAKE_THEN_CLOSE "<then close>"

typedef struct step {
    const char *expect;
    const char *reply;
} step;

/* Named scripts: step initialisers for static tables. */
#define FAKE_OPEN(helo, ehlo_reply) {FAKE_CONNECT, FAKE_GREET}, {"EHLO " helo, ehlo_reply}
/* One transaction, pipelined or not: the message in one BDAT LAST chunk. */
#define FAKE_TX_BDAT(mail, rcpt) {mail, FAKE_OK}, {rcpt, FAKE_OK}, {"BDAT *", FAKE_QUEUED}
/* One transaction with DATA: 354, the body, the end of data. */
#define FAKE_TX_DATA(mail, rcpt) \
    {mail, FAKE_OK}, {rcpt, FAKE_OK}, {"DATA", FAKE_GO}, {FAKE_BODY, FAKE_QUEUED}
#define FAKE_QUIT {"QUIT", FAKE_BYE}

enum fake_fault {
    FAULT_NONE,
    FAULT_CLOSE,             /* hang up instead of answering */
    FAULT_SILENCE,           /* never answer */
    FAULT_THEN_CLOSE,        /* answer, then hang up */
    FAULT_TAKE_THEN_CLOSE,   /* take the message; the replies are lost, the link closes */
    FAULT_TAKE_THEN_SILENCE  /* take the message; the replies are lost in silence */
};

/* A growable array of sizes. */
typedef struct fake_sizes {
    size_t *v;
    size_t n, cap;
} fake_sizes;

FAKE_UNUSED static void fake_sizes_push(fake_sizes *s, size_t x)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        size_t *v = (size_t *)xmalloc(nc * sizeof *v);
        if (s->v) memcpy(v, s->v, s->n * sizeof *v);
        free(s->v);
        s->v = v;
        s->cap = nc;
    }
    s->v[s->n++] = x;
}

enum { FAKE_CMD, FAKE_DATA, FAKE_BDAT, FAKE_RAW };

#define FAKE_MAX_MSGS 64
#define FAKE_MAX_FINALS 16

typedef struct fake {
    /* The script and the knobs, set by the test. */
    const step *steps;
    size_t nsteps;
    size_t piece;           /* recv returns at most this many bytes; 0: all */
    size_t send_max;        /* send takes at most this many bytes; 0: all */
    int send_fail_at;       /* the n-th send() call (1-based) fails; 0 none */
    int send_fail_with;     /* ... with this result (0: SMTPMAIL_ERR_NETWORK) */
    int close_unseen;       /* a poll does not see the close (it comes just after) */
    int rst_after_close;    /* a closed peer: the first send works, later ones fail */
    uint64_t latency_ms;    /* each wait advances the clock by this much */
    int rset_ok;            /* an RSET the script does not plan gets 250 (counted in rsets) */
    int fault_step, fault;  /* fake_fault_at: a fault on this step; -1 none */
    /* The responder (no script). */
    int responder;
    int refuse_connect;
    const char *r_greet, *r_ehlo, *r_auth, *r_rcpt;
    const char *finals[FAKE_MAX_FINALS]; /* replies to successive ends of messages */
    int n_final;
    void *user;             /* the suite's own (its allocator, ...) */

    /* The connection. */
    size_t step;
    int connected, closed, silent, endless, quit_seen, mode, login_state, bdat_last, in_chunks;
    size_t bdat_left, bdat_step, sends_since_close;
    buf line, body, pending, delivered;
    size_t dpos;

    /* What was seen. */
    buf sent;               /* every byte the client sent, all connections */
    fake_sizes writes;      /* offset in sent where each send() started */
    buf cmds;               /* command lines, one per line, CRLF removed */
    size_t ncmds;
    buf bad;                /* what the script did not expect, one line each */
    buf log;                /* the hooks.log transcript, one line each */
    buf rcpts;              /* on_recipient: "addr code text\n" */
    buf msgs[FAKE_MAX_MSGS]; /* messages the server took */
    int n_msgs, n_ends;     /* n_ends: ends of messages answered by the responder */
    int connects, closes, sends, recvs, polls, waits, stalls, unexpected, after_quit, bare_lf,
        long_lines, rsets;
    long endless_lines;
    size_t dropped;         /* bytes sent to a closed connection */
    fake_sizes wait_sent;   /* sent.len at each wait */
    fake_sizes wait_cmds;   /* ncmds at each wait */
    fake_sizes wait_connect; /* 1 for a connect, 0 for a recv */
    char host[256];
    uint16_t port;
    uint32_t connect_ms, last_recv_ms, max_recv_ms;
    uint64_t ticks;

    /* What the client is given. */
    smtpmail_transport tr;
    smtpmail_hooks hooks;
    smtpmail_config cfg;
} fake;

/* >>server */

/* A server that has hung up, stalled or is stuck in an endless reply
   answers nothing more: not the rest of a pipelined batch either. */
FAKE_UNUSED static int fake_mute(const fake *f) { return f->closed || f->silent || f->endless; }

FAKE_UNUSED static void fake_take_message(fake *f)
{
    if (f->n_msgs < FAKE_MAX_MSGS) buf_put(&f->msgs[f->n_msgs++], f->body.data, f->body.len);
}

/* The fault of step i, and how many bytes of its reply to send. */
FAKE_UNUSED static int fake_step_fault(const fake *f, size_t i, size_t *len)
{
    const char *reply = f->steps[i].reply;
    size_t n = strlen(reply), k = strlen(FAKE_THEN_CLOSE);
    *len = n;
    if (f->fault_step >= 0 && (size_t)f->fault_step == i) return f->fault;
    if (strcmp(reply, FAKE_CLOSE) == 0) return FAULT_CLOSE;
    if (strcmp(reply, FAKE_SILENCE) == 0) return FAULT_SILENCE;
    if (n >= k && strcmp(reply + n - k, FAKE_THEN_CLOSE) == 0) {
        *len = n - k;
        return FAULT_THEN_CLOSE;
    }
    return FAULT_NONE;
}

/* Step i was matched: its reply (or its fault). is_message: the step ends
   a message (DATA's end, BDAT LAST), which the server takes on a 2xx. */
FAKE_UNUSED static int fake_trigger(fake *f, size_t i, int is_message)
{
    const char *reply = f->steps[i].reply;
    size_t len;
    int fault = fake_step_fault(f, i, &len);
    if (fake_mute(f)) return fault;
    if (fault == FAULT_TAKE_THEN_CLOSE || fault == FAULT_TAKE_THEN_SILENCE) {
        if (is_message) fake_take_message(f);
        buf_clear(&f->pending);
        if (fault == FAULT_TAKE_THEN_SILENCE) f->silent = 1;
        else f->closed = 1;
        return fault;
    }
    if (fault == FAULT_CLOSE) {
        f->closed = 1;
        return fault;
    }
    if (fault == FAULT_SILENCE) {
        f->silent = 1;
        return fault;
    }
    if (strcmp(reply, FAKE_ENDLESS) == 0) f->endless = 1;
    else buf_put(&f->pending, reply, len);
    if (is_message && reply[0] == '2') fake_take_message(f);
    if (fault == FAULT_THEN_CLOSE) f->closed = 1;
    return fault;
}

/* Something the script (or the responder) did not expect: counted, and
   described in bad as "step k: wanted `...`, got `...`". */
FAKE_UNUSED static void fake_unexpected(fake *f, const char *got)
{
    const step *st = !f->responder && f->step < f->nsteps ? &f->steps[f->step] : NULL;
    char head[64];
    f->unexpected++;
    if (f->responder) {
        buf_str(&f->bad, "responder: unexpected `");
    } else {
        snprintf(head, sizeof head, "step %lu: wanted ", (unsigned long)f->step);
        buf_str(&f->bad, head);
        if (!st) buf_str(&f->bad, "nothing more (the script is over)");
        else if (st->expect == FAKE_CONNECT) buf_str(&f->bad, "a connect");
        else buf_str(&f->bad, "`"), buf_str(&f->bad, st->expect), buf_str(&f->bad, "`");
        buf_str(&f->bad, ", got `");
    }
    buf_str(&f->bad, got);
    buf_str(&f->bad, "`\n");
}

/* Does line l answer expect (exact, or a prefix ending in '*')? */
FAKE_UNUSED static int fake_matches(const char *expect, const char *l)
{
    size_t n = strlen(expect);
    if (n > 0 && expect[n - 1] == '*') return strncmp(l, expect, n - 1) == 0;
    return strcmp(l, expect) == 0;
}

/* The responder's end of a message (DATA "." or the last BDAT byte). */
FAKE_UNUSED static void fake_respond_message(fake *f)
{
    const char *reply = f->n_ends < f->n_final && f->finals[f->n_ends] ? f->finals[f->n_ends]
                                                                        : FAKE_QUEUED;
    f->n_ends++;
    if (fake_mute(f)) return;
    buf_str(&f->pending, reply);
    if (reply[0] == '2') fake_take_message(f);
}

/* A BDAT line: how many bytes follow, whether LAST; a new message clears
   the body, a later chunk of the same one adds to it. 1 if bytes follow. */
FAKE_UNUSED static int fake_bdat(fake *f, const char *l)
{
    char *end;
    f->bdat_left = (size_t)strtoul(l + 5, &end, 10);
    if (!f->in_chunks) buf_clear(&f->body);
    f->bdat_last = strncmp(end, " LAST", 5) == 0;
    f->in_chunks = !f->bdat_last;
    if (f->bdat_left > 0) f->mode = FAKE_BDAT;
    return f->bdat_left > 0;
}

/* The responder's reply to one command line. */
FAKE_UNUSED static void fake_respond(fake *f, const char *l)
{
    const char *reply = FAKE_OK;
    if (f->login_state > 0) { /* the answers to AUTH LOGIN's challenges */
        reply = f->login_state++ == 1 ? "334 UGFzc3dvcmQ6\r\n" : f->r_auth ? f->r_auth : FAKE_AUTH_OK;
        if (f->login_state > 2) f->login_state = 0;
    } else if (strncmp(l, "EHLO ", 5) == 0) {
        reply = f->r_ehlo ? f->r_ehlo : FAKE_EHLO_REPLY("");
    } else if (strcmp(l, "AUTH LOGIN") == 0) {
        reply = "334 VXNlcm5hbWU6\r\n";
        f->login_state = 1;
    } else if (strncmp(l, "AUTH ", 5) == 0) {
        reply = f->r_auth ? f->r_auth : FAKE_AUTH_OK;
    } else if (strncmp(l, "RCPT ", 5) == 0) {
        if (f->r_rcpt) reply = f->r_rcpt;
    } else if (strcmp(l, "DATA") == 0) {
        reply = "354 go ahead\r\n";
        f->mode = FAKE_DATA;
        f->in_chunks = 0;
        buf_clear(&f->body);
    } else if (strncmp(l, "BDAT ", 5) == 0) {
        if (fake_bdat(f, l)) return;
        if (f->bdat_last) {
            fake_respond_message(f);
            return;
        }
        reply = "250 2.0.0 chunk ok\r\n";
    } else if (strcmp(l, "QUIT") == 0) {
        if (!fake_mute(f)) buf_str(&f->pending, FAKE_BYE);
        f->closed = 1; /* as servers do after 221 */
        return;
    } else if (strcmp(l, "RSET") == 0) {
        f->rsets++;
    } else if (strncmp(l, "MAIL ", 5) != 0) {
        fake_unexpected(f, l);
        reply = "500 5.5.1 what?\r\n";
    }
    if (!fake_mute(f)) buf_str(&f->pending, reply);
}

FAKE_UNUSED static void fake_record_cmd(fake *f, const char *l)
{
    buf_str(&f->cmds, l);
    buf_str(&f->cmds, "\n");
    f->ncmds++;
}

FAKE_UNUSED static void fake_line(fake *f, const char *l)
{
    size_t i = f->step;
    const step *st = i < f->nsteps ? &f->steps[i] : NULL;
    int fault;
    fake_record_cmd(f, l);
    if (f->quit_seen) f->after_quit++;
    if (strcmp(l, "QUIT") == 0) f->quit_seen = 1;
    if (f->responder) {
        fake_respond(f, l);
        return;
    }
    if (!st || !st->expect || !fake_matches(st->expect, l)) {
        if (strcmp(l, "QUIT") == 0) { /* a QUIT the script did not plan: polite */
            if (!fake_mute(f)) buf_str(&f->pending, FAKE_BYE);
            return;
        }
        if (strcmp(l, "RSET") == 0 && f->rset_ok) {
            f->rsets++;
            if (!fake_mute(f)) buf_str(&f->pending, FAKE_OK);
            return;
        }
        fake_unexpected(f, l);
        return;
    }
    f->step++;
    if (strncmp(l, "BDAT ", 5) == 0) {
        f->bdat_step = i;
        if (!fake_bdat(f, l)) fake_trigger(f, i, f->bdat_last);
        return;
    }
    fault = fake_trigger(f, i, 0);
    if (fault == FAULT_CLOSE || fault == FAULT_SILENCE) return;
    if (strcmp(l, "DATA") == 0 && strncmp(st->reply, "354", 3) == 0) {
        f->mode = FAKE_DATA;
        f->in_chunks = 0;
        buf_clear(&f->body);
    } else if (strcmp(l, "STARTTLS") == 0 && strncmp(st->reply, "220", 3) == 0) {
        f->mode = FAKE_RAW; /* a TLS ClientHello follows: bytes only */
    }
}

/* One line of a DATA body (CRLF removed): RFC 5321 4.5.2, the receiver
   drops the first '.' of a line; "." alone ends the data. */
FAKE_UNUSED static void fake_data_line(fake *f, const char *l, size_t n)
{
    if (n == 1 && l[0] == '.') {
        const step *st = f->step < f->nsteps ? &f->steps[f->step] : NULL;
        f->mode = FAKE_CMD;
        fake_record_cmd(f, FAKE_BODY);
        if (f->responder) {
            fake_respond_message(f);
            return;
        }
        if (st && st->expect && strcmp(st->expect, FAKE_BODY) == 0) {
            f->step++;
            fake_trigger(f, f->step - 1, 1);
        } else {
            fake_unexpected(f, FAKE_BODY);
        }
        return;
    }
    if (n > 0 && l[0] == '.') l++, n--;
    buf_put(&f->body, l, n);
    buf_put(&f->body, "\r\n", 2);
}

FAKE_UNUSED static void fake_feed(fake *f, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (f->mode == FAKE_RAW) return;
        if (f->closed) { /* a server that hung up reads nothing more */
            f->dropped += n - i;
            return;
        }
        if (f->mode == FAKE_BDAT) {
            buf_put(&f->body, p + i, 1);
            if (--f->bdat_left == 0) {
                f->mode = FAKE_CMD;
                if (!f->responder) fake_trigger(f, f->bdat_step, f->bdat_last);
                else if (f->bdat_last) fake_respond_message(f);
                else if (!fake_mute(f)) buf_str(&f->pending, "250 2.0.0 chunk ok\r\n");
            }
            continue;
        }
        buf_put(&f->line, p + i, 1);
        if (p[i] != '\n') continue;
        if (f->line.len < 2 || f->line.data[f->line.len - 2] != '\r') f->bare_lf++;
        if (f->line.len > 1000) f->long_lines++; /* RFC 5321 4.5.3.1.6 */
        f->line.len -= f->line.len >= 2 && f->line.data[f->line.len - 2] == '\r' ? 2 : 1;
        f->line.data[f->line.len] = '\0';
        if (f->mode == FAKE_CMD) fake_line(f, f->line.data);
        else fake_data_line(f, f->line.data, f->line.len);
        buf_clear(&f->line);
    }
}

FAKE_UNUSED static void fake_wait(fake *f, int is_connect)
{
    fake_sizes_push(&f->wait_sent, f->sent.len);
    fake_sizes_push(&f->wait_cmds, f->ncmds);
    fake_sizes_push(&f->wait_connect, (size_t)is_connect);
    f->waits++;
}

/* >>transport: the smtpmail_transport functions (user_data: the fake). */

FAKE_UNUSED static int fake_connect(void **conn, const char *host, uint16_t port,
                                    uint32_t timeout_ms, void *user_data)
{
    fake *f = (fake *)user_data;
    const step *st = f->step < f->nsteps ? &f->steps[f->step] : NULL;
    f->connects++;
    fake_wait(f, 1);
    f->ticks += f->latency_ms;
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    f->connect_ms = timeout_ms;
    f->closed = f->silent = f->endless = f->quit_seen = 0;
    f->mode = FAKE_CMD;
    f->in_chunks = 0;
    f->sends_since_close = 0;
    buf_clear(&f->line);
    buf_clear(&f->body);
    buf_clear(&f->pending);
    buf_clear(&f->delivered);
    f->dpos = 0;
    f->login_state = 0;
    if (f->responder) {
        if (f->refuse_connect) return SMTPMAIL_ERR_CONNECT;
        *conn = f;
        f->connected = 1;
        buf_str(&f->pending, f->r_greet ? f->r_greet : FAKE_GREET);
        return 0;
    }
    if (!st || st->expect != FAKE_CONNECT) {
        fake_unexpected(f, "<connect>");
        return SMTPMAIL_ERR_CONNECT;
    }
    *conn = f;
    f->connected = 1;
    f->step++;
    fake_trigger(f, f->step - 1, 0);
    return 0;
}

FAKE_UNUSED static int fake_send(void *conn, const void *data, size_t len, uint32_t timeout_ms,
                                 void *user_data)
{
    fake *f = (fake *)user_data;
    size_t n = len;
    (void)timeout_ms;
    f->sends++;
    if (conn != f || !f->connected) fake_unexpected(f, "<send on no connection>");
    if (f->send_fail_at && f->sends == f->send_fail_at) {
        f->closed = 1;
        return f->send_fail_with ? f->send_fail_with : SMTPMAIL_ERR_NETWORK;
    }
    if (f->closed && f->rst_after_close && f->sends_since_close++ > 0) return SMTPMAIL_ERR_NETWORK;
    if (f->send_max && n > f->send_max) n = f->send_max;
    fake_sizes_push(&f->writes, f->sent.len);
    buf_put(&f->sent, data, n);
    if (f->closed) f->dropped += n;
    else fake_feed(f, (const unsigned char *)data, n);
    return (int)n;
}

FAKE_UNUSED static int fake_recv(void *conn, void *out, size_t cap, uint32_t timeout_ms,
                                 void *user_data)
{
    fake *f = (fake *)user_data;
    size_t n;
    f->recvs++;
    f->last_recv_ms = timeout_ms;
    if (timeout_ms > f->max_recv_ms) f->max_recv_ms = timeout_ms;
    if (conn != f || !f->connected) fake_unexpected(f, "<recv on no connection>");
    if (timeout_ms == 0 && f->dpos == f->delivered.len) {
        /* A poll (is the idle link still there?): no waiting, no round trip. */
        f->polls++;
        if (!f->pending.len) return f->closed && !f->close_unseen ? 0 : SMTPMAIL_ERR_TIMEOUT;
        buf_clear(&f->delivered);
        f->dpos = 0;
        buf_put(&f->delivered, f->pending.data, f->pending.len);
        buf_clear(&f->pending);
    }
    if (f->dpos == f->delivered.len) {
        /* Nothing on its way: the client waits for the server. */
        buf_clear(&f->delivered);
        f->dpos = 0;
        fake_wait(f, 0);
        if (f->latency_ms > timeout_ms) {
            f->ticks += timeout_ms;
            return SMTPMAIL_ERR_TIMEOUT;
        }
        f->ticks += f->latency_ms;
        if (f->pending.len) {
            buf_put(&f->delivered, f->pending.data, f->pending.len);
            buf_clear(&f->pending);
        } else if (f->endless) {
            int k;
            for (k = 0; k < 50; k++, f->endless_lines++) buf_str(&f->delivered, "250-x\r\n");
        } else if (f->closed) {
            return 0;
        } else {
            if (!f->silent) f->stalls++; /* waiting for a reply the server does not owe */
            return SMTPMAIL_ERR_TIMEOUT;
        }
    }
    n = f->delivered.len - f->dpos;
    if (f->piece && n > f->piece) n = f->piece;
    if (n > cap) n = cap;
    memcpy(out, f->delivered.data + f->dpos, n);
    f->dpos += n;
    return (int)n;
}

FAKE_UNUSED static void fake_close(void *conn, void *user_data)
{
    fake *f = (fake *)user_data;
    f->closes++;
    if (conn != f || !f->connected) fake_unexpected(f, "<close of no connection>");
    f->connected = 0;
}

/* >>hooks: a fixed clock and random source, the clock in ms the tests
   move (ticks), and the transcript (log). user_data: the fake. */

FAKE_UNUSED static void fake_log(const char *line, void *user_data)
{
    fake *f = (fake *)user_data;
    buf_str(&f->log, line);
    buf_str(&f->log, "\n");
}

FAKE_UNUSED static int64_t fake_now(int *utc_offset_min, void *user_data)
{
    (void)user_data;
    *utc_offset_min = 480;
    return 1700000000;
}

FAKE_UNUSED static int fake_random(void *out, size_t len, void *user_data)
{
    unsigned char *p = (unsigned char *)out;
    size_t i;
    (void)user_data;
    for (i = 0; i < len; i++) p[i] = (unsigned char)(0xA5u ^ (i * 29u));
    return 0;
}

FAKE_UNUSED static uint64_t fake_ticks(void *user_data) { return ((const fake *)user_data)->ticks; }

FAKE_UNUSED static void fake_on_recipient(const char *addr, int code, const char *text,
                                          void *user_data)
{
    fake *f = (fake *)user_data;
    char line[400];
    snprintf(line, sizeof line, "%s %d %s\n", addr, code, text);
    buf_str(&f->rcpts, line);
}

/* >>setup */

/* A fake with its script (NULL, 0 for none), and a config for it:
   plaintext to mx.test:2525, EHLO name client.test, the fixed clock and
   random source, the transcript logged, on_recipient recorded. */
FAKE_UNUSED static void fake_init(fake *f, const step *steps, size_t nsteps)
{
    memset(f, 0, sizeof *f);
    f->steps = steps;
    f->nsteps = nsteps;
    f->fault_step = -1;
    f->ticks = 1000000;
    f->tr.connect = fake_connect;
    f->tr.send = fake_send;
    f->tr.recv = fake_recv;
    f->tr.close = fake_close;
    f->tr.user_data = f;
    f->hooks.now = fake_now;
    f->hooks.random = fake_random;
    f->hooks.ticks_ms = fake_ticks;
    f->hooks.log = fake_log;
    f->hooks.user_data = f;
    f->cfg.host = "mx.test";
    f->cfg.port = 2525;
    f->cfg.tls = SMTPMAIL_TLS_INSECURE_NONE;
    f->cfg.helo_name = "client.test";
    f->cfg.transport = &f->tr;
    f->cfg.hooks = &f->hooks;
    f->cfg.on_recipient = fake_on_recipient;
    f->cfg.user_data = f;
    buf_clear(&f->cmds);
    buf_clear(&f->log);
    buf_clear(&f->sent);
    buf_clear(&f->bad);
    buf_clear(&f->rcpts);
}

/* A responder (no script) answering EHLO with ehlo (NULL: the default). */
FAKE_UNUSED static void fake_init_responder(fake *f, const char *ehlo)
{
    fake_init(f, NULL, 0);
    f->responder = 1;
    f->r_ehlo = ehlo;
}

FAKE_UNUSED static void fake_free(fake *f)
{
    int i;
    buf_free(&f->line);
    buf_free(&f->body);
    buf_free(&f->pending);
    buf_free(&f->delivered);
    buf_free(&f->sent);
    buf_free(&f->cmds);
    buf_free(&f->bad);
    buf_free(&f->log);
    buf_free(&f->rcpts);
    for (i = 0; i < FAKE_MAX_MSGS; i++) buf_free(&f->msgs[i]);
    free(f->writes.v);
    free(f->wait_sent.v);
    free(f->wait_cmds.v);
    free(f->wait_connect.v);
    memset(f, 0, sizeof *f);
}

/* A fault on step `at` (an index into the script), whatever its reply says. */
FAKE_UNUSED static void fake_fault_at(fake *f, int at, int fault)
{
    f->fault_step = at;
    f->fault = fault;
}

/* The index of the nth (1-based) step whose expect is exactly `expect`
   (FAKE_CONNECT for connects), or -1. */
FAKE_UNUSED static int fake_step_index(const fake *f, const char *expect, int nth)
{
    size_t i;
    for (i = 0; i < f->nsteps; i++) {
        const char *e = f->steps[i].expect;
        if ((e == expect || (e && expect && strcmp(e, expect) == 0)) && --nth == 0) return (int)i;
    }
    return -1;
}

/* The server hangs up while the client is idle, after saying `last`. */
FAKE_UNUSED static void fake_server_close(fake *f, const char *last)
{
    if (last) buf_str(&f->pending, last);
    f->closed = 1;
    f->sends_since_close = 0;
}

/* The next send() call fails (as a reset link's first write may). */
FAKE_UNUSED static void fake_fail_next_write(fake *f) { f->send_fail_at = f->sends + 1; }

/* >>records */

/* memmem for C99: the offset of needle in hay[0..n), or -1. */
FAKE_UNUSED static long fake_find(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    if (!hay) return -1;
    for (i = 0; k <= n && i <= n - k; i++)
        if (memcmp(hay + i, needle, k) == 0) return (long)i;
    return -1;
}

/* Which send() call (0-based) carried the byte at offset off of sent; -1
   for none. */
FAKE_UNUSED static long fake_write_of(const fake *f, long off)
{
    size_t i;
    if (off < 0 || (size_t)off >= f->sent.len) return -1;
    for (i = f->writes.n; i-- > 0;)
        if (f->writes.v[i] <= (size_t)off) return (long)i;
    return -1;
}

/* Did the first `a` and the first `b` the client sent go in one send()?
   ("MAIL, RCPT and BDAT came in one write.") */
FAKE_UNUSED static int fake_one_write(const fake *f, const char *a, const char *b)
{
    long wa = fake_write_of(f, fake_find(f->sent.data, f->sent.len, a));
    long wb = fake_write_of(f, fake_find(f->sent.data, f->sent.len, b));
    if (wa < 0 || wb < 0 || wa != wb) {
        if (g_printed <= 30)
            printf("    note: `%s` in write %ld, `%s` in write %ld (-1: not sent)\n", a, wa, b, wb);
        return 0;
    }
    return 1;
}

/* The k-th command line (0-based) into out; 0 if there is none. */
FAKE_UNUSED static int fake_cmd_line(const fake *f, int k, buf *out)
{
    const char *p = f->cmds.data, *nl;
    buf_clear(out);
    while (p && *p) {
        nl = strchr(p, '\n');
        if (k-- == 0) {
            buf_put(out, p, (size_t)(nl - p));
            return 1;
        }
        p = nl + 1;
    }
    return 0;
}

/* Does any command line start with prefix? */
FAKE_UNUSED static int fake_sent_cmd(const fake *f, const char *prefix)
{
    const char *p = f->cmds.data;
    size_t n = strlen(prefix);
    while (p && *p) {
        if (strncmp(p, prefix, n) == 0) return 1;
        p = strchr(p, '\n') + 1;
    }
    return 0;
}

/* The rest of every command line that starts with verb ("RCPT TO:"), one
   per line, into out. */
FAKE_UNUSED static void fake_cmd_args(const fake *f, const char *verb, buf *out)
{
    const char *p = f->cmds.data, *nl;
    size_t n = strlen(verb);
    buf_clear(out);
    while (p && *p) {
        nl = strchr(p, '\n');
        if (strncmp(p, verb, n) == 0) buf_put(out, p + n, (size_t)(nl - p) - n), buf_str(out, "\n");
        p = nl + 1;
    }
}

/* The verb of command line p (up to its '\n'): EHLO, MAIL, ... "." for the
   end of a DATA body, "answer" for anything else (an AUTH continuation). */
FAKE_UNUSED static void fake_verb(const char *p, char *out, size_t cap)
{
    static const char *const verbs[] = {"EHLO", "HELO", "AUTH", "MAIL", "RCPT", "DATA",
                                        "BDAT", "RSET", "QUIT", "STARTTLS", "NOOP"};
    size_t i, n = strcspn(p, " \n");
    if (strncmp(p, FAKE_BODY "\n", sizeof FAKE_BODY) == 0) {
        snprintf(out, cap, ".");
        return;
    }
    for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strlen(verbs[i]) == n && strncmp(p, verbs[i], n) == 0) {
            snprintf(out, cap, "%s", verbs[i]);
            return;
        }
    }
    snprintf(out, cap, "answer");
}

/* The verbs of command lines [from, to) into out, space-separated, a run
   of the same verb as VERB*n. */
FAKE_UNUSED static void fake_verbs(const fake *f, size_t from, size_t to, buf *out)
{
    const char *p = f->cmds.data;
    char verb[16], prev[16] = "";
    size_t k, run = 0;
    for (k = 0; p && *p && k < to; k++, p = strchr(p, '\n') + 1) {
        if (k < from) continue;
        fake_verb(p, verb, sizeof verb);
        if (run && strcmp(verb, prev) == 0) {
            run++;
            continue;
        }
        if (run > 1) {
            char n[24];
            snprintf(n, sizeof n, "*%lu", (unsigned long)run);
            buf_str(out, n);
        }
        if (run) buf_str(out, " ");
        buf_str(out, verb);
        memcpy(prev, verb, sizeof prev);
        run = 1;
    }
    if (run > 1) {
        char n[24];
        snprintf(n, sizeof n, "*%lu", (unsigned long)run);
        buf_str(out, n);
    }
}

/* The round trips from wait `from` (0: all), as what the client sent
   before each wait: "connect" for a connect, "greeting" for the wait right
   after one with nothing sent, "-" for another wait with nothing sent, or
   the verbs of the lines sent since the previous wait ("MAIL RCPT*2 BDAT
   QUIT"); joined by ", ". Lines sent after the last wait (or before a
   connect) without waiting follow as " then VERBS". E.g. a lockstep
   dialogue: "connect, greeting, EHLO, MAIL, RCPT, DATA, . then QUIT". */
FAKE_UNUSED static void fake_rounds(const fake *f, int from, buf *out)
{
    size_t k, prev_cmds;
    buf_clear(out);
    if (from < 0 || (size_t)from > f->wait_cmds.n) return;
    prev_cmds = from > 0 ? f->wait_cmds.v[from - 1] : 0;
    for (k = (size_t)from; k < f->wait_cmds.n; k++) {
        size_t now = f->wait_cmds.v[k];
        int sep = out->len > 0;
        if (f->wait_connect.v[k]) {
            if (now > prev_cmds) {
                buf_str(out, sep ? " then " : "then ");
                fake_verbs(f, prev_cmds, now, out);
                sep = 1;
            }
            buf_str(out, sep ? ", connect" : "connect");
        } else {
            if (sep) buf_str(out, ", ");
            if (now > prev_cmds) fake_verbs(f, prev_cmds, now, out);
            else buf_str(out, k > 0 && f->wait_connect.v[k - 1] ? "greeting" : "-");
        }
        prev_cmds = now;
    }
    if (f->ncmds > prev_cmds) {
        buf_str(out, out->len ? " then " : "then ");
        fake_verbs(f, prev_cmds, f->ncmds, out);
    }
}

FAKE_UNUSED static int check_rounds_(const fake *f, int from, const char *want, const char *expr,
                         const char *file, int line)
{
    buf got = {0};
    int ok;
    fake_rounds(f, from, &got);
    ok = check_str_(got.data, want, expr, file, line);
    buf_free(&got);
    return ok;
}
/* The round trips (fake_rounds) from wait `from` are `want`. */
#define CHECK_ROUNDS_FROM(f, from, want) \
    check_rounds_((f), (from), (want), "rounds of " #f " == " #want, __FILE__, __LINE__)
#define CHECK_ROUNDS(f, want) CHECK_ROUNDS_FROM(f, 0, want)

/* Was every wait from `from` on made right after a whole line (CRLF)? */
FAKE_UNUSED static int fake_waits_after_whole_lines(const fake *f, size_t from)
{
    size_t k;
    for (k = from; k < f->wait_sent.n; k++) {
        size_t at = f->wait_sent.v[k];
        if (at < 2 || f->sent.data[at - 2] != '\r' || f->sent.data[at - 1] != '\n') {
            if (g_printed <= 30) printf("    note: wait %lu came in the middle of a line\n", (unsigned long)k);
            return 0;
        }
    }
    return 1;
}

/* The lines of s, each as a note. */
FAKE_UNUSED static void fake_note_lines(const char *what, const char *s)
{
    while (s && *s && g_printed <= 30) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        printf("    note: %s ", what);
        while (n > 0) {
            char chunk[128];
            size_t k = n < sizeof chunk - 1 ? n : sizeof chunk - 1;
            memcpy(chunk, s, k);
            chunk[k] = '\0';
            print_escaped(chunk, k);
            s += k, n -= k;
        }
        printf("\n");
        s = nl ? nl + 1 : s + strlen(s);
    }
}

FAKE_UNUSED static void fake_report(const fake *f)
{
    if (g_printed > 30) return;
    printf("    note: step %lu of %lu, %d unexpected, %d bare LF, %d long lines, %d stalls\n",
           (unsigned long)f->step, (unsigned long)f->nsteps, f->unexpected, f->bare_lf,
           f->long_lines, f->stalls);
    fake_note_lines("unexpected:", f->bad.data);
    note("commands", f->cmds.data);
}

/* The script was followed to its end and nothing unexpected came. */
FAKE_UNUSED static int fake_followed(const fake *f)
{
    if (f->step == f->nsteps && !f->unexpected) return 1;
    fake_report(f);
    return 0;
}

/* fake_followed, and the dialogue was clean: CRLF lines of at most 1000
   octets, and the client never waited for a reply the server did not owe. */
FAKE_UNUSED static int fake_done(const fake *f)
{
    if (f->step == f->nsteps && !f->unexpected && !f->bare_lf && !f->long_lines && !f->stalls)
        return 1;
    fake_report(f);
    return 0;
}

#endif
