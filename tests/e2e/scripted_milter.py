#!/usr/bin/python3
"""A content filter built on Sendmail's own libmilter (Debian's python3-milter), for the milter
tests: what it does is chosen by the message, and what it was sent is written to a JSON-lines
file for the test to read.

usage: scripted_milter.py HOST PORT EVENTS_FILE

By the message: a Subject containing "milter:reject", "milter:tempfail", "milter:discard",
"milter:quarantine", "milter:spam" (adds X-Spam: Yes), "milter:rewrite" (changes Subject, adds a
field, replaces the body), "milter:redirect" (alice out, refused-bob in) or "milter:accept-early" (accepts at the end of the header); a sender
containing "blocked-sender" is refused at MAIL, a recipient starting "refused" at RCPT, a HELO
of "rejected.example" at HELO. Prints "ready PORT" once it accepts connections."""

import json
import socket
import sys
import threading
import time

import Milter

HOST, PORT, EVENTS = sys.argv[1], int(sys.argv[2]), sys.argv[3]
_lock = threading.Lock()


def record(event):
    with _lock, open(EVENTS, "a") as f:
        f.write(json.dumps(event) + "\n")


class Scripted(Milter.Base):
    def __init__(self):
        self.headers = []
        self.content = b""
        self.mail_from = ""

    def macro(self, name):
        return self.getsymval(name)

    def connect(self, hostname, family, hostaddr):
        record({"stage": "connect", "hostname": hostname, "address": hostaddr[0] if hostaddr else None,
                "j": self.macro("j"), "daemon": self.macro("{daemon_name}"),
                "client_addr": self.macro("{client_addr}")})
        return Milter.CONTINUE

    def hello(self, name):
        record({"stage": "helo", "name": name, "tls_version": self.macro("{tls_version}")})
        if name == "rejected.example":
            self.setreply("550", "5.7.1", "HELO refused by the scripted filter")
            return Milter.REJECT
        return Milter.CONTINUE

    def envfrom(self, mail_from, *params):
        self.mail_from = mail_from
        self.headers, self.content = [], b""
        record({"stage": "mail", "from": mail_from, "params": list(params), "i": self.macro("i"),
                "auth_authen": self.macro("{auth_authen}")})
        if "blocked-sender" in mail_from:
            self.setreply("550", "5.7.1", "Sender blocked by the scripted filter")
            return Milter.REJECT
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        record({"stage": "rcpt", "to": to, "mailer": self.macro("{rcpt_mailer}")})
        if to.lower().startswith("<refused"):
            self.setreply("550", "5.7.1", "Recipient refused by the scripted filter")
            return Milter.REJECT
        return Milter.CONTINUE

    def header(self, name, value):
        self.headers.append([name, value])
        return Milter.CONTINUE

    def eoh(self):
        if "milter:accept-early" in self.subject():
            record({"stage": "accept-early"})
            return Milter.ACCEPT
        return Milter.CONTINUE

    def body(self, chunk):
        self.content += chunk
        return Milter.CONTINUE

    def subject(self):
        return next((v for n, v in self.headers if n.lower() == "subject"), "")

    def eom(self):
        subject = self.subject()
        record({"stage": "eom", "headers": self.headers, "body": self.content.decode(errors="replace"),
                "i": self.macro("i")})
        if "milter:reject" in subject:
            self.setreply("554", "5.7.1", "Rejected by the scripted filter")
            return Milter.REJECT
        if "milter:tempfail" in subject:
            return Milter.TEMPFAIL
        if "milter:discard" in subject:
            return Milter.DISCARD
        if "milter:quarantine" in subject:
            self.quarantine("scripted quarantine")
        if "milter:spam" in subject:
            self.addheader("X-Spam", "Yes")
        if "milter:redirect" in subject:
            self.delrcpt("<alice@example.test>")
            self.addrcpt("<refused-bob@example.test>")
        if "milter:rewrite" in subject:
            self.chgheader("Subject", 1, "rewritten by the filter")
            self.addheader("X-Filtered", "yes,\n\tfolded")
            self.replacebody(b"The filter replaced this body.\r\n")
        return Milter.CONTINUE

    def abort(self):
        record({"stage": "abort"})
        return Milter.CONTINUE

    def close(self):
        record({"stage": "close"})
        return Milter.CONTINUE


def announce():
    """Says "ready" once the filter accepts connections (the probe is one empty session)."""
    for _ in range(400):
        try:
            socket.create_connection((HOST, PORT), timeout=1).close()
            print(f"ready {PORT}", flush=True)
            return
        except OSError:
            time.sleep(0.05)


if __name__ == "__main__":
    Milter.factory = Scripted
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.QUARANTINE | Milter.ADDRCPT |
                     Milter.DELRCPT)
    threading.Thread(target=announce, daemon=True).start()
    Milter.runmilter("scripted", f"inet:{PORT}@{HOST}", 240)
