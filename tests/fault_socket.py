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

Prints "ok   NAME", "FAIL NAME: reason" or "skip NAME: why" (not counted)
per case; the last line is "N passed, M failed"; exit status 0 only if
none failed. Standard library only; about 12 seconds (the deadline cases
wait 3 + 3 + 2 s).
"""
import base64, os, re, shlex, shutil, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from faultd import FaultServer, INJECTED  # noqa: E402

USER, PASSWORD = 'bot@example.com', 's3cret-authcode'
# make valgrind runs every C program under a wrapper named here; it is
# slow, so time limits grow with it and memory figures are valgrind's.
WRAP = shlex.split(os.environ.get('SMTPMAIL_TEST_WRAP', ''))
TIMEOUT = 300 if WRAP else 30  # seconds, for every subprocess
SLACK = 10.0 if WRAP else 0.0  # seconds added to timing checks
START_SLACK = 0.3              # process start and polling, on top of +10%
RSS_LIMIT_KB = 16 * 1024       # peak RSS of the client facing a 1 MiB line
RSS_GROWTH_KB = 512            # ... and its growth over a normal send
TIME = '/usr/bin/time'         # GNU time, for the peak RSS


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
        return run(argv + list(args), rss=rss)


class Result:
    pass


def run(argv, rss=False):
    """Runs a program with no SMTPMAIL_* variables; returns its exit
    status, output, wall time from spawn to exit and, with `rss`, its peak
    RSS in KB (None without)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('SMTPMAIL_')}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile('r') as rss_file:
        # A child of this Python starts with Python's RSS as its ru_maxrss
        # (Linux keeps the high-water mark across exec); /usr/bin/time is a
        # small parent, so its figure is the program's own.
        pre = [TIME, '-f', '%M', '-o', rss_file.name] if rss else []
        start = time.monotonic()
        p = subprocess.Popen(pre + WRAP + list(argv), stdin=subprocess.DEVNULL, stdout=out,
                             stderr=err, env=env)
        while True:   # every 5 ms: p.wait(timeout) may sleep 50 ms between looks
            pid, status = os.waitpid(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > TIMEOUT:
                os.kill(p.pid, signal.SIGKILL)
                pid, status = os.waitpid(p.pid, 0)
                break
            time.sleep(0.005)
        r = Result()
        r.took = time.monotonic() - start
        r.returncode = p.returncode = os.waitstatus_to_exitcode(status)
        r.maxrss_kb = None
        if rss:   # "Command exited with non-zero status 3" may come first
            last = (rss_file.read().split() or [''])[-1]
            r.maxrss_kb = int(last) if last.isdigit() else None
        out.seek(0)
        err.seek(0)
        r.out = out.read().decode('utf-8', 'replace')
        r.err = err.read().decode('utf-8', 'replace')
    return r


def brief(r):
    return 'exit %d after %.2f s, stderr %r' % (r.returncode, r.took, r.err.strip()[-500:])


# ---- checks ---------------------------------------------------------------

def verbs(rec, phase=None):
    """The command verbs the server read ("EHLO", "AUTH", ...)."""
    return [line.split(' ', 1)[0].upper() for ph, line in rec['commands']
            if phase is None or ph == phase]


def secret_forms(password):
    """The password and what AUTH LOGIN / AUTH PLAIN would send for it."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return [password, b64(password), b64('\0%s\0%s' % (USER, password)),
            b64('%s\0%s\0%s' % (USER, USER, password))]


def one_session(srv, fail):
    """The server's record of the one connection the client made."""
    recs = srv.sessions(count=1, wait=5)
    if len(recs) != 1:
        fail('the server saw %d connections, expected 1' % len(recs))
    return recs[0] if recs else None


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
    clear = rec['clear'].decode('latin-1')
    for form in secret_forms(PASSWORD):
        if form in clear:
            fail('the password went over the wire in clear (%s...)' % form[:6])


def within(fail, r, timeout):
    """Gave up after at least 90% of `timeout`, at most 110% + slack."""
    limit = timeout * 1.1 + START_SLACK + SLACK
    if r.took > limit:
        fail('took %.2f s, limit %.2f s (--timeout %g + 10%% + %.1f s start)'
             % (r.took, limit, timeout, START_SLACK + SLACK))
    if r.took < timeout * 0.9:
        fail('gave up after %.2f s, before --timeout %g' % (r.took, timeout))


# ---- cases ----------------------------------------------------------------

CASES = []


def case(name):
    def register(fn):
        CASES.append((name, fn))
        return fn
    return register


def plain(srv):
    return 'smtp+plain://127.0.0.1:%d' % srv.port


def starttls(srv):
    return 'smtp://localhost:%d' % srv.port


@case('00 baseline: a well-behaved faultd delivers (exit 0, QUIT sent)')
def _(env, fail):
    with env.server('normal') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 0, None)
    if rec and (not rec['data_complete'] or verbs(rec)[-1:] != ['QUIT']):
        fail('server saw %r' % rec['commands'])


