#!/usr/bin/python3
"""Round trips per message: smtpmail-send beside curl and Python smtplib.

Usage: /usr/bin/python3 tests/bench/rtt.py [--delay-ms D] [--runs N]
                                            [--bin build/smtpmail-send]

Every client talks to the server through a delay proxy of this script's own
on 127.0.0.1 that adds D ms (default 10) to each direction, so a round trip
costs 2*D, and counts the waits: how many times the client had to wait for
the server (see Proxy). Servers: aiosmtpd (tests/smtpd.py, "tls" and
"starttls", AUTH, neither PIPELINING nor CHUNKING) with a throwaway CA from
tests/mkcerts.sh, and, if installed, Postfix's smtp-sink (plaintext,
PIPELINING, no AUTH used). Prints one table. Standard library only.
"""
import argparse
import json
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"
USER = "bot@example.com"
PASSWORD = "s3cret-authcode"      # tests/smtpd.py's default account
RCPT = "ops@example.com"
SUBJECT = "rtt bench"
TEXT = "Filled 1 BTC at 65000.\n"


class Conn:
    """One proxied TCP connection: two directions, each a reader thread that
    stamps chunks and a writer thread that sends them when they are due.

    Delay model (a real network with one-way delay D): connect() returns at
    once on loopback, so the client's first bytes are treated as sent one
    round trip (2D) after accept, and the proxy connects to the target at
    3D, when the handshake's last ACK would arrive. After that every chunk
    is delivered D after the proxy read it. Writers never wait for each
    other, so the proxy is full duplex and adds latency, not throughput
    limits.

    A wait is a transition from "client sent bytes" to "server sent bytes"
    as read by the proxy, plus one for the TCP handshake. A transition whose
    server bytes reach the client only after the client has closed (the 221
    to a QUIT the client did not wait for) is not a wait and is not counted.
    """

    def __init__(self, client, target, delay, t_accept):
        self.client = client
        self.target = target
        self.delay = delay
        self.t0 = t_accept
        self.lock = threading.Lock()
        self.last = "C"             # the SYN: the client spoke first
        self.waits = 1              # the TCP handshake
        self.unwaited = 0           # server replies the client closed before
        self.client_closed = False
        self.t_end = None
        self.upstream = None
        self.c2s = queue.Queue()
        self.s2c = queue.Queue()
        self.log = []               # (ms since accept, "C"/"S", bytes, note)

    def run(self):
        threads = [threading.Thread(target=self._read_client, daemon=True)]
        threads[0].start()
        time.sleep(max(0.0, self.t0 + 3 * self.delay - time.monotonic()))
        try:
            self.upstream = socket.create_connection(("127.0.0.1", self.target))
            self.upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            print("proxy: cannot connect to port %d: %s" % (self.target, e),
                  file=sys.stderr)
            self._kill(self.client)
            threads[0].join()
            self.client.close()
            return
        for fn in (self._read_server, self._write_server, self._write_client):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        self.client.close()
        self.upstream.close()

    @staticmethod
    def _kill(sock):
        try:
            sock.shutdown(socket.SHUT_RDWR)   # wakes a reader blocked in recv
        except OSError:
            pass

    def _recv(self, sock):
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def _read_client(self):
        while True:
            data = self._recv(self.client)
            now = time.monotonic()
            with self.lock:
                if not data:
                    self.client_closed = True
                    self.t_end = now
                else:
                    self.last = "C"
                self.log.append(((now - self.t0) * 1000, "C", len(data), ""))
            due = max(now, self.t0 + 2 * self.delay) + self.delay
            self.c2s.put((due, data))
            if not data:
                return

    def _read_server(self):
        while True:
            data = self._recv(self.upstream)
            now = time.monotonic()
            turn = False
            if data:
                with self.lock:
                    turn = self.last == "C"
                    self.last = "S"
            with self.lock:
                self.log.append(((now - self.t0) * 1000, "S", len(data), ""))
            self.s2c.put((now + self.delay, data, turn))
            if not data:
                return

    def _write_server(self):
        self._pump(self.c2s, self.upstream, self.client, None)

    def _write_client(self):
        self._pump(self.s2c, self.client, self.upstream, self._count)

    def _count(self, item):
        if len(item) > 2 and item[2]:
            with self.lock:
                if self.client_closed:
                    self.unwaited += 1
                    note = "after client close: not a wait"
                else:
                    self.waits += 1
                    note = "wait %d" % self.waits
                now = (time.monotonic() - self.t0) * 1000
                self.log.append((now, ">C", 0, note))

    def _pump(self, q, dst, src, on_send):
        """Deliver q's chunks to dst when due; on EOF half-close dst; if dst
        fails, kill src so its reader ends too."""
        ok = True
        while True:
            item = q.get()
            due, data = item[0], item[1]
            time.sleep(max(0.0, due - time.monotonic()))
            if on_send:
                on_send(item)
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if ok:
                try:
                    dst.sendall(data)
                except OSError:
                    ok = False
                    self._kill(src)


