#!/usr/bin/python3
"""A small SMTP server for the tests that misbehaves on purpose.

In-process use (what tests/fault_socket.py does):
    srv = FaultServer('reset_in_data')            # listens on 127.0.0.1:0
    ... run a client against srv.port ...
    sessions = srv.sessions(count=1, wait=5)     # connections that ended
    srv.close()                                   # always: stops every thread
Or from a shell:
    /usr/bin/python3 tests/faultd.py MODE [--certs DIR] [--log FILE]
prints one line of JSON, {"port": N}, serves until stdin reaches EOF, and
appends one JSON line per connection to FILE (if given) when it closes.

One listener per mode, on loopback only, on a port the kernel picked. One
thread per connection, each socket with a 15 s timeout, so nothing lingers
past close(). Standard library only (socket, ssl, threading, select).

Modes (MODES below says the same in one line each):
  normal              a well-behaved dialogue (the baseline)
  reset_in_data       354 to DATA, then a TCP reset after the first bytes of
                      the message: no reply to it
  drip                every byte of every reply one second apart, the first
                      0.9 s after the connection (or the command)
  drip_after_greeting the greeting at once, then as "drip"
  silent              accepts, never says a word
  long_line           a greeting line of 1 MiB ("220 xxxx..."), its CRLF
                      held back 2 s (event "client hung up before the end of
                      the line" if the client gave up first)
  http                "HTTP/1.1 400 Bad Request" instead of a greeting
  starttls_plain      220 to STARTTLS, then no TLS: answers whatever arrives
                      with plaintext "250" lines
  no_starttls         offers AUTH but not STARTTLS; otherwise normal
  inject              after STARTTLS sends "220 go ahead\\r\\n250-fake\\r\\n
                      250 AUTH PLAIN\\r\\n" in one packet, then really does TLS
                      (certs/server.pem); after TLS offers AUTH LOGIN only,
                      and refuses AUTH PLAIN, so a client that believed the
                      injected lines fails
  quit_junk           delivers (250), then answers QUIT with "xyzzy"
  quit_close          offers PIPELINING, delivers (250), then closes on QUIT
                      without a reply
  greet_421           greeting "421 4.3.2 ...", then 503 to all but QUIT
  greet_554           greeting "554 5.7.1 ...", likewise
  close_after_greeting  220, then closes

What each connection's record holds (a dict; JSON in the log, bytes as
latin-1 text):
  connection   1, 2, ... in the order of accept
  mode
  commands     [[phase, line], ...]: every line the server read as a command
               (and AUTH continuation lines), CRLF removed; phase "clear"
               or "tls"
  clear        every byte received before TLS (or, in starttls_plain, on the
               link that should have turned into TLS), at most 2 MiB
  after_starttls  the bytes received in clear after the 220 to STARTTLS
  tls          true once a TLS handshake succeeded
  data_octets  bytes of message received after 354 (dot-stuffed, as sent)
  data_complete  the final "CRLF.CRLF" arrived
  delivered    the server answered 250 to the end of the message
  events       short notes: "reset sent", "client closed", "tls: <error>"
"""
import json
import select
import socket
import ssl
import struct
import sys
import threading
import time

MODES = {
    'normal': 'a well-behaved dialogue',
    'reset_in_data': 'TCP reset after the first bytes of the message',
    'drip': 'one byte a second, from the greeting on',
    'drip_after_greeting': 'greeting at once, then one byte a second',
    'silent': 'never sends a greeting',
    'long_line': 'a 1 MiB greeting line',
    'http': 'an HTTP response instead of a greeting',
    'starttls_plain': '220 to STARTTLS, then plaintext',
    'no_starttls': 'STARTTLS not offered',
    'inject': 'plaintext lines after the 220 to STARTTLS, then real TLS',
    'quit_junk': 'delivers, then "xyzzy" to QUIT',
    'quit_close': 'delivers, then closes on QUIT',
    'greet_421': '421 greeting',
    'greet_554': '554 greeting',
    'close_after_greeting': '220, then close',
}

CONN_TIMEOUT = 15.0      # seconds a server socket waits for anything
CLEAR_MAX = 2 * 1024 * 1024
LONG_LINE = 1024 * 1024  # octets of "220 xxx..." before the CRLF
# The first byte of a drip comes 0.9 s late, so bytes arrive at 0.9, 1.9,
# 2.9, 3.9 s...: a client that checks its deadline only between reads
# overshoots a whole-second deadline by 0.9 s, not by a few ms.
DRIP_FIRST = 0.9
INJECTED = b'220 go ahead\r\n250-fake\r\n250 AUTH PLAIN\r\n'
HTTP_REPLY = (b'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n'
              b'Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n')


