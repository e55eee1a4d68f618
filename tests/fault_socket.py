#!/usr/bin/python3
"""Faults at the socket, on loopback: smtpmail-send against tests/faultd.py.

Usage: /usr/bin/python3 tests/fault_socket.py BUILD-DIR

Each case starts a tests/faultd.py listener (in this process, on
127.0.0.1, port 0) in one misbehaving mode, runs BUILD-DIR/smtpmail-send
against it and stops the listener again, whatever happened. It checks three
things: the exit status (0 sent, 3 network/TLS/timeout/protocol, 4 refused,
5 temporary), the one-line message on stderr (its stage and reason), and
what the server saw (no AUTH or MAIL where none may go, EHLO again after
TLS, what was delivered). In every case the client's claim must match the
server: exit 0 if and only if the server answered 250 to the message.

Times are measured from spawn to exit of the client, so they include
process start (a few ms); a deadline case passes if the client gave up
after at least 90% of --timeout and within --timeout + 10% + 0.3 s of slack
for that start and for this script's polling. Peak memory is measured by
/usr/bin/time -f %M (GNU time): a child of this Python would report
Python's own RSS as its ru_maxrss; without GNU time, or under
SMTPMAIL_TEST_WRAP (valgrind), that one case is skipped and says why.

The runner, the subprocess wrapper and the CA come from tests/harness.py:
"ok   NAME", "FAIL NAME: reason" or "skip NAME: why" (not counted) per
case; the last line is "N passed, M failed"; exit status 0 only if none
failed. Standard library only; about 12 seconds (the deadline cases wait
3 + 3 + 2 s).
"""
import functools, os, re

import harness
from faultd import FaultServer, INJECTED
from harness import PASSWORD, SLACK, TIME, USER, WRAP, brief, leaked_secrets

START_SLACK = 0.3              # process start and polling, on top of +10%
RSS_LIMIT_KB = 16 * 1024       # peak RSS of the client facing a 1 MiB line
RSS_GROWTH_KB = 512            # ... and its growth over a normal send
TLS_HANDSHAKE = b'\x16\x03'    # how a TLS handshake record (ClientHello) starts
STARTTLS_GO_AHEAD = b'220 go ahead\r\n'   # faultd's reply, first in INJECTED

suite = harness.Suite('fault_socket.py BUILD-DIR')


def plain(srv):
    return 'smtp+plain://127.0.0.1:%d' % srv.port


def starttls(srv):
    return 'smtp://localhost:%d' % srv.port


class Env:
    def __init__(self, build, tmp, certs):
        self.cli = os.path.join(build, 'smtpmail-send')
        self.tmp, self.certs = tmp, certs
        self.ca = os.path.join(certs, 'ca.pem')

    def server(self, mode):
        return FaultServer(mode, certs=self.certs)

    def send(self, url, *args, timeout='10', text='signal: BUY rb2405 @ 3650\n', rss=False):
        """smtpmail-send with a small message, `args` after it; with `rss`,
        under /usr/bin/time for its peak RSS."""
        argv = [self.cli, '--url', url, '--timeout', timeout, '--from', USER,
                '--to', 'trader@example.com', '--subject', 'fault test']
        if text is not None:
            argv += ['--text', text]
        return harness.run(argv + list(args), rss=rss)

    def send_to(self, mode, fail, *args, url=plain, **send):
        """A faultd listener in `mode`, one send() against it (`url` makes
        its URL), the listener stopped; returns the run and the server's
        record of the one connection (None, and a failure, if it saw
        another number of connections)."""
        with self.server(mode) as srv:
            r = self.send(url(srv), *args, **send)
            rec = one_session(srv, fail)
        return r, rec


# ---- checks ---------------------------------------------------------------

def verbs(rec, phase=None):
    """The command verbs the server read ("EHLO", "AUTH", ...)."""
    return [line.split(' ', 1)[0].upper() for ph, line in rec['commands']
            if phase is None or ph == phase]


def last_verb(rec):
    """The last command verb the server read, or None."""
    return (verbs(rec) or [None])[-1]


def first_verb(rec, phase):
    """The first command verb the server read in `phase`, or None."""
    return (verbs(rec, phase) or [None])[0]


def one_session(srv, fail):
    """The server's record of the one connection the client made (if it
    saw more, a failure, and the first of them is checked on)."""
    recs = srv.sessions(count=1, wait=5)
    if len(recs) != 1:
        fail('the server saw %d connections, expected 1' % len(recs))
    return next(iter(recs), None)


