"""End-to-end tests of the `mailstead` command: config check (the same validation the daemons
run, plus the certificate and the user), config sample, version, help and usage errors."""

import json
import os
import pwd
import shutil
import smtplib
import subprocess
import threading
import unittest

from fake_dns import FakeDns, Zone
from harness import ADMIN, HOST, SOURCE, Instance, make_certificate
from test_smtpd import SmtpdInstance


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


class AccountCommandsTest(unittest.TestCase):
    def setUp(self):
        self.instance = Instance()
        self.addCleanup(self.instance.cleanup)

    def run_admin(self, *args, stdin=None, expect=0):
        r = subprocess.run([str(ADMIN), "-c", str(self.instance.config), *args], capture_output=True, text=True,
                           input=stdin, timeout=60)
        self.assertEqual(r.returncode, expect, f"{args}: {r.stdout}{r.stderr}")
        return r

    def add_user(self, address, password="long enough password", *extra):
        return self.run_admin("user", "add", address, "--password-stdin", *extra, stdin=password + "\n")

    def test_domains(self):
        self.assertEqual(self.run_admin("domain", "add", "Example.TEST").stdout, "added domain example.test\n")
        self.run_admin("domain", "add", "other.example")
        self.assertEqual(json.loads(self.run_admin("domain", "list", "--json").stdout), ["example.test", "other.example"])
        r = self.run_admin("domain", "add", "example.test", expect=1)
        self.assertEqual(r.stderr, "mailstead: example.test is already a local domain\n")
        self.assertIn("is not a valid domain name", self.run_admin("domain", "add", "not a domain", expect=1).stderr)
        self.run_admin("domain", "remove", "other.example")
        self.assertEqual(self.run_admin("domain", "list").stdout, "example.test\n")

    def test_users(self):
        self.run_admin("domain", "add", "example.test")
        self.assertEqual(self.add_user("Alice@example.test", "long enough password", "--quota", "2G").stdout,
                         "added user Alice@example.test\n")
        self.run_admin("user", "test-login", "alice@EXAMPLE.test", "--password-stdin", stdin="long enough password\n")
        r = self.run_admin("user", "test-login", "alice@example.test", "--password-stdin", stdin="wrong\n", expect=1)
        self.assertIn("wrong password", r.stderr)
        self.run_admin("user", "passwd", "alice@example.test", "--password-stdin", stdin="another long password\n")
        self.run_admin("user", "test-login", "alice@example.test", "--password-stdin", stdin="another long password\n")
        self.run_admin("user", "quota", "alice@example.test", "--messages", "1000")
        quota = json.loads(self.run_admin("user", "quota", "alice@example.test", "--json").stdout)
        self.assertEqual((quota["quota_bytes"], quota["quota_messages"]), (2 << 30, 1000))
        self.run_admin("user", "disable", "alice@example.test")
        r = self.run_admin("user", "test-login", "alice@example.test", "--password-stdin",
                           stdin="another long password\n", expect=1)
        self.assertIn("is disabled", r.stderr)
        self.run_admin("user", "enable", "alice@example.test")
        self.add_user("bob@example.test")
        listed = json.loads(self.run_admin("user", "list", "--json").stdout)
        self.assertEqual([u["address"] for u in listed], ["Alice@example.test", "bob@example.test"])
        self.run_admin("user", "remove", "bob@example.test")
        self.assertNotIn("bob", self.run_admin("user", "list").stdout)

    def test_user_errors(self):
        self.run_admin("domain", "add", "example.test")
        r = self.run_admin("user", "add", "a@example.test", "--password-stdin", stdin="short\n", expect=1)
        self.assertIn("too short", r.stderr)
        r = self.run_admin("user", "add", "a@example.test", stdin="", expect=1)
        self.assertIn("--password-file FILE or --password-stdin", r.stderr)
        r = self.run_admin("user", "add", "a@example.org", "--password-stdin", stdin="long enough password\n",
                           expect=1)
        self.assertIn("example.org is not a local domain", r.stderr)
        self.add_user("a@example.test")
        r = self.run_admin("user", "add", "A@example.test", "--password-stdin", stdin="long enough password\n",
                           expect=1)
        self.assertIn("already a user", r.stderr)
        self.assertIn("still has users", self.run_admin("domain", "remove", "example.test", expect=1).stderr)
        self.run_admin("user", "add", "b@example.test", "--quota", "lots", expect=2)
        self.assertIn("no user", self.run_admin("user", "remove", "nobody@example.test", expect=1).stderr)

    def test_password_from_a_file(self):
        self.run_admin("domain", "add", "example.test")
        secret = self.instance.dir / "pw"
        secret.write_text("from a file, long\n")
        os.chmod(secret, 0o600)
        self.run_admin("user", "add", "c@example.test", "--password-file", str(secret))
        self.run_admin("user", "test-login", "c@example.test", "--password-stdin", stdin="from a file, long\n")

    def test_password_hash_from_another_server(self):
        self.run_admin("domain", "add", "example.test")
        sha512 = subprocess.run(["openssl", "passwd", "-6", "-salt", "saltsalt", "moved from dovecot"],
                                capture_output=True, text=True, check=True).stdout.strip()
        hashfile = self.instance.dir / "hash"
        hashfile.write_text(sha512 + "\n")
        self.run_admin("user", "add", "d@example.test", "--password-hash-file", str(hashfile))
        self.run_admin("user", "test-login", "d@example.test", "--password-stdin", stdin="moved from dovecot\n")
        self.run_admin("user", "test-login", "d@example.test", "--password-stdin", stdin="wrong\n", expect=1)
        hashfile.write_text("{SHA512-CRYPT}" + sha512 + "\n")  # as in Dovecot's passwd-file
        self.run_admin("user", "add", "e@example.test", "--password-hash-file", str(hashfile))
        self.run_admin("user", "test-login", "e@example.test", "--password-stdin", stdin="moved from dovecot\n")
        hashfile.write_text("not a hash\n")
        r = self.run_admin("user", "passwd", "d@example.test", "--password-hash-file", str(hashfile), expect=1)
        self.assertIn("does not hold a crypt(3) hash", r.stderr)
        self.run_admin("user", "test-login", "d@example.test", "--password-stdin", stdin="moved from dovecot\n")

    def test_aliases(self):
        self.run_admin("domain", "add", "example.test")
        self.add_user("alice@example.test")
        self.assertEqual(self.run_admin("alias", "add", "team@example.test", "alice@example.test",
                                        "bob@example.org").stdout,
                         "team@example.test -> alice@example.test, bob@example.org\n")
        self.run_admin("alias", "add", "@example.test", "alice@example.test")
        listed = json.loads(self.run_admin("alias", "list", "--json").stdout)
        self.assertEqual(listed, [{"address": "@example.test", "targets": ["alice@example.test"]},
                                  {"address": "team@example.test",
                                   "targets": ["alice@example.test", "bob@example.org"]}])
        self.run_admin("alias", "remove", "team@example.test", "bob@example.org")
        self.run_admin("alias", "remove", "@example.test")
        self.assertEqual(self.run_admin("alias", "list").stdout, "team@example.test -> alice@example.test\n")
        self.assertIn("is a user", self.run_admin("alias", "add", "alice@example.test", "x@example.org",
                                                  expect=1).stderr)

    def test_mailboxes_of_a_new_user(self):
        self.run_admin("domain", "add", "example.test")
        self.add_user("alice@example.test")
        boxes = json.loads(self.run_admin("mailbox", "list", "alice@example.test", "--json").stdout)
        self.assertEqual([(b["name"], b["special_use"]) for b in boxes],
                         [("INBOX", ""), ("Archive", "\\Archive"), ("Drafts", "\\Drafts"), ("Junk", "\\Junk"),
                          ("Sent", "\\Sent"), ("Trash", "\\Trash")])
        self.assertTrue(all(b["subscribed"] and b["uid_next"] == 1 for b in boxes))

    def test_queue_commands_on_an_empty_queue(self):
        self.assertEqual(self.run_admin("queue", "list").stdout, "the queue is empty\n")
        self.assertEqual(json.loads(self.run_admin("queue", "list", "--json").stdout), [])
        self.assertIn("no queue entry 7", self.run_admin("queue", "delete", "7", expect=1).stderr)
        self.run_admin("queue", "delete", "seven", expect=2)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop to the service user")
    def test_as_root_the_store_belongs_to_the_service_user(self):
        text = self.instance.config.read_text().replace('user = ""', 'user = "nobody"\ngroup = "nogroup"')
        self.instance.config.write_text(text)
        secret = self.instance.dir / "root-only-password"
        secret.write_text("readable by root only\n")
        os.chmod(secret, 0o600)
        self.run_admin("domain", "add", "example.test")
        self.run_admin("user", "add", "alice@example.test", "--password-file", str(secret))
        nobody = pwd.getpwnam("nobody").pw_uid
        data = self.instance.dir / "data"
        self.assertEqual(data.stat().st_uid, nobody)
        for name in ("data.mdb", "lock.mdb"):
            self.assertEqual((data / name).stat().st_uid, nobody, name)