class Proxy:
    """Listens on 127.0.0.1 (kernel-picked port) and forwards every
    connection to 127.0.0.1:target through a Conn."""

    def __init__(self, target, delay_ms):
        self.target = target
        self.delay = delay_ms / 1000.0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Conn(s, self.target, self.delay, time.monotonic())
            self.conns.append(c)
            t = threading.Thread(target=c.run, daemon=True)
            t.start()
            self.threads.append(t)

    def close(self, timeout=10.0):
        """Stop accepting, let open connections finish; returns the Conns."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.acceptor.join(timeout)
        for t in self.threads:
            t.join(timeout)
        return self.conns


# ---------------------------------------------------------------- clients

SMTPLIB = r"""
import smtplib, ssl, sys
from email.message import EmailMessage
mode, port, ca, user, pw, rcpt, subject, text = sys.argv[1:9]
count = int(sys.argv[9]) if len(sys.argv) > 9 else 1  # one SMTP object, count messages
m = EmailMessage()
m["From"], m["To"], m["Subject"] = user, rcpt, subject
m.set_content(text)
ctx = ssl.create_default_context(cafile=ca) if ca else None
if mode == "tls":
    s = smtplib.SMTP_SSL("localhost", int(port), context=ctx)
else:
    s = smtplib.SMTP("localhost", int(port))
    if mode == "starttls":
        s.starttls(context=ctx)
if pw:
    s.login(user, pw)
for _ in range(count):
    s.send_message(m)
