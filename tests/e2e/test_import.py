"""End-to-end tests of `mailstead import`: Maildir (flags, Dovecot keywords, Maildir++ folders
with modified UTF-7 names) and mbox (mboxrd quoting, Status flags), re-runs that skip what is
there, an import killed half-way and run again, and bounded memory on a source larger than the
limit."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
import unittest
from pathlib import Path

from harness import ADMIN, SANITIZED, Instance


class ImportTest(unittest.TestCase):
    def setUp(self):
        self.instance = Instance()
        self.addCleanup(self.instance.cleanup)
        self.admin("domain", "add", "example.test")
        self.admin("user", "add", "alice@example.test", "--password-stdin", stdin="long enough password\n")

    def admin(self, *args, stdin=None, expect=0):
        r = subprocess.run([str(ADMIN), "-c", str(self.instance.config), *args], capture_output=True, text=True,
                           input=stdin, timeout=600)
        self.assertEqual(r.returncode, expect, f"{args}: {r.stdout}{r.stderr}")
        return r

    def mailboxes(self):
        boxes = json.loads(self.admin("mailbox", "list", "alice@example.test", "--json").stdout)
        return {b["name"]: b for b in boxes}

    def make_maildir(self, root, count, size=0, folders=()):
        for folder in ("", *folders):
            base = Path(root) / folder
            for sub in ("cur", "new", "tmp"):
                (base / sub).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            body = f"Subject: message {i}\nMessage-ID: <{i}@example.test>\n\n" + ("x" * 70 + "\n") * (size // 71)
            (Path(root) / "cur" / f"{1700000000 + i}.M{i}P1.host:2,S").write_text(body)

    def test_maildir_with_flags_keywords_and_folders(self):
        root = self.instance.dir / "Maildir"
        self.make_maildir(root, 0, folders=(".Work.Entw&APw-rfe", ".Lists"))
        (root / "cur" / "1700000000.M1.host:2,FRS").write_text("Subject: one\n\nbody\n")
        (root / "new" / "1700000001.M2.host").write_text("Subject: two\r\n\r\nbody\r\n")
        work = root / ".Work.Entw&APw-rfe"
        (work / "dovecot-keywords").write_text("0 $Important\n1 Work\n")
        (work / "cur" / "1700000002.M3.host:2,Sab").write_text("Subject: three\n\nx\n")
        (root / ".Lists" / "cur" / "1700000003.M4.host:2,T").write_text("Subject: four\n\ny\n")
        r = json.loads(self.admin("import", "alice@example.test", str(root), "--json").stdout)
        self.assertEqual(r, {"imported": 4, "skipped": 0, "mailboxes_created": 2, "complete": True})
        boxes = self.mailboxes()
        self.assertEqual(boxes["INBOX"]["messages"], 2)
        self.assertEqual(boxes["Work/Entwürfe"]["messages"], 1)
        self.assertEqual(boxes["Lists"]["messages"], 1)
        self.assertIn("Work", boxes)
        # Line ends became CRLF: "Subject: one\n\nbody\n" is 19 bytes, 22 with CRLF.
        self.assertEqual(boxes["Lists"]["bytes"], len("Subject: four\r\n\r\ny\r\n"))
        again = json.loads(self.admin("import", "alice@example.test", str(root), "--json").stdout)
        self.assertEqual(again, {"imported": 0, "skipped": 4, "mailboxes_created": 0, "complete": True})
        self.assertEqual(self.mailboxes()["INBOX"]["messages"], 2)

    def test_mbox(self):
        mbox = self.instance.dir / "saved.mbox"
        mbox.write_text("From alice@example.org Mon Nov 24 09:54:29 2026\nStatus: RO\nSubject: first\n\n"
                        ">From the quoted line\nend\n\n"
                        "From bob@example.org Tue Nov 25 10:00:00 2026\nX-Status: AF\nSubject: second\n\nbody\n")
        r = json.loads(self.admin("import", "alice@example.test", str(mbox), "--mailbox", "Saved", "--json").stdout)
        self.assertEqual(r["imported"], 2)
        saved = self.mailboxes()["Saved"]
        self.assertEqual(saved["messages"], 2)
        first = "Status: RO\r\nSubject: first\r\n\r\nFrom the quoted line\r\nend\r\n"
        second = "X-Status: AF\r\nSubject: second\r\n\r\nbody\r\n"
        self.assertEqual(saved["bytes"], len(first) + len(second))
        self.assertEqual(json.loads(self.admin("import", "alice@example.test", str(mbox), "--mailbox", "Saved",
                                               "--json").stdout)["skipped"], 2)

    def test_removing_a_user_with_mail_needs_force(self):
        root = self.instance.dir / "Maildir"
        self.make_maildir(root, 3)
        self.admin("import", "alice@example.test", str(root))
        r = self.admin("user", "remove", "alice@example.test", expect=1)
        self.assertIn("has 3 messages", r.stderr)
        self.assertIn("--force", r.stderr)
        self.admin("user", "remove", "alice@example.test", "--force")
        self.assertEqual(self.admin("user", "list").stdout, "")

    def test_not_an_mbox(self):
        bogus = self.instance.dir / "notes.txt"
        bogus.write_text("just some text\n")
        r = self.admin("import", "alice@example.test", str(bogus), expect=1)
        self.assertIn("not an mbox file", r.stderr)
        r = self.admin("import", "alice@example.test", str(self.instance.dir / "missing"), expect=1)
        self.assertIn("does not exist", r.stderr)
        r = self.admin("import", "nobody@example.test", str(bogus), expect=1)
        self.assertIn("no user", r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop to the service user")
    def test_a_maildir_the_service_user_cannot_read_is_an_error(self):
        # Run as root, the command drops to server.user; a Maildir in a private home must not
        # come out as "imported 0 messages".
        config = self.instance.config
        config.write_text(config.read_text().replace('user = ""', 'user = "nobody"\ngroup = "nogroup"'))
        nobody = pwd.getpwnam("nobody")
        for path in (self.instance.dir / "data", *(self.instance.dir / "data").iterdir()):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        home = self.instance.dir / "home"
        self.make_maildir(home / "Maildir", 3)
        os.chmod(home, 0o700)
        r = self.admin("import", "alice@example.test", str(home / "Maildir"), expect=1)
        self.assertIn(f"cannot read {home / 'Maildir' / 'cur'}: Permission denied", r.stderr)
        self.assertIn("the import reads as the server's user", r.stderr)
        self.assertIn("imported 0 messages", r.stdout)
        os.chmod(home, 0o755)
        private = home / "Maildir" / ".Private"
        self.make_maildir(private, 1)
        os.chmod(private, 0o700)
        r = self.admin("import", "alice@example.test", str(home / "Maildir"), expect=1)
        self.assertIn(f"cannot read {private / 'cur'}: Permission denied", r.stderr)
        self.assertIn("imported 3 messages", r.stdout)
        shutil.rmtree(private)
        unreadable = home / "Maildir" / "cur" / "1800000000.M9P1.host:2,S"
        unreadable.write_text("Subject: root only\n\nbody\n")
        os.chmod(unreadable, 0o600)
        r = self.admin("import", "alice@example.test", str(home / "Maildir"), expect=1)
        self.assertIn(f"cannot read {unreadable}: Permission denied", r.stderr)
        self.assertIn("run it again to continue", r.stderr)

    def test_over_quota_stops_and_says_so(self):
        self.admin("user", "quota", "alice@example.test", "--messages", "3")
        root = self.instance.dir / "Maildir"
        self.make_maildir(root, 5)
        r = self.admin("import", "alice@example.test", str(root), expect=1)
        self.assertIn("over its message quota", r.stderr)
        self.assertIn("run it again to continue", r.stderr)

    def test_killed_import_continues_without_duplicates(self):
        root = self.instance.dir / "Maildir"
        total = 4000
        self.make_maildir(root, total, size=2000)
        proc = subprocess.Popen([str(ADMIN), "-c", str(self.instance.config), "import", "alice@example.test",
                                 str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while self.mailboxes()["INBOX"]["messages"] == 0:
            self.assertIsNone(proc.poll(), "the import finished before it could be interrupted")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = self.mailboxes()["INBOX"]["messages"]
        self.assertLess(partial, total, "killed too late to test anything")
        r = json.loads(self.admin("import", "alice@example.test", str(root), "--json").stdout)
        self.assertEqual(r["skipped"], partial)
        self.assertEqual(r["imported"], total - partial)
        self.assertEqual(self.mailboxes()["INBOX"]["messages"], total)

    def import_peak_rss_kib(self, root):
        """Imports ROOT into alice's mailboxes; the peak resident set of that one process."""
        proc = subprocess.Popen([str(ADMIN), "-c", str(self.instance.config), "import", "alice@example.test",
                                 str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.assertEqual(proc.returncode, 0, proc.stderr.read())
        proc.stderr.close()
        return usage.ru_maxrss

    @unittest.skipIf(SANITIZED, "the sanitizer's own memory makes RSS meaningless")
    def test_memory_stays_bounded_on_a_source_larger_than_the_limit(self):
        root = self.instance.dir / "Maildir"
        self.make_maildir(root, 5000, size=64 * 1024)  # about 320 MiB of mail
        peak_kib = self.import_peak_rss_kib(root)
        self.assertEqual(self.mailboxes()["INBOX"]["messages"], 5000)
        self.assertLess(peak_kib, 256 * 1024, f"peak RSS {peak_kib} KiB")

    @unittest.skipIf(SANITIZED, "the sanitizer's own memory makes RSS meaningless")
    def test_memory_does_not_grow_with_the_number_of_messages(self):
        # 20,000 small messages took 69 MiB when the file list kept a std::filesystem::path per
        # message and the store's pages stayed mapped for a whole batch; about 29 MiB since.
        # A 200,000-message Maildir peaks at about 60 MiB (bench/import.sh).
        root = self.instance.dir / "Maildir"
        self.make_maildir(root, 20000, size=1024)
        peak_kib = self.import_peak_rss_kib(root)
        self.assertEqual(self.mailboxes()["INBOX"]["messages"], 20000)
        self.assertLess(peak_kib, 48 * 1024, f"peak RSS {peak_kib} KiB")

if __name__ == "__main__":
    unittest.main()