def check(fail, r, rec, code, stderr_re):
    """Exit status `code`; stderr one line matching `stderr_re` (None: empty);
    and the claim matches the server: exit 0 iff it answered 250 to the
    message."""
    if r.returncode != code:
        fail('exit %d, expected %d; %s' % (r.returncode, code, brief(r)))
    lines = r.err.splitlines()
    if stderr_re is None:
        if lines:
            fail('stderr not empty: %r' % r.err[-500:])
    elif len(lines) != 1 or not re.search(stderr_re, lines[0]):
        fail('stderr %r does not match %r (one line)' % (r.err.strip()[-500:], stderr_re))
    if rec is not None and rec['delivered'] != (r.returncode == 0):
        fail('exit %d, yet the server %s the message' % (
            r.returncode, 'accepted' if rec['delivered'] else 'did not accept'))


def no_auth_no_mail(fail, rec):
    got = [v for v in verbs(rec) if v in ('AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT')]
    if got:
        fail('the client sent %s: %r' % ('/'.join(got), rec['commands']))


def no_secret_in_clear(fail, rec):
    for form in leaked_secrets(rec['clear'].decode('latin-1'), PASSWORD):
        fail('the password went over the wire in clear (%s...)' % form[:6])


def within(fail, r, timeout):
    """Gave up after at least 90% of `timeout`, at most 110% + slack."""
    limit = timeout * 1.1 + START_SLACK + SLACK
    if r.took > limit:
        fail('took %.2f s, limit %.2f s (--timeout %g + 10%% + %.1f s start)'
             % (r.took, limit, timeout, START_SLACK + SLACK))
    if r.took < timeout * 0.9:
        fail('gave up after %.2f s, before --timeout %g' % (r.took, timeout))


def gives_up_in_time(env, fail, mode, timeout, stage):
    """--timeout `timeout` against a listener in `mode`: exit 3, "STAGE:
    timed out" on stderr, within the deadline (see within()). Returns the
    server's record of the connection."""
    r, rec = env.send_to(mode, fail, timeout=str(timeout))
    check(fail, r, rec, 3, r'^smtpmail-send: %s: timed out waiting for 127\.0\.0\.1$' % stage)
    within(fail, r, timeout)
    return rec


# ---- cases ----------------------------------------------------------------

@suite.case('00 baseline: a well-behaved faultd delivers (exit 0, QUIT sent)')
def _(env, fail):
    r, rec = env.send_to('normal', fail)
    check(fail, r, rec, 0, None)
    if rec and (not rec['data_complete'] or last_verb(rec) != 'QUIT'):
        fail('server saw %r' % rec['commands'])


@suite.case('01a reset in the middle of DATA (message sent in one write): exit 3, end of data')
def _(env, fail):
    r, rec = env.send_to('reset_in_data', fail)
    check(fail, r, rec, 3, r'^smtpmail-send: end of data: connection to 127\.0\.0\.1 lost$')
    if rec and ('DATA' not in verbs(rec) or rec['data_octets'] == 0
                or 'reset sent' not in rec['events']):
        fail('the reset did not come after message bytes: %r' % rec)


@suite.case('01b reset in the middle of DATA (300 KB, streamed): exit 3, end of data')
def _(env, fail):
    path = os.path.join(env.tmp, 'big.txt')
    with open(path, 'w') as f:
        f.write(('0123456789 ' * 7 + '\n') * 4000)   # 312 000 bytes > SEND_BUFFER
    r, rec = env.send_to('reset_in_data', fail, '--text-file', path, text=None)
    check(fail, r, rec, 3, r'^smtpmail-send: end of data: connection to 127\.0\.0\.1 lost$')
    if rec and (rec['data_octets'] == 0 or rec['data_complete']):
        fail('not cut in the middle: %d octets, complete %r'
             % (rec['data_octets'], rec['data_complete']))


@suite.case('02a one byte a second from the greeting on, --timeout 3: exit 3 within 3.3 s (+0.3 s)')
def _(env, fail):
    rec = gives_up_in_time(env, fail, 'drip', 3, 'greeting')
    if rec and rec['commands']:
        fail('the client sent %r during a greeting' % rec['commands'])


@suite.case('02b greeting at once, then one byte a second, --timeout 3: exit 3 within 3.3 s (+0.3 s)')
def _(env, fail):
    rec = gives_up_in_time(env, fail, 'drip_after_greeting', 3, 'EHLO')
    if rec and verbs(rec) != ['EHLO']:
        fail('the server saw %r, expected EHLO alone' % rec['commands'])


