#!/usr/bin/python3
"""smtpmail-send and the C API against real SMTP servers (aiosmtpd).

Usage: /usr/bin/python3 tests/real_smtp.py BUILD-DIR

Mints a throwaway CA (tests/mkcerts.sh), starts tests/smtpd.py and runs the
numbered cases against it: delivery over implicit TLS, STARTTLS and
plaintext with BUILD-DIR/smtpmail-send, BUILD-DIR/real_send (the C API)
and BUILD-DIR/quick_start (the header's QUICK START); refused
certificates, pins, a wrong password and a STARTTLS downgrade, each of
which must deliver nothing; big, dotted and long-lined bodies; a server
that never answers. What arrived is judged by Python's email package and
by the server's own records (<n>.json sidecars, sessions.jsonl), never by
the sender's output. The runner, the subprocess wrapper, the CA and the
server process come from tests/harness.py: "ok   NAME", "FAIL NAME:
reason" or "skip NAME: why" (not counted: quick_start not built) per
case; the last line is "N passed, M failed". Standard library only; under
a minute.
"""
import base64, collections, json, os, random, re, select, subprocess, time

import harness
from harness import (PASSWORD, SLACK, TIMEOUT, USER, WRAP, brief, first_difference,
                     leaked_secrets, only, parse_message, run, text_of)

SMTPD = os.path.join(harness.HERE, 'smtpd.py')

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
# real_send modes that send tests/real_send.c's message once.
C_ONE_MESSAGE_MODES = ('one', 'login', 'capem', 'cadir', 'raw')

SEND_BUFFER = 16384   # SMTPMAIL_SEND_BUFFER: a body longer than this is streamed

suite = harness.Suite('real_smtp.py BUILD-DIR')


def fmt(name, addr):
    return '%s <%s>' % (name, addr) if name else addr


class Delivery(collections.namedtuple('Delivery', 'n data meta')):
    """One message a server stored: its number, the .eml bytes and the
    <n>.json sidecar (envelope, AUTH, TLS, connection)."""

    @property
    def msg(self):
        return parse_message(self.data)


# What a server had before a case: its message numbers, its sessions.jsonl lines.
Seen = collections.namedtuple('Seen', 'messages sessions')


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
        self.seen = {s: Seen(self.emls(s), len(self.session_lines(s))) for s in self.ports}

    def new(self, server):
        """[Delivery] that arrived since mark()."""
        out = []
        for n in sorted(self.emls(server) - self.seen[server].messages):
            with open(self.path(server, '%d.eml' % n), 'rb') as f:
                data = f.read()
            with open(self.path(server, '%d.json' % n)) as f:
                out.append(Delivery(n, data, json.load(f)))
        return out

    def new_anywhere(self):
        return {s: [d.n for d in self.new(s)] for s in self.ports if self.new(s)}

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
            lines = self.session_lines(server)[self.seen[server].sessions:]
            if conns is not None:
                lines = [l for l in lines if l['connection'] in conns]
            if (len(lines) >= len(conns) if conns else lines) or time.monotonic() > end:
                return lines
            time.sleep(0.05)

    def url(self, server, scheme='smtps', host='localhost'):
        return '%s://%s:%d' % (scheme, host, self.ports[server])

    def plain_url(self):
        """The plaintext server, by address (no TLS, so no name to check)."""
        return self.url('plain', 'smtp+plain', '127.0.0.1')

    def programs(self, *names, make='make examples'):
        """BUILD-DIR/name for each name; raises harness.Skip naming those
        not built and the `make` command that builds them."""
        exes = [os.path.join(os.path.dirname(self.cli), n) for n in names]
        missing = [e for e in exes if not os.access(e, os.X_OK)]
        if missing:
            raise harness.Skip('%s %s built (%s)' % (
                ', '.join(missing), 'is not' if len(missing) == 1 else 'not', make))
        return exes

    def send(self, *args, env=None, message=True):
        """smtpmail-send with the standard message (unless message=False)."""
        argv = [self.cli] + ([] if '--timeout' in args else ['--timeout', '20'])
        if message:
            argv += ['--from', fmt(*FROM), '--to', ', '.join(fmt(*a) for a in TO),
                     '--cc', ', '.join(fmt(*a) for a in CC), '--bcc', BCC,
                     '--subject', SUBJECT, '--text', TEXT, '--html', HTML,
                     '--attach', self.csv_path]
        return run(argv + list(args), env=env)


