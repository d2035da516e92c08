"""Faults: mailstead-imapd and mailstead-pop3d killed with SIGKILL while clients change mail
(APPEND, STORE, MOVE, EXPUNGE; DELE and QUIT). Afterwards every change a client saw
acknowledged is there, every change is all or nothing (a moved message is in exactly one
place), and `mailstead check` finds every invariant of the store holding. The SMTP side of the
same promise is tests/e2e/test_storage.py (writers killed at random points)."""

import imaplib
import json
import os
import poplib
import random
import re
import signal
import smtplib
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ADMIN, HOST, IMAPD, POP3D, SMTPD, Daemon, Instance, free_port

PASSWORD = "a long enough password"
KILLS = int(os.environ.get("MAILSTEAD_FAULT_KILLS", "5"))
WORKERS = 4


def check_store(instance):
    r = subprocess.run([str(ADMIN), "-c", str(instance.config), "check", "--json"], capture_output=True, text=True,
                       timeout=120)
    verdict = json.loads(r.stdout)
    return r.returncode, verdict


def kill_under_load(program, instance, log_name, clients, seconds):
    """Starts `program`, starts the client threads, and SIGKILLs it after `seconds`; returns
    once the clients have noticed and stopped."""
    daemon = Daemon([str(program), "-c", str(instance.config)], instance.dir / log_name)
    for c in clients:
        c.start()
    time.sleep(seconds)
    os.kill(daemon.proc.pid, signal.SIGKILL)
    daemon.wait(10)
    daemon.stop()
    for c in clients:
        c.join(30)


class ImapWorker(threading.Thread):
    """Works on its own mailboxes (W<i> and D<i>) until the connection dies, noting each step
    the server acknowledged: appended k, flagged k, moved k to D<i>, expunged k."""

    def __init__(self, port, user, index, first):
        super().__init__(daemon=True)
        self.port, self.user, self.index, self.k = port, user, index, first
        self.appended, self.flagged, self.moved, self.expunged = set(), set(), set(), set()
        # EXPUNGE sent: the server may have done it and been killed before saying so.
        self.expunge_sent = set()

    def run(self):
        try:
            m = imaplib.IMAP4(HOST, self.port, timeout=30)
            m.login(self.user, PASSWORD)
            work, done = f"W{self.index}", f"D{self.index}"
            m.select(work)
            while True:
                k = self.k
                self.k += 1
                typ, data = m.append(work, None, None, f"Subject: w{self.index}-{k}\r\n\r\nbody {k}\r\n".encode())
                if typ != "OK":
                    return
                uid = re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1).decode()
                self.appended.add(k)
                if m.uid("STORE", uid, "+FLAGS", "(\\Flagged)")[0] != "OK":
                    return
                self.flagged.add(k)
                if k % 3 == 0:
                    if m.uid("MOVE", uid, done)[0] != "OK":
                        return
                    self.moved.add(k)
                elif k % 5 == 0:
                    if m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")[0] != "OK":
                        return
                    self.expunge_sent.add(k)
                    if m.uid("EXPUNGE", uid)[0] != "OK":
                        return
                    self.expunged.add(k)
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
            return


class FaultInstance:
    def __init__(self):
        self.pop3 = free_port()
        self.instance = Instance(sections={"imapd": {"allow_plaintext_auth": True},
                                           "pop3d": {"listen": [f"{HOST}:{self.pop3}"], "tls_listen": [],
                                                     "allow_plaintext_auth": True},
                                           "auth": {"failure_delay": "0s"}})
        self.instance.admin("domain", "add", "example.test")
        for user in ("imap@example.test", "pop@example.test"):
            self.instance.admin("user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")

    def close(self):
        self.instance.cleanup()


