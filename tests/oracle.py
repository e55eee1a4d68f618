#!/usr/bin/python3
"""Independent oracle for smtpmail-send: Python's email package decides.

Usage: /usr/bin/python3 tests/oracle.py build/smtpmail-send

Each case in CASES is rendered with --dry-run, parsed with
email.message_from_bytes(policy=email.policy.default), and every decoded
value is compared with the case's own inputs (never with the tool's
output). Raw checks cover CRLF, line lengths and RFC 2047 encoded-words.
NEGATIVE lists inputs the CLI must refuse. Last line: "N passed, M failed".
Standard library only.
"""
import base64, binascii, datetime, email, email.policy, email.utils
import os, re, shlex, subprocess, sys, tempfile

CLI = None
EW = re.compile(rb'=\?([^?]+)\?([bBqQ])\?([^?]*)\?=')
# RFC 2047 6.2: blanks between adjacent encoded-words are not part of the
# text. Python 3.11's address parser keeps them (CPython gh-128110, fixed
# later), so display names are decoded after removing them.
EW_GAP = re.compile(rb'(' + EW.pattern + rb')[ \t]+(?=' + EW.pattern + rb')')
NAME_FALLBACK = re.compile(rb'[ \t]name="=\?')  # documented >78 exception
SPECIALS = set('()<>[]:;@\\,."')
PNG = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR' + bytes(range(256)) * 3
CSV = 'date,symbol,side,price\r\n2024-01-02,rb2405,买入,3650\n'.encode()
BOT = ('Alert Bot', 'bot@example.com')
LONG_CN_NAME = '2024年第一季度期货交易成交回报明细（螺纹钢、热卷、铁矿石）最终版本.csv'
LONG_ASCII_NAME = 'quarterly_futures_trading_report_' * 4 + 'final.csv'
SUBJ2 = 'BTC 突破 🚀 ' * 12 + 'Pneumonoultramicroscopicsilicovolcanoconiosis' * 2 + ' end 结束'
SUBJ3 = ' '.join('word%03d' % i for i in range(60))[:299] + 'Z'
SUBJ3CN = ('螺纹钢期货突破信号🚀' * 30)[:300]

CASES = [
    dict(name='01 chinese subject, name and text',
         frm=('交易提醒机器人', 'bot@qq.com'), to=[[('交易员', 'trader@qq.com')]],
         subject='交易信号：买入 rb2405 @ 3650',
         text='信号：买入 rb2405 @ 3650\n策略：突破-15分钟\n'),
    dict(name='02 long mixed subject (ASCII, CJK, emoji, 90-char word)',
         subject=SUBJ2, readable=['BTC', 'end']),
    dict(name='03a 300-char ASCII subject', subject=SUBJ3, readable=['word000', 'word035']),
    dict(name='03b 300-char CJK+emoji subject, no spaces', subject=SUBJ3CN),
    dict(name='04 display names with specials, lists, repeated flags, bcc',
         frm=('Doe, John', 'john.doe@example.com'),
         to=[[('Doe, John', 'john@example.com'), ('He said "hi"', 'hi@example.org')],
             [('Back\\slash Desk', 'bs@example.net')],
             [('', 'plain@example.com'), ('John Q. Public', 'jqp@example.com')]],
         cc=[[('王五 "Wang, W."', 'wang@example.cn'), ('张三, 交易员', 'zs@example.cn')],
             [('A very long display name that goes on and on, well beyond one header line',
               'long@example.com')],
             [('长长的中文显示名称' * 4, 'cn-long@example.com')]],
         bcc=[[('Secret Boss', 'hidden-boss@example.com')], [('', 'hidden2@example.com')]],
         subject='names'),
    dict(name='05 lines starting with ".", "From ", "--"',
         text='.\n.leading dot\n..two dots\nFrom the desk\n>From quoted\n--\n-- \n--boundary-like--\nend',
         html='<p>x</p>\n.\nFrom here\n--\n'),
    dict(name='06 line over 998 octets (ASCII and CJK)', text_via='file',
         text='a' * 5000 + '\n' + '中' * 1000 + '\nshort\n' + 'b' * 999),
    dict(name='07 mixed line ends, trailing blanks, "=" signs', text_via='file',
         text='crlf\r\nlf\ncr\rtrailing spaces   \ntab\t\n\tleading tab\n'
              '= sign a=b ==\n=3D=\n=?utf-8?q?not_encoded?=\r\r\n\n\rlast  '),
    dict(name='08 binary attachment, all 256 byte values',
         attach=[dict(file='blob.bin', data=bytes(range(256)) * 40,
                       type='application/octet-stream')]),
    dict(name='09 non-ASCII and long file names',
         attach=[dict(file='a.csv', data=CSV, name='成交回报-2024年.csv', expect='text/csv'),
                 dict(file='b.csv', data=CSV, name=LONG_CN_NAME, expect='text/csv'),
                 dict(file='c.csv', data=CSV, name=LONG_ASCII_NAME, expect='text/csv')]),
    dict(name='10 text + html + inline PNG + CSV attachment', html_via='file',
         text='价格图见附件\n',
         html='<p>价格图</p>\n<img src="cid:chart1" alt="chart">\n',
         inline=[dict(file='chart.png', data=PNG, cid='chart1', expect='image/png')],
         attach=[dict(file='fills.csv', data=CSV, expect='text/csv')]),
    dict(name='11 html only + inline image', text=None,
         html='<html><body><img src="cid:logo"><p>只有HTML</p></body></html>',
         inline=[dict(file='logo.jpg', data=b'\xff\xd8\xff\xe0' + bytes(300), cid='logo',
                      expect='image/jpeg')]),
    dict(name='12 extra headers', headers=[('X-Strategy', '突破 v2'), ('X-Order-Id', '12345')]),
    dict(name='13 empty text', text=''),
    dict(name='14 empty attachment file',
         attach=[dict(file='empty.bin', data=b'', expect='application/octet-stream')]),
    dict(name='15 inline image without html', text='see image\n',
         inline=[dict(file='pic.png', data=PNG, cid='pic1', expect='image/png')]),
]


