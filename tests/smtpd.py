#!/usr/bin/python3
"""Real SMTP servers (Debian's aiosmtpd 1.4.3) for the TLS and AUTH tests.

Usage:
  /usr/bin/python3 tests/smtpd.py --certs DIR --maildir OUT
        [--password PW] [--only NAME[,NAME...]] [--no-stdin] [--verbose]

DIR is what tests/mkcerts.sh wrote. Every server listens on 127.0.0.1 on a
port the kernel picked (bind to port 0, so no race). Once all are listening
ONE line of JSON goes to stdout, server name -> port, for example
  {"tls": 41001, "starttls": 41002, "plain": 41003, "tls_wronghost": 41004,
   "tls_expired": 41005, "tls_selfsigned": 41006, "starttls_wronghost": 41007}
(only the servers started, in that order). Then it serves until stdin
reaches EOF or SIGTERM / SIGINT / SIGHUP arrives, closes every listener and
connection, and exits 0 (in well under a second). Errors go to stderr; if a
server cannot start, nothing is printed on stdout and the exit status is 1
(2 for bad arguments). One thread, one asyncio loop: no helper threads.

stdin must be a pipe (or a terminal): /dev/null and regular files are at EOF
already, so the servers would stop at once (a message says so on stderr).
A shell script that starts this in the background (whose stdin is then
/dev/null) passes --no-stdin and stops it with kill; with --no-stdin it also
stops when its parent process exits.

Servers (account: user "bot@example.com", password --password, default
"s3cret-authcode"; a wrong user or password gets "535 5.7.8"):
  tls            implicit TLS (TLS from the first byte, as on port 465),
                 server.pem; AUTH PLAIN and LOGIN; AUTH required for MAIL.
  starttls       plaintext greeting; STARTTLS offered and required (anything
                 but EHLO/NOOP/QUIT/STARTTLS before it gets "530 Must issue a
                 STARTTLS command first"); AUTH offered only after TLS and
                 required for MAIL.
  plain          no TLS; AUTH PLAIN/LOGIN offered in plaintext, not required.
  tls_wronghost, tls_expired, tls_selfsigned   as "tls" with wronghost.pem,
                 expired.pem, selfsigned.pem.
  starttls_wronghost   as "starttls" with wronghost.pem.

What aiosmtpd 1.4.3 advertises (EHLO reply, hostname "localhost"):
  250-localhost
  250-SIZE 33554432
  250-8BITMIME
  250-SMTPUTF8
  250-STARTTLS              only "starttls*", only before TLS
  250-AUTH LOGIN PLAIN      "tls*" and "plain"; "starttls*" only after TLS
  250 HELP
No PIPELINING, no CHUNKING (BDAT is "500 ... not recognized"), no
ENHANCEDSTATUSCODES (yet some replies carry one: "535 5.7.8 ...", "530 5.7.0
Authentication required"; others do not: "250 OK"). The client must work
without PIPELINING and CHUNKING against these servers. After STARTTLS the
session is reset (RFC 3207 4.2): MAIL before a new EHLO gets "503 Error: send
HELO first". A DATA line longer than 1001 octets with its CRLF (999 + CRLF is
accepted) gets "500 Line too long (see RFC5321 4.5.3.1.6)" after the final
dot; more than 32 MiB of data gets "552 Error: Too much mail data".

Why not aiosmtpd's Controller: it runs a thread per server and, after
binding, connects to itself at (hostname, port) to force its lazy factory;
with port 0 that self-connection goes to port 0 and fails. Here the loop
binds port 0 with loop.create_server (what Controller does inside) and
builds one SMTP instance up front to catch bad parameters.

Output under OUT/<server>/ (created at start):
  <n>.eml   the message exactly as received after DATA, with dot-stuffing
            removed (RFC 5321 4.5.2) and the CRLF before the final dot kept.
  <n>.json  {"server", "n", "mail_from", "rcpt_tos": [...], "mail_options",
            "rcpt_options", "auth_user" (null if no AUTH), "auth_mechanism",
            "tls": "implicit" | "starttls" | null, "tls_version", "cipher",
            "ehlo", "connection", "size"}
  mail_options are as aiosmtpd keeps them, upper-cased ("SIZE=219",
  "BODY=8BITMIME", "SMTPUTF8"); rcpt_tos include Bcc recipients; "ehlo" is
  the argument of the last EHLO/HELO; "connection" matches sessions.jsonl.
  n counts from 1 (after any <n>.eml already there). Both files are written
  to a temporary name and renamed, the .json first and the .eml last, and
  before the "250" reply to the final dot: once the client has its 250, or
  once <n>.eml exists, both files are complete.
  sessions.jsonl  one line per connection, appended when it closes:
            {"connection", "peer_port", "tls", "tls_version", "auth_user",
             "messages": [n...], "plaintext_auth": bool,
             "transcript": [["C"|"S", tls_bool, line], ...]}
            "C" lines are what the client sent, "S" lines the server's
            replies; AUTH payloads become "***", message text becomes
            "<message: N bytes>". plaintext_auth is true if the client sent
            an AUTH command over a link without TLS. Written when the
            connection closes, so poll for it.
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import (SMTP, AuthResult, LoginPassword, TLSSetupException,
                           syntax)

USER = "bot@example.com"
DEFAULT_PASSWORD = "s3cret-authcode"
HOSTNAME = "localhost"   # socket.getfqdn(), aiosmtpd's default, may hit DNS
TRANSCRIPT_MAX = 2000    # entries kept per connection

# name -> (mode, certificate basename or None); the order of the JSON line.
SERVERS = {
    "tls": ("implicit", "server"),
    "starttls": ("starttls", "server"),
    "plain": ("plain", None),
    "tls_wronghost": ("implicit", "wronghost"),
    "tls_expired": ("implicit", "expired"),
    "tls_selfsigned": ("implicit", "selfsigned"),
    "starttls_wronghost": ("starttls", "wronghost"),
}

log = logging.getLogger("smtpd.py")


def _text(b):
    return b.decode("utf-8", "backslashreplace")


def _atomic_write(path, data):
    d, base = os.path.split(path)
    tmp = os.path.join(d, "." + base + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Mailbox:
    """One server's output directory: numbered messages and session log."""

    def __init__(self, name, root):
        self.name = name
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        used = [int(f[:-4]) for f in os.listdir(self.dir)
                if f.endswith(".eml") and f[:-4].isdigit()]
        self.next_n = max(used, default=0) + 1
        self.next_connection = 1

    def store(self, content, meta):
        n = self.next_n
        self.next_n += 1
        meta = dict(server=self.name, n=n, size=len(content), **meta)
        body = (json.dumps(meta, indent=1) + "\n").encode()
        _atomic_write(os.path.join(self.dir, "%d.json" % n), body)
        _atomic_write(os.path.join(self.dir, "%d.eml" % n), content)
        return n

    def log_session(self, record):
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(os.path.join(self.dir, "sessions.jsonl"),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)   # one write: whole lines even if appended to
        finally:
            os.close(fd)


