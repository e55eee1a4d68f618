#!/usr/bin/python3
"""What the Python suites share: tests/real_smtp.py, tests/fault_socket.py
and tests/oracle.py import it (`import harness`: a script's own folder is
first on sys.path). Standard library only; not a program of its own.

  Suite          the case registry (@suite.case(NAME)) and the runner. It
                 prints "ok   NAME", "FAIL NAME: reason" or "skip NAME: why"
                 (a skip is not counted: a case returns why, or raises
                 Skip) per case, and last exactly
                 "N passed, M failed"; the exit status is 0 only when nothing
                 failed. A setup step that raises SetupError is one failure,
                 "FAIL setup: why"; an interruption is one more, "FAIL
                 interrupted: SIGINT".
  run()          runs a C program of the build under $SMTPMAIL_TEST_WRAP
                 (make valgrind) with no SMTPMAIL_* variables but the ones
                 given; measures spawn to exit; optionally its peak RSS;
                 kills it after TIMEOUT seconds.
  spawn(), stop()  a child that outlives one call (a server, a program read
                 while it runs). Suite.main stops every child still running
                 when it ends, however it ends.
  ServerProcess  a server program (tests/smtpd.py) that binds 127.0.0.1
                 port 0 itself and prints its ports as one line of JSON;
                 stopped by EOF on its stdin, killed if it lingers.
  unused_port(), silent_listener()  loopback ports for "nobody listens"
                 and "accepts, never speaks".
  mint_certs()   the throwaway CA and certificates of tests/mkcerts.sh.
  brief(), secret_forms(), leaked_secrets(), only(), first_difference(),
  parse_message(), text_of()  checks the suites have in common.

Cleanup is guaranteed: Suite.main turns SIGTERM and SIGHUP into Interrupted
(as SIGINT is KeyboardInterrupt), so that its finally blocks run, and
ignores further signals while it stops the servers and children and
removes its temporary directory.
"""
import base64, collections, contextlib, email, email.policy, json, os, select
import shlex, shutil, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = '/usr/bin/python3'
MKCERTS = os.path.join(HERE, 'mkcerts.sh')

# The account of tests/smtpd.py (and the credentials fault_socket.py sends).
USER, PASSWORD = 'bot@example.com', 's3cret-authcode'

# make valgrind runs every C program under a wrapper named here; it is
# slow, so time limits grow with it.
WRAP = shlex.split(os.environ.get('SMTPMAIL_TEST_WRAP', ''))
TIMEOUT = 300 if WRAP else 30   # seconds, for every subprocess and server start
SLACK = 10.0 if WRAP else 0.0   # seconds added to timing checks
POLL = 0.005                    # seconds between looks at a running child
STOP_WAIT = 10                  # seconds a server gets to stop on its own
TIME = '/usr/bin/time'          # GNU time, for a peak RSS

REPORT_PROBLEMS = 8             # problems shown on a FAIL line
REPORT_CHARS = 600              # characters shown of each
BRIEF_CHARS = 600               # characters of stderr/stdout in brief()
LOG_TAIL_CHARS = 800            # of a server's log when it did not start


class SetupError(Exception):
    """What the cases need could not be made: no case runs."""


class Skip(Exception):
    """Raised by a case (or a helper it calls) that cannot run here: the
    case is skipped, saying why, unless it has failed already."""


class Interrupted(BaseException):
    """SIGTERM or SIGHUP, raised like KeyboardInterrupt so cleanup runs."""


# ---- the registry and the runner -------------------------------------------

Case = collections.namedtuple('Case', 'name fn options')