@suite.case('03 never a greeting, --timeout 2: exit 3 within 2.2 s (+0.3 s), nothing sent')
def _(env, fail):
    rec = gives_up_in_time(env, fail, 'silent', 2, 'greeting')
    if rec and rec['clear']:
        fail('the client sent %r' % rec['clear'][:200])


@suite.case('04a a 1 MiB greeting line: exit 3 "longer than", gives up before its end')
def _(env, fail):
    r, rec = env.send_to('long_line', fail)
    check(fail, r, rec, 3, r'^smtpmail-send: greeting: reply line longer than \d+ bytes')
    if rec and 'client hung up before the end of the line' not in rec['events']:
        fail('the client waited for the end of the 1 MiB line: %r' % rec['events'])
    if rec and rec['clear']:
        fail('the client answered the garbage: %r' % rec['clear'][:200])


def asan_build(program):
    """Was `program` built with AddressSanitizer (make sanitize)?"""
    with open(program, 'rb') as f:
        return b'__asan_init' in f.read()


@suite.case('04b a 1 MiB greeting line: peak RSS < 16 MB and < 512 KB over a normal send')
def _(env, fail):
    if WRAP:
        return 'under %s the peak RSS is the wrapper\'s' % WRAP[0]
    if not os.access(TIME, os.X_OK):
        return ('%s not installed (apt-get install time); ru_maxrss from os.wait4 '
                'would include this Python\'s own RSS, inherited across exec' % TIME)
    base, _ = env.send_to('normal', fail, rss=True)
    r, _ = env.send_to('long_line', fail, rss=True)
    if base.returncode != 0 or base.maxrss_kb is None:
        fail('normal send: %s, RSS %r' % (brief(base), base.maxrss_kb))
    elif r.returncode != 3 or r.maxrss_kb is None:
        fail('1 MiB line: %s, RSS %r' % (brief(r), r.maxrss_kb))
    else:
        # AddressSanitizer's shadow memory and quarantine make the absolute
        # figure its own (about 19 MB for any run); the growth still counts.
        if r.maxrss_kb >= RSS_LIMIT_KB and not asan_build(env.cli):
            fail('peak RSS %d KB, limit %d KB' % (r.maxrss_kb, RSS_LIMIT_KB))
        if r.maxrss_kb - base.maxrss_kb > RSS_GROWTH_KB:
            fail('peak RSS %d KB, %d KB over a normal send (%d KB; limit %d KB more)'
                 % (r.maxrss_kb, r.maxrss_kb - base.maxrss_kb, base.maxrss_kb, RSS_GROWTH_KB))


@suite.case('05 HTTP instead of SMTP: exit 3 "not an SMTP reply", nothing sent')
def _(env, fail):
    r, rec = env.send_to('http', fail)
    check(fail, r, rec, 3, r'^smtpmail-send: greeting: not an SMTP reply: "HTTP/1\.1 400 Bad Request"$')
    if rec and rec['clear']:
        fail('the client sent %r' % rec['clear'][:200])


@suite.case('06 220 to STARTTLS, then plaintext: exit 3 at TLS, no AUTH/MAIL in clear')
def _(env, fail):
    r, rec = env.send_to('starttls_plain', fail, '--ca-file', env.ca, '--password', PASSWORD,
                         url=starttls)
    check(fail, r, rec, 3, r'^smtpmail-send: TLS: ')
    if not rec:
        return
    if verbs(rec) != ['EHLO', 'STARTTLS']:
        fail('commands %r, expected EHLO, STARTTLS' % rec['commands'])
    after = rec['after_starttls']
    if not after.startswith(TLS_HANDSHAKE):   # the client tried TLS
        fail('after the 220 the client sent %r, not a ClientHello' % after[:40])
    for word in (b'AUTH', b'MAIL', b'RCPT', b'DATA'):
        if word in after.upper():
            fail('%s in clear after STARTTLS' % word.decode())
    no_auth_no_mail(fail, rec)
    no_secret_in_clear(fail, rec)


@suite.case('07 STARTTLS not offered (STARTTLS required): exit 3, names STARTTLS, no AUTH/MAIL')
def _(env, fail):
    r, rec = env.send_to('no_starttls', fail, '--ca-file', env.ca, '--password', PASSWORD,
                         url=starttls)
    check(fail, r, rec, 3, r'^smtpmail-send: STARTTLS: .*STARTTLS')
    if rec:
        if not set(verbs(rec)) <= {'EHLO', 'QUIT'}:
            fail('commands %r, expected EHLO (and QUIT)' % rec['commands'])
        no_auth_no_mail(fail, rec)
        no_secret_in_clear(fail, rec)