class KillImapdTest(unittest.TestCase):
    def test_sigkill_during_append_store_move_and_expunge(self):
        f = FaultInstance()
        self.addCleanup(f.close)
        port = f.instance.plain_port
        imapd = Daemon([str(IMAPD), "-c", str(f.instance.config)], f.instance.dir / "imapd-setup.log")
        m = imaplib.IMAP4(HOST, port, timeout=30)
        m.login("imap@example.test", PASSWORD)
        for i in range(WORKERS):
            m.create(f"W{i}")
            m.create(f"D{i}")
        m.logout()
        imapd.stop_cleanly()
        workers = []
        rng = random.Random(16)
        for run in range(KILLS):
            started = [ImapWorker(port, "imap@example.test", i, run * 1_000_000) for i in range(WORKERS)]
            kill_under_load(IMAPD, f.instance, f"imapd-{run}.log", started, 0.3 + rng.random() * 0.7)
            workers += started
            print(f"\n  run {run}: SIGKILL after {sum(len(w.appended) for w in started)} acknowledged APPENDs")
        status, verdict = check_store(f.instance)
        self.assertEqual(status, 0, verdict["problems"])
        boxes = {}
        for i in range(WORKERS):
            for name in (f"W{i}", f"D{i}"):
                boxes[name] = f.instance.messages("imap@example.test", name)
        for w in workers:
            i = w.index
            where = {}
            for name in (f"W{i}", f"D{i}"):
                for m in boxes[name]:
                    k = int(m["subject"].split("-")[1])
                    where.setdefault(k, []).append((name, m))
            for k in w.appended:
                places = where.get(k, [])
                if k in w.expunged:
                    self.assertEqual(places, [], f"w{i}-{k} was expunged, acknowledged")
                    continue
                if k in w.expunge_sent:  # done or not when the kill came; never twice
                    self.assertLessEqual(len(places), 1, f"w{i}-{k}: in {places}")
                    continue
                self.assertEqual(len(places), 1, f"w{i}-{k}: acknowledged APPEND, found in {places}")
                name, message = places[0]
                if k in w.moved:
                    self.assertEqual(name, f"D{i}", f"w{i}-{k}: acknowledged MOVE")
                if k in w.flagged:
                    self.assertIn("\\Flagged", message["flags"], f"w{i}-{k}: acknowledged STORE")
            for k, places in where.items():  # whatever was not acknowledged is all or nothing
                self.assertLessEqual(len(places), 1, f"w{i}-{k} found twice: {places}")
        total = sum(len(w.appended) for w in workers)
        print(f"  {KILLS} kills, {total} APPENDs acknowledged, none lost; mailstead check: consistent")
        self.assertGreater(total, 0)


