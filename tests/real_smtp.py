#!/usr/bin/python3
"""smtpmail-send and the C API against real SMTP servers (aiosmtpd).

Usage: /usr/bin/python3 tests/real_smtp.py BUILD-DIR

Mints a throwaway CA (tests/mkcerts.sh), starts tests/smtpd.py and runs the
numbered CASES against it: delivery over implicit TLS, STARTTLS and
plaintext with BUILD-DIR/smtpmail-send, BUILD-DIR/real_send (the C API)
and BUILD-DIR/quick_start (the header's QUICK START); refused
certificates, pins, a wrong password and a STARTTLS downgrade, each of
which must deliver nothing; big, dotted and long-lined bodies; a server
that never answers. What arrived is judged by Python's email package and
by the server's own records (<n>.json sidecars, sessions.jsonl), never by
the sender's output. Prints "ok   NAME", "FAIL NAME: reason" or "skip
NAME: why" (not counted: quick_start not built) per case; the last line
is "N passed, M failed". Standard library only; under a minute.
"""
import base64, email, email.policy, json, os, random, re, select, shutil
import shlex, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
USER, PASSWORD = 'bot@example.com', 's3cret-authcode'
# make valgrind runs every C program under a wrapper named here; it is
# slow, so time limits grow with it.
WRAP = shlex.split(os.environ.get('SMTPMAIL_TEST_WRAP', ''))
TIMEOUT = 300 if WRAP else 30  # seconds, for every subprocess
SLACK = 10.0 if WRAP else 0.0   # seconds added to timing checks

# The message of the CLI cases.
FROM = ('交易提醒机器人', USER)
TO = [('交易员', 'trader@example.com'), ('Ops Desk', 'ops@example.com')]
CC = [('', 'risk@example.com')]
BCC = 'boss@example.com'
SUBJECT = '交易信号：买入 rb2405 @ 3650（突破）'
TEXT = '信号：买入 rb2405 @ 3650\n策略：突破-15分钟\n'
HTML = '<p>信号：<b>买入</b> rb2405 @ 3650</p>\n'
CSV_NAME = '成交回报 2024.csv'
CSV = 'date,symbol,side,price\r\n2024-01-02,rb2405,买入,3650\n'.encode()

# The message of tests/real_send.c (keep in step with it).
C_SUBJECT = '交易信号：买入 rb2405 @ 3650'
C_FROM = ('交易提醒机器人', USER)
C_TO = [('交易员', 'trader@example.com')]
C_CC = [('Risk Desk', 'risk@example.com')]
C_BCC = 'boss@example.com'
C_TEXT = '信号：买入 rb2405 @ 3650\n策略：突破-15分钟\n'
C_HTML = '<p>信号：<b>买入</b> rb2405 @ 3650</p>\n'
C_CSV_NAME = '成交回报.csv'
C_CSV = 'date,symbol,side,price\r\n2024-01-02,rb2405,买入,3650\n'.encode()


def secret_forms(password):
    """The password and what AUTH LOGIN / AUTH PLAIN would send for it."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return [password, b64(password), b64('\0%s\0%s' % (USER, password)),
            b64('%s\0%s\0%s' % (USER, USER, password))]


def fmt(name, addr):
    return '%s <%s>' % (name, addr) if name else addr


class Env:
    """The servers, their mail directory, and what each case added to it."""

    def __init__(self, build, tmp, certs, maildir, ports):
        self.cli = os.path.join(build, 'smtpmail-send')
        self.real_send = os.path.join(build, 'real_send')
        self.tmp, self.certs, self.maildir, self.ports = tmp, certs, maildir, ports
        self.ca = os.path.join(certs, 'ca.pem')
        self.csv_path = os.path.join(tmp, CSV_NAME)
        with open(self.csv_path, 'wb') as f:
            f.write(CSV)
        self.mark()

    def path(self, server, name=''):
        return os.path.join(self.maildir, server, name)

    def emls(self, server):
        return {int(f[:-4]) for f in os.listdir(self.path(server))
                if f.endswith('.eml') and f[:-4].isdigit()}

    def session_lines(self, server):
        try:
            with open(self.path(server, 'sessions.jsonl')) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def mark(self):
        """Remember what is there, before a case."""
        self.seen = {s: (self.emls(s), len(self.session_lines(s))) for s in self.ports}

    def new(self, server):
        """[(n, .eml bytes, sidecar dict)] that arrived since mark()."""
        out = []
        for n in sorted(self.emls(server) - self.seen[server][0]):
            with open(self.path(server, '%d.eml' % n), 'rb') as f:
                data = f.read()
            with open(self.path(server, '%d.json' % n)) as f:
                out.append((n, data, json.load(f)))
        return out

    def new_anywhere(self):
        return {s: [n for n, _, _ in self.new(s)] for s in self.ports if self.new(s)}

    def settle(self, quiet=0.3, wait=3.0):
        """Waits until no server has logged a connection for `quiet` seconds:
        one from the case before may still be closing, and must not count
        as this case's."""
        end = time.monotonic() + wait
        last, since = None, time.monotonic()
        while time.monotonic() < end:
            now = [len(self.session_lines(s)) for s in self.ports]
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def new_sessions(self, server, conns=None, wait=5.0):
        """Connections closed since mark() (only those numbered `conns`, if
        given). A line is written when the connection closes, so this waits
        up to `wait` seconds for one, or for all of `conns`."""
        end = time.monotonic() + wait
        while True:
            lines = self.session_lines(server)[self.seen[server][1]:]
            if conns is not None:
                lines = [l for l in lines if l['connection'] in conns]
            if (len(lines) >= len(conns) if conns else lines) or time.monotonic() > end:
                return lines
            time.sleep(0.05)

    def url(self, server, scheme='smtps', host='localhost'):
        return '%s://%s:%d' % (scheme, host, self.ports[server])

    def send(self, *args, env=None, message=True):
        """smtpmail-send with the standard message (unless message=False)."""
        argv = [self.cli] + ([] if '--timeout' in args else ['--timeout', '20'])
        if message:
            argv += ['--from', fmt(*FROM), '--to', ', '.join(fmt(*a) for a in TO),
                     '--cc', ', '.join(fmt(*a) for a in CC), '--bcc', BCC,
                     '--subject', SUBJECT, '--text', TEXT, '--html', HTML,
                     '--attach', self.csv_path]
        return run(argv + list(args), env=env)