def base_args(subject='s', extra=()):
    return ['--from', 'Bot <bot@example.com>', '--to', 'a@example.com',
            '--subject', subject, '--text', 'hi', *extra, '--dry-run']


NEGATIVE = [  # (name, argv, exit code, any of these (lower-case) in stderr)
    ('N1 subject with LF', base_args('a\nBcc: x@evil.com'), 2, ['subject']),
    ('N2 header with CR', base_args(extra=['--header', 'X-A: a\rb']), 2, ['header', 'x-a']),
    ('N3 invalid UTF-8 subject', base_args(b'\xff\xfe'), 2, ['subject']),
    ('N4 missing attachment file', base_args(extra=['--attach', '/nonexistent/dir/missing.pdf']),
     2, ['/nonexistent/dir/missing.pdf']),
    ('N5 bad address', base_args()[:2] + ['--to', 'not-an-address'] + base_args()[4:], 2,
     ['--to', 'to[', 'not-an-address']),
    ('N6 header replacing Subject', base_args(extra=['--header', 'Subject: x']), 2,
     ['header', 'subject']),
    ('N7 invalid UTF-8 (overlong) in text file', 'TEXTFILE', 2, ['text']),
    ('U1 unknown flag', base_args(extra=['--frobnicate']), 1, []),
    ('U2 missing --from', base_args()[2:], 1, []),
]


def fmt_addr(name, addr):
    if not name:
        return addr
    if SPECIALS & set(name) or name != name.strip():
        name = '"' + name.replace('\\', '\\\\').replace('"', '\\"') + '"'
    return '%s <%s>' % (name, addr)


def norm(s):  # the documented line-end rule, computed independently
    s = re.sub(r'\r\n|\r|\n', '\n', s)
    return s if s.endswith('\n') else s + '\n'


# make valgrind runs every C program under a wrapper named here.
WRAP = [w.encode() for w in shlex.split(os.environ.get('SMTPMAIL_TEST_WRAP', ''))]


def run(argv):
    argv = WRAP + [CLI] + [a if isinstance(a, bytes) else a.encode() for a in argv]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=300 if WRAP else 30)


