#!/usr/bin/python3
"""make bench: smtpmail beside curl, Python smtplib and msmtp, in one table.

Usage: /usr/bin/python3 tests/bench/bench.py [--build build] [--runs 3]
           [--delay-ms 10] [--attach-mb 20] [--count 5000] [--b64-mb 64]

Needs (tests/bench/deps.sh installs them as root) curl, msmtp, Postfix's
smtp-sink, coreutils, binutils, python3-aiosmtpd, and the programs `make
bench` builds: BUILD/smtpmail-send, BUILD/bench/heap, BUILD/bench/tput and
BUILD/bench/impl-{full,notls}.o. Loopback only, kernel-picked or free ports,
a normal user is enough; every server it starts is stopped before it exits.
The figures (see tests/bench/README.md for how each is measured):

  1. round trips ("waits"), through rtt.py's delay proxy: one message, and
     the waits each further message costs in a session of 10;
  2. memory: peak RSS of each client sending a 20 MB attachment over
     implicit TLS, and the library's own heap through the allocator hook;
  3. code size of the implementation (-Os, x86-64);
  4. messages per second over one connection to smtp-sink;
  5. base64 speed of the attachment path beside coreutils base64.

x in the table: how many times better smtpmail does; peer/smtpmail for
costs (waits, bytes, seconds), smtpmail/peer for rates. Above 1, smtpmail
is ahead.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import rtt  # noqa: E402  (tests/bench/rtt.py: proxy, servers, clients)

PY = rtt.PY
USER, PASSWORD, RCPT = rtt.USER, rtt.PASSWORD, rtt.RCPT
KIB = 1024.0

# ---------------------------------------------------------------- clients

# Python smtplib + email, the 20 MB attachment read into an EmailMessage.
SMTPLIB_ATTACH = r"""
import smtplib, ssl, sys
from email.message import EmailMessage
port, ca, user, pw, rcpt, path = sys.argv[1:7]
m = EmailMessage()
m["From"], m["To"], m["Subject"] = user, rcpt, "memory bench"
m.set_content("The attachment.\n")
with open(path, "rb") as f:
    m.add_attachment(f.read(), maintype="application", subtype="octet-stream",
                     filename="att.bin")
s = smtplib.SMTP_SSL("localhost", int(port),
                     context=ssl.create_default_context(cafile=ca))
s.login(user, pw)
s.send_message(m)
s.quit()
"""

# smtplib, one SMTP object, the same pre-rendered message `count` times;
# prints the seconds from connect to the end of QUIT.
SMTPLIB_TPUT = r"""
import smtplib, sys, time
port, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
msg = open(path, "rb").read()
t = time.monotonic()
s = smtplib.SMTP("127.0.0.1", int(port))
for _ in range(count):
    s.sendmail("bot@example.com", ["ops@example.com"], msg)