def run(argv, env=None):
    """Runs a program with no SMTPMAIL_* variables but those in `env`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith('SMTPMAIL_')}
    full_env.update(env or {})
    r = subprocess.run(WRAP + list(argv), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=TIMEOUT, env=full_env)
    r.out = r.stdout.decode('utf-8', 'replace')
    r.err = r.stderr.decode('utf-8', 'replace')
    return r


def brief(r):
    return 'exit %d, stderr %r, stdout %r' % (r.returncode, r.err.strip()[-600:],
                                              r.out.strip()[-600:])


# ---- checks ---------------------------------------------------------------

def addresses(msg, field):
    h = msg[field]
    return [] if h is None else [(a.display_name, a.addr_spec) for a in h.addresses]


def check_message(fail, data, meta, *, subject, frm, to, cc, bcc, text, html,
                  attach, auth_user, tls):
    """One delivered message against what was sent. attach: (name, type,
    bytes) or None."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    if str(msg['subject']) != subject:
        fail('Subject %r, expected %r' % (str(msg['subject']), subject))
    for field, want in (('from', [frm]), ('to', to), ('cc', cc)):
        if addresses(msg, field) != want:
            fail('%s %r, expected %r' % (field, addresses(msg, field), want))
    if msg['bcc'] is not None or bcc.encode() in data:
        fail('the Bcc address appears in the message')
    for p in msg.walk():
        if p.defects:
            fail('parser defects in %s: %r' % (p.get_content_type(), p.defects))
    for kind, want in (('plain', text), ('html', html)):
        part = msg.get_body((kind,))
        got = part.get_content().replace('\r\n', '\n') if part else None
        if got != want:
            fail('text/%s body %r, expected %r' % (kind, got, want))
    atts = list(msg.iter_attachments())
    if attach is None:
        if atts:
            fail('%d unexpected attachments' % len(atts))
    elif len(atts) != 1:
        fail('%d attachments, expected 1' % len(atts))
    else:
        name, ctype, want = attach
        got = atts[0].get_payload(decode=True)
        if atts[0].get_filename() != name:
            fail('attachment filename %r, expected %r' % (atts[0].get_filename(), name))
        if atts[0].get_content_type() != ctype:
            fail('attachment type %s, expected %s' % (atts[0].get_content_type(), ctype))
        if got != want:
            fail('attachment bytes differ (%s bytes, expected %d)'
                 % (None if got is None else len(got), len(want)))
    # The envelope, as the server saw it.
    rcpts = [a for _, a in to + cc] + [bcc]
    if meta['mail_from'] != frm[1]:
        fail('MAIL FROM %r, expected %r' % (meta['mail_from'], frm[1]))
    if sorted(meta['rcpt_tos']) != sorted(rcpts):
        fail('RCPT TO %r, expected %r' % (meta['rcpt_tos'], rcpts))
    if meta['auth_user'] != auth_user:
        fail('auth_user %r, expected %r' % (meta['auth_user'], auth_user))
    if meta['tls'] != tls:
        fail('tls %r, expected %r' % (meta['tls'], tls))
    check_size(fail, meta)


def check_size(fail, meta):
    """RFC 1870: SIZE=, when sent, is the size of the message (the client
    renders it first, so it knows exactly)."""
    sizes = [o for o in meta['mail_options'] if o.upper().startswith('SIZE=')]
    if sizes and sizes != ['SIZE=%d' % meta['size']]:
        fail('MAIL FROM says %r, the message has %d octets' % (sizes, meta['size']))


