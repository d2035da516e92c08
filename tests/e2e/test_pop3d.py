"""End-to-end tests of mailstead-pop3d with real clients (Python's poplib, curl, fetchmail and
raw sockets) on mail delivered through mailstead-smtpd: byte-exact RETR, dot-stuffing, TOP,
DELE/RSET/QUIT and what the store keeps, UIDL stability, [IN-USE], STLS and SASL, lockout
shared with SMTP, pipelining, autologout, bad input."""

import base64
import os
import poplib
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import HOST, POP3D, SMTPD, Daemon, Instance, LineClient, client_context, free_port

PASSWORD = "alice's long password"
ALICE = "alice@example.test"


class Pop3Instance:
    """smtpd (for delivery) and pop3d on one store."""

    def __init__(self, auth=None, **pop3d_options):
        self.mx, self.submission, self.pop3, self.pop3s = free_port(), free_port(), free_port(), free_port()
        pop3d = {"listen": [f"{HOST}:{self.pop3}"], "tls_listen": [f"{HOST}:{self.pop3s}"]}
        pop3d.update(pop3d_options)
        sections = {"smtpd": {"listen": [f"{HOST}:{self.mx}"], "submission_listen": [f"{HOST}:{self.submission}"],
                              "submissions_listen": [],
                              "allow_plaintext_auth": True},
                    "pop3d": pop3d, "auth": auth or {"failure_delay": "0s"}}
        self.instance = Instance(sections=sections)
        self.admin("domain", "add", "example.test")
        self.admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        self.admin("user", "add", "bob@example.test", "--password-stdin", stdin="bob's long password\n")
        self.smtpd = Daemon([str(SMTPD), "-c", str(self.instance.config)], self.instance.dir / "smtpd.log")
        self.pop3d = Daemon([str(POP3D), "-c", str(self.instance.config)], self.instance.dir / "pop3d.log")

    def admin(self, *args, stdin=None):
        return self.instance.admin(*args, stdin=stdin)

    def deliver(self, body, subject="test", to=ALICE):
        message = f"From: sender@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}"
        with smtplib.SMTP(HOST, self.mx, timeout=10) as s:
            s.sendmail("sender@example.org", [to], message.encode())

    def messages(self, user=ALICE):
        return self.instance.messages(user)

    def stored(self, uid, user=ALICE):
        return self.instance.message_bytes(user, uid)

    def close(self):
        try:
            try:
                self.pop3d.stop_cleanly()
            finally:  # smtpd is stopped even when pop3d ended badly
                self.smtpd.stop_cleanly()
        finally:
            self.instance.cleanup()


def pop3s(inst, user=ALICE, password=PASSWORD):
    p = poplib.POP3_SSL(HOST, inst.pop3s, context=client_context(), timeout=10)
    p.user(user)
    p.pass_(password)
    return p


class Raw(LineClient):
    def multiline(self):
        lines = []
        while (line := self.line()) != ".":
            lines.append(line)
        return lines

    def login(self):
        self.send("AUTH PLAIN " + base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode())
        return self.line()


def raw_tls(inst):
    c = Raw(inst.pop3s, client_context())
    assert c.line().startswith("+OK")
    return c


