"""Print a mail message the way a reader sees it: decoded headers, the text
body, and the attachments with their names and sizes.

Usage: python3 examples/show_mail.py FILE.eml   (or - for stdin)
"""
import email
import email.policy
import sys


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "-"
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    for name in ("From", "To", "Cc", "Subject", "Date"):
        if msg[name] is not None:
            print(f"{name + ':':9} {msg[name]}")
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        print(f"\n[{body.get_content_type()}]")
        print(body.get_content().rstrip("\n"))
    html = msg.get_body(preferencelist=("html",))
    if html is not None and html is not body:
        print(f"\n[text/html, {len(html.get_content())} characters]")
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        print(f"\n[attachment] {part.get_filename()} "
              f"({part.get_content_type()}, {len(payload)} bytes)")
        if part.get_content_maintype() == "text":
            print(payload.decode("utf-8", "replace").rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