def expect_one(env, fail, server):
    got = env.new(server)
    others = {s: ns for s, ns in env.new_anywhere().items() if s != server}
    if others:
        fail('messages arrived at other servers: %r' % others)
    if len(got) != 1:
        fail('%d messages at %s, expected 1' % (len(got), server))
        return None
    return got[0]


def check_cli_delivery(env, fail, r, server, auth_user, tls):
    if r.returncode != 0:
        fail(brief(r))
        return
    got = expect_one(env, fail, server)
    if got:
        check_message(fail, got[1], got[2], subject=SUBJECT, frm=FROM, to=TO, cc=CC,
                      bcc=BCC, text=TEXT, html=HTML, attach=(CSV_NAME, 'text/csv', CSV),
                      auth_user=auth_user, tls=tls)
    return got


def session_of(env, got, server):
    """The sessions.jsonl line of the connection that carried `got`."""
    lines = env.new_sessions(server, conns={got[2]['connection']}) if got else []
    return lines[0] if lines else None


def client_lines(session):
    return [t[2] for t in session['transcript'] if t[0] == 'C']


def check_secrets(fail, text, password, where):
    for form in secret_forms(password):
        if form in text:
            fail('%s holds the password or a base64 form of it (%s...)' % (where, form[:6]))


def check_refused(env, fail, r, code, needles):
    """A send that must fail with `code`, say one of `needles` (lower case)
    on stderr, and deliver nothing anywhere."""
    if r.returncode != code:
        fail('exit %d, expected %d; %s' % (r.returncode, code, brief(r)))
    elif needles and not any(n in r.err.lower() for n in needles):
        fail('stderr lacks %r: %r' % (needles, r.err.strip()))
    delivered = env.new_anywhere()
    if delivered:
        fail('delivered anyway: %r' % delivered)


def no_auth_no_mail(fail, sessions, server):
    for s in sessions:
        client = [c.upper() for c in client_lines(s)]
        if any(c.startswith(('AUTH', 'MAIL')) for c in client) or s['auth_user']:
            fail('%s: the client sent AUTH or MAIL: %r' % (server, client))
        if s['plaintext_auth']:
            fail('%s: AUTH in plaintext' % server)


# ---- cases ----------------------------------------------------------------

CASES = []


def case(name, sessions=False):
    """Registers a case. sessions=True: it reads sessions.jsonl for a
    connection that delivered nothing, so it starts once the connections
    of earlier cases are all logged."""
    def register(fn):
        CASES.append((name, fn, sessions))
        return fn
    return register


@case('01 CLI delivers via implicit TLS (smtps://, --ca-file, --password)')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', PASSWORD)
    check_cli_delivery(env, fail, r, 'tls', USER, 'implicit')


@case('02 CLI delivers via STARTTLS (smtp://)')
def _(env, fail):
    r = env.send('--url', env.url('starttls', 'smtp'), '--ca-file', env.ca,
                 '--password', PASSWORD)
    s = session_of(env, check_cli_delivery(env, fail, r, 'starttls', USER, 'starttls'),
                   'starttls')
    if not s or s['plaintext_auth']:
        fail('AUTH was sent before STARTTLS, or no session line: %r' % s)


@case('03 CLI delivers via plaintext (smtp+plain://127.0.0.1, no password)')
def _(env, fail):
    r = env.send('--url', env.url('plain', 'smtp+plain', '127.0.0.1'))
    s = session_of(env, check_cli_delivery(env, fail, r, 'plain', None, None), 'plain')
    if not s or any(c.upper().startswith('AUTH') for c in client_lines(s)):
        fail('AUTH sent without a password, or no session line: %r' % s)


@case('04 CLI delivers via plaintext with $SMTPMAIL_PASSWORD (AUTH in clear, chosen)')
def _(env, fail):
    r = env.send('--url', env.url('plain', 'smtp+plain', '127.0.0.1'), '-v',
                 env={'SMTPMAIL_PASSWORD': PASSWORD})
    s = session_of(env, check_cli_delivery(env, fail, r, 'plain', USER, None), 'plain')
    check_secrets(fail, r.out + r.err, PASSWORD, 'the -v output')
    if not s or not s['plaintext_auth']:
        fail('the server saw no AUTH on the plaintext link: %r' % s)


@case('05 C API: smtpmail_send via implicit TLS (real_send one)')
def _(env, fail):
    c_api(env, fail, 'one', 'tls', 'smtps', 1, 'PLAIN')


@case('06 C API: smtpmail_send via STARTTLS (real_send one)')
def _(env, fail):
    c_api(env, fail, 'one', 'starttls', 'smtp', 1, 'PLAIN')


@case('07 C API: AUTH LOGIN forced (real_send login)')
def _(env, fail):
    c_api(env, fail, 'login', 'tls', 'smtps', 1, 'LOGIN')