class Pop3dTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Pop3Instance()

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def setUp(self):
        # Each test starts from an empty maildrop for alice.
        p = pop3s(self.inst)
        for n in range(1, p.stat()[0] + 1):
            p.dele(n)
        p.quit()

    def test_retr_is_byte_exact_and_sizes_are_what_retr_sends(self):
        self.inst.deliver(".leading dot\r\n..two dots\r\n.\r\nend\r\n", subject="dots")
        self.inst.deliver(("x" * 998 + "\r\n") * 20 + ".line\r\n" * 3000, subject="big")
        uids = [m["uid"] for m in self.inst.messages()]
        p = pop3s(self.inst)
        count, octets = p.stat()
        self.assertEqual(count, 2)
        stored = [self.inst.stored(uid) for uid in uids]
        self.assertEqual(octets, sum(len(b) for b in stored))
        _, listing, _ = p.list()
        self.assertEqual([int(x.split()[1]) for x in listing], [len(b) for b in stored])
        for n, expected in enumerate(stored, 1):
            response, lines, size = p.retr(n)
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", expected)  # poplib undoes the dot-stuffing
            self.assertEqual(p.list(n).split()[2], str(len(expected)).encode())
        p.quit()
        # And on the wire: every line that starts with a dot gets one more.
        c = raw_tls(self.inst)
        c.login()
        c.send("RETR 1")
        self.assertTrue(c.line().startswith("+OK"))
        body = c.multiline()
        self.assertIn("..leading dot", body)
        self.assertIn("...two dots", body)
        self.assertIn("..", body)
        c.send("QUIT")
        self.assertTrue(c.line().startswith("+OK"))

    def test_top(self):
        self.inst.deliver("one\r\n.two\r\nthree\r\n", subject="top")
        p = pop3s(self.inst)
        _, lines, _ = p.top(1, 0)
        self.assertEqual(lines[-1], b"")  # the blank line after the header
        self.assertIn(b"Subject: top", lines)
        self.assertNotIn(b"one", lines)
        _, lines, _ = p.top(1, 2)
        self.assertEqual(lines[-3:], [b"", b"one", b".two"])
        _, lines, _ = p.top(1, 99)
        self.assertEqual(lines[-3:], [b"one", b".two", b"three"])
        with self.assertRaises(poplib.error_proto):
            p.top(2, 0)
        p.quit()

    def test_dele_rset_and_quit(self):
        for i in range(3):
            self.inst.deliver(f"message {i}\r\n", subject=f"m{i}")
        p = pop3s(self.inst)
        p.dele(1)
        with self.assertRaises(poplib.error_proto) as e:
            p.retr(1)
        self.assertIn(b"deleted", e.exception.args[0])
        self.assertEqual(p.stat()[0], 2)
        p.rset()
        self.assertEqual(p.stat()[0], 3)
        p.dele(2)
        p.retr(3)
        p.quit()
        stored = self.inst.messages()
        self.assertEqual(len(stored), 2)  # message 2 gone, in the store itself
        self.assertEqual([m["uid"] for m in stored], sorted(m["uid"] for m in stored))
        by_subject = {self.inst.stored(m["uid"]).split(b"Subject: ")[1].split(b"\r\n")[0]: m for m in stored}
        self.assertEqual(set(by_subject), {b"m0", b"m2"})
        self.assertIn("\\Seen", by_subject[b"m2"]["flags"])  # RETR marks it read, as IMAP will show
        self.assertNotIn("\\Seen", by_subject[b"m0"]["flags"])

    def test_a_dropped_connection_deletes_nothing(self):
        self.inst.deliver("keep me\r\n")
        c = raw_tls(self.inst)
        self.assertTrue(c.login().startswith("+OK"))
        c.send("DELE 1")
        self.assertTrue(c.line().startswith("+OK"))
        c.close()  # no QUIT: no UPDATE state
        time.sleep(0.3)
        self.assertEqual(len(self.inst.messages()), 1)
        p = pop3s(self.inst)  # and the maildrop lock went with the connection
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def test_uidl_is_stable_across_sessions(self):
        for i in range(3):
            self.inst.deliver(f"message {i}\r\n")
        p = pop3s(self.inst)
        _, first, _ = p.uidl()
        self.assertEqual(len(first), 3)
        ids = [line.split()[1] for line in first]
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(p.uidl(2).split()[2], ids[1])
        p.dele(1)
        p.quit()
        p = pop3s(self.inst)
        _, second, _ = p.uidl()
        self.assertEqual([line.split()[1] for line in second], ids[1:])
        p.quit()
        self.inst.deliver("new\r\n")
        p = pop3s(self.inst)
        _, third, _ = p.uidl()
        self.assertEqual([line.split()[1] for line in third][:2], ids[1:])
        self.assertNotIn(third[2].split()[1], ids)  # never reused, even for the deleted one's slot
        p.quit()

    def test_second_session_gets_in_use(self):
        first = pop3s(self.inst)
        c = raw_tls(self.inst)
        self.assertEqual(c.login(), "-ERR [IN-USE] Maildrop is already open in another session")
        c.send("STAT")  # still in AUTHORIZATION
        self.assertTrue(c.line().startswith("-ERR"))
        first.quit()
        self.assertTrue(c.login().startswith("+OK"))
        c.send("QUIT")
        self.assertTrue(c.line().startswith("+OK"))

    def test_capa_and_stls(self):
        c = Raw(self.inst.pop3)
        self.assertTrue(c.line().startswith("+OK"))
        c.send("CAPA")
        self.assertTrue(c.line().startswith("+OK"))
        capa = c.multiline()
        for needed in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS", "IMPLEMENTATION mailstead"):
            self.assertIn(needed, capa)
        self.assertNotIn("USER", capa)  # no plaintext login before TLS
        self.assertFalse(any(x.startswith("SASL") for x in capa))
        c.send(f"USER {ALICE}")
        self.assertTrue(c.line().startswith("-ERR [AUTH]"))
        self.assertTrue(c.login().startswith("-ERR [AUTH]"))
        c.send("STLS")
        self.assertTrue(c.line().startswith("+OK"))
        c.starttls(client_context())
        c.send("CAPA")
        c.line()
        capa = c.multiline()
        self.assertIn("USER", capa)
        self.assertIn("SASL PLAIN LOGIN", capa)
        self.assertNotIn("STLS", capa)
        c.send("STLS")
        self.assertTrue(c.line().startswith("-ERR"))
        c.send("AUTH LOGIN")
        self.assertEqual(c.line(), "+ VXNlcm5hbWU6")
        c.send(base64.b64encode(ALICE.encode()).decode())
        self.assertEqual(c.line(), "+ UGFzc3dvcmQ6")
        c.send(base64.b64encode(PASSWORD.encode()).decode())
        self.assertTrue(c.line().startswith("+OK Logged in"))
        c.send("QUIT")
        self.assertTrue(c.line().startswith("+OK"))

    def test_poplib_stls_then_user_pass(self):
        self.inst.deliver("over stls\r\n")
        p = poplib.POP3(HOST, self.inst.pop3, timeout=10)
        p.stls(context=client_context())
        p.user(ALICE)
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def test_auth_variants_and_failures(self):
        c = raw_tls(self.inst)
        c.send("AUTH")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.multiline(), ["PLAIN", "LOGIN"])
        c.send("AUTH PLAIN")
        self.assertEqual(c.line(), "+ ")
        c.send("*")
        self.assertEqual(c.line(), "-ERR Authentication cancelled")
        c.send("AUTH CRAM-MD5")
        self.assertTrue(c.line().startswith("-ERR"))
        c.send(f"USER {ALICE}")
        self.assertTrue(c.line().startswith("+OK"))
        c.send("PASS wrong")
        self.assertEqual(c.line(), "-ERR [AUTH] Authentication failed")
        c.send("PASS " + PASSWORD)  # USER must come again
        self.assertTrue(c.line().startswith("-ERR"))
        c.send(f"USER {ALICE}")
        c.line()
        c.send("PASS " + PASSWORD)
        self.assertTrue(c.line().startswith("+OK"))
        c.send("USER x")
        self.assertTrue(c.line().startswith("-ERR"))
        c.send("QUIT")
        self.assertTrue(c.line().startswith("+OK"))

    def test_pipelined_commands_are_answered_in_order(self):
        self.inst.deliver("one\r\n")
        self.inst.deliver("two\r\n")
        c = raw_tls(self.inst)
        plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
        c.send_raw(f"AUTH PLAIN {plain}\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 2\r\nDELE 1\r\nSTAT\r\nNOOP\r\nQUIT\r\n"
                   .encode())
        self.assertTrue(c.line().startswith("+OK Logged in"))
        self.assertRegex(c.line(), r"^\+OK 2 \d+$")
        c.line()
        self.assertEqual(len(c.multiline()), 2)
        self.assertRegex(c.line(), r"^\+OK 2 [0-9A-F]{16}$")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.multiline()[-1], "two")
        self.assertEqual(c.line(), "+OK Message 1 deleted")
        self.assertRegex(c.line(), r"^\+OK 1 \d+$")
        self.assertEqual(c.line(), "+OK")
        self.assertEqual(c.line(), "+OK Bye, 1 messages deleted")
        self.assertTrue(c.closed())

    def test_bad_input_gets_errors_and_the_server_goes_on(self):
        c = raw_tls(self.inst)
        c.send("HELO there")
        self.assertEqual(c.line(), "-ERR Unknown command")
        c.send("STAT")
        self.assertEqual(c.line(), "-ERR Log in first")
        c.send("A" * 10000)
        self.assertEqual(c.line(), "-ERR Line too long")
        c.login()
        for line, expected in [("RETR", "-ERR RETR needs one message number"), ("RETR 0", "-ERR Invalid message number"),
                               ("RETR 99", "-ERR No such message"), ("LIST x", "-ERR Invalid message number"),
                               ("TOP 1", "-ERR TOP needs a message number and a number of lines"),
                               ("\x00\xff", "-ERR Unknown command")]:
            c.send(line)
            self.assertEqual(c.line(), expected, line)
        c.send("NOOP")
        self.assertEqual(c.line(), "+OK")
        c.send("QUIT")
        self.assertTrue(c.line().startswith("+OK"))
        c = raw_tls(self.inst)
        c.login()
        c.send_raw(b"BOGUS\r\n" * 10)  # max_errors is 10: the tenth closes the session
        lines = [c.line() for _ in range(11)]
        self.assertEqual(lines[:10], ["-ERR Unknown command"] * 10)
        self.assertEqual(lines[10], "-ERR Too many bad commands, closing connection")
        self.assertTrue(c.closed())
        p = pop3s(self.inst)  # still serving, and the maildrop lock was released
        p.stat()
        p.quit()

    def test_curl_pop3_and_pop3s(self):
        self.inst.deliver("fetched by curl\r\n.dot\r\n", subject="curl")
        uid = self.inst.messages()[0]["uid"]
        expected = self.inst.stored(uid)
        for url, extra in [(f"pop3://{HOST}:{self.inst.pop3}/1", ["--ssl-reqd"]),
                           (f"pop3s://{HOST}:{self.inst.pop3s}/1", [])]:
            r = subprocess.run(["curl", "-sS", "--insecure", *extra, "--user", f"{ALICE}:{PASSWORD}", url],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, expected, url)
        r = subprocess.run(["curl", "-sS", "--insecure", "--user", f"{ALICE}:{PASSWORD}",
                            f"pop3s://{HOST}:{self.inst.pop3s}/"], capture_output=True, timeout=30)
        self.assertEqual(r.stdout.decode().split(), ["1", str(len(expected))])

    def fetchmail(self, keep, home):
        rc = Path(home) / "fetchmailrc"
        out = Path(home) / "delivered"
        rc.write_text(f'poll {HOST} service {self.inst.pop3s} protocol pop3 uidl\n'
                      f'  user "{ALICE}" password "{PASSWORD}" ssl no sslcertck\n'
                      f'  {"keep" if keep else "nokeep"} mda "sh -c \'cat >> {out}; echo ==== >> {out}\'"\n')
        rc.chmod(0o600)
        env = dict(os.environ, HOME=str(home))
        r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--nosyslog", "-v"],
                           capture_output=True, text=True, timeout=60, env=env)
        self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)  # 1: no new mail
        return out.read_text().count("====") if out.exists() else 0

    def test_fetchmail_keep_then_nokeep(self):
        for i in range(3):
            self.inst.deliver(f"fetch me {i}\r\n")
        with tempfile.TemporaryDirectory() as home:
            self.assertEqual(self.fetchmail(True, home), 3)
            self.assertEqual(len(self.inst.messages()), 3)  # kept
            self.assertEqual(self.fetchmail(True, home), 3)  # UIDL: nothing new the second time
            self.inst.deliver("one more\r\n")
            self.assertEqual(self.fetchmail(True, home), 4)
        with tempfile.TemporaryDirectory() as home:
            self.assertEqual(self.fetchmail(False, home), 4)
            self.assertEqual(self.inst.messages(), [])  # fetched and deleted


