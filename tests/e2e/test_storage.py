"""Durability and concurrency of the store across processes (mailstead-storage-torture):
writers killed with SIGKILL at random points, many times, lose no acknowledged delivery and
leave no orphaned or missing blob; two writer processes and a reader at once, the reader always
sees a consistent snapshot."""

import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BUILD

TORTURE = BUILD / "tests" / "mailstead-storage-torture"
USERS = 5


def recipients(k):
    return sorted({k % USERS, (k * 7 + 3) % USERS})


class Writer:
    """A deliver process whose 'ok K' lines are collected as they come."""

    def __init__(self, directory, first, count, writers):
        self.proc = subprocess.Popen([str(TORTURE), "deliver", directory, str(first), str(count), str(writers)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.acked = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("ok "):
                self.acked.append(int(line.split()[1]))

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.reader.join()
        self._close()

    def wait(self):
        self.proc.wait(timeout=300)
        self.reader.join()
        self.errors = self.proc.stderr.read()
        self._close()
        return self.proc.returncode

    def _close(self):
        self.proc.stdout.close()
        self.proc.stderr.close()


def check(directory):
    r = subprocess.run([str(TORTURE), "check", directory], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"check failed: {r.stderr}")
    return {int(k): v for k, v in json.loads(r.stdout).items()}


class StorageProcessTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mailstead-storage-")
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name

    def assert_delivered_once(self, found, acked):
        missing = [k for k in acked if k not in found]
        self.assertEqual(missing, [], "acknowledged deliveries were lost")
        for k, users in found.items():
            self.assertEqual(len(users), len(set(users)), f"message {k} stored twice for one user")
            self.assertEqual(len(users), len(recipients(k)), f"message {k} reached {users}")

    def test_sigkill_at_random_points_loses_nothing_acknowledged(self):
        rng = random.Random(1124)
        acked = []
        for run in range(8):
            writer = Writer(self.dir, run * 1_000_000, 1_000_000, 4)
            time.sleep(rng.uniform(0.3, 1.2))
            writer.kill()
            acked += writer.acked
            print(f"run {run}: {len(writer.acked)} acknowledged before SIGKILL")
            found = check(self.dir)  # opens cleanly after every kill, invariants hold
            self.assert_delivered_once(found, acked)
        self.assertGreater(len(acked), 100, "too few deliveries to say anything")

    def test_two_writers_and_a_reader(self):
        writers = [Writer(self.dir, 0, 1500, 3), Writer(self.dir, 10_000, 1500, 3)]
        checks = 0
        while any(w.proc.poll() is None for w in writers):
            check(self.dir)  # raises on any inconsistent snapshot
            checks += 1
        for w in writers:
            self.assertEqual(w.wait(), 0, w.errors)
        found = check(self.dir)
        acked = writers[0].acked + writers[1].acked
        self.assertEqual(len(acked), 3000)
        self.assert_delivered_once(found, acked)
        self.assertGreater(checks, 1, "the reader never ran while the writers did")


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
class FullDiskTest(unittest.TestCase):
    def test_a_full_disk_is_a_temporary_error_and_corrupts_nothing(self):
        mount = tempfile.mkdtemp(prefix="mailstead-full-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount], check=True)
        self.addCleanup(os.rmdir, mount)
        self.addCleanup(subprocess.run, ["umount", mount], check=True)
        store = os.path.join(mount, "store")
        r = subprocess.run([str(TORTURE), "fill", store], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-500:] + r.stderr)
        last = r.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith("full "), last)
        acked = [int(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("ok ")]
        self.assertGreater(len(acked), 10)
        found = check(store)  # opens cleanly, invariants hold, nothing acknowledged is lost
        self.assertEqual(sorted(k for k in found if k in set(acked)), sorted(acked))


if __name__ == "__main__":
    unittest.main()