@case('08 C API: one session, three messages, one connection (real_send session)')
def _(env, fail):
    got = c_api(env, fail, 'session', 'tls', 'smtps', 3, 'PLAIN')
    subjects = [str(email.message_from_bytes(d, policy=email.policy.default)['subject'])
                for _, d, _ in got]
    if subjects != ['session %d/3' % i for i in (1, 2, 3)]:
        fail('subjects %r' % subjects)
    check_one_connection(env, fail, 'tls', got)


@case('09 C API: wrong password gives SMTPMAIL_ERR_AUTH, 535 (real_send badpass)')
def _(env, fail):
    c_api(env, fail, 'badpass', 'tls', 'smtps', 0, None, password='wrong-Passw0rd')


def c_api(env, fail, mode, server, scheme, count, mech, password=PASSWORD):
    if not os.access(env.real_send, os.X_OK):
        fail('%s is not built' % env.real_send)
        return []
    r = run([env.real_send, mode, env.url(server, scheme), env.ca, password])
    fails = [line for line in r.out.splitlines() if line.startswith('FAIL')]
    if fails or r.returncode != 0:
        fail(' | '.join(fails) or brief(r))
    check_secrets(fail, r.out + r.err, password, 'real_send output')
    got = env.new(server)
    others = {s: ns for s, ns in env.new_anywhere().items() if s != server}
    if len(got) != count or others:
        fail('%d messages at %s (expected %d), others: %r' % (len(got), server, count, others))
    for _, data, meta in got:
        if meta['auth_mechanism'] != mech:
            fail('AUTH mechanism %r, expected %r' % (meta['auth_mechanism'], mech))
    if mode in ('one', 'login', 'capem', 'cadir') and len(got) == 1:
        check_message(fail, got[0][1], got[0][2], subject=C_SUBJECT, frm=C_FROM, to=C_TO,
                      cc=C_CC, bcc=C_BCC, text=C_TEXT, html=C_HTML,
                      attach=(C_CSV_NAME, 'text/csv', C_CSV), auth_user=USER,
                      tls='implicit' if scheme == 'smtps' else 'starttls')
    return got


def check_one_connection(env, fail, server, got):
    """All of `got` over one connection, which logged in once and carried
    nothing else."""
    ns = [n for n, _, _ in got]
    conns = {meta['connection'] for _, _, meta in got}
    sessions = env.new_sessions(server, conns=conns)
    if len(conns) != 1 or len(sessions) != 1 or sessions[0]['messages'] != ns:
        fail('messages %r over connections %r; sessions.jsonl: %r'
             % (ns, sorted(conns), [(s['connection'], s['messages']) for s in sessions]))
    elif sum(1 for c in client_lines(sessions[0]) if c.upper().startswith('AUTH')) != 1:
        fail('not exactly one AUTH on the connection')


@case('10 C API: a 552 for a too-big message leaves the session usable (real_send recover)')
def _(env, fail):
    got = c_api(env, fail, 'recover', 'tls', 'smtps', 1, 'PLAIN')
    if got:
        msg = email.message_from_bytes(got[0][1], policy=email.policy.default)
        if str(msg['subject']) != 'after 552':
            fail('subject %r, expected "after 552"' % str(msg['subject']))
        check_one_connection(env, fail, 'tls', got)


BAD_CERTS = [  # (server, scheme, stderr must say one of these (lower case))
    ('tls_wronghost', 'smtps', ['another host name']),
    ('tls_expired', 'smtps', ['expired']),
    ('tls_selfsigned', 'smtps', ['not signed by a trusted ca']),
    ('starttls_wronghost', 'smtp', ['another host name']),
]
for _i, (_server, _scheme, _needles) in enumerate(BAD_CERTS, 11):
    @case('%02d refused certificate: %s' % (_i, _server), sessions=_scheme == 'smtp')
    def _(env, fail, server=_server, scheme=_scheme, needles=_needles):
        r = env.send('--url', env.url(server, scheme), '--ca-file', env.ca,
                     '--password', PASSWORD)
        check_refused(env, fail, r, 3, needles)
        check_secrets(fail, r.out + r.err, PASSWORD, 'the output')
        if scheme == 'smtp':   # the plaintext part of a STARTTLS connection
            sessions = env.new_sessions(server)
            if len(sessions) != 1:
                fail('%d new connections at %s, expected 1' % (len(sessions), server))
            no_auth_no_mail(fail, sessions, server)


@case('15 refused certificate: tls with --ca-file other-ca.pem')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', os.path.join(env.certs, 'other-ca.pem'),
                 '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['not signed by a trusted ca'])


@case('16 refused certificate: tls without --ca-file (the system bundle)')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['not signed by a trusted ca', 'trust'])


@case('17 pin: --pin sha256//<server key>, no --ca-file, delivers')
def _(env, fail):
    with open(os.path.join(env.certs, 'server.pubkey.sha256')) as f:
        pin = f.read().strip()
    r = env.send('--url', env.url('tls'), '--pin', 'sha256//' + pin, '--password', PASSWORD)
    check_cli_delivery(env, fail, r, 'tls', USER, 'implicit')