class Suite:
    """The cases of one script, in the order they were registered, and the
    counts of one run."""

    def __init__(self, usage):
        self.usage = usage                 # "real_smtp.py BUILD-DIR"
        self.prog = usage.split()[0].rsplit('.', 1)[0]
        self.cases = []
        self.passed = self.failed = 0

    def case(self, name, **options):
        """Decorator: registers fn under `name`; `options` are the script's
        own (handed to its runner with the case)."""
        def register(fn):
            self.add(name, fn, **options)
            return fn
        return register

    def add(self, name, fn, **options):
        if any(c.name == name for c in self.cases):
            raise ValueError('two cases named %r' % name)
        self.cases.append(Case(name, fn, options))

    def report(self, name, problems, skipped=None):
        """One line for one case. A skip with problems is a failure."""
        problems = list(dict.fromkeys(problems))   # drop repeats, keep order
        if skipped and not problems:
            print('skip %s: %s' % (name, skipped))
        elif problems:
            self.failed += 1
            more = len(problems) - REPORT_PROBLEMS
            print('FAIL %s: %s%s' % (name, ' | '.join(p[:REPORT_CHARS]
                                                     for p in problems[:REPORT_PROBLEMS]),
                                     ' | (+%d more)' % more if more > 0 else ''))
        else:
            self.passed += 1
            print('ok   %s' % name)
        sys.stdout.flush()

    def run_case(self, case, call):
        """call(case, fail) runs it; it returns None, or why it skipped (or
        raises Skip). Any other exception fails this case only."""
        problems, skipped = [], None
        try:
            skipped = call(case, problems.append)
        except Skip as e:
            skipped = str(e)
        except Exception as e:
            problems.append('exception %s: %s' % (type(e).__name__, e))
        self.report(case.name, problems, skipped)

    def main(self, setup, argv=None):
        """The whole run; returns the exit status. argv: [script, ARG].
        setup(ARG, tmp, stack) makes what the cases need (servers go on the
        ExitStack `stack`, files under the directory `tmp`) and returns
        call(case, fail)."""
        argv = sys.argv if argv is None else argv
        if len(argv) != 2:
            sys.exit('usage: %s' % self.usage)
        stopping = []
        def on_signal(signum, _frame):
            if stopping:
                return   # cleanup is under way: let it finish
            stopping.append(signum)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Interrupted(signal.Signals(signum).name)
        caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        before = {s: signal.signal(s, on_signal) for s in caught}
        tmp = tempfile.mkdtemp(prefix=self.prog + '.')
        try:
            with contextlib.ExitStack() as stack:
                stack.callback(stop_all)   # last, after the servers' own stop
                try:
                    call = setup(argv[1], tmp, stack)
                    for case in self.cases:
                        self.run_case(case, call)
                except SetupError as e:
                    self.report('setup', [str(e)])
                except Exception as e:   # a bug in setup: no case ran
                    self.report('setup', ['exception %s: %s' % (type(e).__name__, e)])
                finally:   # from here on signals wait: the stack stops everything
                    stopping.append('cleanup')
        except (KeyboardInterrupt, Interrupted) as e:
            self.report('interrupted', [str(e) or 'SIGINT'])
        finally:
            stopping.append('cleanup')
            shutil.rmtree(tmp, ignore_errors=True)
            for s, handler in before.items():
                signal.signal(s, handler)
        print('%d passed, %d failed' % (self.passed, self.failed))
        return 1 if self.failed else 0


# ---- children --------------------------------------------------------------

_live = set()   # every child started by spawn() and not yet stopped


def spawn(argv, **popen):
    """subprocess.Popen (stdin /dev/null unless given), remembered until
    stop() so that Suite.main can stop it whatever happens."""
    popen.setdefault('stdin', subprocess.DEVNULL)
    p = subprocess.Popen(argv, **popen)
    _live.add(p)
    return p


def stop(p):
    """Kills `p` unless it has exited, reaps it, closes its pipes. Safe to
    call twice."""
    if p.returncode is None and p.poll() is None:
        p.kill()
        p.wait()
    for f in (p.stdin, p.stdout, p.stderr):
        if f:
            f.close()
    _live.discard(p)


def stop_all():
    for p in list(_live):
        stop(p)