# ---- checks ---------------------------------------------------------------

def addresses(msg, field):
    h = msg[field]
    return [] if h is None else [(a.display_name, a.addr_spec) for a in h.addresses]


def subject_of(delivery):
    return str(delivery.msg['subject'])


def check_message(fail, data, meta, *, subject, frm, to, cc, bcc, text, html,
                  attach, auth_user, tls):
    """One delivered message against what was sent. attach: (name, type,
    bytes) or None."""
    msg = parse_message(data)
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
        got = text_of(msg.get_body((kind,)))
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
        (att,) = atts
        got = att.get_payload(decode=True)
        if att.get_filename() != name:
            fail('attachment filename %r, expected %r' % (att.get_filename(), name))
        if att.get_content_type() != ctype:
            fail('attachment type %s, expected %s' % (att.get_content_type(), ctype))
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


def check_cli_message(fail, delivery, auth_user, tls):
    """The standard message of Env.send, as it arrived."""
    check_message(fail, delivery.data, delivery.meta, subject=SUBJECT, frm=FROM, to=TO,
                  cc=CC, bcc=BCC, text=TEXT, html=HTML, attach=(CSV_NAME, 'text/csv', CSV),
                  auth_user=auth_user, tls=tls)


def check_size(fail, meta):
    """RFC 1870: SIZE=, when sent, is the size of the message (the client
    renders it first, so it knows exactly)."""
    sizes = [o for o in meta['mail_options'] if o.upper().startswith('SIZE=')]
    if sizes and sizes != ['SIZE=%d' % meta['size']]:
        fail('MAIL FROM says %r, the message has %d octets' % (sizes, meta['size']))


def expect_one(env, fail, server):
    """The one Delivery at `server` since mark(), and none elsewhere; None
    (and a failure) otherwise."""
    got = env.new(server)
    others = {s: ns for s, ns in env.new_anywhere().items() if s != server}
    if others:
        fail('messages arrived at other servers: %r' % others)
    if len(got) != 1:
        fail('%d messages at %s, expected 1' % (len(got), server))
        return None
    (delivery,) = got
    return delivery


def check_cli_delivery(env, fail, r, server, auth_user, tls):
    if r.returncode != 0:
        fail(brief(r))
        return None
    got = expect_one(env, fail, server)
    if got:
        check_cli_message(fail, got, auth_user, tls)
    return got


def session_of(env, got, server):
    """The sessions.jsonl line of the connection that carried `got`."""
    lines = env.new_sessions(server, conns={got.meta['connection']}) if got else []
    return next(iter(lines), None)


def client_lines(session):
    """What the client sent, from the session's transcript of
    [direction "C" or "S", over TLS, line]."""
    return [line for direction, _tls, line in session['transcript'] if direction == 'C']


def check_secrets(fail, text, password, where):
    for form in leaked_secrets(text, password):
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


def check_one_connection(env, fail, server, got):
    """All of `got` over one connection, which logged in once and carried
    nothing else."""
    ns = [d.n for d in got]
    conns = {d.meta['connection'] for d in got}
    sessions = env.new_sessions(server, conns=conns)
    if len(conns) != 1 or len(sessions) != 1 or sessions[0]['messages'] != ns:
        fail('messages %r over connections %r; sessions.jsonl: %r'
             % (ns, sorted(conns), [(s['connection'], s['messages']) for s in sessions]))
    elif sum(1 for c in client_lines(sessions[0]) if c.upper().startswith('AUTH')) != 1:
        fail('not exactly one AUTH on the connection')


def c_api(env, fail, mode, server, scheme, count, mech, password=PASSWORD):
    """tests/real_send.c in `mode` against `server`: no FAIL line, exit 0,
    no password in its output, `count` messages there and none elsewhere,
    each logged in with `mech`; its message intact in the one-message
    modes. Returns the Deliveries."""
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
    for d in got:
        if d.meta['auth_mechanism'] != mech:
            fail('AUTH mechanism %r, expected %r' % (d.meta['auth_mechanism'], mech))
    d = only(got)
    if mode in C_ONE_MESSAGE_MODES and d:
        check_message(fail, d.data, d.meta, subject=C_SUBJECT, frm=C_FROM, to=C_TO,
                      cc=C_CC, bcc=C_BCC, text=C_TEXT, html=C_HTML,
                      attach=(C_CSV_NAME, 'text/csv', C_CSV), auth_user=USER,
                      tls='implicit' if scheme == 'smtps' else 'starttls')
    return got