@case('18 pin: a wrong pin is refused')
def _(env, fail):
    wrong = base64.b64encode(bytes(range(32))).decode()
    r = env.send('--url', env.url('tls'), '--pin', 'sha256//' + wrong, '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['does not match'])


@case('18b pin with a CA: the right pin delivers; a wrong pin is refused even with a valid chain')
def _(env, fail):
    with open(os.path.join(env.certs, 'server.pubkey.sha256')) as f:
        pin = f.read().strip()
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--pin', 'sha256//' + pin,
                 '--password', PASSWORD)
    check_cli_delivery(env, fail, r, 'tls', USER, 'implicit')
    env.mark()
    wrong = base64.b64encode(bytes(range(1, 33))).decode()
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--pin', 'sha256//' + wrong,
                 '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['does not match'])


@case('18c pin with --insecure-skip-verify: the pin is still enforced')
def _(env, fail):
    wrong = base64.b64encode(bytes(range(2, 34))).decode()
    r = env.send('--url', env.url('tls_selfsigned'), '--insecure-skip-verify',
                 '--pin', 'sha256//' + wrong, '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['does not match'])


@case('19 wrong password: exit 4, 535, the password nowhere in the output')
def _(env, fail):
    wrong = 'wrong-Passw0rd'
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', wrong, '-v')
    check_refused(env, fail, r, 4, ['535'])
    check_secrets(fail, r.out + r.err, wrong, 'stdout/stderr')


@case('20 no downgrade: STARTTLS required, server without STARTTLS', sessions=True)
def _(env, fail):
    r = env.send('--url', env.url('plain', 'smtp', '127.0.0.1'), '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['starttls'])
    sessions = env.new_sessions('plain')
    if len(sessions) != 1:
        fail('%d new connections at plain, expected 1' % len(sessions))
    no_auth_no_mail(fail, sessions, 'plain')
    check_secrets(fail, r.out + r.err, PASSWORD, 'the output')


@case('21 --repeat 3: three messages over one connection')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', PASSWORD,
                 '--repeat', '3')
    if r.returncode != 0:
        fail(brief(r))
        return
    got = env.new('tls')
    if len(got) != 3:
        fail('%d messages, expected 3' % len(got))
    for _, data, meta in got:
        check_message(fail, data, meta, subject=SUBJECT, frm=FROM, to=TO, cc=CC, bcc=BCC,
                      text=TEXT, html=HTML, attach=(CSV_NAME, 'text/csv', CSV),
                      auth_user=USER, tls='implicit')
    check_one_connection(env, fail, 'tls', got)


@case('22 -v transcript: AUTH PLAIN <redacted>, no password in any form')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '-v',
                 env={'SMTPMAIL_PASSWORD': PASSWORD})
    if r.returncode != 0:
        fail(brief(r))
    if not re.search(r'^C: AUTH PLAIN <redacted>$', r.err, re.M):
        fail('no "C: AUTH PLAIN <redacted>" line in: %r' % r.err[:800])
    for line in ('C: MAIL FROM:<%s>' % USER, 'S: 235', 'C: RCPT TO:<%s>' % BCC):
        if line not in r.err:
            fail('transcript lacks %r' % line)
    check_secrets(fail, r.out + r.err, PASSWORD, 'the -v transcript')


@case('23 a 5 MB attachment via implicit TLS arrives byte-exact')
def _(env, fail):
    data = random.Random(5).randbytes(5 * 1024 * 1024)
    path = os.path.join(env.tmp, 'big.bin')
    with open(path, 'wb') as f:
        f.write(data)
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', PASSWORD,
                 '--from', fmt(*FROM), '--to', TO[0][1], '--subject', 'big',
                 '--text', 'see attachment\n', '--attach', path, message=False)
    if r.returncode != 0:
        fail(brief(r))
        return
    got = expect_one(env, fail, 'tls')
    if got:
        msg = email.message_from_bytes(got[1], policy=email.policy.default)
        atts = list(msg.iter_attachments())
        body = atts[0].get_payload(decode=True) if len(atts) == 1 else None
        if body != data:
            fail('attachment differs: %s bytes, expected %d'
                 % (None if body is None else len(body), len(data)))
        if len(atts) == 1 and atts[0].get_filename() != 'big.bin':
            fail('filename %r' % atts[0].get_filename())
        check_size(fail, got[2])