def build_argv(c, tmp):
    a = ['--from', fmt_addr(*c.get('frm', BOT))]
    for flag in ('to', 'cc', 'bcc'):
        for group in c.get(flag, [[('', 'trader@example.com')]] if flag == 'to' else []):
            a += ['--' + flag, ', '.join(fmt_addr(n, x) for n, x in group)]
    a += ['--subject', c.get('subject', 'test')]
    for kind in ('text', 'html'):
        body = c.get(kind, 'hello\n' if kind == 'text' else None)
        if body is None:
            continue
        if c.get(kind + '_via') == 'file':
            path = os.path.join(tmp, 'body.' + kind)
            with open(path, 'wb') as f:
                f.write(body.encode())
            a += ['--%s-file' % kind, path]
        else:
            a += ['--' + kind, body]
    for flag in ('inline', 'attach'):
        for at in c.get(flag, []):
            path = os.path.join(tmp, at['file'])
            with open(path, 'wb') as f:
                f.write(at['data'])
            spec = path + ''.join(';%s=%s' % (k, at[k]) for k in ('type', 'name', 'cid') if k in at)
            a += ['--' + flag, spec]
    for name, value in c.get('headers', []):
        a += ['--header', '%s: %s' % (name, value)]
    return a + ['--dry-run']


def ew_decode(word):
    cs, enc, txt = EW.fullmatch(word).groups()
    if cs.lower() != b'utf-8':
        raise ValueError('charset %r, not utf-8' % cs)
    raw = base64.b64decode(txt, validate=True) if enc in b'bB' else binascii.a2b_qp(txt, header=True)
    return raw.decode('utf-8')  # strict: a split UTF-8 sequence fails here


def header_blocks(lines, msg):
    """Raw header blocks in order: the top one, then one after each opening
    delimiter line. This is the order of msg.walk()."""
    delims = {b'--' + p.get_boundary().encode() for p in msg.walk()
              if p.is_multipart() and p.get_boundary()}
    blocks, cur = [], []
    inside = True
    for line in lines:
        if inside:
            if line == b'':
                blocks.append(cur)
                cur, inside = [], False
            else:
                cur.append(line)
        elif line in delims:
            inside = True
    return blocks


def unfold(block):
    out = []
    for line in block:
        if line[:1] in (b' ', b'\t') and out:
            out[-1] += line
        else:
            out.append(line)
    return out


def check_raw(data, msg, fail):
    if not data.endswith(b'\r\n'):
        fail('output does not end with CRLF')
    lines = data.split(b'\r\n')[:-1]
    for i, line in enumerate(lines, 1):
        if b'\r' in line or b'\n' in line:
            fail('line %d has a bare CR or LF: %r' % (i, line[:80]))
        if len(line) > 998:
            fail('line %d is %d octets (>998)' % (i, len(line)))
    blocks = header_blocks(lines, msg)
    for block in blocks:
        for line in block:
            exempt = NAME_FALLBACK.search(line)
            if len(line) > 78 and not exempt:
                fail('header line of %d octets (>78): %r' % (len(line), line[:100]))
            for m in EW.finditer(line):
                if len(m.group()) > 75 and not exempt:
                    fail('encoded-word of %d chars (>75): %r' % (len(m.group()), m.group()))
                try:
                    ew_decode(m.group())
                except (ValueError, binascii.Error) as e:
                    fail('encoded-word %r does not decode alone: %s' % (m.group(), e))
    return blocks


def tree(p):
    if p.is_multipart():
        return '%s(%s)' % (p.get_content_type(), ','.join(tree(c) for c in p.get_payload()))
    return p.get_content_type()


def expected_tree(c):
    text, html = c.get('text', '') is not None, c.get('html') is not None
    inl = [i['expect'] for i in c.get('inline', [])]
    att = [a.get('type') or a['expect'] for a in c.get('attach', [])]
    h, loose = 'text/html', inl
    if html and inl:
        h, loose = 'multipart/related(text/html,%s)' % ','.join(inl), []
    body = 'multipart/alternative(text/plain,%s)' % h if text and html else h if html else 'text/plain'
    rest = loose + att
    return 'multipart/mixed(%s)' % ','.join([body] + rest) if rest else body


def check_encoding(part, fail, what):
    cte = str(part.get('content-transfer-encoding', '7bit')).lower()
    lines = part.get_payload().split('\r\n')
    if cte == '7bit':
        if not part.get_payload().isascii() or max(map(len, lines)) > 78:
            fail('%s: 7bit but not ASCII with lines <= 78' % what)
    elif cte in ('quoted-printable', 'base64'):
        if not part.get_payload().isascii() or max(map(len, lines)) > 76:
            fail('%s: %s line over 76 chars or non-ASCII' % (what, cte))
        if cte == 'quoted-printable' and any(l.endswith((' ', '\t')) for l in lines):
            fail('%s: quoted-printable line ends in a blank' % what)
    else:
        fail('%s: unexpected Content-Transfer-Encoding %s' % (what, cte))
    return cte


