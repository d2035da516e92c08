"""End-to-end tests of mailstead-smtpd with real clients (Python's smtplib and raw sockets,
swaks): local delivery byte for byte, pipelining, the relay tricks, submission with AUTH and
the anti-spoofing rule, implicit TLS, smuggling and STARTTLS injection, limits, bad input."""

import base64
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from fake_dns import FakeDns, Zone
from harness import HOST, SMTPD, Daemon, Instance, client_context, free_port, smtp_waiter

PASSWORD = "alice's long password"


class SmtpdInstance:
    def __init__(self, auth=None, **smtpd_options):
        self.mx, self.submission, self.submissions = free_port(), free_port(), free_port()
        smtpd = {"listen": [f"{HOST}:{self.mx}"], "submission_listen": [f"{HOST}:{self.submission}"],
                 "submissions_listen": [f"{HOST}:{self.submissions}"]}
        smtpd.update(smtpd_options)
        sections = {"smtpd": smtpd, "server": {"hostname": "mail.example.test"},
                    "auth": auth or {"failure_delay": "0s"}}
        self.instance = Instance(sections=sections)
        self.admin("domain", "add", "example.test")
        self.admin("user", "add", "alice@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        self.admin("user", "add", "bob@example.test", "--password-stdin", stdin="bob's long password\n")
        self.daemon = Daemon([str(SMTPD), "-c", str(self.instance.config)], self.instance.dir / "smtpd.log")

    def admin(self, *args, stdin=None):
        return self.instance.admin(*args, stdin=stdin)

    def messages(self, user, mailbox="INBOX"):
        return self.instance.messages(user, mailbox)

    def message_bytes(self, user, uid, mailbox="INBOX"):
        return self.instance.message_bytes(user, uid, mailbox)

    def queue(self):
        return self.instance.queue()

    def close(self):
        try:
            self.daemon.stop_cleanly()
        finally:
            self.instance.cleanup()


class Raw:
    """A line-level SMTP client for what smtplib will not do."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        if tls:
            self.sock = client_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"closed; unread {self.buffer!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        """A whole (possibly multi-line) reply, as (code, last line)."""
        while True:
            line = self.line()
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), line

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.sock.close()


class SmtpdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = SmtpdInstance(max_message_size="64K", max_recipients=5, max_errors=20)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def raw(self, port=None, tls=False):
        r = Raw(port or self.s.mx, tls)
        self.addCleanup(r.close)
        self.assertEqual(r.reply()[0], 220)
        return r

    def submit(self):
        client = smtplib.SMTP(HOST, self.s.submission, timeout=10)
        self.addCleanup(client.close)
        client.starttls(context=client_context())
        client.login("alice@example.test", PASSWORD)
        return client

    def test_greeting_and_ehlo(self):
        with smtplib.SMTP(HOST, self.s.mx, timeout=10) as c:
            code, text = c.ehlo("client.example.org")
            self.assertEqual(code, 250)
            for ext in (b"PIPELINING", b"SIZE 65536", b"8BITMIME", b"SMTPUTF8", b"ENHANCEDSTATUSCODES", b"DSN",
                        b"CHUNKING", b"STARTTLS"):
                self.assertIn(ext, text)
            self.assertNotIn(b"AUTH", text)  # not on port 25
            self.assertEqual(c.noop()[0], 250)
            self.assertEqual(c.verify("alice")[0], 252)

    def test_local_delivery_is_byte_exact(self):
        before = len(self.s.messages("bob@example.test"))
        body = ("From: carol@example.org\r\nTo: bob@example.test\r\nSubject: exact\r\n\r\n"
                ".leading dot\r\n..two dots\r\n.\r\nmid . dot\r\nlast line without dot\r\n")
        with smtplib.SMTP(HOST, self.s.mx, timeout=10) as c:
            c.sendmail("carol@example.org", ["Bob@Example.TEST"], body.encode())
        messages = self.s.messages("bob@example.test")
        self.assertEqual(len(messages), before + 1)
        stored = self.s.message_bytes("bob@example.test", messages[-1]["uid"])
        self.assertTrue(stored.endswith(body.encode()), stored)
        header = stored[: len(stored) - len(body)].decode()
        self.assertTrue(header.startswith("Return-Path: <carol@example.org>\r\nReceived: from "), header)
        self.assertIn("by mail.example.test (mailstead) with ESMTP", header)
        self.assertIn("for <Bob@Example.TEST>", header)

    def test_whole_transaction_pipelined_in_one_packet(self):
        r = self.raw()
        r.send("EHLO pipe.example.org\r\nMAIL FROM:<p@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nDATA\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 550)
        self.assertEqual(r.reply()[0], 354)
        r.send("Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 221)

    def test_bdat_chunks_are_stored_byte_exact(self):
        before = len(self.s.messages("bob@example.test"))
        first = b"Subject: chunked\r\n\r\n.a dot that BDAT does not unstuff\r\n"
        second = b"second chunk\r\n"
        r = self.raw()
        r.send(b"EHLO chunker\r\nMAIL FROM:<c@example.org>\r\nRCPT TO:<bob@example.test>\r\n"
               + b"BDAT %d\r\n" % len(first) + first + b"BDAT %d\r\n" % len(second) + second + b"BDAT 0 LAST\r\n")
        for expected in (250, 250, 250, 250, 250):
            self.assertEqual(r.reply()[0], expected)
        code, text = r.reply()
        self.assertEqual(code, 250, text)
        messages = self.s.messages("bob@example.test")
        self.assertEqual(len(messages), before + 1)
        self.assertTrue(self.s.message_bytes("bob@example.test", messages[-1]["uid"]).endswith(first + second))

    def test_bdat_refusals_keep_the_session_in_step(self):
        r = self.raw()
        r.send(b"EHLO chunker\r\nBDAT 5 LAST\r\nhello")
        r.reply()
        self.assertEqual(r.reply()[0], 503)  # no MAIL: the 5 bytes were read and dropped
        r.send(b"MAIL FROM:<c@example.org>\r\nRCPT TO:<bob@example.test>\r\nBDAT 3\r\nabcDATA\r\n")
        for expected in (250, 250, 250, 503):  # DATA after BDAT is refused
            self.assertEqual(r.reply()[0], expected)
        r.send(b"BDAT 5 LAST\r\nx\ny\r\n")
        code, text = r.reply()
        self.assertEqual(code, 550, text)  # bare LF
        r.send(b"MAIL FROM:<c@example.org>\r\nRCPT TO:<bob@example.test>\r\n")
        r.reply()
        r.reply()
        big = b"x" * 40000
        r.send(b"BDAT 40000\r\n" + big + b"BDAT 40000 LAST\r\n" + big)
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 552)
        r.send(b"NOOP\r\n")
        self.assertEqual(r.reply()[0], 250)

    def test_no_open_relay_by_any_trick(self):
        tricks = ["victim@remote.example", "VICTIM@REMOTE.EXAMPLE", "victim%remote.example@example.test",
                  "@example.test:victim@remote.example", "@example.test,@x.test:victim@remote.example",
                  '"victim@remote.example"@example.test', "remote.example!victim@example.test",
                  "victim@remote.example.", "victim@[192.0.2.1]", "victim@example.test.remote.example",
                  "victim@xn--bcher-kva.example"]
        r = self.raw()
        r.send("EHLO relay.example.org\r\n")
        r.reply()
        for address in tricks:
            r.send("MAIL FROM:<spammer@example.org>\r\n")
            self.assertEqual(r.reply()[0], 250)
            r.send(f"RCPT TO:<{address}>\r\n")
            code, text = r.reply()
            self.assertIn(code, (501, 550, 554), f"{address}: {text}")
            r.send("RSET\r\n")
            self.assertEqual(r.reply()[0], 250)
            if code == 554:
                self.assertIn("5.7.1", text)
        self.assertEqual(self.s.queue(), [])

    def test_an_internationalised_local_domain_answers_to_both_of_its_names(self):
        # Added with A-labels, listed and matched with U-labels; mail to either name is local.
        self.s.admin("domain", "add", "XN--BCHER-KVA.example")
        self.assertIn("b\u00fccher.example", self.s.admin("domain", "list").split())
        self.s.admin("user", "add", "anna@b\u00fccher.example", "--password-stdin", stdin=PASSWORD + "\n")
        with self.assertRaises(AssertionError):  # the same domain by its other name
            self.s.admin("domain", "add", "b\u00fccher.example")
        r = self.raw()
        r.send("EHLO client.example.org\r\n")
        r.reply()
        queued = len(self.s.queue())
        for address, utf8 in (("anna@xn--bcher-kva.example", ""), ("anna@B\u00dcCHER.example", " SMTPUTF8"),
                              ("anna@XN--BCHER-KVA.Example", "")):
            r.send(f"MAIL FROM:<someone@example.org>{utf8}\r\n")
            self.assertEqual(r.reply()[0], 250)
            r.send(f"RCPT TO:<{address}>\r\n".encode())
            code, text = r.reply()
            self.assertEqual(code, 250, f"{address}: {text}")
            r.send("RSET\r\n")
            r.reply()
        with smtplib.SMTP(HOST, self.s.mx, timeout=10) as c:
            c.sendmail("someone@example.org", ["anna@xn--bcher-kva.example"], b"Subject: idn\r\n\r\nx\r\n")
        self.assertEqual(len(self.s.messages("anna@xn--bcher-kva.example")), 1)
        self.assertEqual(len(self.s.queue()), queued)  # nothing was relayed

    def test_unknown_user_and_null_sender(self):
        with smtplib.SMTP(HOST, self.s.mx, timeout=10) as c:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as refused:
                c.sendmail("x@example.org", ["nobody@example.test"], b"Subject: x\r\n\r\nx\r\n")
            self.assertEqual(refused.exception.recipients["nobody@example.test"][0], 550)
            c.sendmail("", ["alice+bounces@example.test"], b"Subject: bounce\r\n\r\nx\r\n")

    def test_submission_needs_tls_then_auth(self):
        r = self.raw(self.s.submission)
        r.send("EHLO me\r\n")
        code, _ = r.reply()
        r.send("AUTH PLAIN " + base64.b64encode(f"\0alice@example.test\0{PASSWORD}".encode()).decode() + "\r\n")
        self.assertEqual(r.reply(), (538, "538 5.7.11 Encryption required for AUTH; use STARTTLS"))
        r.send("MAIL FROM:<alice@example.test>\r\n")
        self.assertEqual(r.reply()[0], 530)

    def test_submission_relays_for_its_user_and_refuses_spoofing(self):
        c = self.submit()
        queued_before = len(self.s.queue())
        c.sendmail("alice@example.test", ["carol@remote.example"],
                   b"From: Alice <alice@example.test>\r\nSubject: out\r\n\r\nhello\r\n")
        queue = self.s.queue()
        self.assertEqual(len(queue), queued_before + 1)
        self.assertEqual(queue[-1]["sender"], "alice@example.test")
        self.assertEqual(queue[-1]["recipients"][0]["address"], "carol@remote.example")
        with self.assertRaises(smtplib.SMTPSenderRefused) as spoof:
            c.sendmail("bob@example.test", ["carol@remote.example"], b"Subject: x\r\n\r\nx\r\n")
        self.assertEqual(spoof.exception.smtp_code, 553)
        with self.assertRaises(smtplib.SMTPDataError) as header_spoof:
            c.sendmail("alice@example.test", ["carol@remote.example"], b"From: bob@example.test\r\n\r\nx\r\n")
        self.assertEqual(header_spoof.exception.smtp_code, 553)
        c.sendmail("alice+tag@example.test", ["bob@example.test"], b"From: alice@example.test\r\n\r\nplus\r\n")

    def test_submission_adds_date_and_message_id(self):
        c = self.submit()
        c.sendmail("alice@example.test", ["alice@example.test"], b"From: alice@example.test\r\nSubject: bare\r\n\r\nx\r\n")
        last = self.s.messages("alice@example.test")[-1]
        stored = self.s.message_bytes("alice@example.test", last["uid"]).decode()
        self.assertIn("\r\nDate: ", stored)
        self.assertRegex(stored, r"\r\nMessage-ID: <[^>]+@mail\.example\.test>\r\n")
        self.assertIn("with ESMTPSA", stored)

    def test_implicit_tls_submission(self):
        with smtplib.SMTP_SSL(HOST, self.s.submissions, context=client_context(), timeout=10) as c:
            c.login("alice@example.test", PASSWORD)
            c.sendmail("alice@example.test", ["bob@example.test"], b"From: alice@example.test\r\n\r\nvia 465\r\n")

    def test_auth_failures(self):
        r = self.raw(self.s.submissions, tls=True)
        r.send("EHLO me\r\n")
        r.reply()
        r.send("AUTH PLAIN " + base64.b64encode(b"\0alice@example.test\0wrong").decode() + "\r\n")
        self.assertEqual(r.reply()[0], 535)
        r.send("AUTH PLAIN " + base64.b64encode(b"\0nobody@example.test\0whatever").decode() + "\r\n")
        self.assertEqual(r.reply()[0], 535)
        r.send("AUTH PLAIN not-base64!\r\n")
        self.assertEqual(r.reply()[0], 501)
        r.send("AUTH LOGIN\r\n")
        self.assertEqual(r.reply()[0], 334)
        r.send("*\r\n")
        self.assertEqual(r.reply()[0], 501)
        r.send("AUTH CRAM-MD5\r\n")
        self.assertEqual(r.reply()[0], 504)
        r.send("AUTH LOGIN " + base64.b64encode(b"alice@example.test").decode() + "\r\n")
        self.assertEqual(r.reply()[0], 334)
        r.send(base64.b64encode(PASSWORD.encode()).decode() + "\r\n")
        self.assertEqual(r.reply()[0], 235)
        self.assertNotIn(PASSWORD, self.s.daemon.log())

    def test_smuggling_is_refused(self):
        before = len(self.s.messages("alice@example.test"))
        for fake_end in (b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n"):
            r = self.raw()
            r.send(b"EHLO smuggler\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
            for expected in (250, 250, 250, 354):
                self.assertEqual(r.reply()[0], expected)
            r.send(b"Subject: first\r\n\r\nx" + fake_end + b"MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
                   b"DATA\r\nSubject: smuggled\r\n\r\ny\r\n.\r\n")
            code, text = r.reply()
            self.assertEqual(code, 550, text)
            self.assertIn("5.6.0", text)
            r.send(b"NOOP\r\n")
            self.assertEqual(r.reply()[0], 250)  # in step: the smuggled commands were message text
        self.assertEqual(len(self.s.messages("alice@example.test")), before)

    def test_starttls_injection_is_discarded(self):
        r = self.raw()
        r.send("EHLO me\r\n")
        r.reply()
        r.send("STARTTLS\r\nRSET\r\nMAIL FROM:<injected@example.org>\r\n")
        self.assertEqual(r.reply()[0], 220)
        r.sock = client_context().wrap_socket(r.sock, server_hostname="localhost")
        r.send("MAIL FROM:<a@example.org>\r\n")
        self.assertEqual(r.reply()[0], 503)  # state was reset by TLS: EHLO first, nothing injected ran
        r.send("EHLO me\r\n")
        code, text = r.reply()
        self.assertEqual(code, 250)
        self.assertNotIn("STARTTLS", text)

    def test_size_limits(self):
        r = self.raw()
        r.send("EHLO me\r\nMAIL FROM:<big@example.org> SIZE=100000\r\n")
        r.reply()
        self.assertEqual(r.reply()[0], 552)
        r.send("MAIL FROM:<big@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        for expected in (250, 250, 354):
            self.assertEqual(r.reply()[0], expected)
        r.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 70 + b".\r\n")
        code, text = r.reply()
        self.assertEqual(code, 552, text)  # read to the end, then refused: the session stays in step
        r.send("NOOP\r\n")
        self.assertEqual(r.reply()[0], 250)

    def test_too_many_recipients(self):
        r = self.raw()
        r.send("EHLO me\r\nMAIL FROM:<m@example.org>\r\n")
        r.reply()
        r.reply()
        for i in range(5):
            r.send(f"RCPT TO:<alice+{i}@example.test>\r\n")
            self.assertEqual(r.reply()[0], 250)
        r.send("RCPT TO:<bob@example.test>\r\n")
        code, text = r.reply()
        self.assertEqual(code, 452)
        self.assertIn("4.5.3", text)

    def test_bad_input_then_disconnect_and_still_serving(self):
        r = self.raw()
        r.send("FROB\r\n")
        self.assertEqual(r.reply()[0], 500)
        r.send("EHLO me\r\nRCPT TO:<alice@example.test>\r\n")
        r.reply()
        self.assertEqual(r.reply()[0], 503)
        r.send("MAIL FROM:<a@b.test>\r\nMAIL FROM:<a@b.test>\r\n")
        self.assertEqual(r.reply()[0], 250)
        self.assertEqual(r.reply()[0], 503)
        r.send(b"NOOP\nNOOP\r\n")
        self.assertEqual(r.reply()[0], 500)  # bare LF in a command
        self.assertEqual(r.reply()[0], 250)
        r.send(b"X" * 5000 + b"\r\n")
        self.assertEqual(r.reply()[0], 500)  # too long
        r.send(b"NUL\0byte\r\n")
        self.assertEqual(r.reply()[0], 500)
        for _ in range(13):  # errors 7 to 19
            r.send("FROB\r\n")
            self.assertEqual(r.reply()[0], 500)
        r.send("FROB\r\n")
        code, text = r.reply()
        self.assertEqual(code, 500)
        self.assertEqual(r.reply(), (421, "421 4.7.0 Too many errors, closing connection"))
        self.assertTrue(r.closed())
        with smtplib.SMTP(HOST, self.s.mx, timeout=10) as c:
            self.assertEqual(c.noop()[0], 250)

    def test_mail_loop_is_refused(self):
        loop = "".join(f"Received: from hop{i} by relay{i}; Tue, 24 Nov 2026 09:00:00 +0000\r\n" for i in range(60))
        with smtplib.SMTP(HOST, self.s.mx, timeout=10) as c:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                c.sendmail("l@example.org", ["alice@example.test"], (loop + "Subject: loop\r\n\r\nx\r\n").encode())
            self.assertEqual(refused.exception.smtp_code, 554)

    def test_swaks(self):
        if not shutil.which("swaks"):
            self.fail("swaks is not installed (scripts/install-deps.sh installs it)")
        r = subprocess.run(["swaks", "--server", f"{HOST}:{self.s.submission}", "--tls", "--auth", "PLAIN",
                            "--auth-user", "alice@example.test", "--auth-password", PASSWORD,
                            "--from", "alice@example.test", "--to", "bob@example.test",
                            "--header", "From: alice@example.test", "--body", "sent by swaks"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("250 2.0.0 OK", r.stdout)


def auth_plain(user, password):
    return "AUTH PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode() + "\r\n"


class FailedLoginTest(unittest.TestCase):
    def test_failures_are_slowed_then_locked_out_per_address(self):
        s = SmtpdInstance(auth={"failure_delay": "1s", "failure_delay_max": "1s", "lockout_failures": 3})
        self.addCleanup(s.close)
        attacker = Raw(s.submissions, tls=True)
        self.addCleanup(attacker.close)
        attacker.reply()
        attacker.send("EHLO guesser\r\n")
        attacker.reply()
        for guess in ("one", "two", "three"):
            started = time.monotonic()
            attacker.send(auth_plain("alice@example.test", guess))
            self.assertEqual(attacker.reply()[0], 535)
            self.assertGreaterEqual(time.monotonic() - started, 0.9, "a failed login must be slowed")
        attacker.send(auth_plain("alice@example.test", PASSWORD))  # even the right password now
        code, text = attacker.reply()
        self.assertEqual((code, text[:9]), (454, "454 4.7.0"))
        # Another address is not affected, and a good login is not slowed.
        other = socket.create_connection((HOST, s.submissions), timeout=10, source_address=("127.0.0.2", 0))
        other = client_context().wrap_socket(other, server_hostname="localhost")
        self.addCleanup(other.close)
        client = Raw.__new__(Raw)
        client.sock, client.buffer = other, b""
        client.reply()
        client.send("EHLO friend\r\n")
        client.reply()
        started = time.monotonic()
        client.send(auth_plain("alice@example.test", PASSWORD))
        self.assertEqual(client.reply()[0], 235)
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertIn("event=auth_failed", s.daemon.log())
        self.assertIn("failures=3 locked=true", s.daemon.log())


class QuotaAndTrustTest(unittest.TestCase):
    def test_over_quota_at_rcpt(self):
        s = SmtpdInstance()
        self.addCleanup(s.close)
        s.admin("user", "quota", "alice@example.test", "--messages", "1")
        with smtplib.SMTP(HOST, s.mx, timeout=10) as c:
            c.sendmail("q@example.org", ["alice@example.test"], b"Subject: 1\r\n\r\n1\r\n")
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as full:
                c.sendmail("q@example.org", ["alice@example.test"], b"Subject: 2\r\n\r\n2\r\n")
            self.assertEqual(full.exception.recipients["alice@example.test"][0], 452)

    def test_trusted_network_may_relay(self):
        s = SmtpdInstance(trusted_networks=["127.0.0.0/8"])
        self.addCleanup(s.close)
        with smtplib.SMTP(HOST, s.mx, timeout=10) as c:
            c.sendmail("app@example.test", ["someone@remote.example"], b"Subject: app\r\n\r\nx\r\n")
        self.assertEqual(s.queue()[0]["recipients"][0]["address"], "someone@remote.example")


class SiteOptionsTest(unittest.TestCase):
    def test_junk_commands_are_limited_between_messages(self):
        s = SmtpdInstance(max_junk_commands=5)
        self.addCleanup(s.close)
        r = Raw(s.mx)
        self.addCleanup(r.close)
        r.reply()
        r.send("EHLO me\r\n" + "NOOP\r\n" * 4)
        r.reply()
        for _ in range(4):
            self.assertEqual(r.reply()[0], 250)
        r.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        self.assertEqual([r.reply()[0] for _ in range(3)], [250, 250, 354])
        r.send("Subject: x\r\n\r\nx\r\n.\r\n")
        self.assertEqual(r.reply()[0], 250)  # an accepted message starts the count again
        r.send("NOOP\r\nRSET\r\nVRFY x\r\nHELP\r\nNOOP\r\nNOOP\r\n")
        self.assertEqual([r.reply()[0] for _ in range(5)], [250, 250, 252, 214, 250])
        self.assertEqual(r.reply(), (421, "421 4.7.0 Too many commands without a message, closing connection"))
        self.assertTrue(r.closed())

    def submit(self, s, to, n):
        with smtplib.SMTP(HOST, s.submission, timeout=10) as c:
            c.starttls(context=client_context())
            c.login("alice@example.test", PASSWORD)
            c.sendmail("alice@example.test", to, f"From: alice@example.test\r\nSubject: {n}\r\n\r\nx\r\n".encode())

    def test_sending_limit_holds_what_is_over_it(self):
        s = SmtpdInstance(max_messages_per_hour=2)
        self.addCleanup(s.close)
        start = time.time()
        for n in range(3):
            self.submit(s, ["someone@remote.example"], n)
        entries = sorted(s.queue(), key=lambda e: e["id"])
        self.assertEqual(len(entries), 3)
        held = entries[2]["recipients"][0]
        self.assertGreaterEqual(held["next_attempt"], start + 3600 - 5)  # the next hour's window
        for e in entries[:2]:
            self.assertLess(e["recipients"][0]["next_attempt"], start + 3600 - 5)

    def test_sending_limit_can_refuse_instead(self):
        s = SmtpdInstance(max_messages_per_hour=1, over_limit="refuse")
        self.addCleanup(s.close)
        self.submit(s, ["someone@remote.example"], 1)
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            self.submit(s, ["someone@remote.example", "bob@example.test"], 2)
        self.assertEqual(refused.exception.smtp_code, 451)
        self.assertIn(b"4.7.1 Sending limit reached (1 messages or 1000 recipients an hour",
                      refused.exception.smtp_error)
        self.assertEqual(len(s.queue()), 1)
        self.assertEqual(s.messages("bob@example.test"), [])  # all or nothing: bob got nothing either
        self.submit(s, ["bob@example.test"], 3)  # mail between local users is not counted
        self.assertEqual(len(s.messages("bob@example.test")), 1)

    def test_sending_limit_counts_recipients_and_caps_what_is_held(self):
        # Found: limits counted messages, so each of them could carry a hundred recipients.
        s = SmtpdInstance(max_recipients_per_hour=3, over_limit="refuse")
        self.addCleanup(s.close)
        self.submit(s, ["a@remote.example", "b@remote.example"], 1)
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            self.submit(s, ["c@remote.example", "d@remote.example"], 2)
        self.assertEqual(refused.exception.smtp_code, 451)
        self.submit(s, ["c@remote.example"], 3)
        self.assertIn("write_refused", s.instance.dir.joinpath("smtpd.log").read_text())
        self.assertNotIn("write_failed", s.instance.dir.joinpath("smtpd.log").read_text())
        # Holding, what would wait past max_hold is refused instead of queued without end.
        held = SmtpdInstance(max_messages_per_hour=1, max_hold="2h")
        self.addCleanup(held.close)
        for n in range(3):  # this hour's, and the next two hours'
            self.submit(held, ["someone@remote.example"], n)
        with self.assertRaises(smtplib.SMTPDataError) as capped:
            self.submit(held, ["someone@remote.example"], 4)
        self.assertEqual(capped.exception.smtp_code, 451)
        self.assertEqual(len(held.queue()), 3)

    def test_received_names_the_user_only_when_configured(self):
        for shows in (False, True):
            s = SmtpdInstance(received_shows_user=shows)
            self.addCleanup(s.close)
            with smtplib.SMTP(HOST, s.submission, timeout=10) as c:
                c.starttls(context=client_context())
                c.login("alice@example.test", PASSWORD)
                c.sendmail("alice@example.test", ["bob@example.test"], b"From: alice@example.test\r\n\r\nx\r\n")
            stored = s.message_bytes("bob@example.test", s.messages("bob@example.test")[0]["uid"])
            self.assertEqual(b"(authenticated as alice@example.test)" in stored, shows)


if __name__ == "__main__":
    unittest.main()


def reversed_ip(address):
    return ".".join(reversed(address.split(".")))


class ScreeningTest(unittest.TestCase):
    """Before the greeting on port 25: a client that talks first is refused (RFC 5321 §3.1), and
    so is an address whose DNS list score reaches the threshold (RFC 5782), with the list's
    text; an allow list's negative weight offsets a block list."""

    @classmethod
    def setUpClass(cls):
        # HOST is on the block list and the allow list; 127.0.0.2 on the block list alone.
        cls.dns = FakeDns(Zone({
            f"{reversed_ip(HOST)}.bl.example": [("A", "127.0.0.2"), ("TXT", "Listed for spam; see https://bl.example")],
            f"{reversed_ip(HOST)}.wl.example": [("A", "127.0.10.2")],
            "2.0.0.127.bl.example": [("A", "127.0.0.4"), ("TXT", "Listed for spam; see https://bl.example")],
            # What a list answers a public resolver: not a listing.
            "3.0.0.127.bl.example": [("A", "127.255.255.254")],
        }, negative_ttl=60))
        cls.port = free_port()
        cls.instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{cls.port}"], "greeting_delay": "1s",
                      "dns_lists": ["bl.example", "wl.example*-1"]},
            "dns": {"servers": [f"127.0.0.1:{cls.dns.port}"], "timeout": "1s"},
        })
        cls.smtpd = Daemon([str(SMTPD), "-c", str(cls.instance.config)], cls.instance.dir / "smtpd.log")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.smtpd.stop_cleanly()
        finally:
            cls.dns.close()
            cls.instance.cleanup()

    def greeting(self, source, talk_first=False):
        """What the server says first to a client from `source`, and after how long."""
        with socket.create_connection((HOST, self.port), timeout=10, source_address=(source, 0)) as s:
            start = time.monotonic()
            if talk_first:
                s.sendall(b"EHLO impatient.example\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode(), time.monotonic() - start

    def test_a_client_that_waits_is_greeted_after_the_delay(self):
        text, took = self.greeting("127.0.0.1")
        self.assertTrue(text.startswith("220 "), text)
        self.assertGreaterEqual(took, 0.9)

    def test_a_client_that_talks_first_is_refused(self):
        text, _ = self.greeting("127.0.0.1", talk_first=True)
        self.assertEqual(text, "554 5.7.1 SMTP protocol violation: talked before the greeting\r\n")
        self.assertIn("event=early_talker", self.smtpd.log())

    def test_a_listed_client_is_refused_with_the_lists_text(self):
        text, _ = self.greeting("127.0.0.2")
        self.assertEqual(text, "554 5.7.1 Client 127.0.0.2 is listed by bl.example: Listed for spam; "
                               "see https://bl.example\r\n")

    def test_an_allow_list_offsets_a_block_list(self):
        text, _ = self.greeting(HOST)  # on both: 1 - 1 = 0, under the threshold
        self.assertTrue(text.startswith("220 "), text)

    def test_a_refusal_to_answer_is_not_a_listing(self):
        text, _ = self.greeting("127.0.0.3")
        self.assertTrue(text.startswith("220 "), text)


class GreylistTest(unittest.TestCase):
    """Greylisting (RFC 6647) on port 25: a new (network, sender, recipient) is deferred with 451
    4.7.1 until greylist.delay has passed; the retry gets through and allows its network; users,
    trusted networks and clients on a DNS allow list are never greylisted. Each test sends from
    a loopback /24 of its own (127.0.N.1), since a network that got mail through is allowed."""

    @classmethod
    def setUpClass(cls):
        cls.dns = FakeDns(Zone({f"{reversed_ip(HOST)}.wl.example": [("A", "127.0.10.2")]}, negative_ttl=60))
        cls.mx, cls.submission = free_port(), free_port()
        cls.instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{cls.mx}"], "submission_listen": [f"{HOST}:{cls.submission}"],
                      "allow_plaintext_auth": True, "dns_lists": ["wl.example*-1"]},
            "server": {"hostname": "mail.example.test"},
            "dns": {"servers": [f"127.0.0.1:{cls.dns.port}"], "timeout": "1s"},
            "greylist": {"enabled": True, "delay": "2s"},
        })
        cls.instance.admin("domain", "add", "example.test")
        cls.instance.admin("user", "add", "alice@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        cls.daemon = Daemon([str(SMTPD), "-c", str(cls.instance.config)], cls.instance.dir / "smtpd.log")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop_cleanly()
        finally:
            cls.dns.close()
            cls.instance.cleanup()

    def attempt(self, source, sender, subject):
        """One delivery attempt from `source`: the RCPT reply, then (if 250) the end of DATA's."""
        with smtplib.SMTP(HOST, self.mx, local_hostname="client.example", timeout=30,
                          source_address=(source, 0)) as s:
            s.ehlo()
            self.assertEqual(s.mail(sender)[0], 250)
            code, text = s.rcpt("alice@example.test")
            if code != 250:
                return code, text.decode()
            return s.data(f"From: <{sender}>\r\nSubject: {subject}\r\n\r\nHello\r\n".encode())[0], ""

    def test_a_new_sender_is_deferred_until_the_delay_then_passes(self):
        code, text = self.attempt("127.0.1.1", "joe@sender.example", "greylisted")
        self.assertEqual((code, text), (451, "4.7.1 Greylisted, try again in 2 seconds"))
        code, text = self.attempt("127.0.1.1", "joe@sender.example", "greylisted")
        self.assertEqual(code, 451, text)  # too early
        time.sleep(2.1)
        # Retried from another address of the same /24, as a large sender's pool does.
        self.assertEqual(self.attempt("127.0.1.2", "joe@sender.example", "greylisted")[0], 250)
        # The network got mail through: another sender from it is not greylisted.
        self.assertEqual(self.attempt("127.0.1.1", "ann@other.example", "allowed network")[0], 250)
        # Another network still is.
        self.assertEqual(self.attempt("127.0.2.1", "ann@other.example", "other network")[0], 451)
        log = self.daemon.log()
        self.assertIn('event=greylisted network=127.0.1.0/24 sender="joe@sender.example"', log)

    def test_a_client_on_a_dns_allow_list_is_not_greylisted(self):
        self.assertEqual(self.attempt(HOST, "fresh@sender.example", "allow listed")[0], 250)

    def test_users_are_not_greylisted(self):
        with smtplib.SMTP(HOST, self.submission, timeout=30, source_address=("127.0.3.1", 0)) as s:
            s.ehlo("laptop.example")
            s.login("alice@example.test", PASSWORD)
            s.sendmail("alice@example.test", ["alice@example.test"],
                       b"From: <alice@example.test>\r\nSubject: own\r\n\r\nHi\r\n")


class GreylistFloodTest(unittest.TestCase):
    """A stranger who makes up a new sender for every RCPT writes a triplet each time: at
    greylist.max_entries the table stops growing (new triplets then pass ungreylisted) and
    another session's commands are not held up meanwhile."""

    def test_made_up_senders_fill_the_table_to_its_bound(self):
        mx = free_port()
        instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{mx}"], "max_junk_commands": 100000},
            "greylist": {"enabled": True, "max_entries": 100},
        })
        try:
            instance.admin("domain", "add", "example.test")
            instance.admin("user", "add", "alice@example.test", "--password-stdin", stdin=PASSWORD + "\n")
            daemon = Daemon([str(SMTPD), "-c", str(instance.config)], instance.dir / "smtpd.log")
            try:
                waiter = smtp_waiter(mx)
                waiter.start()
                codes = []
                start = time.monotonic()
                with smtplib.SMTP(HOST, mx, local_hostname="flood.example", timeout=30,
                                  source_address=("127.0.4.1", 0)) as s:
                    s.ehlo()
                    for i in range(150):
                        s.mail(f"made-up-{i}@spam.example")
                        codes.append(s.rcpt("alice@example.test")[0])
                        s.rset()
                elapsed = time.monotonic() - start
                self.assertTrue(waiter.is_alive())
                waiter.stop.set()
                waiter.join()
                print(f"\n150 made-up senders: {codes.count(451)} greylisted, then {codes.count(250)} let "
                      f"through at max_entries 100, in {elapsed:.2f} s; another session's NOOP waited at most "
                      f"{waiter.longest * 1000:.0f} ms over {waiter.round_trips} round trips")
                self.assertEqual(codes[:100], [451] * 100)
                self.assertEqual(codes[100:], [250] * 50)
                self.assertIn("event=greylist_full", daemon.log())
                self.assertLess(waiter.longest, 1.0)
            finally:
                daemon.stop_cleanly()
        finally:
            instance.cleanup()
