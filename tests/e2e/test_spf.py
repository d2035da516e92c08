"""SPF end to end: mail from another server (port 25) checked at MAIL FROM against SPF records
in a local DNS server (RFC 7208), every result recorded in the stored message's
Authentication-Results, and a fail refused with 550 5.7.23 and the domain's explanation when
spf.on_fail is "reject"."""

import re
import smtplib
import sys
import time
import unittest

from fake_dns import FakeDns, Zone
from harness import HOST, SMTPD, Daemon, Instance, free_port, smtp_waiter

ALICE, PASSWORD = "alice@example.test", "alice's long password"


def zone():
    return Zone({
        "pass.example": [("TXT", f"v=spf1 ip4:{HOST} -all")],
        "fail.example": [("TXT", "v=spf1 ip4:192.0.2.1 -all exp=why.fail.example")],
        "why.fail.example": [("TXT", "%{i} may not send mail for %{d}; see https://fail.example/spf")],
        "soft.example": [("TXT", "v=spf1 ~all")],
        "neutral.example": [("TXT", "v=spf1 ?all")],
        "include.example": [("TXT", "v=spf1 include:pass.example -all")],
        "mx.example": [("TXT", "v=spf1 mx -all"), ("MX", (10, "mail.mx.example"))],
        "mail.mx.example": [("A", HOST)],
        "helo.example": [("TXT", "v=spf1 a -all"), ("A", HOST)],
        "perm.example": [("TXT", "v=spf1 include:nothing.example -all")],
        "two.example": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 +all")],
        "nothing-here.example": [("A", "192.0.2.9")],
        # The test's address has a reverse name that points back to it.
        ".".join(reversed(HOST.split("."))) + ".in-addr.arpa": [("PTR", "client.example")],
        "client.example": [("A", HOST)],
        # Ten MX hosts whose addresses never come: each address lookup waits its whole deadline.
        "slow.example": [("TXT", "v=spf1 mx -all")] + [("MX", (10, f"mx{n}.silent.example")) for n in range(10)],
        # Twelve senders for one session's repeated MAIL FROM.
        **{f"s{n}.example": [("TXT", f"v=spf1 ip4:{HOST} -all")] for n in range(12)},
    }, servfail=["temp.example"], negative_ttl=60, silent=[f"mx{n}.silent.example" for n in range(10)])


class SpfInstance:
    def __init__(self, on_fail):
        self.dns = FakeDns(zone())
        self.mx = free_port()
        self.instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{self.mx}"], "submission_listen": [], "submissions_listen": []},
            "server": {"hostname": "mail.example.test"},
            "dns": {"servers": [f"127.0.0.1:{self.dns.port}"], "timeout": "1s"},
            "spf": {"on_fail": on_fail, "max_time": "3s"},
        })
        self.instance.admin("domain", "add", "example.test")
        self.instance.admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        self.smtpd = Daemon([str(SMTPD), "-c", str(self.instance.config)], self.instance.dir / "smtpd.log")

    def close(self):
        try:
            self.smtpd.stop_cleanly()
        finally:
            self.dns.close()
            self.instance.cleanup()

    def send(self, sender, helo="client.example"):
        """Sends a message from `sender` to alice; returns our Authentication-Results, unfolded."""
        before = len(self.instance.messages(ALICE))
        message = f"From: <{sender or 'mailer-daemon@client.example'}>\r\nSubject: spf\r\n\r\nHello\r\n"
        with smtplib.SMTP(HOST, self.mx, local_hostname=helo, timeout=30, source_address=(HOST, 0)) as s:
            s.sendmail(sender, [ALICE], message.encode())
        stored = self.instance.message_bytes(ALICE, self.instance.messages(ALICE)[before]["uid"])
        header = re.sub(r"\r\n[ \t]", " ", stored.split(b"\r\n\r\n")[0].decode())
        return re.search(r"(?m)^Authentication-Results: mail\.example\.test;.*$", header).group(0)


class SpfMarkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = SpfInstance("mark")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def spf(self, sender, helo="client.example"):
        field = self.server.send(sender, helo)
        return re.search(r"spf=[^;]*", field).group(0)

    def test_every_result(self):
        self.assertRegex(self.spf("joe@pass.example"), r"^spf=pass \(matched at pass\.example\) "
                                                       r"smtp\.mailfrom=pass\.example$")
        self.assertRegex(self.spf("joe@fail.example"), r"^spf=fail .* smtp\.mailfrom=fail\.example$")
        self.assertRegex(self.spf("joe@soft.example"), r"^spf=softfail ")
        self.assertRegex(self.spf("joe@neutral.example"), r"^spf=neutral ")
        self.assertRegex(self.spf("joe@nothing-here.example"), r"^spf=none \(no SPF record at nothing-here\.example\)")
        self.assertRegex(self.spf("joe@temp.example"), r"^spf=temperror ")
        self.assertRegex(self.spf("joe@perm.example"), r"^spf=permerror \(include:nothing\.example: ")
        self.assertRegex(self.spf("joe@two.example"), r"^spf=permerror \(2 SPF records at two\.example\)")

    def test_one_session_checks_at_most_ten_senders(self):
        """MAIL FROM again and again (RSET between), each a new sender domain: ten identities are
        looked up, the HELO name's among them, the rest not (spf.max_checks_per_session); a sender
        seen before is not asked again."""
        from fake_dns import TYPES
        queries = self.server.dns.zone.queries
        with smtplib.SMTP(HOST, self.server.mx, local_hostname="client.example", timeout=30,
                          source_address=(HOST, 0)) as s:
            s.ehlo()
            for n in list(range(12)) + [0, 1]:
                self.assertEqual(s.mail(f"joe@s{n}.example")[0], 250)
                s.rset()
        asked = [sum(1 for q in queries if q == (f"s{n}.example", TYPES["TXT"])) for n in range(12)]
        self.assertEqual(asked, [1] * 9 + [0, 0, 0])
        self.assertIn('domain="s11.example" result=temperror reason="too many SPF checks in one session"',
                      self.server.smtpd.log())

    def test_include_and_mx_mechanisms_over_dns(self):
        self.assertRegex(self.spf("joe@include.example"), r"^spf=pass \(matched at include\.example\)")
        self.assertRegex(self.spf("joe@mx.example"), r"^spf=pass \(matched at mx\.example\)")

    def test_a_bounce_is_checked_by_its_helo_name(self):
        # RFC 7208 §2.4: with MAIL FROM:<>, the HELO identity is checked.
        self.assertRegex(self.spf("", helo="helo.example"), r"^spf=pass \(matched at helo\.example\) "
                                                            r"smtp\.helo=helo\.example$")
        self.assertRegex(self.spf("", helo="fail.example"), r"^spf=fail .* smtp\.helo=fail\.example$")

    def test_the_helo_name_is_checked_beside_mail_from(self):
        # RFC 7208 §2.3: both identities, each in its own result.
        field = self.server.send("joe@pass.example", helo="helo.example")
        self.assertIn("spf=pass (matched at pass.example) smtp.mailfrom=pass.example; "
                      "spf=pass (matched at helo.example) smtp.helo=helo.example", field)
        # An address literal is not a name to check.
        field = self.server.send("joe@pass.example", helo=f"[{HOST}]")
        self.assertNotIn("smtp.helo=", field)

    def test_a_fail_is_only_marked(self):
        with smtplib.SMTP(HOST, self.server.mx, timeout=30, source_address=(HOST, 0)) as s:
            s.ehlo("client.example")
            code, _ = s.mail("joe@fail.example")
            self.assertEqual(code, 250)  # "mark": a fail is recorded, not refused


    def test_the_clients_confirmed_reverse_name_is_recorded(self):
        # RFC 8601 §3 iprev: PTR -> client.example -> A -> the client's address.
        field = self.server.send("joe@pass.example")
        self.assertIn(f"; iprev=pass (client.example) policy.iprev={HOST};", field)
        stored = self.server.instance.message_bytes(ALICE, self.server.instance.messages(ALICE)[-1]["uid"])
        self.assertIn(f"Received: from client.example (client.example [{HOST}])".encode(), stored)

    def test_a_check_that_would_take_too_long_ends_at_spf_max_time(self):
        # A record whose ten MX hosts never resolve would take ten lookup deadlines (4 s each
        # with dns.timeout 1s); the check stops at spf.max_time (3 s) with a temperror, and
        # other sessions are served meanwhile.
        other = smtp_waiter(self.server.mx)
        other.start()
        try:
            start = time.monotonic()
            result = self.spf("joe@slow.example")
            took = time.monotonic() - start
        finally:
            other.stop.set()
            other.join()
        self.assertRegex(result, r"^spf=temperror \(the check took too long\)")
        self.assertLess(took, 3 + 4 + 2, f"the check took {took:.1f} s")
        self.assertLess(other.longest, 1.0)
        print(f"\nSPF over ten silent MX hosts: answered after {took:.2f} s (spf.max_time 3s); another "
              f"session's NOOP waited at most {other.longest * 1000:.0f} ms", file=sys.stderr)


class SpfRejectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = SpfInstance("reject")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_a_fail_is_refused_with_the_domains_explanation(self):
        with smtplib.SMTP(HOST, self.server.mx, timeout=30, source_address=(HOST, 0)) as s:
            s.ehlo("client.example")
            code, text = s.mail("joe@fail.example")
            self.assertEqual(code, 550)
            self.assertEqual(text.decode(), f"5.7.23 {HOST} may not send mail for fail.example; "
                                            "see https://fail.example/spf")
            # Anything but a fail is let through, and the session goes on.
            code, _ = s.mail("joe@soft.example")
            self.assertEqual(code, 250)

    def test_a_fail_without_explanation_says_who_may_not_send(self):
        with smtplib.SMTP(HOST, self.server.mx, local_hostname="fail.example", timeout=30, source_address=(HOST, 0)) as s:
            s.ehlo()
            code, text = s.mail("")
            self.assertEqual(code, 550)
            self.assertIn("5.7.23 ", text.decode())

    def test_passes_are_delivered(self):
        self.assertIn("spf=pass", self.server.send("joe@pass.example"))


if __name__ == "__main__":
    unittest.main()