class BackupTest(unittest.TestCase):
    """`mailstead backup` while smtpd delivers: the copy restores to a working store."""

    def setUp(self):
        self.smtpd = SmtpdInstance()
        self.addCleanup(self.smtpd.close)

    def send(self, count, subject):
        with smtplib.SMTP(HOST, self.smtpd.mx, timeout=20) as smtp:
            for i in range(count):
                smtp.sendmail("someone@elsewhere.test", ["alice@example.test"],
                              f"Subject: {subject} {i}\r\n\r\nbody {i}\r\n".encode())

    def restored(self, backup_file):
        """A new instance whose store is the backup; its message list for alice."""
        instance = Instance()
        self.addCleanup(instance.cleanup)
        (instance.dir / "data").mkdir()
        shutil.copyfile(backup_file, instance.dir / "data" / "data.mdb")
        return instance

    def test_backup_while_mail_arrives_restores_everything_sent_before_it(self):
        self.send(20, "before")
        sender = threading.Thread(target=self.send, args=(200, "during"))
        sender.start()
        target = self.smtpd.instance.dir / "backup.mdb"
        r = admin("-c", str(self.smtpd.instance.config), "backup", str(target))
        sender.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)
        instance = self.restored(target)
        messages = instance.messages("alice@example.test")
        self.assertGreaterEqual(len(messages), 20)
        self.assertLessEqual(len(messages), 220)
        first = messages[0]["uid"]
        self.assertEqual(instance.message_bytes("alice@example.test", first),
                         self.smtpd.message_bytes("alice@example.test", first))
        self.assertIn("example.test", instance.admin("domain", "list"))

    def test_to_standard_output_and_never_over_an_existing_file(self):
        self.send(3, "piped")
        target = self.smtpd.instance.dir / "piped.mdb"
        with open(target, "wb") as out:
            r = subprocess.run([str(ADMIN), "-c", str(self.smtpd.instance.config), "backup", "-"], stdout=out,
                               stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.restored(target).messages("alice@example.test")), 3)

        before = target.read_bytes()
        r = admin("-c", str(self.smtpd.instance.config), "backup", str(target))
        self.assertEqual(r.returncode, 1)
        self.assertIn("File exists", r.stderr)
        self.assertEqual(target.read_bytes(), before)


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

    def test_a_group_name_lists_its_commands(self):
        r = admin("user", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("usage: mailstead [-c FILE] user COMMAND [ARGS]"))
        for command in ("user add", "user passwd", "user quota", "user remove"):
            self.assertIn(command, r.stdout)
        self.assertNotIn("domain add", r.stdout)
        r = admin("queue")
        self.assertEqual(r.returncode, 2)
        self.assertIn("queue retry", r.stderr)
        self.assertNotIn("unknown command", r.stderr)

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["config"], ["config", "check", "extra"], ["version", "--bogus"], ["-c"],
                     ["domain", "add"], ["user", "add", "a@b", "--password-file"], ["alias", "add", "x@y"]):
            with self.subTest(args=args):
                r = admin(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertNotEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main()


class DnsRecordsTest(unittest.TestCase):
    """`mailstead dns records DOMAIN [--check]` against a local DNS server that publishes some
    records right, one wrong and leaves others out."""

    def setUp(self):
        self.instance = Instance(sections={
            "server": {"hostname": "mail.example.test"},
            "smtpd": {"listen": [], "submission_listen": [], "submissions_listen": [f"{HOST}:4465"]},
            "imapd": {"listen": [f"{HOST}:4143"], "tls_listen": [f"{HOST}:4993"]},
        })
        self.addCleanup(self.instance.cleanup)
        self.instance.admin("domain", "add", "example.test")
        self.instance.admin("dkim", "keygen", "example.test", "--selector", "r1")
        self.record = json.loads(self.instance.admin("dkim", "list", "--json"))[0]["record"]

    def run_check(self, records):
        dns = FakeDns(Zone(records, negative_ttl=60))
        self.addCleanup(dns.close)
        config = self.instance.config.read_text()
        config = config.replace(f'servers = ["{HOST}:', f'servers = ["127.0.0.1:{dns.port}", "{HOST}:', 1)
        self.instance.config.write_text(config)
        r = subprocess.run([str(ADMIN), "-c", str(self.instance.config), "dns", "records", "example.test", "--check"],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout

    def test_prints_every_record_to_publish(self):
        out = self.instance.admin("dns", "records", "example.test")
        self.assertIn("example.test. IN MX 10 mail.example.test.", out)
        self.assertIn('example.test. IN TXT "v=spf1 mx -all"', out)
        self.assertIn("r1._domainkey.example.test. IN TXT ( \"v=DKIM1; k=rsa; p=", out)
        self.assertIn('_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"', out)
        self.assertIn("_submissions._tcp.example.test. IN SRV 0 1 4465 mail.example.test.", out)
        self.assertIn("_imaps._tcp.example.test. IN SRV 0 1 4993 mail.example.test.", out)
        self.assertNotIn("_pop3", out)  # pop3d listens nowhere here

    def test_check_says_what_is_right_missing_and_wrong(self):
        reverse = ".".join(reversed(HOST.split("."))) + ".in-addr.arpa"
        code, out = self.run_check({
            "example.test": [("MX", (10, "mail.example.test")), ("TXT", "v=spf1 mx -all")],
            "mail.example.test": [("A", HOST)],
            reverse: [("PTR", "mail.example.test")],
            "r1._domainkey.example.test": [("TXT", self.record)],
            "_imaps._tcp.example.test": [("SRV", (0, 1, 993, "mail.example.test"))],  # not the port it listens on
            "_imap._tcp.example.test": [("SRV", (0, 1, 4143, "mail.example.test"))],
        })
        self.assertEqual(code, 1, out)
        self.assertIn(f"ok       PTR       {HOST} -> mail.example.test", out)
        self.assertRegex(out, r"(?m)^ok       MX        example\.test$")
        self.assertRegex(out, r"(?m)^ok       SPF       example\.test$")  # this server's address passes
        self.assertRegex(out, r"(?m)^ok       DKIM r1   r1\._domainkey\.example\.test$")
        self.assertRegex(out, r"(?m)^missing  DMARC     _dmarc\.example\.test$")
        self.assertRegex(out, r"(?m)^wrong    SRV _imaps _imaps\._tcp\.example\.test: wrong: published 0 1 993 "
                              r"mail\.example\.test$")
        self.assertRegex(out, r"(?m)^ok       SRV _imap _imap\._tcp\.example\.test$")
        self.assertIn("publish: _dmarc.example.test. IN TXT", out)
        self.assertIn("3 records to fix", out)  # DMARC, _imaps, _submissions

    def test_check_finds_an_spf_record_that_leaves_this_server_out(self):
        code, out = self.run_check({
            "example.test": [("MX", (10, "mail.example.test")), ("TXT", "v=spf1 ip4:192.0.2.1 -all")],
            "mail.example.test": [("A", HOST)],
        })
        self.assertEqual(code, 1)
        self.assertRegex(out, r"(?m)^wrong    SPF       example\.test: wrong: fail for this server's address")
        self.assertRegex(out, r"(?m)^wrong    PTR ")