s.quit()
print(time.monotonic() - t)
"""


def msmtp_conf(tmp, mode, port, ca, auth):
    """A private msmtp configuration (mode 600: it holds the password)."""
    path = os.path.join(tmp, "msmtprc-%s-%d" % (mode, port))
    lines = ["account default", "host localhost", "port %d" % port,
             "from " + USER, "tls " + ("off" if mode == "plain" else "on")]
    if mode != "plain":
        lines += ["tls_starttls " + ("on" if mode == "starttls" else "off"),
                  "tls_trust_file " + ca]
    if auth:
        lines += ["auth plain", "user " + USER, "password " + PASSWORD]
    else:
        lines += ["auth off"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def extend_rtt(tmp, count):
    """rtt.py's client table plus msmtp and the session clients:
    "smtpmail xN" (smtpmail-send --repeat N), "curl xN" (N transfers joined
    by --next, which curl sends over its one cached connection) and
    "smtplib xN" (one SMTP object)."""
    plain_commands = rtt.commands
    suffix = " x%d" % count

    def commands(client, mode, port, ca, eml, smtpmail, auth):
        if client == "msmtp":
            conf = msmtp_conf(tmp, mode, port, ca, auth)
            # msmtp reads the message on stdin: a shell redirect.
            return ["sh", "-c", 'exec msmtp -C "$1" "$2" < "$3"', "msmtp",
                    conf, RCPT, eml], {}
        if client == "smtpmail" + suffix:
            argv, env = plain_commands("smtpmail", mode, port, ca, eml,
                                       smtpmail, auth)
            return argv + ["--repeat", str(count)], env
        if client == "curl" + suffix:
            argv, env = plain_commands("curl", mode, port, ca, eml, smtpmail,
                                       auth)
            one = argv[1:]
            for _ in range(count - 1):
                argv += ["--next"] + one
            return argv, env
        if client == "smtplib" + suffix:
            return [PY, "-c", rtt.SMTPLIB, mode, str(port), ca or "",
                    USER, PASSWORD if auth else "", RCPT, rtt.SUBJECT,
                    rtt.TEXT, str(count)], {}
        return plain_commands(client, mode, port, ca, eml, smtpmail, auth)

    rtt.commands = commands


# ---------------------------------------------------------------- helpers

def run_rusage(argv, tmp, stdin=None, env=None, timeout=120):
    """Runs argv under GNU time; returns (exit status, max RSS in KiB,
    stderr text). Not wait4() from here: a child forked from this Python
    process inherits its RSS high-water mark through exec (Linux keeps the
    larger of the old and the new image's), so every client would show
    Python's 19 MB. GNU time forks from a ~1 MB process instead."""
    out = os.path.join(tmp, "time.out")
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out] + argv,
                           stdin=fin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, 0, "timed out"
    finally:
        if stdin:
            fin.close()
    err = p.stderr.decode(errors="replace").strip()
    try:
        with open(out) as f:
            kib = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        kib = 0
    return p.returncode, kib, err


def best_time(argv, runs, stdout=subprocess.DEVNULL):
    """Fastest wall time of `runs` runs of argv (stdout to /dev/null)."""
    best = None
    for _ in range(runs):
        t = time.monotonic()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                           stderr=subprocess.PIPE)
        dt = time.monotonic() - t
        if p.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (argv[0], p.returncode,
                               p.stderr.decode(errors="replace")[-300:]))
        best = dt if best is None else min(best, dt)
    return best


def cmd_out(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              check=False).stdout.decode(errors="replace")
    except OSError:
        return ""


def text_size(path):
    """The text column of `size` (Berkeley format) for one file."""
    out = cmd_out(["size", path]).splitlines()
    return int(out[1].split()[0]) if len(out) > 1 else None