class KillPop3dTest(unittest.TestCase):
    def test_sigkill_during_dele_and_quit(self):
        f = FaultInstance()
        self.addCleanup(f.close)
        port = f.pop3
        # A maildrop of messages for the POP3 clients to delete, filled through IMAP APPEND.
        imapd = Daemon([str(IMAPD), "-c", str(f.instance.config)], f.instance.dir / "imapd-fill.log")
        m = imaplib.IMAP4(HOST, f.instance.plain_port, timeout=30)
        m.login("pop@example.test", PASSWORD)
        for k in range(400):
            m.append("INBOX", None, None, f"Subject: p-{k}\r\n\r\nbody {k}\r\n".encode())
        m.logout()
        imapd.stop_cleanly()
        deleted = set()  # subjects whose DELE was acknowledged by an acknowledged QUIT
        rng = random.Random(17)
        lock = threading.Lock()

        def client():
            try:
                while True:
                    p = poplib.POP3(HOST, port, timeout=30)
                    p.user("pop@example.test")
                    p.pass_(PASSWORD)
                    count = len(p.list()[1])
                    if count == 0:
                        p.quit()
                        return
                    chosen = {}
                    for n in sorted(rng.sample(range(1, count + 1), min(5, count))):
                        subject = [line for line in p.top(n, 0)[1] if line.startswith(b"Subject:")][0]
                        p.dele(n)
                        chosen[n] = subject.decode().split(": ")[1]
                    p.quit()  # +OK: the deletions are durable (RFC 1939 UPDATE)
                    with lock:
                        deleted.update(chosen.values())
            except (OSError, poplib.error_proto, EOFError):
                return

        for run in range(KILLS):
            threads = [threading.Thread(target=client, daemon=True) for _ in range(2)]
            kill_under_load(POP3D, f.instance, f"pop3d-{run}.log", threads, 0.3 + rng.random() * 0.5)
        status, verdict = check_store(f.instance)
        self.assertEqual(status, 0, verdict["problems"])
        left = {m["subject"] for m in f.instance.messages("pop@example.test")}
        self.assertEqual(left & deleted, set(), "a deletion acknowledged by QUIT came back")
        self.assertLessEqual(left | deleted, {f"p-{k}" for k in range(400)})
        print(f"\n  {KILLS} kills of pop3d: {len(deleted)} acknowledged deletions held, {len(left)} messages left;"
              " mailstead check: consistent")
        self.assertGreater(len(deleted), 0)


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
class FullDiskTest(unittest.TestCase):
    """The store on a 24 MiB tmpfs, filled through the daemons: temporary errors, nothing
    damaged, the daemons keep running and recover by themselves once space returns."""

    def test_a_full_disk_gives_temporary_errors_and_the_daemons_recover(self):
        mount = tempfile.mkdtemp(prefix="mailstead-full-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount], check=True)
        self.addCleanup(os.rmdir, mount)
        self.addCleanup(subprocess.run, ["umount", mount], check=True)
        mx, pop3 = free_port(), free_port()
        instance = Instance(sections={
            "server": {"data_dir": os.path.join(mount, "data")},
            "storage": {"map_size": "4M"},
            "smtpd": {"listen": [f"{HOST}:{mx}"]},
            # This test is about the writers, so no other reader: pages a read view holds cannot
            # be reused, and the text indexer reading while the deliveries fill the disk moved
            # where the disk was found full (smtpd refused, then an APPEND fitting). With a view
            # held for a whole segment that failed 3 runs in 4 under ThreadSanitizer; with one
            # view per message (now) it passed 3 of 3, but one message's view is still a window.
            "imapd": {"allow_plaintext_auth": True, "text_index": False},
            "pop3d": {"listen": [f"{HOST}:{pop3}"], "tls_listen": [], "allow_plaintext_auth": True},
            "auth": {"failure_delay": "0s"}})
        self.addCleanup(instance.cleanup)
        instance.admin("domain", "add", "example.test")
        instance.admin("user", "add", "full@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        filler = os.path.join(mount, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (8 << 20))
        daemons = [Daemon([str(d), "-c", str(instance.config)], instance.dir / f"{d.name}.log")
                   for d in (SMTPD, IMAPD, POP3D)]
        for d in daemons:
            self.addCleanup(d.stop)
        body = ("x" * 998 + "\r\n") * 200  # about 200 KB
        acked, refusal = 0, None
        for k in range(200):
            try:
                with smtplib.SMTP(HOST, mx, timeout=30) as s:
                    s.sendmail("a@example.org", ["full@example.test"], f"Subject: fill {k}\r\n\r\n{body}")
                acked += 1
            except smtplib.SMTPDataError as e:
                refusal = e
                break
        self.assertIsNotNone(refusal, "the disk never filled")
        self.assertEqual(refusal.smtp_code, 452)
        self.assertIn(b"4.3.1", refusal.smtp_error)
        m = imaplib.IMAP4(HOST, instance.plain_port, timeout=30)
        m.login("full@example.test", PASSWORD)
        typ, data = m.append("INBOX", None, None, f"Subject: appended\r\n\r\n{body}".encode())
        self.assertEqual(typ, "NO")
        self.assertIn(b"[UNAVAILABLE]", data[0])
        p = poplib.POP3(HOST, pop3, timeout=30)  # reading goes on
        p.user("full@example.test")
        p.pass_(PASSWORD)
        self.assertEqual(p.stat()[0], acked)
        self.assertIn(b"Subject: fill 0", b"\r\n".join(p.retr(1)[1]))
        p.quit()
        print(f"\n  {acked} messages stored before the disk filled; then 452 4.3.1 and NO [UNAVAILABLE]")
        os.remove(filler)  # space returns: no restart, no command
        with smtplib.SMTP(HOST, mx, timeout=30) as s:
            s.sendmail("a@example.org", ["full@example.test"], f"Subject: after\r\n\r\n{body}")
        typ, _ = m.append("INBOX", None, None, f"Subject: appended\r\n\r\n{body}".encode())
        self.assertEqual(typ, "OK")
        m.logout()
        for d in daemons:
            self.assertIsNone(d.proc.poll(), "a daemon stopped")
            d.stop_cleanly()
        status, verdict = check_store(instance)
        self.assertEqual(status, 0, verdict["problems"])
        self.assertEqual(verdict["messages"], acked + 2)


if __name__ == "__main__":
    unittest.main()