class Hangup(Exception):
    """The client closed the connection or it broke: this one is over."""


class Link:
    """One connection: a socket (plain or TLS), a line buffer, the record."""

    def __init__(self, sock, record, stop):
        self.sock = sock
        self.buf = b''
        self.rec = record
        self.stop = stop
        self.tls = False

    def _recv(self):
        try:
            data = self.sock.recv(65536)
        except (OSError, ssl.SSLError) as e:
            self.rec['events'].append('recv: %s' % e.__class__.__name__)
            raise Hangup()
        if not data:
            self.rec['events'].append('client closed')
            raise Hangup()
        if not self.tls and len(self.rec['clear']) < CLEAR_MAX:
            self.rec['clear'] += data[:CLEAR_MAX - len(self.rec['clear'])]
        return data

    def line(self):
        """The next line without its CRLF (or LF)."""
        while b'\n' not in self.buf:
            if len(self.buf) > 65536:
                raise Hangup()
            self.buf += self._recv()
        line, self.buf = self.buf.split(b'\n', 1)
        return line.rstrip(b'\r').decode('latin-1')

    def command(self):
        text = self.line()
        self.rec['commands'].append(['tls' if self.tls else 'clear', text])
        return text

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            self.rec['events'].append('send: %s' % e.__class__.__name__)
            raise Hangup()

    def reply(self, *lines):
        """A reply of one or more lines: "250-a", "250 b"."""
        self.send(b''.join(l.encode('latin-1') + b'\r\n' for l in lines))

    def drip(self, data):
        """Sends one byte a second, the first after DRIP_FIRST seconds;
        stops early when the client hangs up or the server stops."""
        for i in range(len(data)):
            if self._pause(DRIP_FIRST if i == 0 else 1.0):
                raise Hangup()
            self.send(data[i:i + 1])

    def _pause(self, seconds):
        """Waits `seconds`, recording what the client sends; True if the
        server is stopping. Raises Hangup if the client hangs up."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.stop.is_set():
                return True
            ready, _, _ = select.select([self.sock], [], [], min(0.1, max(0.0, end - time.monotonic())))
            if ready:
                self.buf += self._recv()   # raises Hangup at EOF
        return False

    def wait_hangup(self, seconds):
        """True if the client closes the connection within `seconds`
        (what it sends meanwhile is recorded)."""
        try:
            self._pause(seconds)
        except Hangup:
            return True
        return False

    def data(self, limit=None):
        """Reads the message after 354 until CRLF.CRLF; with `limit`, stops
        once that many octets arrived. Returns True if the end arrived."""
        got = self.buf
        self.buf = b''
        while True:
            end = got.find(b'\r\n.\r\n')
            if end >= 0:
                self.rec['data_octets'] += end + 2
                self.buf = got[end + 5:]
                self.rec['data_complete'] = True
                return True
            if limit is not None and self.rec['data_octets'] + len(got) >= limit:
                self.rec['data_octets'] += len(got)
                return False
            # Keep the last 4 bytes: the end marker may straddle two reads.
            if len(got) > 4:
                self.rec['data_octets'] += len(got) - 4
                got = got[-4:]
            got += self._recv()

    def reset(self):
        """Closes with a TCP RST (SO_LINGER 0), not a FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        self.sock.close()
        self.rec['events'].append('reset sent')
        raise Hangup()


def new_record(n, mode):
    return {'connection': n, 'mode': mode, 'commands': [], 'clear': b'',
            'after_starttls': b'', 'tls': False, 'data_octets': 0,
            'data_complete': False, 'delivered': False, 'events': []}


