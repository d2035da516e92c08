"""End-to-end tests of mailstead-sendmail (/usr/sbin/sendmail of the package) against a real
mailstead-smtpd over its local socket: the calls cron, PHP and mutt make, what arrives (trace
with the caller's uid, Bcc: gone, Date: and Message-ID: added, dots intact), relaying for local
programs, refusals as sysexits codes, -bs, and a daemon that is not running."""

import os
import shutil
import socket
import subprocess
import unittest

from harness import SENDMAIL, SMTPD, Daemon, Instance
from test_smtpd import SmtpdInstance

EX_USAGE, EX_NOUSER, EX_TEMPFAIL = 64, 67, 75


class SendmailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smtpd = SmtpdInstance()
        cls.socket = str(cls.smtpd.instance.dir / "submit.sock")

    @classmethod
    def tearDownClass(cls):
        cls.smtpd.close()

    def sendmail(self, *args, message=b"", env=None, prefix=()):
        environment = dict(os.environ, MAILSTEAD_SENDMAIL_SOCKET=self.socket)
        environment.update(env or {})
        return subprocess.run([*prefix, str(SENDMAIL), *args], input=message, capture_output=True, timeout=30,
                              env=environment)

    def newest(self, user):
        messages = self.smtpd.messages(user)
        self.assertTrue(messages, f"no mail for {user}")
        return self.smtpd.message_bytes(user, messages[-1]["uid"])

    def count(self, user):
        return len(self.smtpd.messages(user))

    def test_the_socket_is_open_to_every_local_user(self):
        self.assertEqual(os.stat(self.socket).st_mode & 0o777, 0o666)

    def test_php_style_minus_t_minus_i(self):
        before_bob = self.count("bob@example.test")
        r = self.sendmail("-t", "-i", message=(
            b"From: Web site <www@example.test>\n"
            b"To: alice@example.test\n"
            b"Bcc: bob@example.test\n"
            b"Subject: order 1234\n"
            b"\n"
            b"Thank you.\n"
            b".\n"
            b".leading dot\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        body = self.newest("alice@example.test")
        self.assertEqual(self.count("bob@example.test"), before_bob + 1)
        self.assertNotIn(b"Bcc:", body)
        self.assertIn(f"(mailstead, from userid {os.getuid()})".encode(), body)
        self.assertIn(b"\r\nDate: ", body)
        self.assertIn(b"\r\nMessage-ID: <", body)
        self.assertTrue(body.endswith(b"Subject: order 1234\r\n\r\nThank you.\r\n.\r\n.leading dot\r\n"), body)

    def test_cron_style_call_with_a_bare_user_name_and_a_dot_ending_the_input(self):
        r = self.sendmail("-FCronDaemon", "-B8BITMIME", "-oem", "-f", "root", "alice@example.test",
                          message=b"Subject: Cron <root@host> run-parts\n\nall good\n.\nnot part of it\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        body = self.newest("alice@example.test")
        self.assertIn(b'From: "CronDaemon" <root@mail.example.test>\r\n', body)  # qualified by smtpd's name
        self.assertTrue(body.endswith(b"\r\n\r\nall good\r\n"), body)
        self.assertIn(b"Return-Path: <root@mail.example.test>", body)

    def test_local_programs_may_send_to_other_domains(self):
        before = len(self.smtpd.queue())
        r = self.sendmail("-f", "alerts@example.test", "admin@remote.example", message=b"Subject: disk\n\n90% full\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        queue = self.smtpd.queue()
        self.assertEqual(len(queue), before + 1)

    def test_an_unknown_local_user_is_reported_and_the_others_get_the_mail(self):
        before = self.count("alice@example.test")
        r = self.sendmail("nobody-here@example.test", "alice@example.test", message=b"Subject: x\n\ny\n")
        self.assertEqual(r.returncode, EX_NOUSER)
        self.assertIn(b"<nobody-here@example.test>: 550 5.1.1", r.stderr)
        self.assertEqual(self.count("alice@example.test"), before + 1)

    def test_usage_errors(self):
        r = self.sendmail(message=b"x\n")
        self.assertEqual(r.returncode, EX_USAGE)
        self.assertIn(b"no recipients", r.stderr)
        r = self.sendmail("-t", message=b"Subject: no To\n\nx\n")
        self.assertEqual(r.returncode, EX_USAGE)
        r = self.sendmail("-bp")
        self.assertEqual(r.returncode, EX_USAGE)

    def test_minus_bs_speaks_smtp_on_stdio(self):
        before = self.count("alice@example.test")
        dialogue = (b"EHLO client\r\nMAIL FROM:<me@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
                    b"Subject: over -bs\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        r = self.sendmail("-bs", message=dialogue)
        self.assertEqual(r.returncode, 0, r.stderr)
        replies = r.stdout.decode().splitlines()
        self.assertTrue(replies[0].startswith("220 mail.example.test"), replies)
        self.assertNotIn("STARTTLS", r.stdout.decode())  # nothing to encrypt on a local socket
        self.assertTrue(replies[-1].startswith("221 "), replies)
        self.assertEqual(self.count("alice@example.test"), before + 1)

    def test_the_socket_comes_from_the_config(self):
        r = self.sendmail("-C", str(self.smtpd.instance.config), "alice@example.test", message=b"Subject: c\n\nx\n",
                          env={"MAILSTEAD_SENDMAIL_SOCKET": ""})
        self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(os.getuid() == 0 and shutil.which("setpriv"), "needs root to run as another user")
    def test_another_user_is_named_by_uid(self):
        # The instance directory is readable by all (harness); the socket is 0666.
        r = self.sendmail("alice@example.test", message=b"Subject: from nobody\n\nx\n",
                          prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))
        self.assertEqual(r.returncode, 0, r.stderr)
        body = self.newest("alice@example.test")
        self.assertIn(b"(mailstead, from userid 65534)", body)
        self.assertIn(b"From: nobody@mail.example.test\r\n", body)

    def test_a_stopped_daemon_is_a_temporary_failure(self):
        missing = str(self.smtpd.instance.dir / "no-such.sock")
        r = self.sendmail("alice@example.test", message=b"x\n", env={"MAILSTEAD_SENDMAIL_SOCKET": missing})
        self.assertEqual(r.returncode, EX_TEMPFAIL)
        self.assertIn(b"is it running?", r.stderr)


class LocalSocketLifecycleTest(unittest.TestCase):
    def test_a_stale_socket_is_replaced_and_the_file_goes_at_shutdown(self):
        instance = Instance()
        self.addCleanup(instance.cleanup)
        path = instance.dir / "submit.sock"
        stale = socket.socket(socket.AF_UNIX)  # what a crash leaves behind
        stale.bind(str(path))
        stale.close()
        daemon = Daemon([str(SMTPD), "-c", str(instance.config)], instance.dir / "smtpd.log")
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(10)
                client.connect(str(path))
                self.assertTrue(client.recv(512).startswith(b"220 "))
        finally:
            daemon.stop_cleanly()
        self.assertFalse(path.exists())

    def test_a_file_that_is_not_a_socket_is_left_alone_and_the_start_fails(self):
        instance = Instance()
        self.addCleanup(instance.cleanup)
        path = instance.dir / "submit.sock"
        path.write_text("someone's file\n")
        with self.assertRaises(RuntimeError) as failed:
            Daemon([str(SMTPD), "-c", str(instance.config)], instance.dir / "smtpd.log")
        self.assertIn("submit.sock", str(failed.exception))
        self.assertEqual(path.read_text(), "someone's file\n")


if __name__ == "__main__":
    unittest.main()