def check_addresses(msg, top, field, groups, fail):
    want = [pair for g in groups for pair in g]
    hdr = msg[field]
    if not want:
        if hdr is not None:
            fail('%s present but not given' % field)
        return
    if hdr is None:
        fail('%s header missing' % field)
        return
    if hdr.defects:
        fail('%s header defects: %r' % (field, hdr.defects))
    raw = [l for l in unfold(top) if l.lower().startswith(field.encode() + b':')]
    if len(raw) != 1:
        fail('%d raw %s header lines in the top header block' % (len(raw), field))
        return
    fixed = email.message_from_bytes(EW_GAP.sub(rb'\1', raw[0]) + b'\r\n\r\n',
                                     policy=email.policy.default)[field]
    got = [(a.display_name, a.addr_spec) for a in fixed.addresses]
    if got != want:
        fail('%s: decoded %r, expected %r' % (field, got, want))


def check_case(c, data, fail):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    blocks = check_raw(data, msg, fail)
    frm = c.get('frm', BOT)
    check_addresses(msg, blocks[0], 'from', [[frm]], fail)
    check_addresses(msg, blocks[0], 'to', c.get('to', [[('', 'trader@example.com')]]), fail)
    check_addresses(msg, blocks[0], 'cc', c.get('cc', []), fail)
    if msg['bcc'] is not None:
        fail('Bcc header written')
    for _, addr in (p for g in c.get('bcc', []) for p in g):
        if addr.encode() in data:
            fail('Bcc address %s appears in the message' % addr)
    subject = c.get('subject', 'test')
    if str(msg['subject']) != subject:
        fail('Subject decodes to %r, expected %r' % (str(msg['subject']), subject))
    if c.get('readable'):
        raw = [l for l in unfold(blocks[0]) if l.lower().startswith(b'subject:')]
        plain = EW.sub(b'', raw[0]) if raw else b''
        for word in c['readable']:
            if word.encode() not in plain:
                fail('raw Subject lacks the plain ASCII word %r' % word)
    try:
        date = email.utils.parsedate_to_datetime(str(msg['date']))
        now = datetime.datetime.now(datetime.timezone.utc)
        if abs((date - now).total_seconds()) > 86400:
            fail('Date %s is not within a day of now' % msg['date'])
    except (TypeError, ValueError) as e:
        fail('Date %r not parseable: %s' % (msg['date'], e))
    domain = frm[1].rsplit('@', 1)[1]
    if not re.fullmatch(r'<[^<>@\s]+@%s>' % re.escape(domain), str(msg['message-id']).strip(), re.I):
        fail('Message-ID %r is not <...@%s>' % (msg['message-id'], domain))
    if str(msg['mime-version']).strip() != '1.0':
        fail('MIME-Version is %r' % msg['mime-version'])
    for name, value in c.get('headers', []):
        if str(msg[name]) != value or len(msg.get_all(name, [])) != 1:
            fail('header %s decodes to %r, expected %r' % (name, msg.get_all(name), value))
    for p in msg.walk():
        if p.defects:
            fail('parser defects in %s: %r' % (p.get_content_type(), p.defects))
    got_tree, want_tree = tree(msg), expected_tree(c)
    if got_tree != want_tree:
        fail('structure %s, expected %s' % (got_tree, want_tree))
        return
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    for kind in ('text', 'html'):
        body = c.get(kind, 'hello\n' if kind == 'text' else None)
        if body is None:
            continue
        part = leaves.pop(0)
        check_encoding(part, fail, 'text/' + ('plain' if kind == 'text' else 'html'))
        if part.get_content_charset() != 'utf-8':
            fail('%s charset %r, expected utf-8' % (kind, part.get_content_charset()))
        got = part.get_content().replace('\r\n', '\n')
        want = norm(body)
        if got != want and not (body == '' and got == ''):
            i = next((k for k, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
            fail('%s body differs at char %d: got %r, expected %r (lengths %d/%d)'
                 % (kind, i, got[i:i + 30], want[i:i + 30], len(got), len(want)))
    inline = c.get('inline', [])
    for part, at in zip(leaves, inline + c.get('attach', [])):
        what = at['file']
        if check_encoding(part, fail, what) != 'base64':
            fail('%s: attachment not base64' % what)
        try:
            raw = base64.b64decode(part.get_payload().replace('\r\n', ''), validate=True)
        except binascii.Error as e:
            fail('%s: base64 does not decode strictly: %s' % (what, e))
            raw = None
        if raw != at['data'] or part.get_payload(decode=True) != at['data']:
            fail('%s: decoded bytes differ from the file (%s of %d bytes)'
                 % (what, None if raw is None else len(raw), len(at['data'])))
        want_type = at.get('type') or at['expect']
        if part.get_content_type() != want_type:
            fail('%s: Content-Type %s, expected %s' % (what, part.get_content_type(), want_type))
        if 'cid' in at:
            if str(part['content-id']).strip() != '<%s>' % at['cid']:
                fail('%s: Content-ID %r, expected <%s>' % (what, part['content-id'], at['cid']))
            if c.get('html') is None and part.get_content_disposition() != 'inline':
                fail('%s: inline part without html lacks Content-Disposition: inline' % what)
            continue
        name = at.get('name', at['file'])
        if part.get_filename() != name:
            fail('%s: filename %r, expected %r' % (what, part.get_filename(), name))
        if part.get_content_disposition() != 'attachment':
            fail('%s: disposition %r' % (what, part.get_content_disposition()))
        if not name.isascii():  # the RFC 2047 name= fallback must say the same
            block = b'\n'.join(unfold(blocks[[id(p) for p in msg.walk()].index(id(part))]))
            m = re.search(rb'[ \t;]name="(=\?[^"]*\?=)"', block)
            try:
                fallback = m and ''.join(ew_decode(w.group()) for w in EW.finditer(m.group(1)))
            except (ValueError, binascii.Error) as e:
                fallback = 'undecodable: %s' % e
            if fallback != name:
                fail('%s: Content-Type name= fallback %r, expected %r' % (what, fallback, name))


def main():
    global CLI
    if len(sys.argv) != 2:
        sys.exit('usage: oracle.py PATH-TO-smtpmail-send')
    CLI = os.path.abspath(sys.argv[1])
    passed = failed = 0

    def report(name, problems):
        nonlocal passed, failed
        problems = list(dict.fromkeys(problems))  # drop repeats, keep order
        if problems:
            failed += 1
            print('FAIL %s: %s' % (name, ' | '.join(p[:400] for p in problems[:8])
                                   + (' | (+%d more)' % (len(problems) - 8) if len(problems) > 8 else '')))
        else:
            passed += 1
            print('ok   %s' % name)

    for c in CASES:
        problems = []
        try:
            with tempfile.TemporaryDirectory() as tmp:
                r = run(build_argv(c, tmp))
            if r.returncode != 0:
                problems.append('exit %d, stderr: %s' % (r.returncode, r.stderr.decode(errors='replace').strip()))
            else:
                check_case(c, r.stdout, problems.append)
        except Exception as e:  # a crash in the checks is a failure, not an abort
            problems.append('exception %s: %s' % (type(e).__name__, e))
        report(c['name'], problems)

    for name, argv, code, needles in NEGATIVE:
        problems = []
        try:
            with tempfile.TemporaryDirectory() as tmp:
                if argv == 'TEXTFILE':
                    path = os.path.join(tmp, 'bad.txt')
                    with open(path, 'wb') as f:
                        f.write(b'ok line\n\xc0\xaf overlong slash\n')
                    argv = base_args()[:6] + ['--text-file', path, '--dry-run']
                r = run(argv)
            err = r.stderr.decode(errors='replace')
            if r.returncode != code:
                problems.append('exit %d, expected %d (stderr: %s)' % (r.returncode, code, err.strip()))
            if r.stdout:
                problems.append('stdout not empty (%d bytes)' % len(r.stdout))
            if needles and not any(n in err.lower() for n in needles):
                problems.append('stderr %r names none of %r' % (err.strip(), needles))
            if not err.strip():
                problems.append('stderr is empty')
        except Exception as e:
            problems.append('exception %s: %s' % (type(e).__name__, e))
        report(name, problems)

    print('%d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
