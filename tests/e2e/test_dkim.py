"""DKIM end to end. Signing: keys made by `mailstead dkim keygen`, mail submitted to
mailstead-smtpd and delivered by its queue runner to an SMTP sink, and every signature checked
by an independent verifier, Debian's python3-dkim (with python3-nacl for ed25519-sha256), run
by the system Python with the published records handed to it in place of DNS. Verification:
mail signed by python3-dkim, sent to port 25, checked by mailstead against key records in a
local DNS server, with the verdicts in the Authentication-Results field of what is stored."""

import base64
import json
import os
import pathlib
import re
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest

from fake_dns import TYPES, FakeDns, Zone
from harness import HOST, SMTPD, Daemon, Instance, free_port, smtp_waiter
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


# Runs in the system Python: signs the message on stdin with python3-dkim and prints the
# DKIM-Signature field. argv: selector domain algorithm key [length]; the key is a PEM file
# (rsa-sha256) or the base64 of an Ed25519 seed (ed25519-sha256).
SIGNER = r"""
import sys
import dkim
selector, domain, algorithm, key = sys.argv[1:5]
length = len(sys.argv) > 5
private = open(key, "rb").read() if algorithm == "rsa-sha256" else key.encode()
sys.stdout.buffer.write(dkim.sign(sys.stdin.buffer.read(), selector.encode(), domain.encode(), private,
                                  signature_algorithm=algorithm.encode(), length=length,
                                  include_headers=[b"from", b"to", b"subject"]))
"""

# The Ed25519 public key of a seed, by PyNaCl in the system Python.
ED25519_PUBLIC = r"""
import base64, sys
import nacl.signing
print(base64.b64encode(bytes(nacl.signing.SigningKey(base64.b64decode(sys.argv[1])).verify_key)).decode())
"""


def system_python(script, *args, stdin=b""):
    r = subprocess.run([SYSTEM_PYTHON, "-c", script, *args], input=stdin, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(r.stderr.decode())
    return r.stdout


def rsa_key(path, bits):
    """A PKCS #1 private key in `path`, and its public key as a DKIM record's p= value."""
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(path), str(bits)], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return base64.b64encode(der).decode()


def results_field(message, authserv_id="mail.example.test"):
    """Our Authentication-Results field of a stored message, unfolded, and the header's field
    names in order."""
    header = message.split(b"\r\n\r\n")[0].decode()
    fields = [re.sub(r"\r\n[ \t]", " ", f) for f in re.split(r"\r\n(?![ \t])", header)]
    ours = [f for f in fields if re.match(rf"(?i)authentication-results:\s*{re.escape(authserv_id)};", f)]
    return ours, [f.split(":", 1)[0] for f in fields]