@suite.case('08 lines injected after the 220 to STARTTLS are discarded; EHLO again; delivered')
def _(env, fail):
    r, rec = env.send_to('inject', fail, '--ca-file', env.ca, '--password', PASSWORD, '-v',
                         url=starttls)
    if r.returncode != 0:
        fail(brief(r))
    if rec and not rec['delivered']:
        fail('the server did not get the message: %r' % rec['events'])
    # RFC 3207 4.2: the bytes after "220 go ahead\r\n" are dropped, all of them.
    if not INJECTED.startswith(STARTTLS_GO_AHEAD):
        fail('faultd.INJECTED does not start with %r: %r' % (STARTTLS_GO_AHEAD, INJECTED))
    injected = len(INJECTED) - len(STARTTLS_GO_AHEAD)
    if '*: discarding %d bytes received before TLS' % injected not in r.err:
        fail('no "discarding %d bytes" in the -v output: %r' % (injected, r.err[-800:]))
    if 'fake' in r.err:
        fail('an injected line was read as a reply: %r' % r.err[-800:])
    if not rec:
        return
    if verbs(rec, 'clear') != ['EHLO', 'STARTTLS']:
        fail('in clear: %r, expected EHLO, STARTTLS' % verbs(rec, 'clear'))
    if verbs(rec).count('EHLO') != 2 or first_verb(rec, 'tls') != 'EHLO':
        fail('EHLO not sent again first thing after TLS: %r' % rec['commands'])
    # The injection offered AUTH PLAIN; the server offers LOGIN after TLS.
    auth = [line for ph, line in rec['commands'] if line.upper().startswith('AUTH')]
    if auth != ['AUTH LOGIN']:
        fail('AUTH commands %r, expected ["AUTH LOGIN"] (what TLS EHLO offered)' % auth)
    if not {'MAIL', 'RCPT', 'DATA'} <= set(verbs(rec, 'tls')):
        fail('no MAIL/RCPT/DATA over TLS: %r' % verbs(rec, 'tls'))
    no_secret_in_clear(fail, rec)


def quit_after_250(mode, env, fail):
    """The message got its 250; whatever QUIT meets, the send succeeded."""
    r, rec = env.send_to(mode, fail)
    check(fail, r, rec, 0, None)
    if rec and last_verb(rec) != 'QUIT':
        fail('no QUIT: %r' % rec['commands'])


for _name, _mode in (
        ('09a QUIT answered with junk after 250 to the message: exit 0', 'quit_junk'),
        ('09b connection closed on QUIT after 250 (PIPELINING): exit 0', 'quit_close')):
    suite.add(_name, functools.partial(quit_after_250, _mode))


def greeting_refused(mode, reply, code, stderr_re, env, fail):
    """A greeting `reply` that refuses: exit `code`, and nothing sent but QUIT."""
    r, rec = env.send_to(mode, fail)
    check(fail, r, rec, code, stderr_re)
    if rec and not set(verbs(rec)) <= {'QUIT'}:
        fail('after a %s the client sent %r' % (reply, rec['commands']))


for _name, _mode, _reply, _code, _stderr_re in (
        ('10a greeting 421: exit 5 (temporary), no EHLO', 'greet_421', '421', 5,
         r'^smtpmail-send: greeting: 421 4\.3\.2 faultd busy'),
        ('10b greeting 554: exit 4 (permanent), no EHLO', 'greet_554', '554', 4,
         r'^smtpmail-send: greeting: 554 5\.7\.1 faultd does not want you')):
    suite.add(_name, functools.partial(greeting_refused, _mode, _reply, _code, _stderr_re))


@suite.case('11 connection closed right after the greeting: exit 3 at EHLO')
def _(env, fail):
    r, rec = env.send_to('close_after_greeting', fail)
    check(fail, r, rec, 3, r'^smtpmail-send: EHLO: connection to 127\.0\.0\.1 lost$')


# ---- main -----------------------------------------------------------------

def setup(build, tmp, stack):
    """The CA for "inject", then the client; each case starts its own
    listener."""
    certs = harness.mint_certs(os.path.join(tmp, 'certs'))
    build = os.path.abspath(build)
    if not os.access(os.path.join(build, 'smtpmail-send'), os.X_OK):
        raise harness.SetupError('%s/smtpmail-send is not built' % build)
    env = Env(build, tmp, certs)
    return lambda case, fail: case.fn(env, fail)


if __name__ == '__main__':
    raise SystemExit(suite.main(setup))