def deliver_text(env, fail, text, cte, via_file=True, subject='text'):
    """Sends `text` as the body over the plaintext server (--text-file, or
    --text with via_file=False); returns the text that arrived, or None."""
    if via_file:
        path = os.path.join(env.tmp, 'body.txt')
        with open(path, 'w') as f:
            f.write(text)
        body_args = ['--text-file', path]
    else:
        body_args = ['--text', text]
    r = env.send('--url', env.plain_url(), '--from', USER, '--to', TO[0][1],
                 '--subject', subject, *body_args, message=False)
    if r.returncode != 0:
        fail(brief(r))
        return None
    got = expect_one(env, fail, 'plain')
    if not got:
        return None
    part = got.msg.get_body(('plain',))
    if cte and part['content-transfer-encoding'] != cte:
        fail('Content-Transfer-Encoding %s, expected %s' % (part['content-transfer-encoding'], cte))
    check_size(fail, got.meta)
    if len(text) > SEND_BUFFER and got.meta['size'] <= SEND_BUFFER:
        fail('the message has %d octets: not over SMTPMAIL_SEND_BUFFER' % got.meta['size'])
    return text_of(part)


def pin_of_server_key(env):
    """The sha256// value of the servers' key (tests/mkcerts.sh)."""
    with open(os.path.join(env.certs, 'server.pubkey.sha256')) as f:
        return 'sha256//' + f.read().strip()


def wrong_pin(first_byte):
    """A well-formed pin that matches no key: 32 bytes counting up."""
    return 'sha256//' + base64.b64encode(bytes(range(first_byte, first_byte + 32))).decode()


def check_fields(fail, checks, where=''):
    """checks: [(what, have, want)]; each must be equal."""
    for what, have, want in checks:
        if have != want:
            fail('%s%s %r, expected %r' % (where, what, have, want))


# ---- cases ----------------------------------------------------------------

@suite.case('01 CLI over implicit TLS (smtps://, --ca-file, --password): the message and '
            'envelope arrive intact, AUTH as the user')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', PASSWORD)
    check_cli_delivery(env, fail, r, 'tls', USER, 'implicit')


@suite.case('02 CLI over STARTTLS (smtp://): the message arrives intact, AUTH only after TLS')
def _(env, fail):
    r = env.send('--url', env.url('starttls', 'smtp'), '--ca-file', env.ca,
                 '--password', PASSWORD)
    s = session_of(env, check_cli_delivery(env, fail, r, 'starttls', USER, 'starttls'),
                   'starttls')
    if not s or s['plaintext_auth']:
        fail('AUTH was sent before STARTTLS, or no session line: %r' % s)


@suite.case('03 CLI over plaintext (smtp+plain://127.0.0.1) without a password: the message '
            'arrives intact, no AUTH sent')
def _(env, fail):
    r = env.send('--url', env.plain_url())
    s = session_of(env, check_cli_delivery(env, fail, r, 'plain', None, None), 'plain')
    if not s or any(c.upper().startswith('AUTH') for c in client_lines(s)):
        fail('AUTH sent without a password, or no session line: %r' % s)


@suite.case('04 CLI over plaintext with $SMTPMAIL_PASSWORD: AUTH in clear as chosen, '
            'delivered, no password in the -v output')
def _(env, fail):
    r = env.send('--url', env.plain_url(), '-v', env={'SMTPMAIL_PASSWORD': PASSWORD})
    s = session_of(env, check_cli_delivery(env, fail, r, 'plain', USER, None), 'plain')
    check_secrets(fail, r.out + r.err, PASSWORD, 'the -v output')
    if not s or not s['plaintext_auth']:
        fail('the server saw no AUTH on the plaintext link: %r' % s)


@suite.case('05 C API smtpmail_send over implicit TLS: the message arrives intact, '
            'AUTH PLAIN (real_send one)')
def _(env, fail):
    c_api(env, fail, 'one', 'tls', 'smtps', 1, 'PLAIN')