class DkimVerificationTest(unittest.TestCase):
    """Mail from another server (port 25) signed by python3-dkim, checked by mailstead against
    key records in a local DNS server; the outcome is in the delivered message's
    Authentication-Results."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = pathlib.Path(cls.tmp.name)
        cls.rsa_path, cls.weak_path = tmp / "rsa.pem", tmp / "weak.pem"
        rsa_public = rsa_key(cls.rsa_path, 2048)
        weak_public = rsa_key(cls.weak_path, 512)
        cls.ed_seed = base64.b64encode(os.urandom(32)).decode()
        ed_public = system_python(ED25519_PUBLIC, cls.ed_seed).decode().strip()
        cls.zone = Zone({
            "rsa._domainkey.example.org": [("TXT", f"v=DKIM1; k=rsa; p={rsa_public}", 3600)],
            "ed._domainkey.example.org": [("TXT", ["v=DKIM1; k=ed25519; ", f"p={ed_public}"], 3600)],
            "weak._domainkey.example.org": [("TXT", f"v=DKIM1; p={weak_public}")],
            "revoked._domainkey.example.org": [("TXT", "v=DKIM1; p=")],
        }, servfail=["down._domainkey.example.org"], negative_ttl=300,
            silent=[f"silent{n}._domainkey.example.org" for n in range(100)])
        cls.dns = FakeDns(cls.zone)
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

    def sign(self, message, selector, algorithm="rsa-sha256", key=None, length=False):
        key = key or (str(self.rsa_path) if algorithm == "rsa-sha256" else self.ed_seed)
        args = [selector, "example.org", algorithm, key] + (["length"] if length else [])
        return system_python(SIGNER, *args, stdin=message) + message

    def deliver(self, message):
        """Sends `message` to alice over port 25 and returns it as stored."""
        before = len(self.instance.messages(ALICE))
        with smtplib.SMTP(HOST, self.mx, local_hostname="client.example", timeout=30, source_address=(HOST, 0)) as s:
            s.sendmail("joe@example.org", [ALICE], message)
        uid = self.instance.messages(ALICE)[before]["uid"]
        return self.instance.message_bytes(ALICE, uid)

    def message(self, subject, body="Hello from the other side.\r\n"):
        return (f"From: Joe <joe@example.org>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
                f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
                f"\r\n{body}").encode()

    def test_every_signature_gets_its_verdict(self):
        # One message, seven signatures, from the top: a good RSA one, a good Ed25519 one, a
        # key of 512 bits, a revoked key, no key record, a DNS server failing, a key that does
        # not match.
        message = self.message("many signatures")
        signed = self.sign(message, "rsa")
        signed = self.sign(signed, "ed", "ed25519-sha256")
        signed = self.sign(signed, "weak", key=str(self.weak_path))
        signed = self.sign(signed, "revoked")
        signed = self.sign(signed, "missing")
        signed = self.sign(signed, "down")
        stored = self.deliver(signed)
        ours, names = results_field(stored)
        self.assertEqual(len(ours), 1, stored[:3000])
        field = ours[0]
        # Directly below our Received field.
        self.assertEqual(names[:3], ["Return-Path", "Received", "Authentication-Results"])
        results = [r.strip() for r in field.split(";")[1:] if r.strip().startswith("dkim=")]
        self.assertEqual(len(results), 5, field)  # dkim.verify_max_signatures = 5: "rsa" is not checked
        verdicts = {re.search(r"header\.s=(\S+)", r).group(1): r for r in results}
        self.assertTrue(verdicts["down"].startswith("dkim=temperror"), field)
        self.assertTrue(verdicts["missing"].startswith("dkim=permerror (no key for signature)"), field)
        self.assertTrue(verdicts["revoked"].startswith("dkim=permerror (key revoked)"), field)
        # The reason is a comment: its own parentheses are escaped (RFC 5322 §3.2.2).
        self.assertTrue(verdicts["weak"].startswith("dkim=permerror (key of 512 bits is too weak \\(RFC 8301\\))"),
                        field)
        self.assertTrue(verdicts["ed"].startswith("dkim=pass header.d=example.org header.s=ed "
                                                  "header.a=ed25519-sha256 header.b="), field)

    def test_a_good_signature_passes_and_a_changed_body_fails(self):
        signed = self.sign(self.message("signed once"), "rsa")
        field = results_field(self.deliver(signed))[0][0]
        self.assertRegex(field, r"; dkim=pass header\.d=example\.org header\.s=rsa header\.a=rsa-sha256 header\.b=")
        changed = signed.replace(b"Hello from", b"Goodbye from")
        field = results_field(self.deliver(changed))[0][0]
        self.assertIn("dkim=fail (body hash did not verify)", field)
        changed_header = signed.replace(b"Subject: signed once", b"Subject: signed twice")
        field = results_field(self.deliver(changed_header))[0][0]
        self.assertIn("dkim=fail (signature did not verify)", field)

    def test_text_appended_below_a_length_limited_signature_is_not_a_pass(self):
        signed = self.sign(self.message("length limited"), "ed", "ed25519-sha256", length=True)
        self.assertIn(b" l=", signed.split(b"\r\n\r\n")[0])
        self.assertIn("dkim=pass", results_field(self.deliver(signed))[0][0])
        appended = signed + b"Click here to claim your prize.\r\n"
        self.assertRegex(results_field(self.deliver(appended))[0][0], r"dkim=policy \(l= leaves \d+ bytes")

    def test_unsigned_mail_says_none(self):
        field = results_field(self.deliver(self.message("unsigned")))[0][0]
        self.assertRegex(field, r"; dkim=none; dmarc=none \(no DMARC record\) header\.from=example\.org$")
        self.assertIn("spf=none (no SPF record at example.org) smtp.mailfrom=example.org;", field)

    def test_claims_to_be_us_from_outside_are_removed(self):
        forged = (b"Authentication-Results: mail.example.test; dkim=pass header.d=bank.example\r\n"
                  b"Authentication-Results: MAIL.EXAMPLE.TEST;\r\n dkim=pass\r\n"
                  b"Authentication-Results: other.example; dkim=pass header.d=example.org\r\n"
                  + self.message("forged results"))
        stored = self.deliver(forged)
        ours, names = results_field(stored)
        self.assertEqual(len(ours), 1)
        # No PTR for the test's address in this DNS: iprev is a permerror.
        self.assertEqual(ours[0], f"Authentication-Results: mail.example.test; iprev=permerror policy.iprev={HOST}; "
                                  "spf=none (no SPF record at example.org) smtp.mailfrom=example.org; "
                                  "spf=none (no SPF record at client.example) smtp.helo=client.example; dkim=none; "
                                  "dmarc=none (no DMARC record) header.from=example.org")
        self.assertEqual(names.count("Authentication-Results"), 2)  # ours, and other.example's
        self.assertIn(b"Authentication-Results: other.example; dkim=pass", stored)

    def test_key_records_are_asked_for_once_while_their_ttl_holds(self):
        asked = lambda: sum(1 for q in self.zone.queries if q == ("rsa._domainkey.example.org", TYPES["TXT"]))
        self.deliver(self.sign(self.message("cached 1"), "rsa"))
        before = asked()
        self.assertGreaterEqual(before, 1)
        for n in range(2, 5):
            self.deliver(self.sign(self.message(f"cached {n}"), "rsa"))
        self.assertEqual(asked(), before)

    def test_signatures_whose_keys_never_come_cost_one_lookup_not_one_each(self):
        # A stranger's message with 100 well-formed signatures whose key lookups are never
        # answered: 5 are checked (dkim.verify_max_signatures), their keys asked for at once,
        # so the message waits one lookup's deadline (dns.timeout 1s: 3 tries + 1 s = 4 s)
        # rather than five; meanwhile another session is served as usual.
        fields = "".join(f"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=silent{n}; h=from;"
                         f" bh={base64.b64encode(bytes(32)).decode()}; b=AAAA\r\n" for n in range(100))
        message = fields.encode() + self.message("never answered")
        other = smtp_waiter(self.mx)
        other.start()
        try:
            start = time.monotonic()
            stored = self.deliver(message)
            took = time.monotonic() - start
        finally:
            other.stop.set()
            other.join()
        field = results_field(stored)[0][0]
        self.assertEqual(field.count("dkim=temperror"), 5, field)
        self.assertEqual(field.count("dkim="), 5, field)
        self.assertLess(took, 8, f"checking took {took:.1f} s: the five lookups did not run at once")
        self.assertGreater(other.round_trips, 10)
        self.assertLess(other.longest, 1.0, f"another session waited {other.longest:.2f} s")
        print(f"\n100 unanswerable signatures: {took:.2f} s to accept; another session's NOOP waited at most "
              f"{other.longest * 1000:.0f} ms over {other.round_trips} round trips", file=sys.stderr)