s.quit()
"""


def write_eml(path):
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = USER, RCPT, SUBJECT
    m["Date"] = formatdate(localtime=True)
    m["Message-ID"] = make_msgid(domain="example.com")
    m.set_content(TEXT)
    with open(path, "wb") as f:
        f.write(bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def commands(client, mode, port, ca, eml, smtpmail, auth):
    """argv (and extra environment) for one client; mode is tls, starttls
    or plain. auth False: no login (smtp-sink)."""
    scheme = {"tls": "smtps", "starttls": "smtp", "plain": "smtp"}[mode]
    if client == "smtpmail":
        url = {"tls": "smtps", "starttls": "smtp", "plain": "smtp+plain"}[mode]
        argv = [smtpmail, "--url", "%s://localhost:%d" % (url, port),
                "--from", USER, "--to", RCPT, "--subject", SUBJECT,
                "--text", TEXT, "--timeout", "20"]
        if ca:
            argv += ["--ca-file", ca]
        env = {"SMTPMAIL_PASSWORD": PASSWORD} if auth else {}
        return argv, env
    if client.startswith("curl"):
        argv = ["curl", "-sS", "--url", "%s://localhost:%d" % (scheme, port),
                "--mail-from", USER, "--mail-rcpt", RCPT,
                "--upload-file", eml, "--max-time", "20"]
        if mode == "starttls":
            argv.append("--ssl-reqd")
        if ca:
            argv += ["--cacert", ca]
        if auth:
            argv += ["--user", "%s:%s" % (USER, PASSWORD)]
        if client == "curl --sasl-ir":
            argv.append("--sasl-ir")
        return argv, {}
    if client == "smtplib":
        return [PY, "-c", SMTPLIB, mode, str(port), ca or "", USER,
                PASSWORD if auth else "", RCPT, SUBJECT, TEXT], {}
    raise ValueError(client)


def measure(client, mode, target, ca, eml, smtpmail, auth, delay_ms, runs,
            trace=False):
    """Runs the client `runs` times through a fresh proxy each time."""
    rows = []
    for _ in range(runs):
        proxy = Proxy(target, delay_ms)
        argv, env = commands(client, mode, proxy.port, ca, eml, smtpmail, auth)
        env = dict({k: v for k, v in os.environ.items()
                    if not k.startswith("SMTPMAIL_")}, **env)
        t = time.monotonic()
        try:
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
        except subprocess.TimeoutExpired:
            proxy.close(1.0)
            return dict(error="no exit after 60 s")
        wall = (time.monotonic() - t) * 1000
        conns = proxy.close()
        if p.returncode != 0:
            err = (p.stderr or p.stdout).decode(errors="replace").strip()
            return dict(error="exit %d: %s" % (p.returncode, err[-300:]))
        if trace and not rows:
            print_trace("%s %s" % (client, mode), conns)
        ends = [c.t_end for c in conns if c.t_end is not None]
        rows.append(dict(
            waits=sum(c.waits for c in conns),
            unwaited=sum(c.unwaited for c in conns),
            conns=len(conns),
            wall=wall,
            conn=(max(ends) - min(c.t0 for c in conns)) * 1000 if ends else 0))
    waits = sorted({r["waits"] for r in rows})
    return dict(
        waits=waits[0] if len(waits) == 1 else "%d-%d" % (waits[0], waits[-1]),
        unwaited=max(r["unwaited"] for r in rows),
        conns=max(r["conns"] for r in rows),
        wall=statistics.median(r["wall"] for r in rows),
        conn=statistics.median(r["conn"] for r in rows))


def print_trace(title, conns):
    """What the proxy saw, to stderr: C/S = bytes read from the client or
    the server; >C = server bytes after client bytes reaching the client."""
    for i, c in enumerate(conns):
        print("--- %s, connection %d (wait 1: TCP handshake)" % (title, i + 1),
              file=sys.stderr)
        for ms, who, n, note in sorted(c.log, key=lambda e: e[0]):
            if who == ">C":
                print("%8.1f ms  >C   %s" % (ms, note), file=sys.stderr)
            else:
                print("%8.1f ms  %-2s  %6d bytes%s" % (ms, who, n,
                      "" if n else " (EOF)"), file=sys.stderr)


# ---------------------------------------------------------------- servers

def start_aiosmtpd(tmp):
    certs = os.path.join(tmp, "certs")
    subprocess.run(["sh", os.path.join(ROOT, "tests", "mkcerts.sh"), certs],
                   check=True)
    maildir = os.path.join(tmp, "mail")
    p = subprocess.Popen([PY, os.path.join(ROOT, "tests", "smtpd.py"),
                          "--certs", certs, "--maildir", maildir,
                          "--password", PASSWORD, "--only", "tls,starttls"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline()
    if not line:
        p.wait()
        raise RuntimeError("tests/smtpd.py did not start")
    return p, json.loads(line), os.path.join(certs, "ca.pem"), maildir


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_smtp_sink():
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.access(sink, os.X_OK):
        return None, None, "smtp-sink not found (Debian package postfix)"
    port = free_port()
    argv = [sink]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]          # smtp-sink will not run as root
    argv += ["127.0.0.1:%d" % port, "64"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, port, None
        except OSError:
            if p.poll() is not None:
                return None, None, "smtp-sink exited: %s" % \
                    p.stderr.read().decode(errors="replace").strip()
            time.sleep(0.05)
    p.kill()
    return None, None, "smtp-sink did not listen"


def ehlo_keywords(port):
    """The EHLO reply's keywords, read directly (no proxy)."""
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO bench\r\n")
        words = []
        while True:
            line = f.readline().decode(errors="replace").rstrip("\r\n")
            words.append(line[4:].split(" ")[0].upper())
            if line[3:4] != "-":
                break
        s.sendall(b"QUIT\r\n")
        return [w for w in words[1:] if w]