@case('01a reset in the middle of DATA (message sent in one write): exit 3, end of data')
def _(env, fail):
    with env.server('reset_in_data') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: end of data: connection to 127\.0\.0\.1 lost$')
    if rec and ('DATA' not in verbs(rec) or rec['data_octets'] == 0
                or 'reset sent' not in rec['events']):
        fail('the reset did not come after message bytes: %r' % rec)


@case('01b reset in the middle of DATA (300 KB, streamed): exit 3, end of data')
def _(env, fail):
    path = os.path.join(env.tmp, 'big.txt')
    with open(path, 'w') as f:
        f.write(('0123456789 ' * 7 + '\n') * 4000)   # 312 000 bytes > SEND_BUFFER
    with env.server('reset_in_data') as srv:
        r = env.send(plain(srv), '--text-file', path, text=None)
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: end of data: connection to 127\.0\.0\.1 lost$')
    if rec and (rec['data_octets'] == 0 or rec['data_complete']):
        fail('not cut in the middle: %d octets, complete %r'
             % (rec['data_octets'], rec['data_complete']))


@case('02a one byte a second from the greeting on, --timeout 3: exit 3 within 3.3 s (+0.3 s)')
def _(env, fail):
    with env.server('drip') as srv:
        r = env.send(plain(srv), timeout='3')
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: greeting: timed out waiting for 127\.0\.0\.1$')
    within(fail, r, 3)
    if rec and rec['commands']:
        fail('the client sent %r during a greeting' % rec['commands'])


@case('02b greeting at once, then one byte a second, --timeout 3: exit 3 within 3.3 s (+0.3 s)')
def _(env, fail):
    with env.server('drip_after_greeting') as srv:
        r = env.send(plain(srv), timeout='3')
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: EHLO: timed out waiting for 127\.0\.0\.1$')
    within(fail, r, 3)
    if rec and verbs(rec) != ['EHLO']:
        fail('the server saw %r, expected EHLO alone' % rec['commands'])


@case('03 never a greeting, --timeout 2: exit 3 within 2.2 s (+0.3 s), nothing sent')
def _(env, fail):
    with env.server('silent') as srv:
        r = env.send(plain(srv), timeout='2')
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: greeting: timed out waiting for 127\.0\.0\.1$')
    within(fail, r, 2)
    if rec and rec['clear']:
        fail('the client sent %r' % rec['clear'][:200])


@case('04a a 1 MiB greeting line: exit 3 "longer than", gives up before its end')
def _(env, fail):
    with env.server('long_line') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: greeting: reply line longer than \d+ bytes')
    if rec and 'client hung up before the end of the line' not in rec['events']:
        fail('the client waited for the end of the 1 MiB line: %r' % rec['events'])
    if rec and rec['clear']:
        fail('the client answered the garbage: %r' % rec['clear'][:200])