@case('24 dot-stuffing: body lines starting with "." survive the trip (plaintext)')
def _(env, fail):
    text = '.\n..two dots\n.leading dot\nmiddle . dot\n.\nend\n'
    r = env.send('--url', env.url('plain', 'smtp+plain', '127.0.0.1'), '--from', USER,
                 '--to', TO[0][1], '--subject', 'dots', '--text', text, message=False)
    if r.returncode != 0:
        fail(brief(r))
        return
    got = expect_one(env, fail, 'plain')
    if got:
        msg = email.message_from_bytes(got[1], policy=email.policy.default)
        body = msg.get_body(('plain',)).get_content().replace('\r\n', '\n')
        if body != text:
            fail('text %r, expected %r' % (body, text))
        check_size(fail, got[2])


@case('25 a 60 KB text of dotted lines (streamed, over SMTPMAIL_SEND_BUFFER) arrives intact')
def _(env, fail):
    rnd = random.Random(25)
    text = ''
    while len(text) < 60000:   # lines at every offset of the send buffer
        text += rnd.choice(['', '', '.', '..', '...']) + ''.join(
            rnd.choice('ab. ') for _ in range(rnd.randrange(0, 70))) + '\n'
    body = deliver_text(env, fail, text, '7bit')
    if body is not None and body != text:
        i = next((k for k, (x, y) in enumerate(zip(body, text)) if x != y), min(len(body), len(text)))
        fail('text differs at char %d of %d: got %r, expected %r'
             % (i, len(text), body[i:i + 40], text[i:i + 40]))


@case('26 lines of 5000 ASCII and 1000 CJK characters arrive intact')
def _(env, fail):
    text = 'a' * 5000 + '\n' + '中' * 1000 + '\n.' + 'b' * 999 + '\nend\n'
    body = deliver_text(env, fail, text, None)
    if body is not None and body != text:
        fail('text differs (%d chars, expected %d)' % (len(body), len(text)))


def deliver_text(env, fail, text, cte):
    """Sends `text` as the body over the plaintext server; returns the text
    that arrived, or None."""
    path = os.path.join(env.tmp, 'body.txt')
    with open(path, 'w') as f:
        f.write(text)
    r = env.send('--url', env.url('plain', 'smtp+plain', '127.0.0.1'), '--from', USER,
                 '--to', TO[0][1], '--subject', 'text', '--text-file', path, message=False)
    if r.returncode != 0:
        fail(brief(r))
        return None
    got = expect_one(env, fail, 'plain')
    if not got:
        return None
    msg = email.message_from_bytes(got[1], policy=email.policy.default)
    part = msg.get_body(('plain',))
    if cte and part['content-transfer-encoding'] != cte:
        fail('Content-Transfer-Encoding %s, expected %s' % (part['content-transfer-encoding'], cte))
    check_size(fail, got[2])
    if len(text) > 16384 and got[2]['size'] <= 16384:
        fail('the message has %d octets: not over SMTPMAIL_SEND_BUFFER' % got[2]['size'])
    return part.get_content().replace('\r\n', '\n')


@case('27 the QUICK START of the header delivers ($SMTPMAIL_URL with user:pass)')
def _(env, fail):
    # Its sender is bot@qq.com: the URL names the login, percent-encoded.
    exe = os.path.join(os.path.dirname(env.cli), 'quick_start')
    if not os.access(exe, os.X_OK):
        return '%s is not built (make build/quick_start)' % exe
    url = 'smtp+plain://%s:%s@127.0.0.1:%d' % (USER.replace('@', '%40'), PASSWORD,
                                               env.ports['plain'])
    r = run([exe], env={'SMTPMAIL_URL': url})
    if r.returncode != 0:
        fail(brief(r))
        return
    got = expect_one(env, fail, 'plain')
    if got:
        msg = email.message_from_bytes(got[1], policy=email.policy.default)
        text = msg.get_body(('plain',)).get_content().replace('\r\n', '\n')
        checks = [('subject', str(msg['subject']), '交易信号：买入 rb2405 @ 3650'),
                  ('from', addresses(msg, 'from'), [('Alert Bot', 'bot@qq.com')]),
                  ('to', addresses(msg, 'to'), [('交易员', 'trader@qq.com')]),
                  ('text', text, 'Signal: BUY rb2405 @ 3650\nStrategy: breakout-15m\n'),
                  ('MAIL FROM', got[2]['mail_from'], 'bot@qq.com'),
                  ('auth_user', got[2]['auth_user'], USER)]
        for what, have, want in checks:
            if have != want:
                fail('%s %r, expected %r' % (what, have, want))


@case('28 a server that accepts but never speaks: --timeout 1 gives up in time, exit 3')
def _(env, fail):
    with socket.socket() as mute:   # the kernel accepts; nobody answers
        mute.bind(('127.0.0.1', 0))
        mute.listen(4)
        port = mute.getsockname()[1]
        for url in ('smtps://localhost:%d' % port, 'smtp+plain://127.0.0.1:%d' % port):
            start = time.monotonic()
            r = env.send('--url', url, '--timeout', '1', '--from', USER, '--to', TO[0][1],
                         '--text', 'x', message=False)
            took = time.monotonic() - start
            if r.returncode != 3 or 'timed out' not in r.err or took > 2.5 + SLACK:
                fail('%s: %.1f s; %s' % (url, took, brief(r)))