@suite.case('06 C API smtpmail_send over STARTTLS: the message arrives intact, '
            'AUTH PLAIN (real_send one)')
def _(env, fail):
    c_api(env, fail, 'one', 'starttls', 'smtp', 1, 'PLAIN')


@suite.case('07 C API with AUTH LOGIN forced: the server saw LOGIN, the message arrives '
            'intact (real_send login)')
def _(env, fail):
    c_api(env, fail, 'login', 'tls', 'smtps', 1, 'LOGIN')


@suite.case('08 C API: one session, three messages, one connection (real_send session)')
def _(env, fail):
    got = c_api(env, fail, 'session', 'tls', 'smtps', 3, 'PLAIN')
    subjects = [subject_of(d) for d in got]
    if subjects != ['session %d/3' % i for i in (1, 2, 3)]:
        fail('subjects %r' % subjects)
    check_one_connection(env, fail, 'tls', got)


@suite.case('09 C API: wrong password gives SMTPMAIL_ERR_AUTH, 535, nothing delivered '
            '(real_send badpass)')
def _(env, fail):
    c_api(env, fail, 'badpass', 'tls', 'smtps', 0, None, password='wrong-Passw0rd')


@suite.case('10 C API: a 552 for a too-big message leaves the session usable (real_send recover)')
def _(env, fail):
    got = c_api(env, fail, 'recover', 'tls', 'smtps', 1, 'PLAIN')
    if got:
        for d in got:   # one (c_api checked): the message sent after the 552
            if subject_of(d) != 'after 552':
                fail('subject %r, expected "after 552"' % subject_of(d))
        check_one_connection(env, fail, 'tls', got)



@suite.case('10b C API smtpmail_session_send_raw: a rendered message with its own envelope '
            '(Bcc only there) arrives intact; bytes with a bare LF are refused unsent (real_send raw)')
def _(env, fail):
    got = c_api(env, fail, 'raw', 'tls', 'smtps', 1, 'PLAIN')
    check_one_connection(env, fail, 'tls', got)

BAD_CERTS = [  # (number, server, scheme, what is wrong, stderr says one of (lower case))
    ('11', 'tls_wronghost', 'smtps', 'a certificate for another host name',
     ['another host name']),
    ('12', 'tls_expired', 'smtps', 'an expired certificate', ['expired']),
    ('13', 'tls_selfsigned', 'smtps', 'a self-signed certificate',
     ['not signed by a trusted ca']),
    ('14', 'starttls_wronghost', 'smtp', 'after STARTTLS, a certificate for another host name',
     ['another host name']),
]
for _number, _server, _scheme, _what, _needles in BAD_CERTS:
    @suite.case('%s %s is refused (%s): exit 3, nothing delivered, no AUTH or MAIL'
                % (_number, _what, _server), sessions=_scheme == 'smtp')
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


@suite.case('15 a server certificate from a CA other than --ca-file (other-ca.pem) is refused: '
            'exit 3, nothing delivered')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', os.path.join(env.certs, 'other-ca.pem'),
                 '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['not signed by a trusted ca'])


@suite.case('16 without --ca-file the system bundle does not trust the test CA: exit 3, '
            'nothing delivered')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['not signed by a trusted ca', 'trust'])


@suite.case('17 pin: --pin sha256//<server key>, no --ca-file, delivers')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--pin', pin_of_server_key(env), '--password', PASSWORD)
    check_cli_delivery(env, fail, r, 'tls', USER, 'implicit')


@suite.case('18 pin: a wrong pin without --ca-file is refused: exit 3 "does not match", '
            'nothing delivered')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--pin', wrong_pin(0), '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['does not match'])


@suite.case('18b pin with a CA: the right pin delivers; a wrong pin is refused even with a valid chain')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--pin', pin_of_server_key(env),
                 '--password', PASSWORD)
    check_cli_delivery(env, fail, r, 'tls', USER, 'implicit')
    env.mark()
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--pin', wrong_pin(1),
                 '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['does not match'])