@case('04b a 1 MiB greeting line: peak RSS < 16 MB and < 512 KB over a normal send')
def _(env, fail):
    if WRAP:
        return 'under %s the peak RSS is the wrapper\'s' % WRAP[0]
    if not os.access(TIME, os.X_OK):
        return ('%s not installed (apt-get install time); ru_maxrss from os.wait4 '
                'would include this Python\'s own RSS, inherited across exec' % TIME)
    with env.server('normal') as srv:
        base = env.send(plain(srv), rss=True)
    with env.server('long_line') as srv:
        r = env.send(plain(srv), rss=True)
    if base.returncode != 0 or base.maxrss_kb is None:
        fail('normal send: %s, RSS %r' % (brief(base), base.maxrss_kb))
    elif r.returncode != 3 or r.maxrss_kb is None:
        fail('1 MiB line: %s, RSS %r' % (brief(r), r.maxrss_kb))
    else:
        if r.maxrss_kb >= RSS_LIMIT_KB:
            fail('peak RSS %d KB, limit %d KB' % (r.maxrss_kb, RSS_LIMIT_KB))
        if r.maxrss_kb - base.maxrss_kb > RSS_GROWTH_KB:
            fail('peak RSS %d KB, %d KB over a normal send (%d KB; limit %d KB more)'
                 % (r.maxrss_kb, r.maxrss_kb - base.maxrss_kb, base.maxrss_kb, RSS_GROWTH_KB))


@case('05 HTTP instead of SMTP: exit 3 "not an SMTP reply", nothing sent')
def _(env, fail):
    with env.server('http') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: greeting: not an SMTP reply: "HTTP/1\.1 400 Bad Request"$')
    if rec and rec['clear']:
        fail('the client sent %r' % rec['clear'][:200])


@case('06 220 to STARTTLS, then plaintext: exit 3 at TLS, no AUTH/MAIL in clear')
def _(env, fail):
    with env.server('starttls_plain') as srv:
        r = env.send(starttls(srv), '--ca-file', env.ca, '--password', PASSWORD)
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: TLS: ')
    if not rec:
        return
    if verbs(rec) != ['EHLO', 'STARTTLS']:
        fail('commands %r, expected EHLO, STARTTLS' % rec['commands'])
    after = rec['after_starttls']
    if after[:2] != b'\x16\x03':   # a TLS handshake record: the client tried TLS
        fail('after the 220 the client sent %r, not a ClientHello' % after[:40])
    for word in (b'AUTH', b'MAIL', b'RCPT', b'DATA'):
        if word in after.upper():
            fail('%s in clear after STARTTLS' % word.decode())
    no_auth_no_mail(fail, rec)
    no_secret_in_clear(fail, rec)


@case('07 STARTTLS not offered (STARTTLS required): exit 3, names STARTTLS, no AUTH/MAIL')
def _(env, fail):
    with env.server('no_starttls') as srv:
        r = env.send(starttls(srv), '--ca-file', env.ca, '--password', PASSWORD)
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: STARTTLS: .*STARTTLS')
    if rec:
        if not set(verbs(rec)) <= {'EHLO', 'QUIT'}:
            fail('commands %r, expected EHLO (and QUIT)' % rec['commands'])
        no_auth_no_mail(fail, rec)
        no_secret_in_clear(fail, rec)


