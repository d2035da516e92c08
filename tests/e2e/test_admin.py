"""End-to-end tests of the `mailstead` command: config check (the same validation the daemons
run, plus the certificate and the user), config sample, version, help and usage errors."""

import subprocess
import unittest

from harness import ADMIN, SOURCE, Instance, make_certificate


def admin(*args, env=None):
    return subprocess.run([str(ADMIN), *args], capture_output=True, text=True, timeout=60, env=env)


class ConfigCheckTest(unittest.TestCase):
    def setUp(self):
        self.instance = Instance()
        self.addCleanup(self.instance.cleanup)

    def test_good_config(self):
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"{self.instance.config}: ok\n")

    def test_config_option_before_the_command(self):
        r = admin("-c", str(self.instance.config), "config", "check")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_config_from_the_environment(self):
        import os
        env = dict(os.environ, MAILSTEAD_CONFIG=str(self.instance.config))
        self.assertEqual(admin("config", "check", env=env).returncode, 0)

    def test_every_error_with_file_line_and_key(self):
        text = self.instance.config.read_text()
        text = text.replace("[server]\n", "[server]\nthreads = \"many\"\nhostnmae = \"x\"\n", 1)
        self.instance.config.write_text(text)
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 1)
        path = str(self.instance.config)
        self.assertIn(f"{path}:2:11: server.threads: expected an integer, found a string", r.stderr)
        self.assertIn(f'{path}:3:1: server.hostnmae: unknown key "hostnmae"; did you mean "hostname"?', r.stderr)
        self.assertIn(f"{path}: 2 errors", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_syntax_error(self):
        self.instance.config.write_text("[server\nuser = 1\n")
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rf"^{self.instance.config}:1:\d+: ")

    def test_missing_certificate(self):
        (self.instance.dir / "tls/cert.pem").unlink()
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r":\d+:\d+: tls.certificate: \".*/tls/cert.pem\" does not exist")

    def test_key_of_another_certificate(self):
        make_certificate(self.instance.dir / "other")
        (self.instance.dir / "other/key.pem").replace(self.instance.dir / "tls/key.pem")
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 1)
        self.assertIn("tls.private_key:", r.stderr)
        self.assertIn("does not belong to the certificate", r.stderr)

    def test_certificate_that_is_not_pem(self):
        (self.instance.dir / "tls/cert.pem").write_text("not a certificate\n")
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 1)
        self.assertIn("tls.certificate: cannot load", r.stderr)

    def test_user_that_does_not_exist(self):
        text = self.instance.config.read_text().replace('user = ""', 'user = "no-such-user-here"')
        self.instance.config.write_text(text)
        r = admin("config", "check", "-c", str(self.instance.config))
        self.assertEqual(r.returncode, 1)
        self.assertIn('server.user: no such user "no-such-user-here"', r.stderr)

    def test_missing_file(self):
        r = admin("config", "check", "-c", "/nonexistent/mailstead.toml")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/mailstead.toml: cannot open the config file", r.stderr)


class CommandLineTest(unittest.TestCase):
    def test_sample_is_the_shipped_config(self):
        r = admin("config", "sample")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, (SOURCE / "etc/mailstead.toml").read_text())

    def test_version(self):
        r = admin("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^mailstead \d+\.\d+\.\d+\n$")

    def test_help(self):
        r = admin("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("config check", r.stdout)
        r = admin("config", "check", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("usage: mailstead config check [-c FILE]"))

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["config"], ["config", "check", "extra"], ["version", "--bogus"], ["-c"]):
            with self.subTest(args=args):
                r = admin(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertNotEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main()
