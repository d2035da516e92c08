#!/usr/bin/env python3
"""What a new user does first, against an installed mailstead (the .deb or the container).

Sends one message from the Internet side (port 25, STARTTLS) and one as the user through
submission (587, STARTTLS + AUTH), then reads both over IMAPS (993) and POP3S (995), checking
the bytes a client sees. The certificate is the one the install created; the client trusts
exactly that file.

usage: smoke.py --address alice@example.test --password-file F --cafile cert.pem [--host 127.0.0.1]
"""
import argparse
import email.utils
import imaplib
import poplib
import smtplib
import ssl
import sys
import time
import uuid


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the self-signed certificate names the machine, we dial an address
    return ctx


def message(sender, recipient, subject, marker):
    return (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{marker}@smoke.test>\r\n\r\n"
            f"smoke test body {marker}\r\n.leading dot stays\r\n").encode()


def send_inbound(host, ctx, recipient, marker):
    with smtplib.SMTP(host, 25, timeout=20) as smtp:
        smtp.starttls(context=ctx)
        smtp.ehlo("client.smoke.test")
        smtp.sendmail("someone@elsewhere.test", [recipient],
                      message("someone@elsewhere.test", recipient, "inbound", marker))


def send_submission(host, ctx, address, password, marker):
    with smtplib.SMTP(host, 587, timeout=20) as smtp:
        smtp.starttls(context=ctx)
        smtp.login(address, password)
        smtp.sendmail(address, [address], message(address, address, "submitted", marker))


def wait_for_imap(host, ctx, address, password, markers):
    deadline = time.monotonic() + 20
    while True:
        with imaplib.IMAP4_SSL(host, 993, ssl_context=ctx, timeout=20) as imap:
            imap.login(address, password)
            imap.select("INBOX", readonly=True)
            bodies = []
            status, data = imap.uid("SEARCH", "ALL")
            for uid in data[0].split():
                status, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                bodies.append(parts[0][1])
            imap.logout()
        found = [m for m in markers if any(m.encode() in b for b in bodies)]
        if len(found) == len(markers):
            return bodies
        if time.monotonic() > deadline:
            raise SystemExit(f"smoke: IMAP shows {len(bodies)} messages, missing {set(markers) - set(found)}")
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--address", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--also-expect", action="append", default=[],
                        help="text of a message sent another way (sendmail) that IMAP must show too")
    args = parser.parse_args()
    password = open(args.password_file).read().strip()
    ctx = context(args.cafile)

    inbound, submitted = uuid.uuid4().hex, uuid.uuid4().hex
    send_inbound(args.host, ctx, args.address, inbound)
    send_submission(args.host, ctx, args.address, password, submitted)
    print("smoke: SMTP 25 (STARTTLS) and submission 587 (STARTTLS + AUTH) accepted both messages")

    bodies = wait_for_imap(args.host, ctx, args.address, password, [inbound, submitted, *args.also_expect])
    for body in bodies:
        if any(m.encode() in body for m in args.also_expect):
            continue
        if b"\r\n.leading dot stays\r\n" not in body or b"Received: " not in body:
            raise SystemExit(f"smoke: IMAP returned an unexpected message:\n{body!r}")
    print(f"smoke: IMAPS 993 shows the messages ({len(bodies)} in INBOX)")

    pop = poplib.POP3_SSL(args.host, 995, context=ctx, timeout=20)
    pop.user(args.address)
    pop.pass_(password)
    count, _ = pop.stat()
    lines = b"\r\n".join(b"\r\n".join(pop.retr(i)[1]) for i in range(1, count + 1))
    pop.quit()
    if inbound.encode() not in lines or submitted.encode() not in lines:
        raise SystemExit("smoke: POP3 does not return both messages")
    print(f"smoke: POP3S 995 returns both messages ({count} in the maildrop)")


if __name__ == "__main__":
    sys.exit(main())
