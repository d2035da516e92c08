"""The README's run command (scripts/dev.sh) on a throwaway instance directory: it creates the
development instance, passes its own config check, prints the credentials, says which daemons
do not exist yet, runs those that do until SIGINT (Ctrl-C), and reuses the instance on a
second run. Every development port (2525, 2587, 2465, 2143, 2993, 2110, 2995) is used as the
README's client table says: alice logs in with the printed password and sees her mail."""

import imaplib
import json
import os
import poplib
import select
import signal
import smtplib
import stat
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import ADMIN, BUILD, SOURCE, client_context

DAEMONS = ("smtpd", "pop3d", "imapd")


def built(daemon):
    return (BUILD / daemon / f"mailstead-{daemon}").exists()


class DevRun:
    """scripts/dev.sh running until it says the daemons run (or exits when none is built)."""

    def __init__(self, instance):
        env = dict(os.environ, MAILSTEAD_DEV_DIR=str(instance), MAILSTEAD_BUILD_DIR=str(BUILD))
        self.proc = subprocess.Popen(["bash", str(SOURCE / "scripts/dev.sh")], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env, stdin=subprocess.DEVNULL)
        self.output = ""
        deadline = time.monotonic() + 600
        while "Running; Ctrl-C stops all daemons." not in self.output:
            ready, _, _ = select.select([self.proc.stdout], [], [], 1)
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    break  # dev.sh ended: no daemon to run, or a failure
                self.output += line
            if time.monotonic() > deadline:
                raise AssertionError("dev.sh did not start:\n" + self.output)
        self.running = self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends
        if not self.proc.stdout.closed:
            self.output += self.proc.stdout.read()
            self.proc.stdout.close()
        return self.proc.wait(timeout=60)


class DevInstanceTest(unittest.TestCase):
    def test_creates_runs_and_reuses_the_instance(self):
        with tempfile.TemporaryDirectory() as tmp:
            instance = Path(tmp) / "dev-instance"
            config = instance / "mailstead.toml"
            first = DevRun(instance)
            self.addCleanup(first.stop)
            password = (instance / "alice.password").read_text()
            if any(built(daemon) for daemon in DAEMONS):
                self.assertTrue(first.running, first.output)
                self.check_running_instance(password)
            status = first.stop()
            self.assertEqual(status, 0, first.output)
            self.assertEqual(config.read_text(), (SOURCE / "etc/dev.toml").read_text())
            self.assertIn(f"{config}: ok", first.output)
            self.assertGreaterEqual(len(password), 16)
            self.assertEqual(stat.S_IMODE((instance / "alice.password").stat().st_mode), 0o600)
            self.assertEqual(stat.S_IMODE((instance / "tls/key.pem").stat().st_mode), 0o600)
            self.assertIn("user:     alice@example.test", first.output)
            self.assertIn(f"password: {password}", first.output)
            for daemon in DAEMONS:
                self.assertEqual(f"not there yet: mailstead-{daemon}" in first.output, not built(daemon), daemon)
                self.assertEqual(f"starting mailstead-{daemon}" in first.output, built(daemon), daemon)
            users = subprocess.run([str(ADMIN), "-c", str(config), "user", "list", "--json"], capture_output=True,
                                   text=True)
            self.assertEqual(json.loads(users.stdout), [{"address": "alice@example.test", "quota_bytes": 0,
                                                         "quota_messages": 0, "enabled": True}])

            (instance / "data" / "keep-me").write_text("user data")
            second = DevRun(instance)
            self.addCleanup(second.stop)
            self.assertEqual(second.stop(), 0, second.output)
            self.assertNotIn("creating the development instance", second.output)
            self.assertEqual((instance / "alice.password").read_text(), password)
            self.assertEqual((instance / "data" / "keep-me").read_text(), "user data")
            users_again = subprocess.run([str(ADMIN), "-c", str(config), "user", "list"], capture_output=True, text=True)
            self.assertEqual(users_again.stdout.count("alice@example.test"), 1)
            if built("smtpd"):
                messages = subprocess.run([str(ADMIN), "-c", str(config), "message", "list", "alice@example.test",
                                           "INBOX", "--json"], capture_output=True, text=True)
                self.assertEqual(len(json.loads(messages.stdout)), 2, "mail of the first run was lost")

    def check_running_instance(self, password):
        """The README's client settings on every development port, as a mail client uses them."""
        user = "alice@example.test"
        if built("smtpd"):
            with smtplib.SMTP("127.0.0.1", 2525, timeout=10) as c:
                c.sendmail("someone@example.org", [user], b"Subject: to the dev instance\r\n\r\nhi\r\n")
            with smtplib.SMTP("127.0.0.1", 2587, timeout=10) as c:
                c.starttls(context=client_context())
                c.login(user, password)
                c.sendmail(user, [user], b"From: alice@example.test\r\n\r\nself\r\n")
            with smtplib.SMTP_SSL("127.0.0.1", 2465, timeout=10, context=client_context()) as c:
                c.login(user, password)
        if built("imapd"):
            with imaplib.IMAP4_SSL("127.0.0.1", 2993, ssl_context=client_context(), timeout=10) as c:
                c.login(user, password)
                self.assertEqual(c.select("INBOX", readonly=True), ("OK", [b"2" if built("smtpd") else b"0"]))
            with imaplib.IMAP4("127.0.0.1", 2143, timeout=10) as c:
                c.starttls(ssl_context=client_context())
                c.login(user, password)
        if built("pop3d"):
            pop = poplib.POP3_SSL("127.0.0.1", 2995, context=client_context(), timeout=10)
            pop.user(user)
            pop.pass_(password)
            self.assertEqual(pop.stat()[0], 2 if built("smtpd") else 0)
            pop.quit()
            pop = poplib.POP3("127.0.0.1", 2110, timeout=10)
            pop.stls(context=client_context())
            pop.user(user)
            pop.pass_(password)
            pop.quit()

if __name__ == "__main__":
    unittest.main()