@case('08 lines injected after the 220 to STARTTLS are discarded; EHLO again; delivered')
def _(env, fail):
    with env.server('inject') as srv:
        r = env.send(starttls(srv), '--ca-file', env.ca, '--password', PASSWORD, '-v')
        rec = one_session(srv, fail)
    if r.returncode != 0:
        fail(brief(r))
    if rec and not rec['delivered']:
        fail('the server did not get the message: %r' % rec['events'])
    # RFC 3207 4.2: the bytes after "220 go ahead\r\n" are dropped, all of them.
    injected = len(INJECTED) - len(b'220 go ahead\r\n')
    if '*: discarding %d bytes received before TLS' % injected not in r.err:
        fail('no "discarding %d bytes" in the -v output: %r' % (injected, r.err[-800:]))
    if 'fake' in r.err:
        fail('an injected line was read as a reply: %r' % r.err[-800:])
    if not rec:
        return
    if verbs(rec, 'clear') != ['EHLO', 'STARTTLS']:
        fail('in clear: %r, expected EHLO, STARTTLS' % verbs(rec, 'clear'))
    tls = verbs(rec, 'tls')
    if verbs(rec).count('EHLO') != 2 or tls[:1] != ['EHLO']:
        fail('EHLO not sent again first thing after TLS: %r' % rec['commands'])
    # The injection offered AUTH PLAIN; the server offers LOGIN after TLS.
    auth = [line for ph, line in rec['commands'] if line.upper().startswith('AUTH')]
    if auth != ['AUTH LOGIN']:
        fail('AUTH commands %r, expected ["AUTH LOGIN"] (what TLS EHLO offered)' % auth)
    if not {'MAIL', 'RCPT', 'DATA'} <= set(tls):
        fail('no MAIL/RCPT/DATA over TLS: %r' % tls)
    no_secret_in_clear(fail, rec)


@case('09a QUIT answered with junk after 250 to the message: exit 0')
def _(env, fail):
    with env.server('quit_junk') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 0, None)
    if rec and verbs(rec)[-1:] != ['QUIT']:
        fail('no QUIT: %r' % rec['commands'])


@case('09b connection closed on QUIT after 250 (PIPELINING): exit 0')
def _(env, fail):
    with env.server('quit_close') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 0, None)
    if rec and verbs(rec)[-1:] != ['QUIT']:
        fail('no QUIT: %r' % rec['commands'])


@case('10a greeting 421: exit 5 (temporary), no EHLO')
def _(env, fail):
    with env.server('greet_421') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 5, r'^smtpmail-send: greeting: 421 4\.3\.2 faultd busy')
    if rec and not set(verbs(rec)) <= {'QUIT'}:
        fail('after a 421 the client sent %r' % rec['commands'])


@case('10b greeting 554: exit 4 (permanent), no EHLO')
def _(env, fail):
    with env.server('greet_554') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 4, r'^smtpmail-send: greeting: 554 5\.7\.1 faultd does not want you')
    if rec and not set(verbs(rec)) <= {'QUIT'}:
        fail('after a 554 the client sent %r' % rec['commands'])


@case('11 connection closed right after the greeting: exit 3 at EHLO')
def _(env, fail):
    with env.server('close_after_greeting') as srv:
        r = env.send(plain(srv))
        rec = one_session(srv, fail)
    check(fail, r, rec, 3, r'^smtpmail-send: EHLO: connection to 127\.0\.0\.1 lost$')


# ---- main -----------------------------------------------------------------

def main():
    if len(sys.argv) != 2:
        sys.exit('usage: fault_socket.py BUILD-DIR')
    build = os.path.abspath(sys.argv[1])
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix='fault_socket.')
    try:
        certs = os.path.join(tmp, 'certs')
        mk = subprocess.run(['sh', os.path.join(HERE, 'mkcerts.sh'), certs],
                            capture_output=True, timeout=TIMEOUT)
        if mk.returncode != 0:
            print('FAIL setup: mkcerts.sh: %s' % mk.stderr.decode(errors='replace').strip())
            print('0 passed, 1 failed')
            return 1
        if not os.access(os.path.join(build, 'smtpmail-send'), os.X_OK):
            print('FAIL setup: %s/smtpmail-send is not built' % build)
            print('0 passed, 1 failed')
            return 1
        env = Env(build, tmp, certs)
        for name, fn in CASES:
            problems = []
            skipped = None
            try:
                skipped = fn(env, problems.append)
            except Exception as e:   # a crash in a case fails that case only
                problems.append('exception %s: %s' % (type(e).__name__, e))
            problems = list(dict.fromkeys(problems))
            if skipped and not problems:   # says so and why; not counted
                print('skip %s: %s' % (name, skipped))
            elif problems:
                failed += 1
                print('FAIL %s: %s' % (name, ' | '.join(p[:600] for p in problems[:6])))
            else:
                passed += 1
                print('ok   %s' % name)
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