class Handler:
    """aiosmtpd handler: stores each accepted message before replying 250."""

    def __init__(self, mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        if content is None:   # decode_data=False keeps bytes; be safe anyway
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        tls_kind, version, cipher = server.tls_info()
        meta = dict(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            mail_options=list(envelope.mail_options),
            rcpt_options=list(envelope.rcpt_options),
            auth_user=server.auth_user,
            auth_mechanism=server.auth_mechanism,
            tls=tls_kind, tls_version=version, cipher=cipher,
            ehlo=session.host_name,
            connection=server.connection_id,
        )
        try:
            n = self.mailbox.store(bytes(content), meta)
        except OSError as e:
            log.error("%s: cannot store message: %s", self.mailbox.name, e)
            return "451 4.3.0 Cannot store message"
        server.messages.append(n)
        return "250 OK"


class Authenticator:
    """The one test account; records who logged in on the connection."""

    def __init__(self, password):
        self.user = USER.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (auth_data.login == self.user
              and auth_data.password == self.password)
        if not ok:
            return AuthResult(success=False, handled=False)
        server.auth_user = _text(auth_data.login)
        server.auth_mechanism = mechanism
        return AuthResult(success=True, auth_data=auth_data)


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP, unchanged on the wire, plus a transcript.

    data_received sees the client's bytes after TLS decryption (implicit TLS
    and after STARTTLS) and before it in plaintext; push sees every reply.
    """

    def __init__(self, handler, *, mailbox, implicit_tls, **kwargs):
        super().__init__(handler, **kwargs)
        self.mailbox = mailbox
        self.implicit_tls = implicit_tls
        self.connection_id = None
        self.auth_user = None
        self.auth_mechanism = None
        self.messages = []
        self.transcript = []
        self.plaintext_auth = False
        self._partial = b""
        self._in_data = False
        self._data_bytes = 0
        self._auth_continues = False
        self._peer_port = None
        self._logged = False
        self._tls_seen = (None, None, None)

    # --- state -----------------------------------------------------------
    def is_tls(self):
        return self.implicit_tls or self._tls_protocol is not None

    def tls_info(self):
        """("implicit"|"starttls"|None, version, cipher name)."""
        if not self.is_tls():
            return (None, None, None)
        kind = "implicit" if self.implicit_tls else "starttls"
        try:
            obj = self.transport.get_extra_info("ssl_object")
        except AttributeError:   # no transport, or a closed TLS transport
            obj = None
        if obj is None:   # handshake not done, or connection gone
            return self._tls_seen if self._tls_seen[0] else (kind, None, None)
        c = obj.cipher()
        self._tls_seen = (kind, obj.version(), c[0] if c else None)
        return self._tls_seen

    def _note(self, who, text):
        if len(self.transcript) < TRANSCRIPT_MAX:
            self.transcript.append([who, self.is_tls(), text])

    # --- wire ------------------------------------------------------------
    def connection_made(self, transport):
        if self.connection_id is None:   # not again for STARTTLS's TLS layer
            self.connection_id = self.mailbox.next_connection
            self.mailbox.next_connection += 1
            peer = transport.get_extra_info("peername")
            self._peer_port = peer[1] if peer else None
            LIVE.add(self)
        super().connection_made(transport)
        # Implicit TLS: called after the handshake. STARTTLS: called again,
        # with the TLS transport, once its handshake is done.
        if self.is_tls():
            self.tls_info()

    def data_received(self, data):
        try:
            self._record_client(data)
        except Exception:    # never let bookkeeping break the real server
            log.exception("transcript")
        super().data_received(data)

    def _record_client(self, data):
        buf = self._partial + data
        lines = buf.split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > 65536:   # no CRLF in sight: count, drop
            self._data_bytes += len(self._partial)
            self._partial = b""
        for raw in lines:
            line = raw + b"\n"
            if self._in_data:
                if line == b".\r\n":
                    self._in_data = False
                    self._note("C", "<message: %d bytes>" % self._data_bytes)
                else:
                    self._data_bytes += len(line)
                continue
            if self._auth_continues:
                self._auth_continues = False
                self._note("C", "***")
                continue
            text = _text(raw.rstrip(b"\r"))
            words = text.split(None, 2)
            if words and words[0].upper() == "AUTH":
                if not self.is_tls():
                    self.plaintext_auth = True
                text = " ".join(words[:2] + (["***"] if len(words) > 2 else []))
            self._note("C", text)

    async def push(self, status):
        text = status.decode("utf-8", "backslashreplace") \
            if isinstance(status, (bytes, bytearray)) else str(status)
        self._note("S", text)
        if text.startswith("354"):
            self._in_data = True
            self._data_bytes = 0
        elif text.startswith("334"):
            self._auth_continues = True
        await super().push(status)

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg):
        self._auth_continues = False
        await super().smtp_AUTH(arg)
        self._auth_continues = False

    async def handle_exception(self, error):
        if isinstance(error, TLSSetupException):
            # The client gave up the STARTTLS handshake, typically because it
            # rejected the certificate (starttls_wronghost): expected, and
            # aiosmtpd closes the connection itself.
            cause = error.__cause__ or error
            self._note("S", "<TLS handshake failed: %s>" % cause)
            log.info("%s: STARTTLS handshake failed: %s", self.mailbox.name, cause)
            return "500 TLS handshake failed"
        return await super().handle_exception(error)

    def connection_lost(self, error):
        try:
            self._write_session()
        except Exception:   # bookkeeping must not break the real server
            log.exception("%s: session log", self.mailbox.name)
        LIVE.discard(self)
        super().connection_lost(error)

    def _write_session(self):
        if self._logged:
            return
        self._logged = True
        kind, version, _ = self.tls_info()
        if self._partial:
            self._note("C", "<unterminated: %r>" % self._partial[:200])
        record = dict(connection=self.connection_id, peer_port=self._peer_port,
                      tls=kind, tls_version=version, auth_user=self.auth_user,
                      messages=self.messages,
                      plaintext_auth=self.plaintext_auth,
                      transcript=self.transcript)
        try:
            self.mailbox.log_session(record)
        except OSError as e:
            log.error("%s: cannot write session log: %s", self.mailbox.name, e)

    def abort(self):
        """Drop the connection at once (shutdown): no TLS close_notify wait."""
        for t in (self.transport, self._original_transport):
            if t is not None:
                try:
                    t.abort()
                except Exception:
                    pass


LIVE = set()


def server_context(certs, base):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)   # CERT_NONE: no client certs
    ctx.load_cert_chain(os.path.join(certs, base + ".pem"),
                        os.path.join(certs, base + ".key"))
    return ctx


def smtp_kwargs(mode, ctx, authenticator):
    kw = dict(hostname=HOSTNAME, decode_data=False, enable_SMTPUTF8=True,
              authenticator=authenticator)
    if mode == "implicit":
        # aiosmtpd only knows TLS it started itself (STARTTLS): over implicit
        # TLS it would refuse AUTH with "538 Encryption required" and not
        # advertise it. The link is TLS from the first byte, so this is safe.
        kw.update(auth_required=True, auth_require_tls=False)
    elif mode == "starttls":
        kw.update(tls_context=ctx, require_starttls=True, auth_required=True,
                  auth_require_tls=True)
    else:
        kw.update(auth_required=False, auth_require_tls=False)
    return kw


async def serve(args, names):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    loop.set_exception_handler(exception_handler(args.verbose))

    authenticator = Authenticator(args.password)
    servers, ports = [], {}
    try:
        for name in names:
            mode, cert = SERVERS[name]
            ctx = server_context(args.certs, cert) if cert else None
            kw = smtp_kwargs(mode, ctx, authenticator)
            mailbox = Mailbox(name, args.maildir)

            def factory(kw=kw, mailbox=mailbox, mode=mode):
                return RecordingSMTP(Handler(mailbox), mailbox=mailbox,
                                     implicit_tls=(mode == "implicit"),
                                     loop=loop, **kw)
            # Build one now so a bad parameter fails here, not per client.
            factory()
            srv = await loop.create_server(
                factory, host="127.0.0.1", port=0, reuse_address=True,
                ssl=ctx if mode == "implicit" else None,
                ssl_handshake_timeout=10 if mode == "implicit" else None)
            servers.append(srv)
            ports[name] = srv.sockets[0].getsockname()[1]
    except Exception as e:
        print("smtpd.py: cannot start %s: %s" % (name, e), file=sys.stderr)
        for s in servers:
            s.close()
        return 1

    watch_stdin(loop, stop, args.no_stdin)
    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()

    await stop.wait()

    for s in servers:
        s.close()
    for p in list(LIVE):
        p.abort()
    # Let connection_lost run (it writes sessions.jsonl), briefly.
    for _ in range(50):
        if not LIVE:
            break
        await asyncio.sleep(0.01)
    for p in list(LIVE):   # never got connection_lost: record anyway
        p._write_session()
    return 0


def watch_stdin(loop, stop, disabled):
    if disabled:
        # Still stop if our parent dies without signalling us (reparenting).
        parent = os.getppid()

        def check_parent():
            if os.getppid() != parent:
                stop.set()
            else:
                loop.call_later(0.5, check_parent)
        loop.call_later(0.5, check_parent)
        return

    def readable():
        try:
            data = os.read(0, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(0)
            stop.set()
    try:
        loop.add_reader(0, readable)
    except (OSError, ValueError) as e:
        # epoll refuses regular files and /dev/null: that stdin is at EOF.
        print("smtpd.py: stdin cannot be watched (%s); stopping. Use a pipe "
              "or --no-stdin." % e, file=sys.stderr)
        stop.set()


def exception_handler(verbose):
    def handler(loop, context):
        exc = context.get("exception")
        # A client that rejects our certificate (the point of the wronghost,
        # expired and selfsigned servers) ends the handshake: not an error.
        if isinstance(exc, (ssl.SSLError, ConnectionError)) and not verbose:
            return
        loop.default_exception_handler(context)
    return handler


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="aiosmtpd test servers on 127.0.0.1 (see the docstring)")
    ap.add_argument("--certs", help="directory written by tests/mkcerts.sh")
    ap.add_argument("--maildir", required=True,
                    help="messages go to MAILDIR/<server>/<n>.eml")
    ap.add_argument("--password", default=DEFAULT_PASSWORD)
    ap.add_argument("--only", help="comma-separated server names: "
                    + ",".join(SERVERS))
    ap.add_argument("--no-stdin", action="store_true",
                    help="do not stop at stdin EOF; stop on a signal or "
                    "when the parent process dies")
    ap.add_argument("--verbose", action="store_true",
                    help="aiosmtpd's own log (INFO) and TLS errors on stderr")
    args = ap.parse_args(argv)

    names = list(SERVERS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in SERVERS]
        if bad or not names:
            ap.error("unknown server name(s): %s (known: %s)"
                     % (",".join(bad), ",".join(SERVERS)))
        names = list(dict.fromkeys(names))
    if any(SERVERS[n][1] for n in names):
        if not args.certs:
            ap.error("--certs is required for the TLS servers")
        for n in names:
            cert = SERVERS[n][1]
            for ext in (".pem", ".key"):
                if cert and not os.path.isfile(os.path.join(args.certs, cert + ext)):
                    ap.error("missing %s (run tests/mkcerts.sh %s)"
                             % (os.path.join(args.certs, cert + ext), args.certs))

    logging.basicConfig(stream=sys.stderr,
                        format="smtpd.py: %(name)s: %(levelname)s: %(message)s")
    # aiosmtpd logs a deprecation warning on every successful AUTH
    # (Session.login_data) and warns about auth_require_tls=False, which is
    # deliberate here (see smtp_kwargs).
    logging.getLogger("mail.log").setLevel(
        logging.INFO if args.verbose else logging.ERROR)
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    warnings.filterwarnings("ignore", message="Requiring AUTH while not")

    try:
        os.makedirs(args.maildir, exist_ok=True)
    except OSError as e:
        print("smtpd.py: cannot create %s: %s" % (args.maildir, e),
              file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(args, names))
    except KeyboardInterrupt:   # a signal before the handlers were installed
        return 0


if __name__ == "__main__":
    sys.exit(main())