def count_eml(d):
    try:
        return len([f for f in os.listdir(d) if f.endswith(".eml")])
    except FileNotFoundError:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--delay-ms", type=float, default=10.0,
                    help="added to each direction (default 10)")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per row; wall times are medians (default 3)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build",
                                                  "smtpmail-send"))
    ap.add_argument("--trace", action="store_true",
                    help="print what the proxy saw (first run of each row) "
                    "to stderr")
    args = ap.parse_args()
    notes = []
    if not os.access(args.bin, os.X_OK):
        sys.exit("rtt.py: %s not built (make)" % args.bin)
    clients = ["smtpmail", "curl", "curl --sasl-ir", "smtplib"]
    if not shutil.which("curl"):
        notes.append("curl not installed: apt-get install curl")
        clients = [c for c in clients if not c.startswith("curl")]

    tmp = tempfile.mkdtemp(prefix="rtt-bench.")
    eml = os.path.join(tmp, "msg.eml")
    write_eml(eml)
    results = []   # (server, mode, client, result)
    smtpd = sink = None
    try:
        smtpd, ports, ca, maildir = start_aiosmtpd(tmp)
        for mode in ("tls", "starttls"):
            for client in clients:
                before = count_eml(os.path.join(maildir, mode))
                r = measure(client, mode, ports[mode], ca, eml, args.bin,
                            True, args.delay_ms, args.runs, args.trace)
                got = count_eml(os.path.join(maildir, mode)) - before
                if "error" not in r and got != args.runs:
                    r = dict(error="server stored %d of %d messages"
                             % (got, args.runs))
                results.append(("aiosmtpd", mode, client, r))
        sink, sport, why = start_smtp_sink()
        if why:
            notes.append(why)
        else:
            kw = ehlo_keywords(sport)
            notes.append("smtp-sink EHLO: " + " ".join(kw) +
                         ("" if "CHUNKING" in kw else "  (no CHUNKING)"))
            for client in clients:
                r = measure(client, "plain", sport, None, eml, args.bin,
                            False, args.delay_ms, args.runs, args.trace)
                results.append(("smtp-sink", "plain", client, r))
    finally:
        if smtpd:
            smtpd.stdin.close()
            smtpd.wait(10)
        if sink:
            sink.terminate()
            sink.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    print("One small message, one-way delay %g ms (round trip %g ms), "
          "%d runs per row (wall: median)." % (args.delay_ms,
                                               2 * args.delay_ms, args.runs))
    print("waits: times the client waited for the server, TCP handshake "
          "included; x: ratio to smtpmail in the same server and mode.")
    print("conn ms: proxy accept to client close; wall ms: whole process.")
    print()
    head = ("server", "mode", "client", "waits", "x", "conn ms", "x",
            "wall ms", "x")
    fmt = "%-9s %-8s %-14s %5s %5s %8s %5s %8s %5s"
    print(fmt % head)
    base = {}
    for server, mode, client, r in results:
        if client == "smtpmail" and "error" not in r:
            base[(server, mode)] = r
    for server, mode, client, r in results:
        if "error" in r:
            print("%-9s %-8s %-14s FAILED: %s" % (server, mode, client,
                                                  r["error"]))
            continue
        b = base.get((server, mode))

        def ratio(k):
            try:
                return "%.2f" % (float(r[k]) / float(b[k]))
            except (TypeError, ValueError, ZeroDivisionError):
                return "-"
        print(fmt % (server, mode, client, r["waits"], ratio("waits"),
                     "%.0f" % r["conn"], ratio("conn"),
                     "%.0f" % r["wall"], ratio("wall")))
        if r["conns"] != 1:
            notes.append("%s %s %s used %d connections"
                         % (server, mode, client, r["conns"]))
        if r["unwaited"]:
            notes.append("%s %s %s: %d server repl%s after the client closed "
                         "(QUIT's 221 not waited for), not counted"
                         % (server, mode, client, r["unwaited"],
                            "y" if r["unwaited"] == 1 else "ies"))
    if notes:
        print()
        for n in dict.fromkeys(notes):
            print("note: " + n)
    return 0 if all("error" not in r for *_, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