@case('29 the examples deliver: send_alert, html_report (inline PNG + CSV), many_alerts')
def _(env, fail):
    bindir = os.path.dirname(env.cli)
    exes = {n: os.path.join(bindir, n) for n in ('send_alert', 'html_report', 'many_alerts')}
    missing = [e for e in exes.values() if not os.access(e, os.X_OK)]
    if missing:
        return '%s not built (make examples)' % ', '.join(missing)
    base = {'SMTPMAIL_URL': 'smtp+plain://127.0.0.1:%d' % env.ports['plain'],
            'SMTPMAIL_FROM': USER, 'SMTPMAIL_TO': 'trader@example.com'}
    csv = os.path.join(env.tmp, 'fills.csv')
    with open(csv, 'wb') as f:
        f.write(CSV)
    for argv, count in (([exes['send_alert'], '止损触发 rb2405', '价格 3588 跌破止损位 3590'], 1),
                        ([exes['html_report'], csv], 1),
                        ([exes['many_alerts'], '3'], 3)):
        r = run(argv, env=base)
        if r.returncode != 0:
            fail('%s: %s' % (os.path.basename(argv[0]), brief(r)))
            continue
        got = env.new('plain')
        env.mark()
        if len(got) != count:
            fail('%s: %d messages, expected %d' % (os.path.basename(argv[0]), len(got), count))
            continue
        msg = email.message_from_bytes(got[0][1], policy=email.policy.default)
        name = os.path.basename(argv[0])
        if name == 'send_alert' and str(msg['subject']) != argv[1]:
            fail('send_alert subject %r' % str(msg['subject']))
        if name == 'html_report':
            html = msg.get_body(('html',))
            related = [p for p in msg.walk() if p.get_content_type() == 'multipart/related']
            atts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
            if html is None or 'cid:pnl' not in html.get_content() or not related:
                fail('html_report: no HTML with cid:pnl inside multipart/related')
            if atts.get('成交明细.csv') != CSV:
                fail('html_report: CSV attachment %r' % list(atts))
        if name == 'many_alerts':
            subjects = sorted(str(email.message_from_bytes(g[1], policy=email.policy.default)['subject'])
                              for g in got)
            if subjects != ['成交回报 %d/3: rb2405 买入 10 手' % i for i in (1, 2, 3)]:
                fail('many_alerts subjects %r' % subjects)


@case('30 C API trusts a CA given as PEM in memory (ca_pem) and as a directory (ca_dir)')
def _(env, fail):
    c_api(env, fail, 'capem', 'tls', 'smtps', 1, 'PLAIN')
    env.mark()
    c_api(env, fail, 'cadir', 'tls', 'smtps', 1, 'PLAIN')


@case('31 examples/custom_transport delivers over its own sockets: plaintext, and TLS on top')
def _(env, fail):
    exe = os.path.join(os.path.dirname(env.cli), 'custom_transport')
    if not os.access(exe, os.X_OK):
        return '%s is not built (make examples)' % exe
    base = {'SMTPMAIL_FROM': USER, 'SMTPMAIL_TO': 'trader@example.com'}
    for server, url, extra, auth_user, tls in (
            ('plain', env.url('plain', 'smtp+plain', '127.0.0.1'), {}, None, None),
            ('tls', env.url('tls'), {'SMTPMAIL_PASSWORD': PASSWORD, 'SSL_CERT_FILE': env.ca},
             USER, 'implicit')):
        r = run([exe], env=dict(base, SMTPMAIL_URL=url, **extra))
        if r.returncode != 0:
            fail('%s: %s' % (server, brief(r)))
            continue
        got = expect_one(env, fail, server)
        env.mark()
        if not got:
            continue
        msg = email.message_from_bytes(got[1], policy=email.policy.default)
        body = msg.get_body(('plain',))
        checks = [('subject', str(msg['subject']), 'Sent over a custom transport'),
                  ('from', addresses(msg, 'from'), [('Gateway 7', USER)]),
                  ('to', addresses(msg, 'to'), [('', 'trader@example.com')]),
                  ('text', body and body.get_content().replace('\r\n', '\n'),
                   'This message went through config.transport.\n'),
                  ('auth_user', got[2]['auth_user'], auth_user), ('tls', got[2]['tls'], tls)]
        for what, have, want in checks:
            if have != want:
                fail('%s: %s %r, expected %r' % (server, what, have, want))


@case('32 examples/alert_outbox: spooled while the server is unreachable, killed, '
      'restarted: each alert arrives once')