@suite.case('18c pin with --insecure-skip-verify: the pin is still enforced')
def _(env, fail):
    r = env.send('--url', env.url('tls_selfsigned'), '--insecure-skip-verify',
                 '--pin', wrong_pin(2), '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['does not match'])


@suite.case('19 wrong password: exit 4, 535, the password nowhere in the output')
def _(env, fail):
    wrong = 'wrong-Passw0rd'
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', wrong, '-v')
    check_refused(env, fail, r, 4, ['535'])
    check_secrets(fail, r.out + r.err, wrong, 'stdout/stderr')


@suite.case('20 no downgrade: smtp:// to a server without STARTTLS fails (exit 3) before '
            'AUTH or MAIL', sessions=True)
def _(env, fail):
    r = env.send('--url', env.url('plain', 'smtp', '127.0.0.1'), '--password', PASSWORD)
    check_refused(env, fail, r, 3, ['starttls'])
    sessions = env.new_sessions('plain')
    if len(sessions) != 1:
        fail('%d new connections at plain, expected 1' % len(sessions))
    no_auth_no_mail(fail, sessions, 'plain')
    check_secrets(fail, r.out + r.err, PASSWORD, 'the output')


@suite.case('21 --repeat 3: three intact messages over one connection, one AUTH')
def _(env, fail):
    r = env.send('--url', env.url('tls'), '--ca-file', env.ca, '--password', PASSWORD,
                 '--repeat', '3')
    if r.returncode != 0:
        fail(brief(r))
        return
    got = env.new('tls')
    if len(got) != 3:
        fail('%d messages, expected 3' % len(got))
    for d in got:
        check_cli_message(fail, d, USER, 'implicit')
    check_one_connection(env, fail, 'tls', got)


@suite.case('22 -v transcript: AUTH PLAIN <redacted>, no password in any form')
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


@suite.case('23 a 5 MB attachment via implicit TLS arrives byte-exact')
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
        att = only(list(got.msg.iter_attachments()))
        body = att.get_payload(decode=True) if att else None
        if body != data:
            fail('attachment differs: %s bytes, expected %d'
                 % (None if body is None else len(body), len(data)))
        if att and att.get_filename() != 'big.bin':
            fail('filename %r' % att.get_filename())
        check_size(fail, got.meta)


@suite.case('24 dot-stuffing: body lines starting with "." survive the trip (plaintext)')
def _(env, fail):
    text = '.\n..two dots\n.leading dot\nmiddle . dot\n.\nend\n'
    body = deliver_text(env, fail, text, None, via_file=False, subject='dots')
    if body is not None and body != text:
        fail('text %r, expected %r' % (body, text))


@suite.case('25 a 60 KB text of dotted lines (streamed, over SMTPMAIL_SEND_BUFFER) arrives intact')
def _(env, fail):
    rnd = random.Random(25)
    text = ''
    while len(text) < 60000:   # lines at every offset of the send buffer
        text += rnd.choice(['', '', '.', '..', '...']) + ''.join(
            rnd.choice('ab. ') for _ in range(rnd.randrange(0, 70))) + '\n'
    body = deliver_text(env, fail, text, '7bit')
    if body is not None and body != text:
        i = first_difference(body, text)
        fail('text differs at char %d of %d: got %r, expected %r'
             % (i, len(text), body[i:i + 40], text[i:i + 40]))


@suite.case('26 lines of 5000 ASCII and 1000 CJK characters arrive intact')
def _(env, fail):
    text = 'a' * 5000 + '\n' + '中' * 1000 + '\n.' + 'b' * 999 + '\nend\n'
    body = deliver_text(env, fail, text, None)
    if body is not None and body != text:
        fail('text differs (%d chars, expected %d)' % (len(body), len(text)))


@suite.case('27 the QUICK START of the header delivers ($SMTPMAIL_URL with user:pass)')
def _(env, fail):
    # Its sender is bot@qq.com: the URL names the login, percent-encoded.
    (exe,) = env.programs('quick_start', make='make build/quick_start')
    url = 'smtp+plain://%s:%s@127.0.0.1:%d' % (USER.replace('@', '%40'), PASSWORD,
                                               env.ports['plain'])
    r = run([exe], env={'SMTPMAIL_URL': url})
    if r.returncode != 0:
        fail(brief(r))
        return
    got = expect_one(env, fail, 'plain')
    if got:
        msg = got.msg
        check_fields(fail, [
            ('subject', str(msg['subject']), '交易信号：买入 rb2405 @ 3650'),
            ('from', addresses(msg, 'from'), [('Alert Bot', 'bot@qq.com')]),
            ('to', addresses(msg, 'to'), [('交易员', 'trader@qq.com')]),
            ('text', text_of(msg.get_body(('plain',))),
             'Signal: BUY rb2405 @ 3650\nStrategy: breakout-15m\n'),
            ('MAIL FROM', got.meta['mail_from'], 'bot@qq.com'),
            ('auth_user', got.meta['auth_user'], USER)])


@suite.case('28 a server that accepts but never speaks: --timeout 1 gives up in time, exit 3')
def _(env, fail):
    with harness.silent_listener() as port:   # the kernel accepts; nobody answers
        for url in ('smtps://localhost:%d' % port, 'smtp+plain://127.0.0.1:%d' % port):
            r = env.send('--url', url, '--timeout', '1', '--from', USER, '--to', TO[0][1],
                         '--text', 'x', message=False)
            if r.returncode != 3 or 'timed out' not in r.err or r.took > 2.5 + SLACK:
                fail('%s: %.1f s; %s' % (url, r.took, brief(r)))


def check_send_alert(fail, argv, got):
    (d,) = got
    if subject_of(d) != argv[1]:   # its first argument is the subject
        fail('send_alert subject %r' % subject_of(d))


def check_html_report(fail, argv, got):
    (d,) = got
    msg = d.msg
    html = msg.get_body(('html',))
    related = [p for p in msg.walk() if p.get_content_type() == 'multipart/related']
    atts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    if html is None or 'cid:pnl' not in html.get_content() or not related:
        fail('html_report: no HTML with cid:pnl inside multipart/related')
    if atts.get('成交明细.csv') != CSV:
        fail('html_report: CSV attachment %r' % list(atts))


def check_many_alerts(fail, argv, got):
    subjects = sorted(subject_of(d) for d in got)
    if subjects != ['成交回报 %d/3: rb2405 买入 10 手' % i for i in (1, 2, 3)]:
        fail('many_alerts subjects %r' % subjects)


@suite.case('29 the examples deliver: send_alert, html_report (inline PNG + CSV), many_alerts')
def _(env, fail):
    names = ('send_alert', 'html_report', 'many_alerts')
    exes = dict(zip(names, env.programs(*names)))
    base = {'SMTPMAIL_URL': 'smtp+plain://127.0.0.1:%d' % env.ports['plain'],
            'SMTPMAIL_FROM': USER, 'SMTPMAIL_TO': 'trader@example.com'}
    csv = os.path.join(env.tmp, 'fills.csv')
    with open(csv, 'wb') as f:
        f.write(CSV)
    for argv, count, check in (
            ([exes['send_alert'], '止损触发 rb2405', '价格 3588 跌破止损位 3590'], 1, check_send_alert),
            ([exes['html_report'], csv], 1, check_html_report),
            ([exes['many_alerts'], '3'], 3, check_many_alerts)):
        name = os.path.basename(argv[0])
        r = run(argv, env=base)
        if r.returncode != 0:
            fail('%s: %s' % (name, brief(r)))
            continue
        got = env.new('plain')
        env.mark()
        if len(got) != count:
            fail('%s: %d messages, expected %d' % (name, len(got), count))
            continue
        check(fail, argv, got)


@suite.case('30 C API trusts a CA given as PEM in memory (ca_pem) and as a directory (ca_dir)')
def _(env, fail):
    c_api(env, fail, 'capem', 'tls', 'smtps', 1, 'PLAIN')
    env.mark()
    c_api(env, fail, 'cadir', 'tls', 'smtps', 1, 'PLAIN')


@suite.case('31 examples/custom_transport delivers over its own sockets: plaintext, and TLS on top')
def _(env, fail):
    (exe,) = env.programs('custom_transport')
    base = {'SMTPMAIL_FROM': USER, 'SMTPMAIL_TO': 'trader@example.com'}
    for server, url, extra, auth_user, tls in (
            ('plain', env.plain_url(), {}, None, None),
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
        msg = got.msg
        check_fields(fail, [
            ('subject', str(msg['subject']), 'Sent over a custom transport'),
            ('from', addresses(msg, 'from'), [('Gateway 7', USER)]),
            ('to', addresses(msg, 'to'), [('', 'trader@example.com')]),
            ('text', text_of(msg.get_body(('plain',))),
             'This message went through config.transport.\n'),
            ('auth_user', got.meta['auth_user'], auth_user), ('tls', got.meta['tls'], tls)],
            where='%s: ' % server)


@suite.case('32 examples/alert_outbox: spooled while the server is unreachable, killed, '
            'restarted: each alert arrives once')
def _(env, fail):
    (exe,) = env.programs('alert_outbox')
    spool = os.path.join(env.tmp, 'outbox.spool')
    os.mkdir(spool)
    dead = harness.unused_port()   # nobody listens: refused
    base = {'SMTPMAIL_FROM': USER, 'SMTPMAIL_TO': 'trader@example.com',
            'SMTPMAIL_PASSWORD': PASSWORD, 'SMTPMAIL_CA_FILE': env.ca}
    subjects = ['成交 %d: rb2405 买入 1 手' % i for i in range(5)]
    p = harness.spawn(WRAP + [exe, spool] + subjects, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE,
                      env=harness.child_env(dict(base, SMTPMAIL_URL='smtps://localhost:%d' % dead)))
    try:
        out, end = b'', time.monotonic() + TIMEOUT
        while b'queued all' not in out and time.monotonic() < end and p.poll() is None:
            ready, _, _ = select.select([p.stdout], [], [], 0.5)
            if ready:
                out += os.read(p.stdout.fileno(), 4096)
        queued = sorted(f for f in os.listdir(spool) if f.endswith('.msg'))
    finally:
        harness.stop(p)             # a kill: a crash, no close, no flush
    if b'queued all' not in out or len(queued) != len(subjects):
        fail('first run: %r, spool %r' % (out[-400:], queued))
        return
    if env.new_anywhere():
        fail('something arrived while the server was unreachable: %r' % env.new_anywhere())
    r = run([exe, spool], env=dict(base, SMTPMAIL_URL=env.url('tls')))
    if r.returncode != 0:
        fail('second run: %s' % brief(r))
    got = env.new('tls')
    have = sorted(subject_of(d) for d in got)
    if have != sorted(subjects):
        fail('arrived %r, expected each of %r once' % (have, subjects))
    ids = {d.msg['message-id'] for d in got}
    if len(ids) != len(got):
        fail('Message-IDs repeat: %r' % ids)
    if any(d.meta['auth_user'] != USER or d.meta['tls'] != 'implicit' for d in got):
        fail('not over implicit TLS with AUTH: %r' % [d.meta for d in got])
    left = [f for f in os.listdir(spool) if not f.startswith('.')]
    if left:
        fail('spool not empty after delivery: %r' % left)


@suite.case('33 the server negotiated $SMTPMAIL_EXPECT_TLS (make mbedtls3: TLSv1.3), else '
            'TLS 1.2 or 1.3, over implicit TLS and STARTTLS')
def _(env, fail):
    want = os.environ.get('SMTPMAIL_EXPECT_TLS')
    allowed = [want] if want else ['TLSv1.2', 'TLSv1.3']
    for server, scheme, kind in (('tls', 'smtps', 'implicit'), ('starttls', 'smtp', 'starttls')):
        env.mark()
        r = env.send('--url', env.url(server, scheme), '--ca-file', env.ca,
                     '--password', PASSWORD)
        got = check_cli_delivery(env, fail, r, server, USER, kind)
        version = got.meta['tls_version'] if got else None
        if got and version not in allowed:
            fail('%s: the server negotiated %r, expected %s' % (server, version, ' or '.join(allowed)))


# ---- main -----------------------------------------------------------------

def setup(build, tmp, stack):
    """The CA, then tests/smtpd.py (stopped when the run ends)."""
    certs = harness.mint_certs(os.path.join(tmp, 'certs'))
    maildir = os.path.join(tmp, 'mail')
    servers = stack.enter_context(harness.ServerProcess(
        [harness.PYTHON, SMTPD, '--certs', certs, '--maildir', maildir],
        os.path.join(tmp, 'smtpd.log')))
    env = Env(os.path.abspath(build), tmp, certs, maildir, servers.ports)

    def call(case, fail):
        if case.options.get('sessions'):
            env.settle()
        env.mark()
        return case.fn(env, fail)
    return call


if __name__ == '__main__':
    raise SystemExit(suite.main(setup))
