#!/usr/bin/python3
"""tests/smtpd.py with a handler that keeps nothing: for the memory bench.

Usage: /usr/bin/python3 tests/bench/sinkd.py --certs DIR --maildir OUT
                                              [--only tls] [...]

Same servers, options, ports line on stdout and stopping rules as
tests/smtpd.py (see its docstring), but an accepted message is dropped:
only its size is appended, one line per message, to OUT/<server>/sizes.
A 20 MB attachment costs no disk, and the server's own memory is not what
the bench measures. The client still gets "250 OK" only after the whole
message has arrived.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
import smtpd  # noqa: E402  (tests/smtpd.py)


class DiscardHandler:
    def __init__(self, mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content or b""
        with open(os.path.join(self.mailbox.dir, "sizes"), "a") as f:
            f.write("%d\n" % len(content))
        return "250 OK"


smtpd.Handler = DiscardHandler

if __name__ == "__main__":
    sys.exit(smtpd.main())
