"""The README's run command (scripts/dev.sh) on a throwaway instance directory: it creates the
development instance, passes its own config check, prints the credentials, says which parts
do not exist yet, and reuses the instance on a second run."""

import json
import os
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import ADMIN, BUILD, SOURCE


def run_dev(instance):
    env = dict(os.environ, MAILSTEAD_DEV_DIR=str(instance), MAILSTEAD_BUILD_DIR=str(BUILD))
    return subprocess.run(["bash", str(SOURCE / "scripts/dev.sh")], capture_output=True, text=True, env=env,
                          timeout=600, stdin=subprocess.DEVNULL)


class DevInstanceTest(unittest.TestCase):
    def test_creates_then_reuses_the_instance(self):
        with tempfile.TemporaryDirectory() as tmp:
            instance = Path(tmp) / "dev-instance"
            first = run_dev(instance)
            self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
            config = instance / "mailstead.toml"
            self.assertEqual(config.read_text(), (SOURCE / "etc/dev.toml").read_text())
            self.assertIn(f"{config}: ok", first.stdout)
            password = (instance / "alice.password").read_text()
            self.assertGreaterEqual(len(password), 16)
            self.assertEqual(stat.S_IMODE((instance / "alice.password").stat().st_mode), 0o600)
            self.assertEqual(stat.S_IMODE((instance / "tls/key.pem").stat().st_mode), 0o600)
            self.assertIn("user:     alice@example.test", first.stdout)
            self.assertIn(f"password: {password}", first.stdout)
            for daemon in ("smtpd", "pop3d", "imapd"):
                built = (BUILD / daemon / f"mailstead-{daemon}").exists()
                self.assertEqual(f"not there yet: mailstead-{daemon}" in first.stdout, not built)
            check = subprocess.run([str(ADMIN), "-c", str(config), "config", "check"], capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stderr)
            users = subprocess.run([str(ADMIN), "-c", str(config), "user", "list", "--json"], capture_output=True,
                                   text=True)
            self.assertEqual(json.loads(users.stdout), [{"address": "alice@example.test", "quota_bytes": 0,
                                                         "quota_messages": 0, "enabled": True}])
            domains = subprocess.run([str(ADMIN), "-c", str(config), "domain", "list"], capture_output=True, text=True)
            self.assertEqual(domains.stdout, "example.test\n")

            (instance / "data" / "keep-me").write_text("user data")
            second = run_dev(instance)
            self.assertEqual(second.returncode, 0, second.stdout + second.stderr)
            self.assertNotIn("creating the development instance", second.stdout)
            self.assertEqual((instance / "alice.password").read_text(), password)
            self.assertEqual((instance / "data" / "keep-me").read_text(), "user data")
            users_again = subprocess.run([str(ADMIN), "-c", str(config), "user", "list"], capture_output=True, text=True)
            self.assertEqual(users_again.stdout.count("alice@example.test"), 1)


if __name__ == "__main__":
    unittest.main()