def child_env(extra=None):
    """This environment without SMTPMAIL_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('SMTPMAIL_')}
    env.update(extra or {})
    return env


class Result:
    """What run() saw: returncode, stdout/stderr (bytes), out/err (text),
    took (seconds, spawn to exit), timed_out, maxrss_kb (None unless asked)."""


def run(argv, env=None, rss=False):
    """Runs a C program of the build (under WRAP) with no SMTPMAIL_*
    variables but those in `env`, stdin /dev/null; kills it after TIMEOUT
    seconds. argv items may be bytes. With `rss`, under /usr/bin/time for
    its peak RSS: a child of this Python starts with Python's RSS as its
    ru_maxrss (Linux keeps the high-water mark across exec), while
    /usr/bin/time is a small parent, so its figure is the program's own."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile('r') as rss_file:
        pre = [TIME, '-f', '%M', '-o', rss_file.name] if rss else []
        start = time.monotonic()
        p = spawn(pre + WRAP + list(argv), stdout=out, stderr=err, env=child_env(env))
        r = Result()
        r.timed_out = False
        try:
            while True:   # every 5 ms: p.wait(timeout) may sleep 50 ms between looks
                pid, status = os.waitpid(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - start > TIMEOUT:
                    r.timed_out = True
                    os.kill(p.pid, signal.SIGKILL)
                    pid, status = os.waitpid(p.pid, 0)
                    break
                time.sleep(POLL)
            r.took = time.monotonic() - start
            r.returncode = p.returncode = os.waitstatus_to_exitcode(status)
        finally:
            stop(p)   # reaped already, unless interrupted
        r.maxrss_kb = None
        if rss:   # "Command exited with non-zero status 3" may come first
            last = (rss_file.read().split() or [''])[-1]
            r.maxrss_kb = int(last) if last.isdigit() else None
        out.seek(0)
        err.seek(0)
        r.stdout, r.stderr = out.read(), err.read()
    r.out = r.stdout.decode('utf-8', 'replace')
    r.err = r.stderr.decode('utf-8', 'replace')
    return r


def brief(r):
    """One line on how a run ended, for a FAIL message."""
    return 'exit %d after %.2f s%s, stderr %r, stdout %r' % (
        r.returncode, r.took, ' (killed: over %d s)' % TIMEOUT if r.timed_out else '',
        r.err.strip()[-BRIEF_CHARS:], r.out.strip()[-BRIEF_CHARS:])


# ---- servers and ports -----------------------------------------------------

class ServerProcess:
    """A server program that binds 127.0.0.1 port 0 itself (the kernel
    picks a free port: no race), prints ONE line of JSON once it listens
    (name -> port), and serves until its stdin reaches EOF; its stderr
    goes to `log_path`. `ports` is that JSON. Use it in a with block or
    put it on Suite.main's stack; stop() is safe to call twice."""

    def __init__(self, argv, log_path):
        self.name = os.path.basename(argv[1] if argv[0] == PYTHON else argv[0])
        self.log_path = log_path
        with open(log_path, 'wb') as log:
            self.proc = spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline() if ready else b''
        try:
            self.ports = json.loads(line)
            if not isinstance(self.ports, dict) or not all(
                    isinstance(p, int) and 0 < p < 65536 for p in self.ports.values()):
                raise ValueError('not {"name": port, ...}: %r' % line)
        except ValueError:
            self.stop()
            raise SetupError('%s did not start: %s' % (self.name, self.log_tail()))

    def log_tail(self):
        with open(self.log_path, errors='replace') as f:
            return f.read().strip()[-LOG_TAIL_CHARS:]

    def stop(self):
        """EOF on stdin (the server's own way out), then a kill if it has
        not exited within STOP_WAIT seconds."""
        p = self.proc
        try:
            if p.stdin and not p.stdin.closed:
                p.stdin.close()
            p.wait(timeout=STOP_WAIT)
        except (OSError, subprocess.TimeoutExpired):
            pass
        stop(p)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def unused_port():
    """A 127.0.0.1 port nobody listens on (bound, then let go): a connection
    to it is refused."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def silent_listener():
    """A 127.0.0.1 port whose connections the kernel accepts and nobody
    answers; yields the port."""
    with socket.socket() as mute:
        mute.bind(('127.0.0.1', 0))
        mute.listen(4)
        yield mute.getsockname()[1]


def mint_certs(certs):
    """tests/mkcerts.sh into the directory `certs` (see that script for the
    files); returns `certs`."""
    mk = subprocess.run(['sh', MKCERTS, certs], stdin=subprocess.DEVNULL,
                        capture_output=True, timeout=TIMEOUT)
    if mk.returncode != 0:
        raise SetupError('mkcerts.sh: %s' % mk.stderr.decode(errors='replace').strip())
    return certs


# ---- shared checks ---------------------------------------------------------

def secret_forms(password, user=USER):
    """The password and what AUTH LOGIN / AUTH PLAIN would send for it."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return [password, b64(password), b64('\0%s\0%s' % (user, password)),
            b64('%s\0%s\0%s' % (user, user, password))]


def leaked_secrets(text, password):
    """The forms of `password` found in `text` (none: an empty list)."""
    return [form for form in secret_forms(password) if form in text]


def only(items):
    """The one item of `items`; None if there are none or several."""
    return items[0] if len(items) == 1 else None


def first_difference(got, want):
    """The index of the first item where two sequences differ (the shorter
    one's length if one is the start of the other)."""
    return next((i for i, (x, y) in enumerate(zip(got, want)) if x != y),
                min(len(got), len(want)))


def parse_message(data):
    """Python's email package reads the bytes (the modern policy)."""
    return email.message_from_bytes(data, policy=email.policy.default)


def text_of(part):
    """A text part's decoded content with LF line ends (None: no part)."""
    return None if part is None else part.get_content().replace('\r\n', '\n')