def _(env, fail):
    exe = os.path.join(os.path.dirname(env.cli), 'alert_outbox')
    if not os.access(exe, os.X_OK):
        return '%s is not built (make examples)' % exe
    spool = os.path.join(env.tmp, 'outbox.spool')
    os.mkdir(spool)
    with socket.socket() as s:      # a port nobody listens on: refused
        s.bind(('127.0.0.1', 0))
        dead = s.getsockname()[1]
    base = {'SMTPMAIL_FROM': USER, 'SMTPMAIL_TO': 'trader@example.com',
            'SMTPMAIL_PASSWORD': PASSWORD, 'SMTPMAIL_CA_FILE': env.ca}
    subjects = ['成交 %d: rb2405 买入 1 手' % i for i in range(5)]
    full = {k: v for k, v in os.environ.items() if not k.startswith('SMTPMAIL_')}
    full.update(base, SMTPMAIL_URL='smtps://localhost:%d' % dead)
    p = subprocess.Popen(WRAP + [exe, spool] + subjects, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)
    out, end = b'', time.monotonic() + TIMEOUT
    while b'queued all' not in out and time.monotonic() < end and p.poll() is None:
        ready, _, _ = select.select([p.stdout], [], [], 0.5)
        if ready:
            out += os.read(p.stdout.fileno(), 4096)
    queued = sorted(f for f in os.listdir(spool) if f.endswith('.msg'))
    p.kill()                        # a crash: no close, no flush
    p.wait()
    p.stdout.close()
    p.stderr.close()
    if b'queued all' not in out or len(queued) != 5:
        fail('first run: %r, spool %r' % (out[-400:], queued))
        return
    if env.new_anywhere():
        fail('something arrived while the server was unreachable: %r' % env.new_anywhere())
    r = run([exe, spool], env=dict(base, SMTPMAIL_URL=env.url('tls')))
    if r.returncode != 0:
        fail('second run: %s' % brief(r))
    got = env.new('tls')
    have = sorted(str(email.message_from_bytes(g[1], policy=email.policy.default)['subject'])
                  for g in got)
    if have != sorted(subjects):
        fail('arrived %r, expected each of %r once' % (have, subjects))
    ids = {email.message_from_bytes(g[1], policy=email.policy.default)['message-id'] for g in got}
    if len(ids) != len(got):
        fail('Message-IDs repeat: %r' % ids)
    if any(g[2]['auth_user'] != USER or g[2]['tls'] != 'implicit' for g in got):
        fail('not over implicit TLS with AUTH: %r' % [g[2] for g in got])
    left = [f for f in os.listdir(spool) if not f.startswith('.')]
    if left:
        fail('spool not empty after delivery: %r' % left)


@case('33 TLS version the server negotiated: $SMTPMAIL_EXPECT_TLS (make mbedtls3: TLSv1.3), '
      'else TLS 1.2 or 1.3')
def _(env, fail):
    want = os.environ.get('SMTPMAIL_EXPECT_TLS')
    allowed = [want] if want else ['TLSv1.2', 'TLSv1.3']
    for server, scheme, kind in (('tls', 'smtps', 'implicit'), ('starttls', 'smtp', 'starttls')):
        env.mark()
        r = env.send('--url', env.url(server, scheme), '--ca-file', env.ca,
                     '--password', PASSWORD)
        got = check_cli_delivery(env, fail, r, server, USER, kind)
        version = got[2]['tls_version'] if got else None
        if got and version not in allowed:
            fail('%s: the server negotiated %r, expected %s' % (server, version, ' or '.join(allowed)))


# ---- main -----------------------------------------------------------------

def start_servers(certs, maildir, log_path):
    log = open(log_path, 'wb')
    proc = subprocess.Popen(['/usr/bin/python3', os.path.join(HERE, 'smtpd.py'),
                             '--certs', certs, '--maildir', maildir],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    log.close()
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    line = proc.stdout.readline() if ready else b''
    try:
        return proc, json.loads(line)
    except ValueError:
        return proc, None


def stop_servers(proc):
    try:
        proc.stdin.close()   # EOF on stdin: smtpd.py stops
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
    proc.stdout.close()


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: real_smtp.py BUILD-DIR')
    build = os.path.abspath(sys.argv[1])
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix='real_smtp.')
    proc = None
    try:
        certs, maildir = os.path.join(tmp, 'certs'), os.path.join(tmp, 'mail')
        mk = subprocess.run(['sh', os.path.join(HERE, 'mkcerts.sh'), certs],
                            capture_output=True, timeout=TIMEOUT)
        if mk.returncode != 0:
            print('FAIL setup: mkcerts.sh: %s' % mk.stderr.decode(errors='replace').strip())
            print('0 passed, 1 failed')
            return 1
        log_path = os.path.join(tmp, 'smtpd.log')
        proc, ports = start_servers(certs, maildir, log_path)
        if not ports:
            with open(log_path, errors='replace') as f:
                print('FAIL setup: smtpd.py did not start: %s' % f.read().strip()[-800:])
            print('0 passed, 1 failed')
            return 1
        env = Env(build, tmp, certs, maildir, ports)
        for name, fn, settle in CASES:
            problems = []
            if settle:
                env.settle()
            env.mark()
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
        if proc:
            stop_servers(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