def section_size(path, name):
    """One section's size from `size -A`: size's text column also counts
    .rodata (strings) and .eh_frame (unwind tables)."""
    for line in cmd_out(["size", "-A", path]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            return int(parts[1])
    return None


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


def start_sinkd(tmp, certs):
    """tests/bench/sinkd.py (implicit TLS, AUTH, messages dropped)."""
    maildir = os.path.join(tmp, "sink-mail")
    p = subprocess.Popen([PY, os.path.join(HERE, "sinkd.py"), "--certs", certs,
                          "--maildir", maildir, "--password", PASSWORD,
                          "--only", "tls"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline()
    if not line:
        p.wait()
        raise RuntimeError("tests/bench/sinkd.py did not start")
    return p, json.loads(line)["tls"], os.path.join(maildir, "tls", "sizes")


def sizes_seen(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def machine_lines():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    vers = []
    v = cmd_out(["curl", "--version"]).split("\n")[0].split()
    if len(v) > 1:
        vers.append("curl " + v[1])
    vers.append("Python " + platform.python_version())
    v = re.search(r"version ([\d.]+)", cmd_out(["msmtp", "--version"]))
    if v:
        vers.append("msmtp " + v.group(1))
    v = re.search(r"MBEDTLS_VERSION_STRING\s+\"([\d.]+)\"",
                  open("/usr/include/mbedtls/version.h").read()) \
        if os.path.exists("/usr/include/mbedtls/version.h") else None
    if v:
        vers.append("mbedTLS " + v.group(1))
    v = re.search(r"\(GNU coreutils\) ([\d.]+)", cmd_out(["base64", "--version"]))
    if v:
        vers.append("coreutils " + v.group(1))
    return [
        "date:   " + datetime.datetime.now().astimezone().strftime(
            "%Y-%m-%d %H:%M %Z"),
        "uname:  " + platform.machine() + "  (" + platform.system() + " " +
        platform.release() + ")",
        "cpu:    " + cpu + ", nproc " + str(os.cpu_count()),
        "tools:  " + ", ".join(vers),
    ]


# ---------------------------------------------------------------- table

class Table:
    """Rows of (figure, unit, smtpmail value, [(peer, value, x)], goal)."""

    def __init__(self):
        self.rows = []
        self.notes = []

    def add(self, figure, unit, mine, peers, goal="", higher_better=False,
            fmt="%g", met=None):
        out = []
        for name, val in peers:
            x = "-"
            if isinstance(val, (int, float)) and isinstance(mine, (int, float)) \
                    and val and mine:
                x = "%.2f" % ((mine / val) if higher_better else (val / mine))
            out.append((name, val, x))
        if goal and met is not None:
            goal += ": met" if met else ": NOT MET"
        self.rows.append((figure, unit, mine, out, goal, fmt))

    def show(self):
        def f(v, fmt):
            if isinstance(v, (int, float)):
                return fmt % v
            return str(v)
        head = ("figure", "unit", "smtpmail", "peer", "peer's", "x", "goal")
        line = "%-46s %-5s %8s  %-18s %8s %5s  %s"
        out = [line % head, "-" * 108]
        for figure, unit, mine, peers, goal, fmt in self.rows:
            first = True
            if not peers:
                peers = [("", "", "")]
            for name, val, x in peers:
                if first:
                    out.append(line % (figure, unit, f(mine, fmt), name,
                                       f(val, fmt), x, goal))
                    first = False
                else:
                    out.append(line % ("", "", "", name, f(val, fmt), x, ""))
        return "\n".join(l.rstrip() for l in out)


# ---------------------------------------------------------------- figures

def fig_round_trips(t, tmp, args, sink_port, smtpd_ports, ca, maildir, eml):
    n = 10
    extend_rtt(tmp, n)
    modes = [("tls", "implicit TLS+AUTH (aiosmtpd)", smtpd_ports["tls"], ca,
              True),
             ("starttls", "STARTTLS+AUTH (aiosmtpd)", smtpd_ports["starttls"],
              ca, True)]
    if sink_port:
        modes.append(("plain", "plain, smtp-sink PIPELINING", sink_port,
                      None, False))
    one = ["smtpmail", "curl", "curl --sasl-ir", "smtplib", "msmtp"]
    many = ["smtpmail x%d" % n, "curl x%d" % n, "smtplib x%d" % n]
    for mode, label, port, cafile, auth in modes:
        res = {}
        for client in one + many:
            before = rtt.count_eml(os.path.join(maildir, mode))
            r = rtt.measure(client, mode, port, cafile, eml, args.bin, auth,
                            args.delay_ms, args.runs)
            if mode != "plain" and "error" not in r:
                got = rtt.count_eml(os.path.join(maildir, mode)) - before
                want = args.runs * (n if " x" in client else 1)
                if got != want:
                    r = dict(error="server stored %d of %d messages"
                             % (got, want))
            if "error" in r:
                t.notes.append("round trips %s %s: FAILED: %s"
                               % (mode, client, r["error"]))
            elif r["conns"] != 1:
                t.notes.append("round trips %s %s: %d connections"
                               % (mode, client, r["conns"]))
            res[client] = r

        def waits(client):
            r = res.get(client, {})
            w = r.get("waits")
            return w if isinstance(w, int) else (w or "failed")

        curl = waits("curl")
        t.add("waits, 1 msg, " + label, "waits", waits("smtpmail"),
              [("curl", curl), ("curl --sasl-ir", waits("curl --sasl-ir")),
               ("smtplib", waits("smtplib")), ("msmtp", waits("msmtp"))])

        def further(client):
            a, b = waits(client + " x%d" % n), waits(client)
            if isinstance(a, int) and isinstance(b, int):
                return (a - b) / float(n - 1)
            return "failed"
        t.add("waits/further msg, session of %d, %s" % (n, mode),
              "waits", further("smtpmail"),
              [("curl --next", further("curl")),
               ("smtplib, one SMTP", further("smtplib")),
               ("msmtp", "n/a")], fmt="%.2g")
        for client, r in res.items():
            if r.get("unwaited"):
                t.notes.append("round trips %s %s: %d reply after the client "
                               "closed (a QUIT's 221 not waited for), not a "
                               "wait" % (mode, client, r["unwaited"]))


def fig_memory(t, tmp, args, certs, ca):
    att = os.path.join(tmp, "att.bin")
    random_file(att, args.attach_mb * 1000 * 1000)
    sinkd, port, sizes = start_sinkd(tmp, certs)
    try:
        # The same message for msmtp, pre-built by smtpmail-send --dry-run.
        eml = os.path.join(tmp, "att.eml")
        with open(eml, "wb") as f:
            subprocess.run([args.bin, "--dry-run", "--from", USER, "--to", RCPT,
                            "--subject", "memory bench", "--text",
                            "The attachment.\n", "--attach", att],
                           stdout=f, check=True)
        env = dict(os.environ, SMTPMAIL_PASSWORD=PASSWORD)
        url = "smtps://localhost:%d" % port
        clients = [
            ("smtpmail", [args.bin, "--url", url, "--ca-file", ca, "--from",
                          USER, "--to", RCPT, "--subject", "memory bench",
                          "--text", "The attachment.\n", "--attach", att],
             None, env),
            ("curl -F", ["curl", "-sS", "--url", url, "--cacert", ca, "--user",
                         "%s:%s" % (USER, PASSWORD), "--mail-from", USER,
                         "--mail-rcpt", RCPT, "-H", "From: " + USER,
                         "-H", "To: " + RCPT, "-H", "Subject: memory bench",
                         "-F", "=The attachment.",
                         "-F", "=@%s;type=application/octet-stream;"
                         "encoder=base64" % att], None, None),
            ("curl -T", ["curl", "-sS", "--url", url, "--cacert", ca, "--user",
                         "%s:%s" % (USER, PASSWORD), "--mail-from", USER,
                         "--mail-rcpt", RCPT, "--upload-file", eml], None, None),
            ("smtplib+email", [PY, "-c", SMTPLIB_ATTACH, str(port), ca, USER,
                               PASSWORD, RCPT, att], None, None),
            ("msmtp <eml", ["msmtp", "-C", msmtp_conf(tmp, "tls", port, ca,
                                                      True), RCPT], eml, None),
        ]
        rss = {}
        for name, argv, stdin, cenv in clients:
            before = len(sizes_seen(sizes))
            best = None
            for _ in range(args.runs):
                rc, kib, err = run_rusage(argv, tmp, stdin, cenv)
                if rc != 0:
                    t.notes.append("memory %s: FAILED: exit %d: %s"
                                   % (name, rc, err[-200:]))
                    best = "failed"
                    break
                best = kib if best is None else min(best, kib)
            got = sizes_seen(sizes)[before:]
            if best != "failed" and (len(got) != args.runs or
                                     min(got) < args.attach_mb * 1000000):
                t.notes.append("memory %s: the server saw %s" % (name, got))
                best = "failed"
            rss[name] = best
        t.add("peak RSS, %d MB attachment, implicit TLS" % args.attach_mb,
              "KiB", rss["smtpmail"],
              [(n, rss[n]) for n in ("curl -F", "curl -T", "smtplib+email",
                                     "msmtp <eml")], goal="< 4096",
              met=isinstance(rss["smtpmail"], int) and rss["smtpmail"] < 4096)

        heap = os.path.join(args.build, "bench", "heap")
        p = subprocess.run([heap, url, ca, att], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            t.notes.append("heap: FAILED: %s" % p.stderr.decode(errors="replace"))
            return
        h = dict(kv.split("=") for kv in p.stdout.decode().split())
        t.add("library heap (hooks.alloc peak), same send", "KiB",
              int(h["hook_peak"]) / KIB, [], goal="< 64", fmt="%.1f",
              met=int(h["hook_peak"]) < 64 * 1024)
        if "malloc_peak" in h:
            t.add("process malloc peak during that call", "KiB",
                  int(h["malloc_peak"]) / KIB, [], fmt="%.1f")
        t.notes.append("heap: hook_peak %s bytes in %s allocations; the whole "
                       "process's malloc peak over the call %s bytes"
                       % (h["hook_peak"], h["hook_allocs"],
                          h.get("malloc_peak", "?")))
    finally:
        sinkd.stdin.close()
        sinkd.wait(10)


def fig_size(t, args):
    full = os.path.join(args.build, "bench", "impl-full.o")
    notls = os.path.join(args.build, "bench", "impl-notls.o")
    a, b = text_size(full), text_size(notls)
    t.add("code size, size's text, -Os x86-64, full", "KiB", a / KIB, [],
          goal="< 32", fmt="%.1f", met=a < 32 * 1024)
    t.add("code size, size's text, -Os, NO_TLS", "KiB", b / KIB, [],
          fmt="%.1f")
    sec = section_size(full, ".text")
    if sec:
        t.add("code size, .text section only, full", "KiB", sec / KIB, [],
              goal="< 32", fmt="%.1f", met=sec < 32 * 1024)
    linked = os.path.join(args.build, "bench", "quick-start-gc")
    if os.path.exists(linked):
        own = sum(int(parts[1]) for parts in (
            line.split() for line in cmd_out(["nm", "-S", "-t", "d", linked]).splitlines())
            if len(parts) == 4 and parts[2] in "tTrR" and parts[3].startswith("smtpmail_"))
        t.add("code size, QUICK START linked, --gc-sections: smtpmail's", "KiB", own / KIB, [],
              fmt="%.1f")
    t.notes.append("size: " + " | ".join(
        " ".join(line.split())
        for line in cmd_out(["size", full, notls]).strip().splitlines()))
    ctx = []
    for lib in ("/usr/lib/x86_64-linux-gnu/libcurl.so.4",
                os.path.realpath(sys.executable)):
        if os.path.exists(lib):
            s = text_size(os.path.realpath(lib))
            if s:
                ctx.append("%s %.0f KiB" % (os.path.basename(
                    os.path.realpath(lib)), s / KIB))
    if ctx:
        t.notes.append("size, for context (text): " + ", ".join(ctx) +
                       " (no ratio: not the same job)")
    top = os.path.join(args.build, "bench", "size-top.txt")
    syms = []
    for line in cmd_out(["nm", "--size-sort", "-S", "-t", "d", full]).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            syms.append((int(parts[1]), parts[3]))
    syms.sort(reverse=True)
    with open(top, "w") as f:
        f.write("# the 15 biggest functions of %s (nm --size-sort, bytes)\n"
                % os.path.relpath(full, ROOT))
        for size, name in syms[:15]:
            f.write("%6d  %s\n" % (size, name))
    t.notes.append("size: the 15 biggest functions are in " +
                   os.path.relpath(top, ROOT))


def fig_throughput(t, tmp, args, sink_port):
    if not sink_port:
        t.notes.append("throughput: no smtp-sink")
        return
    msg = os.path.join(tmp, "small.eml")
    with open(msg, "wb") as f:
        subprocess.run([args.bin, "--dry-run", "--from", USER, "--to", RCPT,
                        "--subject", "throughput bench", "--text", rtt.TEXT],
                       stdout=f, check=True)
    n = args.count
    tput = os.path.join(args.build, "bench", "tput")
    url = "smtp+plain://127.0.0.1:%d" % sink_port
    mine = curl = py = 0.0
    for _ in range(args.runs):
        out = subprocess.run([tput, url, str(n)], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        mine = max(mine, n / (float(out.split("ms=")[1]) / 1000))
        out = subprocess.run([PY, "-c", SMTPLIB_TPUT, str(sink_port), msg,
                              str(n)], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        py = max(py, n / float(out))
    # curl: N transfers in one process, joined by "next" in a config file;
    # it reuses its one connection. Whole process time (start-up included).
    cfg = os.path.join(tmp, "curl-tput.cfg")
    block = ('url = "smtp://127.0.0.1:%d"\nmail-from = "%s"\nmail-rcpt = "%s"\n'
             'upload-file = "%s"\nsilent\nshow-error\n' % (sink_port, USER,
                                                          RCPT, msg))
    with open(cfg, "w") as f:
        f.write("next\n".join([block] * n))
    secs = best_time(["curl", "-K", cfg], args.runs)
    curl = n / secs
    t.add("throughput, 1 conn to smtp-sink, %d msgs" % n, "msg/s",
          mine, [("curl -K, next", curl), ("smtplib, one SMTP", py),
                 ("msmtp", "n/a")],
          goal=">= 2x smtplib", higher_better=True, fmt="%.0f",
          met=mine >= 2 * py)


def fig_base64(t, tmp, args):
    path = os.path.join(tmp, "b64.bin")
    size = args.b64_mb * 1024 * 1024
    random_file(path, size)
    # Taken in turns, so that a busy moment of the machine hits both.
    mine = core = None
    for _ in range(args.runs):
        a = best_time([args.bin, "--dry-run", "--from", USER, "--to", RCPT,
                       "--subject", "base64 bench", "--text", "x",
                       "--attach", path], 1)
        b = best_time(["base64", path], 1)
        mine = a if mine is None else min(mine, a)
        core = b if core is None else min(core, b)
    t.add("base64, %d MiB attachment to /dev/null" % args.b64_mb, "MB/s",
          size / mine / 1e6, [("coreutils base64", size / core / 1e6)],
          goal=">= coreutils", higher_better=True, fmt="%.0f",
          met=mine <= core)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per measurement (default 3): round trips "
                    "must agree, RSS and times take the best")
    ap.add_argument("--delay-ms", type=float, default=10.0,
                    help="rtt.py's one-way delay (default 10)")
    ap.add_argument("--attach-mb", type=int, default=20)
    ap.add_argument("--count", type=int, default=5000,
                    help="messages for the throughput row (default 5000)")
    ap.add_argument("--b64-mb", type=int, default=64)
    ap.add_argument("--only", default="rtt,memory,size,throughput,base64")
    args = ap.parse_args()
    args.bin = os.path.join(args.build, "smtpmail-send")
    only = set(args.only.split(","))
    for p in ("smtpmail-send", "bench/heap", "bench/tput", "bench/impl-full.o",
              "bench/impl-notls.o"):
        if not os.path.exists(os.path.join(args.build, p)):
            sys.exit("bench.py: %s/%s not built (make bench)" % (args.build, p))

    t = Table()
    tmp = tempfile.mkdtemp(prefix="smtpmail-bench.")
    smtpd = sink = None
    started = time.monotonic()
    try:
        eml = os.path.join(tmp, "msg.eml")
        rtt.write_eml(eml)
        smtpd, ports, ca, maildir = rtt.start_aiosmtpd(tmp)
        certs = os.path.dirname(ca)
        sink, sink_port, why = rtt.start_smtp_sink()
        if why:
            t.notes.append(why)
        if "rtt" in only:
            fig_round_trips(t, tmp, args, sink_port, ports, ca, maildir, eml)
        if "memory" in only:
            fig_memory(t, tmp, args, certs, ca)
        if "size" in only:
            fig_size(t, args)
        if "throughput" in only:
            fig_throughput(t, tmp, args, sink_port)
        if "base64" in only:
            fig_base64(t, tmp, args)
    finally:
        if smtpd:
            smtpd.stdin.close()
            smtpd.wait(10)
        if sink:
            sink.terminate()
            sink.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    print("\n".join(machine_lines()))
    print()
    print(t.show())
    print()
    print("x: how many times better smtpmail does (peer/smtpmail for waits, "
          "KiB and seconds; smtpmail/peer for rates); above 1, smtpmail is "
          "ahead.")
    print("round trips: rtt.py's proxy, one-way delay %g ms; curl --sasl-ir: "
          "AUTH PLAIN with an initial response." % args.delay_ms)
    for n in dict.fromkeys(t.notes):
        print("note: " + n)
    print("bench took %.0f s" % (time.monotonic() - started))
    failed = any("FAILED" in n for n in t.notes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