class ConcurrentSessionsTest(unittest.TestCase):
    """allow_concurrent_sessions: a message expunged by another session meanwhile."""

    def test_retr_of_a_message_removed_meanwhile(self):
        inst = Pop3Instance(allow_concurrent_sessions=True)
        try:
            inst.deliver("first\r\n")
            inst.deliver("second\r\n")
            a = pop3s(inst)
            b = pop3s(inst)
            b.dele(1)
            b.quit()
            with self.assertRaises(poplib.error_proto) as e:
                a.retr(1)
            self.assertEqual(e.exception.args[0], b"-ERR Message 1 was removed by another client")
            self.assertEqual(a.retr(2)[1][-1], b"second")
            a.dele(1)
            a.quit()  # deleting what is already gone is no error
            self.assertEqual(len(inst.messages()), 1)
        finally:
            inst.close()


class SharedDefencesTest(unittest.TestCase):
    def test_lockout_is_shared_with_smtp_and_autologout_deletes_nothing(self):
        inst = Pop3Instance(auth={"failure_delay": "0s", "lockout_failures": 3}, idle_timeout="2s",
                            allow_plaintext_auth=True)
        try:
            inst.deliver("still here\r\n")
            c = Raw(inst.pop3)
            c.line()
            c.send(f"USER {ALICE}")
            c.line()
            c.send("PASS " + PASSWORD)
            self.assertTrue(c.line().startswith("+OK"))
            c.send("DELE 1")
            c.line()
            start = time.monotonic()
            self.assertEqual(c.line(), "-ERR Autologout; idle for too long")
            self.assertLess(time.monotonic() - start, 10)
            self.assertTrue(c.closed())
            self.assertEqual(len(inst.messages()), 1)  # autologout never enters UPDATE
            # Two failures over SMTP AUTH and one over POP3 lock the address for both.
            with smtplib.SMTP(HOST, inst.submission, timeout=10) as s:
                s.ehlo()
                wrong = base64.b64encode(f"\0{ALICE}\0wrong".encode()).decode()
                for _ in range(2):
                    self.assertEqual(s.docmd("AUTH", "PLAIN " + wrong)[0], 535)
            c = Raw(inst.pop3)
            c.line()
            c.send(f"USER {ALICE}")
            c.line()
            c.send("PASS wrong")
            self.assertEqual(c.line(), "-ERR [AUTH] Authentication failed")
            c.send(f"USER {ALICE}")
            c.line()
            c.send("PASS " + PASSWORD)
            self.assertEqual(c.line(), "-ERR [AUTH] Too many failed logins from your address; try again later")
        finally:
            inst.close()


if __name__ == "__main__":
    unittest.main()