class FaultServer:
    """One listener on 127.0.0.1 (port 0) in one mode. `certs`: the directory
    tests/mkcerts.sh wrote (needed by "inject"). `log_path`: a JSON lines
    file that gets each connection's record when it closes."""

    def __init__(self, mode, certs=None, log_path=None):
        if mode not in MODES:
            raise ValueError('unknown mode %r' % mode)
        self.mode = mode
        self.ctx = None
        if mode == 'inject':
            if not certs:
                raise ValueError('mode "inject" needs certs')
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certs + '/server.pem', certs + '/server.key')
        self.log_path = log_path
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done = []            # records of connections that ended
        self.open = {}            # connection number -> socket
        self.threads = []
        self.count = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.acceptor = threading.Thread(target=self._accept, name='faultd-accept', daemon=True)
        self.acceptor.start()

    # ---- the public side ---------------------------------------------------

    def sessions(self, count=1, wait=5.0):
        """The records of connections that ended; waits up to `wait` seconds
        for at least `count` of them."""
        end = time.monotonic() + wait
        while True:
            with self.lock:
                if len(self.done) >= count or time.monotonic() >= end:
                    return sorted(self.done, key=lambda r: r['connection'])
            time.sleep(0.02)

    def close(self):
        """Stops accepting, cuts every open connection and joins the threads
        (at most a few seconds)."""
        self.stop.set()
        self.acceptor.join(5)
        with self.lock:
            socks = list(self.open.values())
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(5)
        self.listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the server side ---------------------------------------------------

    def _accept(self):
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(CONN_TIMEOUT)
            with self.lock:
                self.count += 1
                n = self.count
                self.open[n] = sock
            t = threading.Thread(target=self._serve, args=(sock, n),
                                 name='faultd-%d' % n, daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, sock, n):
        rec = new_record(n, self.mode)
        link = Link(sock, rec, self.stop)
        try:
            getattr(self, '_mode_' + self.mode)(link)
        except Hangup:
            pass
        except Exception as e:   # a bug here must show, not hang the test
            rec['events'].append('server error: %r' % e)
        finally:
            try:
                link.sock.close()
            except OSError:
                pass
            with self.lock:
                self.open.pop(n, None)
                self.done.append(rec)
                if self.log_path:
                    with open(self.log_path, 'a') as f:
                        f.write(json.dumps(to_json(rec)) + '\n')

    # A normal SMTP dialogue, bent by the arguments. caps: EHLO keywords.
    # Returns when the client quits or hangs up.
    def _smtp(self, link, caps, *, on_starttls=None, on_data=None, on_quit=None,
              mechs=('PLAIN', 'LOGIN'), send=None):
        send = send or link.reply
        while True:
            cmd = link.command()
            verb = cmd.split(' ', 1)[0].upper()
            if verb in ('EHLO', 'HELO'):
                lines = ['faultd greets you'] + list(caps)
                send(*['250%s%s' % ('-' if i < len(lines) - 1 else ' ', l)
                       for i, l in enumerate(lines)])
            elif verb == 'STARTTLS' and on_starttls:
                on_starttls(link)
            elif verb == 'AUTH':
                self._auth(link, cmd, mechs, send)
            elif verb in ('MAIL', 'RCPT', 'RSET', 'NOOP'):
                send('250 2.0.0 ok')
            elif verb == 'DATA':
                send('354 go ahead')
                if on_data:
                    on_data(link)
                else:
                    link.data()
                    link.rec['delivered'] = True
                    send('250 2.0.0 queued as faultd')
            elif verb == 'QUIT':
                if on_quit:
                    on_quit(link)
                else:
                    send('221 2.0.0 bye')
                return
            else:
                send('502 5.5.2 not here')

    def _auth(self, link, cmd, mechs, send):
        words = cmd.split()
        mech = words[1].upper() if len(words) > 1 else ''
        if mech not in mechs:
            send('504 5.5.4 mechanism not offered')
        elif mech == 'PLAIN':
            if len(words) < 3:
                send('334 ')
                link.command()
            send('235 2.7.0 ok')
        else:  # LOGIN
            send('334 VXNlcm5hbWU6')
            link.command()
            send('334 UGFzc3dvcmQ6')
            link.command()
            send('235 2.7.0 ok')

    # ---- the modes ---------------------------------------------------------

    def _mode_normal(self, link):
        link.reply('220 faultd ESMTP')
        self._smtp(link, ['PIPELINING', 'AUTH PLAIN LOGIN', '8BITMIME'])

    def _mode_reset_in_data(self, link):
        link.reply('220 faultd ESMTP')

        def cut(l):
            l.data(limit=1)   # whatever the first read brings, at least 1 octet
            l.reset()
        self._smtp(link, ['8BITMIME'], on_data=cut)

    def _mode_drip(self, link):
        link.drip(b'220 faultd drips\r\n')
        self._smtp(link, ['8BITMIME'], send=lambda *ls: link.drip(
            b''.join(l.encode() + b'\r\n' for l in ls)))

    def _mode_drip_after_greeting(self, link):
        link.reply('220 faultd ESMTP')
        self._smtp(link, ['8BITMIME'], send=lambda *ls: link.drip(
            b''.join(l.encode() + b'\r\n' for l in ls)))

    def _mode_silent(self, link):
        while True:
            link._recv()   # record anything the client says; never answer

    def _mode_long_line(self, link):
        # The CRLF waits 2 s: a client that keeps reading until the line
        # ends holds 1 MiB meanwhile; a bounded one has hung up.
        try:
            link.send(b'220 ' + b'x' * LONG_LINE)
            hung_up = link.wait_hangup(2.0)
        except Hangup:
            hung_up = True
        if hung_up:
            link.rec['events'].append('client hung up before the end of the line')
            raise Hangup()
        link.send(b'\r\n')
        while True:
            link.command()

    def _mode_http(self, link):
        link.send(HTTP_REPLY)
        while True:
            link.command()

    def _mode_starttls_plain(self, link):
        link.reply('220 faultd ESMTP')

        def no_tls(l):
            l.reply('220 2.0.0 ready to start TLS')
            start = len(l.rec['clear'])
            # Whatever comes now (a ClientHello, or commands from a client
            # that did not start TLS) gets plaintext SMTP replies.
            while True:
                if l.buf:
                    l.buf = b''
                else:
                    l._recv()
                l.rec['after_starttls'] = l.rec['clear'][start:]
                l.reply('250 2.0.0 still plaintext, ok')
        self._smtp(link, ['STARTTLS', 'AUTH PLAIN LOGIN', '8BITMIME'], on_starttls=no_tls)

    def _mode_no_starttls(self, link):
        link.reply('220 faultd ESMTP')
        self._smtp(link, ['PIPELINING', 'AUTH PLAIN LOGIN', '8BITMIME'])

    def _mode_inject(self, link):
        link.reply('220 faultd ESMTP')

        def tls(l):
            # The injection rides in the same write as the 220 (RFC 3207 4.2
            # says the client must drop it).
            l.send(INJECTED)
            if l.buf:
                l.rec['events'].append('client sent %d bytes with STARTTLS' % len(l.buf))
                l.buf = b''
            try:
                l.sock = self.ctx.wrap_socket(l.sock, server_side=True)
            except (OSError, ssl.SSLError) as e:
                l.rec['events'].append('tls: %s' % e)
                raise Hangup()
            with self.lock:
                self.open[l.rec['connection']] = l.sock
            l.tls = l.rec['tls'] = True
            # After TLS the real offer: AUTH LOGIN only, not the PLAIN of
            # the injected lines.
            self._smtp(l, ['PIPELINING', 'AUTH LOGIN', '8BITMIME'], mechs=('LOGIN',))
            raise Hangup()   # the TLS dialogue ended with QUIT or a hangup
        self._smtp(link, ['STARTTLS', '8BITMIME'], on_starttls=tls, mechs=())

    def _mode_quit_junk(self, link):
        link.reply('220 faultd ESMTP')
        self._smtp(link, ['8BITMIME'], on_quit=lambda l: l.send(b'xyzzy\r\n'))

    def _mode_quit_close(self, link):
        link.reply('220 faultd ESMTP')
        self._smtp(link, ['PIPELINING', '8BITMIME'], on_quit=lambda l: None)

    def _greet_refusal(self, link, greeting):
        link.reply(greeting)
        while True:
            if link.command().upper() == 'QUIT':
                link.reply('221 2.0.0 bye')
                return
            link.reply('503 5.5.1 go away')

    def _mode_greet_421(self, link):
        self._greet_refusal(link, '421 4.3.2 faultd busy, try again later')

    def _mode_greet_554(self, link):
        self._greet_refusal(link, '554 5.7.1 faultd does not want you')

    def _mode_close_after_greeting(self, link):
        link.reply('220 faultd ESMTP')
        link.rec['events'].append('closed after greeting')


def to_json(rec):
    return {k: v.decode('latin-1') if isinstance(v, bytes) else v for k, v in rec.items()}


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description='SMTP server that misbehaves on purpose.')
    p.add_argument('mode', choices=sorted(MODES))
    p.add_argument('--certs', help='directory written by tests/mkcerts.sh')
    p.add_argument('--log', help='JSON lines file: one line per connection')
    args = p.parse_args(argv)
    srv = FaultServer(args.mode, certs=args.certs, log_path=args.log)
    try:
        print(json.dumps({'port': srv.port}), flush=True)
        sys.stdin.read()   # until EOF
    finally:
        srv.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
