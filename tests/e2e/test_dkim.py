"""DKIM signing end to end: keys made by `mailstead dkim keygen`, mail submitted to
mailstead-smtpd and delivered by its queue runner to an SMTP sink, and every signature checked
by an independent verifier, Debian's python3-dkim (with python3-nacl for ed25519-sha256), run
by the system Python with the published records handed to it in place of DNS."""

import json
import re
import smtplib
import subprocess
import time
import unittest

from fake_dns import FakeDns, Zone
from harness import HOST, SMTPD, Daemon, Instance, free_port
from sink_smtp import Behaviour, Sink

ALICE, PASSWORD = "alice@example.test", "alice's long password"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-dkim is installed

# Runs in the system Python: verifies every DKIM-Signature of the message on stdin with the
# records given as JSON in argv[1] ({"selector._domainkey.domain.": "v=DKIM1; ..."}), and
# prints one line per signature: "pass d=... s=... a=..." or "fail ...".
VERIFIER = r"""
import json, sys
import dkim
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    return records.get(name.decode() if isinstance(name, bytes) else name, "").encode()
d = dkim.DKIM(message)
count = sum(1 for line in message.split(b"\r\n\r\n")[0].split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
for i in range(count):
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
    except dkim.ValidationError:  # a body hash mismatch is raised, not returned
        ok = False
    sig = dict(d.signature_fields)
    print(("pass" if ok else "fail"), "d=" + sig[b"d"].decode(), "s=" + sig[b"s"].decode(), "a=" + sig[b"a"].decode())
"""


def verify(message, records):
    r = subprocess.run([SYSTEM_PYTHON, "-c", VERIFIER, json.dumps(records)], input=message, capture_output=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"verifier failed: {r.stderr.decode()}")
    return sorted(r.stdout.decode().split("\n")[:-1])


def dkim_signatures(header):
    """The DKIM-Signature fields of a header block, unfolded."""
    fields = re.split(r"\r\n(?![ \t])", header)
    return [re.sub(r"\r\n[ \t]", " ", f) for f in fields if f.lower().startswith("dkim-signature:")]


def tag_list(field):
    """RFC 6376 §3.2: a field's value as tag -> value, whitespace removed."""
    value = field.split(":", 1)[1]
    tags = {}
    for spec in value.split(";"):
        if spec.strip():
            name, _, v = spec.partition("=")
            tags[name.strip()] = re.sub(r"\s", "", v)
    return tags


class DkimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The remote domain's MX is this process's own loopback address, where the sink listens.
        cls.dns = FakeDns(Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", HOST)]}))
        cls.sink_port, cls.submission, cls.mx = free_port(), free_port(), free_port()
        cls.instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{cls.mx}"], "submission_listen": [f"{HOST}:{cls.submission}"],
                      "submissions_listen": [], "allow_plaintext_auth": True},
            "server": {"hostname": "mail.example.test"}, "auth": {"failure_delay": "0s"},
            "dns": {"servers": [f"127.0.0.1:{cls.dns.port}"]},
            "outbound": {"port": cls.sink_port, "retry_first": "1s",
                         "allowed_destinations": ["127.0.0.0/8"]},
            "dkim": {"expire": "7d"},
        })
        cls.sink = Sink(HOST, cls.sink_port, Behaviour(), str(cls.instance.dir / "tls" / "cert.pem"),
                        str(cls.instance.dir / "tls" / "key.pem"))
        admin = cls.instance.admin
        admin("domain", "add", "example.test")
        admin("domain", "add", "unsigned.test")
        admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        admin("alias", "add", "carol@unsigned.test", ALICE)
        cls.rsa = admin("dkim", "keygen", "example.test", "--selector", "r1")
        cls.ed = admin("dkim", "keygen", "example.test", "--algorithm", "ed25519", "--selector", "e1")
        cls.smtpd = Daemon([str(SMTPD), "-c", str(cls.instance.config)], cls.instance.dir / "smtpd.log")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.smtpd.stop_cleanly()
        finally:
            cls.sink.close()
            cls.dns.close()
            cls.instance.cleanup()

    def records(self):
        keys = json.loads(self.instance.admin("dkim", "list", "--json"))
        return {f"{k['selector']}._domainkey.{k['domain']}.": k["record"] for k in keys}

    def submit(self, sender, subject, body="Dinner at eight.\r\n"):
        message = (f"From: Alice <{sender}>\r\nTo: bob@example.org\r\nSubject: {subject}\r\n"
                   f"Content-Type: text/plain\r\n\r\n{body}")
        with smtplib.SMTP(HOST, self.submission, timeout=10) as s:
            s.login(ALICE, PASSWORD)
            s.sendmail(sender, ["bob@example.org"], message.encode())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for m in self.sink.messages:
                if f"Subject: {subject}\r\n".encode() in m["data"]:
                    return m["data"]
            time.sleep(0.05)
        raise AssertionError(f"{subject!r} did not arrive\n{self.smtpd.log()[-3000:]}")

    def test_keygen_prints_the_record_to_publish(self):
        self.assertIn("made rsa-sha256 key r1 of example.test (active)", self.rsa)
        self.assertIn('r1._domainkey.example.test. IN TXT ( "v=DKIM1; k=rsa; p=', self.rsa)
        self.assertIn('e1._domainkey.example.test. IN TXT ( "v=DKIM1; k=ed25519; p=', self.ed)
        listed = self.instance.admin("dkim", "list", "example.test")
        self.assertIn("example.test\tr1\trsa-sha256\tactive", listed)
        self.assertIn("example.test\te1\ted25519-sha256\tactive", listed)

    def test_submitted_mail_carries_both_signatures_and_they_verify(self):
        data = self.submit(ALICE, "dual signed", body="Dinner at eight.  \r\n\r\n\r\n")
        header = data.split(b"\r\n\r\n")[0].decode()
        self.assertEqual(header.count("DKIM-Signature:"), 2)
        self.assertIn("c=relaxed/relaxed", header)
        for field in dkim_signatures(header):
            tags = tag_list(field)
            self.assertEqual(int(tags["x"]) - int(tags["t"]), 7 * 86400)  # dkim.expire = 7d
        self.assertEqual(verify(data, self.records()),
                         ["pass d=example.test s=e1 a=ed25519-sha256", "pass d=example.test s=r1 a=rsa-sha256"])

    def test_a_changed_message_no_longer_verifies(self):
        data = self.submit(ALICE, "to be changed")
        changed = data.replace(b"Dinner at eight.", b"Dinner at nine.")
        self.assertEqual([line.split()[0] for line in verify(changed, self.records())], ["fail", "fail"])
        # An added Subject (oversigned) breaks it as well; a new unsigned field does not.
        added = data.replace(b"\r\n\r\n", b"\r\nSubject: another\r\n\r\n", 1)
        self.assertEqual([line.split()[0] for line in verify(added, self.records())], ["fail", "fail"])
        extra = data.replace(b"\r\n\r\n", b"\r\nX-Added: later\r\n\r\n", 1)
        self.assertEqual([line.split()[0] for line in verify(extra, self.records())], ["pass", "pass"])

    def test_a_domain_without_keys_is_not_signed(self):
        data = self.submit("carol@unsigned.test", "no keys")
        self.assertNotIn(b"DKIM-Signature:", data.split(b"\r\n\r\n")[0])

    def test_only_active_keys_sign(self):
        admin = self.instance.admin
        admin("dkim", "keygen", "example.test", "--algorithm", "ed25519", "--selector", "e2", "--standby")
        admin("dkim", "retire", "example.test", "e1")
        try:
            data = self.submit(ALICE, "after rotation")
            self.assertEqual(verify(data, self.records()), ["pass d=example.test s=r1 a=rsa-sha256"])
            admin("dkim", "activate", "example.test", "e2")
            data = self.submit(ALICE, "rotated")
            self.assertEqual(verify(data, self.records()),
                             ["pass d=example.test s=e2 a=ed25519-sha256", "pass d=example.test s=r1 a=rsa-sha256"])
        finally:
            admin("dkim", "remove", "example.test", "e2")
            admin("dkim", "activate", "example.test", "e1")

    def test_mail_from_strangers_on_port_25_is_not_signed(self):
        message = b"From: someone@example.test\r\nTo: alice@example.test\r\nSubject: inbound\r\n\r\nhi\r\n"
        with smtplib.SMTP(HOST, self.mx, timeout=10) as s:
            s.sendmail("someone@example.org", [ALICE], message)
        stored = self.instance.messages(ALICE)
        raw = self.instance.message_bytes(ALICE, stored[-1]["uid"])
        self.assertIn(b"Subject: inbound", raw)
        self.assertNotIn(b"DKIM-Signature:", raw)


if __name__ == "__main__":
    unittest.main()
