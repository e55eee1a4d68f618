#!/usr/bin/python3
"""Independent oracle for smtpmail-send: Python's email package decides.

Usage: /usr/bin/python3 tests/oracle.py build/smtpmail-send

Each case in CASES is rendered with --dry-run, parsed with
email.message_from_bytes(policy=email.policy.default) (harness.parse_message),
and every decoded
value is compared with the case's own inputs (never with the tool's
output). Raw checks cover CRLF, line lengths and RFC 2047 encoded-words.
NEGATIVE lists inputs the CLI must refuse. The runner and the subprocess
wrapper come from tests/harness.py: "ok   NAME" or "FAIL NAME: reason" per
case, last line "N passed, M failed". Standard library only.
"""
import base64, binascii, datetime, email.utils, functools, os, re, tempfile

import harness
from harness import first_difference, parse_message

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

# Each case: what to render (its flags and files), compared with what Python
# reads back. Defaults: from BOT, to trader@example.com, subject "test",
# text "hello\n", no html.
CASES = [
    dict(name='01 a Chinese subject, display name and text decode back to the input',
         frm=('交易提醒机器人', 'bot@qq.com'), to=[[('交易员', 'trader@qq.com')]],
         subject='交易信号：买入 rb2405 @ 3650',
         text='信号：买入 rb2405 @ 3650\n策略：突破-15分钟\n'),
    dict(name='02 a long mixed subject (ASCII, CJK, emoji, 90-char word) folds within 78 '
              'octets, decodes back, its ASCII words readable',
         subject=SUBJ2, readable=['BTC', 'end']),
    dict(name='03a a 300-char ASCII subject folds within 78 octets and decodes back',
         subject=SUBJ3, readable=['word000', 'word035']),
    dict(name='03b a 300-char CJK+emoji subject without spaces folds into whole encoded-words '
              'and decodes back', subject=SUBJ3CN),
    dict(name='04 display names with specials, lists and repeated flags decode back; '
              'Bcc appears nowhere',
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
    dict(name='05 body lines starting with ".", "From ", "--" come back unchanged',
         text='.\n.leading dot\n..two dots\nFrom the desk\n>From quoted\n--\n-- \n--boundary-like--\nend',
         html='<p>x</p>\n.\nFrom here\n--\n'),
    dict(name='06 text lines over 998 octets (ASCII and CJK) are encoded within the limit '
              'and decode back', text_via='file',
         text='a' * 5000 + '\n' + '中' * 1000 + '\nshort\n' + 'b' * 999),
    dict(name='07 mixed line ends come back as one kind; trailing blanks and "=" signs '
              'survive', text_via='file',
         text='crlf\r\nlf\ncr\rtrailing spaces   \ntab\t\n\tleading tab\n'
              '= sign a=b ==\n=3D=\n=?utf-8?q?not_encoded?=\r\r\n\n\rlast  '),
    dict(name='08 a binary attachment with all 256 byte values decodes back byte-exact',
         attach=[dict(file='blob.bin', data=bytes(range(256)) * 40,
                       type='application/octet-stream')]),
    dict(name='09 non-ASCII and long attachment names decode back, the name= fallback too',
         attach=[dict(file='a.csv', data=CSV, name='成交回报-2024年.csv', expect='text/csv'),
                 dict(file='b.csv', data=CSV, name=LONG_CN_NAME, expect='text/csv'),
                 dict(file='c.csv', data=CSV, name=LONG_ASCII_NAME, expect='text/csv')]),
    dict(name='10 text + html + inline PNG + CSV attachment nest as mixed(alternative('
              'plain, related(html, png)), csv), each part back', html_via='file',
         text='价格图见附件\n',
         html='<p>价格图</p>\n<img src="cid:chart1" alt="chart">\n',
         inline=[dict(file='chart.png', data=PNG, cid='chart1', expect='image/png')],
         attach=[dict(file='fills.csv', data=CSV, expect='text/csv')]),
    dict(name='11 html only + inline image: related(html, jpeg), no text/plain part', text=None,
         html='<html><body><img src="cid:logo"><p>只有HTML</p></body></html>',
         inline=[dict(file='logo.jpg', data=b'\xff\xd8\xff\xe0' + bytes(300), cid='logo',
                      expect='image/jpeg')]),
    dict(name='12 extra headers (one in CJK) decode back, once each', headers=[('X-Strategy', '突破 v2'), ('X-Order-Id', '12345')]),
    dict(name='13 an empty text stays an empty text/plain part', text=''),
    dict(name='14 an empty attachment file gives an empty attachment',
         attach=[dict(file='empty.bin', data=b'', expect='application/octet-stream')]),
    dict(name='15 an inline image without html is a Content-Disposition: inline part',
         text='see image\n',
         inline=[dict(file='pic.png', data=PNG, cid='pic1', expect='image/png')]),
]


def base_args(subject='s', extra=(), frm='Bot <bot@example.com>', to='a@example.com',
              text='hi', text_file=None):
    """A small --dry-run; frm=None leaves --from out, text=None --text."""
    return ((['--from', frm] if frm is not None else []) + ['--to', to, '--subject', subject]
            + (['--text', text] if text is not None else [])
            + (['--text-file', text_file] if text_file else []) + [*extra, '--dry-run'])


def with_overlong_text_file(tmp):
    """base_args with --text-file holding an overlong UTF-8 sequence (C0 AF,
    a "/" in two bytes)."""
    path = os.path.join(tmp, 'bad.txt')
    with open(path, 'wb') as f:
        f.write(b'ok line\n\xc0\xaf overlong slash\n')
    return base_args(text=None, text_file=path)


# (name, argv or a function of a temporary directory giving it, exit code,
# any of these (lower-case) in stderr). Each must also leave stdout empty
# and say something on stderr.
NEGATIVE = [
    ('N1 a subject with LF is refused (exit 2, names the subject): no header injection',
     base_args('a\nBcc: x@evil.com'), 2, ['subject']),
    ('N2 a --header value with CR is refused (exit 2, names the header)',
     base_args(extra=['--header', 'X-A: a\rb']), 2, ['header', 'x-a']),
    ('N3 an invalid UTF-8 subject is refused (exit 2, names the subject)',
     base_args(b'\xff\xfe'), 2, ['subject']),
    ('N4 a missing attachment file is refused (exit 2, names the path)',
     base_args(extra=['--attach', '/nonexistent/dir/missing.pdf']),
     2, ['/nonexistent/dir/missing.pdf']),
    ('N5 a malformed --to address is refused (exit 2, names it)',
     base_args(to='not-an-address'), 2, ['--to', 'to[', 'not-an-address']),
    ('N6 --header cannot replace Subject (exit 2)',
     base_args(extra=['--header', 'Subject: x']), 2, ['header', 'subject']),
    ('N7 an overlong UTF-8 sequence in --text-file is refused (exit 2, names the text)',
     with_overlong_text_file, 2, ['text']),
    ('U1 an unknown flag is a usage error (exit 1)', base_args(extra=['--frobnicate']), 1, []),
    ('U2 a missing --from is a usage error (exit 1)', base_args(frm=None), 1, []),
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


def block_of(blocks, msg, part):
    """The raw header block of `part` (of `msg` itself: the top one), from
    header_blocks(): its blocks follow msg.walk()."""
    return blocks[[id(p) for p in msg.walk()].index(id(part))]


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
    (line,) = raw
    fixed = parse_message(EW_GAP.sub(rb'\1', line) + b'\r\n\r\n')[field]
    got = [(a.display_name, a.addr_spec) for a in fixed.addresses]
    if got != want:
        fail('%s: decoded %r, expected %r' % (field, got, want))


def check_case(c, data, fail):
    msg = parse_message(data)
    blocks = check_raw(data, msg, fail)
    top = block_of(blocks, msg, msg)
    frm = c.get('frm', BOT)
    check_addresses(msg, top, 'from', [[frm]], fail)
    check_addresses(msg, top, 'to', c.get('to', [[('', 'trader@example.com')]]), fail)
    check_addresses(msg, top, 'cc', c.get('cc', []), fail)
    if msg['bcc'] is not None:
        fail('Bcc header written')
    for _, addr in (p for g in c.get('bcc', []) for p in g):
        if addr.encode() in data:
            fail('Bcc address %s appears in the message' % addr)
    subject = c.get('subject', 'test')
    if str(msg['subject']) != subject:
        fail('Subject decodes to %r, expected %r' % (str(msg['subject']), subject))
    if c.get('readable'):
        raw = [l for l in unfold(top) if l.lower().startswith(b'subject:')]
        plain = EW.sub(b'', next(iter(raw), b''))   # what a reader sees unencoded
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
            i = first_difference(got, want)
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
            block = b'\n'.join(unfold(block_of(blocks, msg, part)))
            m = re.search(rb'[ \t;]name="(=\?[^"]*\?=)"', block)
            try:
                fallback = m and ''.join(ew_decode(w.group()) for w in EW.finditer(m.group(1)))
            except (ValueError, binascii.Error) as e:
                fallback = 'undecodable: %s' % e
            if fallback != name:
                fail('%s: Content-Type name= fallback %r, expected %r' % (what, fallback, name))


def rendered(c, cli, tmp, fail):
    """Case c rendered by the CLI with --dry-run must read back as given."""
    with tempfile.TemporaryDirectory(dir=tmp) as files:
        r = harness.run([cli] + build_argv(c, files))
    if r.returncode != 0:
        fail('exit %d, stderr: %s' % (r.returncode, r.err.strip()))
    else:
        check_case(c, r.stdout, fail)


def refused(argv, code, needles, cli, tmp, fail):
    """The CLI must exit `code`, print nothing on stdout and say why on
    stderr (one of `needles`, if any)."""
    with tempfile.TemporaryDirectory(dir=tmp) as files:
        r = harness.run([cli] + (argv(files) if callable(argv) else argv))
    err = r.err
    if r.returncode != code:
        fail('exit %d, expected %d (stderr: %s)' % (r.returncode, code, err.strip()))
    if r.stdout:
        fail('stdout not empty (%d bytes)' % len(r.stdout))
    if needles and not any(n in err.lower() for n in needles):
        fail('stderr %r names none of %r' % (err.strip(), needles))
    if not err.strip():
        fail('stderr is empty')


suite = harness.Suite('oracle.py PATH-TO-smtpmail-send')
for _c in CASES:
    suite.add(_c['name'], functools.partial(rendered, _c))
for _name, _argv, _code, _needles in NEGATIVE:
    suite.add(_name, functools.partial(refused, _argv, _code, _needles))


def setup(cli, tmp, stack):
    cli = os.path.abspath(cli)
    return lambda case, fail: case.fn(cli, tmp, fail)


if __name__ == '__main__':
    raise SystemExit(suite.main(setup))
