"""DMARC end to end: mail from another server (port 25) whose From domain publishes a DMARC
policy in a local DNS server (RFC 7489). Aligned SPF or DKIM (signed by python3-dkim) passes; a
forged From of a p=reject domain is refused at the end of DATA with 550 5.7.1; p=quarantine
goes to the recipient's Junk; sp= applies to subdomains through the organisational domain
from the Public Suffix List."""

import pathlib
import re
import smtplib
import tempfile
import unittest

from fake_dns import FakeDns, Zone
from harness import HOST, SMTPD, Daemon, Instance, free_port
from test_dkim import SIGNER, rsa_key, system_python

ALICE, PASSWORD = "alice@example.test", "alice's long password"


class DmarcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.key = pathlib.Path(cls.tmp.name) / "rsa.pem"
        public = rsa_key(cls.key, 2048)
        cls.dns = FakeDns(Zone({
            "_dmarc.reject.example": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@reject.example")],
            "reject.example": [("TXT", f"v=spf1 ip4:{HOST} -all")],
            "sel._domainkey.reject.example": [("TXT", f"v=DKIM1; k=rsa; p={public}")],
            "_dmarc.quarantine.example": [("TXT", "v=DMARC1; p=quarantine")],
            "_dmarc.relaxed.example": [("TXT", "v=DMARC1; p=none")],
            "_dmarc.orgpolicy.co.uk": [("TXT", "v=DMARC1; p=reject; sp=quarantine")],
            "_dmarc.two.example": [("TXT", "v=DMARC1; p=reject"), ("TXT", "v=DMARC1; p=none")],
            "other.example": [("TXT", "v=spf1 -all")],
        }, servfail=["_dmarc.temp.example"], negative_ttl=60))
        cls.mx = free_port()
        cls.instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{cls.mx}"], "submission_listen": [], "submissions_listen": []},
            "server": {"hostname": "mail.example.test"},
            "dns": {"servers": [f"127.0.0.1:{cls.dns.port}"], "timeout": "1s"},
        })
        cls.instance.admin("domain", "add", "example.test")
        cls.instance.admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        cls.smtpd = Daemon([str(SMTPD), "-c", str(cls.instance.config)], cls.instance.dir / "smtpd.log")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.smtpd.stop_cleanly()
        finally:
            cls.dns.close()
            cls.instance.cleanup()
            cls.tmp.cleanup()

    def message(self, author, subject):
        return (f"From: <{author}>\r\nTo: <{ALICE}>\r\nSubject: {subject}\r\n"
                f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nHello\r\n").encode()

    def send(self, envelope_from, message):
        """Sends over port 25; returns (code, text) of the end of DATA."""
        with smtplib.SMTP(HOST, self.mx, local_hostname="client.example", timeout=30,
                          source_address=(HOST, 0)) as s:
            s.ehlo()
            self.assertEqual(s.mail(envelope_from)[0], 250)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            code, text = s.data(message)
            return code, text.decode()

    def stored(self, subject, mailbox="INBOX"):
        for m in self.instance.messages(ALICE, mailbox):
            data = self.instance.message_bytes(ALICE, m["uid"], mailbox)
            if f"Subject: {subject}\r\n".encode() in data:
                header = re.sub(r"\r\n[ \t]", " ", data.split(b"\r\n\r\n")[0].decode())
                return re.search(r"(?m)^Authentication-Results: mail\.example\.test;.*$", header).group(0)
        return None

    def test_aligned_spf_passes(self):
        self.assertEqual(self.send("joe@reject.example", self.message("joe@reject.example", "spf aligned"))[0], 250)
        self.assertIn("dmarc=pass (p=reject dis=none) header.from=reject.example", self.stored("spf aligned"))

    def test_aligned_dkim_passes_whatever_the_envelope(self):
        # Sent through a mailing service: the envelope is theirs, the signature the author's.
        message = self.message("news@reject.example", "dkim aligned")
        signed = system_python(SIGNER, "sel", "reject.example", "rsa-sha256", str(self.key), stdin=message) + message
        self.assertEqual(self.send("bounces@other.example", signed)[0], 250)
        field = self.stored("dkim aligned")
        self.assertIn("spf=fail", field)
        self.assertIn("dkim=pass", field)
        self.assertIn("dmarc=pass (p=reject dis=none) header.from=reject.example", field)

    def test_a_forged_author_of_a_reject_domain_is_refused(self):
        code, text = self.send("joe@other.example", self.message("ceo@reject.example", "forged"))
        self.assertEqual(code, 550)
        self.assertEqual(text, "5.7.1 Message refused by reject.example's DMARC policy: it is not authenticated "
                               "as sent by that domain")
        self.assertIsNone(self.stored("forged"))

    def test_quarantine_goes_to_junk(self):
        self.assertEqual(self.send("joe@other.example", self.message("x@quarantine.example", "to junk"))[0], 250)
        self.assertIsNone(self.stored("to junk"))
        self.assertIn("dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.example",
                      self.stored("to junk", "Junk"))

    def test_subdomains_get_sp_from_the_organisational_domain(self):
        # news.orgpolicy.co.uk has no record; orgpolicy.co.uk (the Public Suffix List makes
        # co.uk the suffix) has one whose sp= is quarantine.
        self.assertEqual(self.send("joe@other.example", self.message("a@news.orgpolicy.co.uk", "sub"))[0], 250)
        self.assertIn("dmarc=fail (p=quarantine dis=quarantine) header.from=news.orgpolicy.co.uk",
                      self.stored("sub", "Junk"))

    def test_none_policies_errors_and_domains_without_a_record(self):
        self.send("joe@other.example", self.message("a@relaxed.example", "p none"))
        self.assertIn("dmarc=fail (p=none dis=none) header.from=relaxed.example", self.stored("p none"))
        self.send("joe@other.example", self.message("a@nowhere.example", "no record"))
        self.assertIn("dmarc=none (no DMARC record) header.from=nowhere.example", self.stored("no record"))
        self.send("joe@other.example", self.message("a@two.example", "two records"))
        self.assertIn("dmarc=none (no DMARC record) header.from=two.example", self.stored("two records"))
        self.send("joe@other.example", self.message("a@temp.example", "temp"))
        self.assertRegex(self.stored("temp"), r"dmarc=temperror \(policy lookup: [^)]*\) header\.from=temp\.example")

    def test_every_author_domain_is_checked(self):
        # A second address in From cannot hide a forged first one, nor the other way round.
        message = self.message("a@relaxed.example>, <ceo@reject.example", "two authors")
        code, _ = self.send("joe@other.example", message)
        self.assertEqual(code, 550)


if __name__ == "__main__":
    unittest.main()
