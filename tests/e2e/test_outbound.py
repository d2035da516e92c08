"""End-to-end tests of outbound delivery: mailstead-smtpd's queue runner resolves MX records
through a test DNS server (fake_dns.py) and delivers to SMTP sinks on 127.0.0.2, 127.0.0.3, ...
(sink_smtp.py): MX preference and fallback, implicit MX, null MX, NXDOMAIN, SERVFAIL, retry
after 4xx, DSN bounces into the sender's INBOX, TLS required, a smarthost with AUTH, and a
prompt shutdown while a delivery hangs."""

import email
import email.policy
import json
import signal
import smtplib
import subprocess
import time
import unittest

from fake_dns import TYPES, FakeDns, Zone
from harness import BUILD, HOST, SMTPD, Daemon, Instance, free_port
from sink_smtp import Behaviour, Sink, ipv6_loopback

PASSWORD = "alice's long password"
TORTURE = BUILD / "tests" / "mailstead-storage-torture"
ALICE = "alice@example.test"


class Outbound:
    """smtpd with submission, a fake DNS server, and sinks that share one port number."""

    def __init__(self, zone, outbound=None, sinks=None, relay=None, files=None, start=True):
        self.dns = FakeDns(zone)
        self.sink_port = free_port()
        self.submission = free_port()
        self.mx = free_port()
        # The sinks listen on loopback, which the destination policy refuses unless allowed.
        out = {"port": self.sink_port, "retry_first": "1s",
               "retry_max": "2s", "allowed_destinations": ["127.0.0.0/8", "::1"],
               "relay_verify_certificate": False}
        out.update(outbound or {})
        if relay:
            out["relay"] = f"{relay}:{self.sink_port}"
        sections = {"smtpd": {"listen": [f"{HOST}:{self.mx}"], "submission_listen": [f"{HOST}:{self.submission}"],
                              "submissions_listen": [], "allow_plaintext_auth": True,
                              "trusted_networks": ["127.0.0.1/32"]},
                    "server": {"hostname": "mail.example.test"}, "auth": {"failure_delay": "0s"},
                    "outbound": out, "dns": {"servers": [f"127.0.0.1:{self.dns.port}"]}}
        self.instance = Instance(sections=sections)
        for name, text in (files or {}).items():
            (self.instance.dir / name).write_text(text)
        self.cert = str(self.instance.dir / "tls" / "cert.pem")
        self.key = str(self.instance.dir / "tls" / "key.pem")
        self.sinks = {}
        for host, behaviour in (sinks or {}).items():
            self.sinks[host] = Sink(host, self.sink_port, behaviour, self.cert, self.key)
        self.admin("domain", "add", "example.test")
        self.admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        self.smtpd = None
        if start:
            self.start()

    def start(self):
        self.smtpd = Daemon([str(SMTPD), "-c", str(self.instance.config)], self.instance.dir / "smtpd.log")

    def admin(self, *args, stdin=None):
        return self.instance.admin(*args, stdin=stdin)

    def send(self, to, body="Hello over there\r\n", sender=ALICE):
        message = f"From: {sender}\r\nTo: {', '.join(to)}\r\nSubject: outbound test\r\n\r\n{body}"
        with smtplib.SMTP(HOST, self.submission, timeout=10) as s:
            s.login(ALICE, PASSWORD)
            s.sendmail(sender, to, message.encode())

    def queue(self):
        return self.instance.queue()

    def inbox(self):
        return self.instance.messages(ALICE)

    def message(self, uid):
        return self.instance.message_bytes(ALICE, uid)

    def wait(self, condition, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n{self.smtpd.log()[-3000:]}")

    def bounces(self, count=1):
        return self.wait(lambda: len(self.inbox()) >= count and self.inbox(), what="a bounce in alice's INBOX")

    def close(self):
        try:
            if self.smtpd:
                self.smtpd.stop_cleanly()
        finally:
            for sink in self.sinks.values():
                sink.close()
            self.dns.close()
            self.instance.cleanup()


def dsn_parts(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    parts = msg.get_payload()
    status = parts[1].as_string() if not parts[1].is_multipart() else str(parts[1])
    return msg, parts, status


class OutboundTest(unittest.TestCase):
    def run_with(self, zone, sinks=None, outbound=None, relay=None, files=None, start=True):
        inst = Outbound(zone, outbound, sinks, relay, files, start)
        self.addCleanup(inst.close)
        return inst

    def test_delivery_through_the_mx_with_the_exact_envelope(self):
        inst = self.run_with(Zone({"example.org": [("MX", (10, "mx.example.org"))],
                                   "mx.example.org": [("A", "127.0.0.2")]}),
                             {"127.0.0.2": Behaviour()})
        inst.send(["bob@example.org", "carol@example.org"], body="line one\r\n.dot line\r\n")
        got = inst.sinks["127.0.0.2"].wait_for(1)[0]
        self.assertEqual(got["sender"], ALICE)
        self.assertEqual(got["recipients"], ["bob@example.org", "carol@example.org"])  # one transaction
        self.assertIn(b"\r\nline one\r\n.dot line\r\n", got["data"])
        self.assertIn(b"Subject: outbound test\r\n", got["data"])
        self.assertTrue(got["data"].startswith(b"Received: from "))
        self.assertTrue(got["tls"])  # opportunistic STARTTLS
        inst.wait(lambda: inst.queue() == [], what="an empty queue")

    def test_dns_answers_are_kept_for_their_ttl(self):
        # The MX answer holds for an hour, the host's address for 2 s (dns.max_ttl is 1h).
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"), 3600)],
                     "mx.example.org": [("A", "127.0.0.2", 2)]}, negative_ttl=3600)
        inst = self.run_with(zone, {"127.0.0.2": Behaviour()})
        asked = lambda name, rtype: sum(1 for q in zone.queries if q == (name, TYPES[rtype]))
        inst.send(["bob@example.org"], body="first\r\n")
        inst.sinks["127.0.0.2"].wait_for(1)
        inst.send(["bob@example.org"], body="second\r\n")
        inst.sinks["127.0.0.2"].wait_for(2)
        self.assertEqual(asked("example.org", "MX"), 1)
        self.assertEqual(asked("mx.example.org", "A"), 1)
        self.assertEqual(asked("mx.example.org", "AAAA"), 1)  # NODATA, kept by its SOA
        time.sleep(3)  # past the A record's TTL: asked again; the MX answer still holds
        inst.send(["bob@example.org"], body="third\r\n")
        inst.sinks["127.0.0.2"].wait_for(3)
        self.assertEqual(asked("example.org", "MX"), 1)
        self.assertEqual(asked("mx.example.org", "A"), 2)

    def test_connections_are_reused_for_further_messages(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour()})
        for n in range(1, 4):  # one after the other, each within the idle time of the last
            inst.send(["bob@example.org"], body=f"message {n}\r\n")
            inst.sinks["127.0.0.2"].wait_for(n)
        self.assertEqual(inst.sinks["127.0.0.2"].connections, 1)
        time.sleep(3)  # past the idle time: the cached connection is closed, the next opens anew
        inst.send(["bob@example.org"], body="message 4\r\n")
        inst.sinks["127.0.0.2"].wait_for(4)
        self.assertEqual(inst.sinks["127.0.0.2"].connections, 2)

    def test_one_session_per_domain_still_delivers_everything(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour()}, {"max_per_domain": 1})
        with smtplib.SMTP(HOST, inst.mx, timeout=10) as s:  # queued at once, from a trusted address
            for n in range(6):
                s.sendmail(ALICE, [f"r{n}@example.org"], f"Subject: {n}\r\n\r\nx\r\n".encode())
        got = inst.sinks["127.0.0.2"].wait_for(6)
        self.assertEqual(sorted(m["recipients"][0] for m in got), [f"r{n}@example.org" for n in range(6)])
        inst.wait(lambda: inst.queue() == [], what="an empty queue")

    def test_preference_order_and_fallback(self):
        # mx1 (preference 10) refuses connections, mx2 (20) greets with 421, mx3 (30) takes it.
        zone = Zone({"example.org": [("MX", (30, "mx3.example.org")), ("MX", (10, "mx1.example.org")),
                                     ("MX", (20, "mx2.example.org"))],
                     "mx1.example.org": [("A", "127.0.0.4")], "mx2.example.org": [("A", "127.0.0.5")],
                     "mx3.example.org": [("A", "127.0.0.3")]})
        inst = self.run_with(zone, {"127.0.0.5": Behaviour(greeting="421 4.3.2 busy"), "127.0.0.3": Behaviour()})
        inst.send(["bob@example.org"])
        self.assertEqual(inst.sinks["127.0.0.3"].wait_for(1)[0]["recipients"], ["bob@example.org"])
        self.assertEqual(inst.sinks["127.0.0.5"].connections, 1)
        asked = [name for name, _ in inst.dns.zone.queries]
        self.assertLess(asked.index("mx1.example.org"), asked.index("mx2.example.org"))
        self.assertLess(asked.index("mx2.example.org"), asked.index("mx3.example.org"))

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback on this machine")
    def test_ipv6_and_ipv4_addresses_of_an_mx(self):
        # example.org's MX has only an IPv6 address; example.net's has both, and nothing
        # listens on its IPv6 address in the second instance, so delivery falls back to IPv4.
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("AAAA", "::1")]})
        inst = self.run_with(zone, {"::1": Behaviour()})
        inst.send(["bob@example.org"])
        self.assertEqual(inst.sinks["::1"].wait_for(1)[0]["recipients"], ["bob@example.org"])
        inst.wait(lambda: inst.queue() == [], what="an empty queue")
        zone = Zone({"example.net": [("MX", (10, "mx.example.net"))],
                     "mx.example.net": [("AAAA", "::1"), ("A", "127.0.0.2")]})
        both = self.run_with(zone, {"127.0.0.2": Behaviour()})
        both.send(["carol@example.net"])
        self.assertEqual(both.sinks["127.0.0.2"].wait_for(1)[0]["recipients"], ["carol@example.net"])
        asked = {(name, rtype) for name, rtype in both.dns.zone.queries}
        self.assertIn(("mx.example.net", 28), asked)  # AAAA
        self.assertIn(("mx.example.net", 1), asked)  # A
        both.wait(lambda: both.queue() == [], what="an empty queue")

    def test_a_queue_of_10000_entries_is_listed_and_delivered_once_each(self):
        # Every entry listed, every recipient delivered exactly once, the queue empty at the end.
        # Timed by hand, not asserted: 1,000 entries 2.2 s, 10,000 10.7 s, 20,000 20.3 s for this
        # whole test (plain build) — linear.
        count, domains = 10000, 10
        records = {f"d{j}.example": [("MX", (10, f"mx.d{j}.example"))] for j in range(domains)}
        records.update({f"mx.d{j}.example": [("A", "127.0.0.2")] for j in range(domains)})
        inst = self.run_with(Zone(records), {"127.0.0.2": Behaviour()}, start=False)
        filled = subprocess.run([str(TORTURE), "enqueue", str(inst.instance.dir / "data"), str(count), str(domains),
                                 ALICE], capture_output=True, text=True, timeout=120)
        self.assertEqual(filled.stdout.strip(), f"ok {count}", filled.stderr)
        listed = inst.queue()
        self.assertEqual(len(listed), count)
        self.assertEqual(sorted(r["address"] for e in listed for r in e["recipients"]),
                         sorted(f"r{k}@d{k % domains}.example" for k in range(count)))
        inst.start()
        got = inst.sinks["127.0.0.2"].wait_for(count, timeout=240)
        recipients = [r for m in got for r in m["recipients"]]
        self.assertEqual(len(recipients), count)
        self.assertEqual(len(set(recipients)), count)  # nobody twice
        inst.wait(lambda: inst.queue() == [], timeout=60, what="an empty queue")

    def test_old_server_without_ehlo_gets_helo(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(ehlo=False)})
        inst.send(["bob@example.org"], body="plain old SMTP\r\n")
        got = inst.sinks["127.0.0.2"].wait_for(1)[0]
        self.assertIn(b"plain old SMTP\r\n", got["data"])
        self.assertFalse(got["tls"])  # no EHLO, no STARTTLS: opportunistic TLS goes without
        inst.wait(lambda: inst.queue() == [], what="an empty queue")

    def test_size_and_smtputf8_are_checked_before_sending(self):
        # mx.example.org takes at most 200 octets; mx.example.net has no SMTPUTF8.
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")],
                     "example.net": [("MX", (10, "mx.example.net"))], "mx.example.net": [("A", "127.0.0.3")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(size=200), "127.0.0.3": Behaviour(smtputf8=False)})
        inst.send(["bob@example.org"], body="x" * 500 + "\r\n")
        with smtplib.SMTP(HOST, inst.submission, timeout=10) as s:
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, ["jörg@example.net"], "Subject: utf8\r\n\r\nhallo\r\n".encode(),
                       mail_options=["SMTPUTF8"])
        bounces = inst.bounces(2)
        statuses = set()
        for m in bounces:
            _, _, status = dsn_parts(inst.message(m["uid"]))
            statuses.update(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Status:"))
        self.assertEqual(statuses, {"5.3.4", "5.6.7"})  # too big; needs SMTPUTF8 (RFC 6531 §3.5)
        self.assertEqual(inst.sinks["127.0.0.2"].messages, [])  # nothing was sent to be refused
        self.assertEqual(inst.sinks["127.0.0.3"].messages, [])
        inst.wait(lambda: inst.queue() == [], what="an empty queue")

    def test_sigkill_loses_and_repeats_nothing(self):
        # bob's server takes the message; carol's defers it. After SIGKILL and a restart, only
        # carol's is sent again — once — and bob's is not repeated.
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")],
                     "example.net": [("MX", (10, "mx.example.net"))], "mx.example.net": [("A", "127.0.0.3")]})
        deferring = Behaviour(rcpt={"carol@example.net": "451 4.3.0 try later"})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(), "127.0.0.3": deferring},
                             {"retry_first": "3s", "retry_max": "3s"})
        inst.send(["bob@example.org", "carol@example.net"])
        inst.sinks["127.0.0.2"].wait_for(1)
        inst.wait(lambda: any(r["attempts"] >= 1 and r["state"] == "pending"
                              for e in inst.queue() for r in e["recipients"]), what="carol's deferral")
        inst.smtpd.signal(signal.SIGKILL)
        inst.smtpd.wait(10)
        deferring.rcpt = {}
        inst.start()
        got = inst.sinks["127.0.0.3"].wait_for(1, timeout=30)
        self.assertEqual(got[0]["recipients"], ["carol@example.net"])
        inst.wait(lambda: inst.queue() == [], what="an empty queue")
        time.sleep(1)
        self.assertEqual(len(inst.sinks["127.0.0.2"].messages), 1)
        self.assertEqual(len(inst.sinks["127.0.0.3"].messages), 1)

    def test_implicit_mx_and_cname(self):
        zone = Zone({"example.org": [("A", "127.0.0.2")],
                     "example.net": [("MX", (10, "alias.example.net"))],
                     "alias.example.net": [("CNAME", "real.example.net")], "real.example.net": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour()})
        inst.send(["bob@example.org"])
        inst.send(["dan@example.net"])
        got = inst.sinks["127.0.0.2"].wait_for(2)
        self.assertEqual(sorted(m["recipients"][0] for m in got), ["bob@example.org", "dan@example.net"])

    def test_null_mx_and_nxdomain_bounce_at_once(self):
        zone = Zone({"nomail.example.org": [("MX", (0, "."))]})
        inst = self.run_with(zone)
        inst.send(["bob@nomail.example.org"])
        inst.send(["eve@nowhere.example.org"])
        bounces = inst.bounces(2)
        texts = [inst.message(m["uid"]) for m in bounces]
        joined = b"".join(texts)
        self.assertIn(b"null MX", joined)
        self.assertIn(b"Status: 5.1.10", joined)
        self.assertIn(b"does not exist (NXDOMAIN)", joined)
        self.assertIn(b"Status: 5.1.2", joined)
        inst.wait(lambda: inst.queue() == [], what="an empty queue")

    def test_5xx_bounces_into_the_senders_inbox(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        sink = Behaviour(rcpt={"nobody@example.org": "550 5.1.1 <nobody@example.org>: user unknown"})
        inst = self.run_with(zone, {"127.0.0.2": sink})
        inst.send(["nobody@example.org", "bob@example.org"], body="the secret body\r\n")
        self.assertEqual(inst.sinks["127.0.0.2"].wait_for(1)[0]["recipients"], ["bob@example.org"])
        bounce = inst.bounces(1)[0]
        raw = inst.message(bounce["uid"])
        msg, parts, status = dsn_parts(raw)
        self.assertEqual(msg["From"], "Mail Delivery System <MAILER-DAEMON@mail.example.test>")
        self.assertTrue(raw.startswith(b"Return-Path: <>\r\n"))  # sent with the null sender
        self.assertIn("Final-Recipient: rfc822; nobody@example.org", status)
        self.assertIn("Action: failed", status)
        self.assertIn("Status: 5.1.1", status)
        self.assertIn("user unknown", status)
        self.assertNotIn("bob@example.org", status)
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertNotIn(b"the secret body", raw)
        inst.wait(lambda: inst.queue() == [], what="an empty queue")

    def test_4xx_then_success_on_retry(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(data_replies=["451 4.3.0 try again later"])})
        inst.send(["bob@example.org"])
        queued = inst.wait(lambda: [e for e in inst.queue() if e["recipients"][0]["attempts"] == 1],
                           what="a first failed attempt")
        self.assertIn("451 4.3.0 try again later", queued[0]["recipients"][0]["last_error"])
        inst.sinks["127.0.0.2"].wait_for(1, timeout=15)
        inst.wait(lambda: inst.queue() == [], what="an empty queue")
        self.assertEqual(inst.inbox(), [])  # no bounce

    def test_one_delay_notice_while_it_keeps_trying(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(data_replies=["451 4.3.0 later"] * 20)},
                             {"delay_notice": "1s", "retry_first": "1s", "retry_max": "1s"})
        inst.send(["bob@example.org"])
        notice = inst.bounces(1)[0]
        inst.wait(lambda: inst.queue()[0]["recipients"][0]["attempts"] >= 3, what="more attempts")
        self.assertEqual(len(inst.inbox()), 1)  # told once, not at every attempt
        msg, parts, status = dsn_parts(inst.message(notice["uid"]))
        self.assertEqual(msg["Subject"], "Delayed Mail (still being retried)")
        self.assertIn("Action: delayed", status)
        self.assertIn("Status: 4.3.0", status)
        self.assertIn("Will-Retry-Until:", status)
        self.assertEqual(inst.queue()[0]["recipients"][0]["state"], "pending")

    def test_servfail_waits_in_the_queue(self):
        inst = self.run_with(Zone({}, servfail=["example.org"]))
        inst.send(["bob@example.org"])
        entry = inst.wait(lambda: [e for e in inst.queue() if e["recipients"][0]["attempts"] >= 1],
                          what="a deferred entry")[0]
        self.assertIn("DNS lookup of MX for example.org failed", entry["recipients"][0]["last_error"])
        self.assertEqual(entry["recipients"][0]["state"], "pending")
        self.assertEqual(inst.inbox(), [])

    def test_queue_hold_release_retry_and_delete(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(data_replies=["451 4.3.0 later"] * 3)},
                             {"retry_first": "1h", "retry_max": "1h"})
        inst.send(["bob@example.org"])
        entry = inst.wait(lambda: [e for e in inst.queue() if e["recipients"][0]["attempts"] == 1],
                          what="a first failed attempt")[0]
        qid = str(entry["id"])
        self.assertEqual(inst.admin("queue", "hold", qid), "held 1 queue entry\n")
        shown = json.loads(inst.admin("queue", "show", qid, "--json"))
        self.assertEqual(shown["recipients"][0]["state"], "held")
        self.assertIn("never (held)", inst.admin("queue", "show", qid))
        self.assertEqual(inst.admin("queue", "release", qid), "released 1 queue entry\n")
        # Released means due now: the runner tries again at its next scan (at most 5 s).
        inst.wait(lambda: inst.queue()[0]["recipients"][0]["attempts"] == 2, timeout=20, what="a second attempt")
        self.assertEqual(inst.admin("queue", "retry", "--all"), "retrying 1 queue entry\n")
        inst.wait(lambda: inst.queue()[0]["recipients"][0]["attempts"] == 3, timeout=20, what="a third attempt")
        self.assertEqual(inst.admin("queue", "delete", qid), f"deleted queue entry {qid} (no bounce is sent)\n")
        self.assertEqual(inst.queue(), [])
        self.assertEqual(inst.inbox(), [])

    def test_required_tls_without_starttls_delivers_nothing(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(starttls=False)}, {"require_tls": True})
        inst.send(["bob@example.org"])
        entry = inst.wait(lambda: [e for e in inst.queue() if e["recipients"][0]["attempts"] >= 1],
                          what="a deferred entry")[0]
        self.assertIn("does not offer STARTTLS, and TLS is required", entry["recipients"][0]["last_error"])
        self.assertEqual(inst.sinks["127.0.0.2"].messages, [])

    def test_smarthost_with_auth(self):
        inst = self.run_with(Zone({}), {"127.0.0.6": Behaviour(auth=("relay-user", "relay secret"))},
                             {"relay_user": "relay-user", "relay_password_file": "relay.password"},
                             relay="127.0.0.6", files={"relay.password": "relay secret\n"})
        inst.send(["bob@elsewhere.example"])
        got = inst.sinks["127.0.0.6"].wait_for(1)[0]
        self.assertEqual(got["auth"], "relay-user")
        self.assertTrue(got["tls"])
        self.assertEqual(got["recipients"], ["bob@elsewhere.example"])
        self.assertEqual(inst.dns.zone.queries, [])  # a relay needs no MX lookups

    def test_no_bounce_for_a_bounce(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(rcpt={"gone@example.org": "550 5.1.1 gone"})})
        # A trusted client relays a message with the null sender, as a bounce would come.
        with smtplib.SMTP(HOST, inst.mx, timeout=10) as s:
            s.sendmail("<>", ["gone@example.org"], b"From: MAILER-DAEMON@example.test\r\nSubject: x\r\n\r\nx\r\n")
        inst.wait(lambda: inst.queue() == [], what="the failed bounce to leave the queue")
        time.sleep(0.5)
        self.assertEqual(inst.inbox(), [])
        self.assertEqual(inst.queue(), [])

    def test_smarthost_certificate_is_verified_by_default(self):
        # Found: the relay password went over TLS whose certificate nobody checked.
        inst = self.run_with(Zone({}), {"127.0.0.6": Behaviour(auth=("relay-user", "relay secret"))},
                             {"relay_user": "relay-user", "relay_password_file": "relay.password",
                              "relay_verify_certificate": True},
                             relay="127.0.0.6", files={"relay.password": "relay secret\n"})
        inst.send(["bob@elsewhere.example"])
        entry = inst.wait(lambda: [e for e in inst.queue() if e["recipients"][0]["attempts"] >= 1],
                          what="a deferred entry")[0]
        self.assertIn("certificate", entry["recipients"][0]["last_error"])
        self.assertEqual(inst.sinks["127.0.0.6"].messages, [])

    def test_loopback_and_private_destinations_are_refused(self):
        # Found: an MX or A record pointing inside the network was connected to.
        zone = Zone({"inside.example": [("MX", (10, "mx.inside.example"))],
                     "mx.inside.example": [("A", "127.0.0.2"), ("A", "10.1.2.3")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour()}, {"allowed_destinations": []})
        inst.send(["bob@inside.example"])
        bounce = inst.bounces(1)[0]
        text = inst.message(bounce["uid"])
        self.assertIn(b"Status: 5.4.4", text)
        self.assertIn(b"mx.inside.example has a private address (10.1.2.3)", text)  # the last one tried
        self.assertEqual(inst.sinks["127.0.0.2"].connections, 0)
        self.assertIn('why="loopback"', inst.smtpd.log())

    def test_a_server_that_trickles_is_given_up_on_within_the_attempt_time(self):
        # Found: a byte every few minutes kept a delivery slot for days (each byte reset the timer).
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(trickle=True)}, {"max_attempt_time": "10s"})
        start = time.monotonic()
        inst.send(["bob@example.org"])
        entry = inst.wait(lambda: [e for e in inst.queue() if e["recipients"][0]["attempts"] >= 1],
                          what="a deferred entry", timeout=60)[0]
        self.assertIn("timed out", entry["recipients"][0]["last_error"])
        self.assertLess(time.monotonic() - start, 50)

    def test_shutdown_does_not_wait_for_a_hanging_server(self):
        zone = Zone({"example.org": [("MX", (10, "mx.example.org"))], "mx.example.org": [("A", "127.0.0.2")]})
        inst = self.run_with(zone, {"127.0.0.2": Behaviour(hang=True)})
        inst.send(["bob@example.org"])
        inst.wait(lambda: inst.sinks["127.0.0.2"].connections >= 1, what="a connection to the sink")
        start = time.monotonic()
        inst.smtpd.signal(15)
        self.assertEqual(inst.smtpd.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(len(inst.queue()), 1)  # still queued, nothing recorded


if __name__ == "__main__":
    unittest.main()


class SrsTest(unittest.TestCase):
    """An alias that forwards to another domain: the mail leaves with an SRS0 sender of the
    alias's domain, a bounce to that address goes back to the original sender, and a forged one
    is refused. A local user's own address is not rewritten."""

    @classmethod
    def setUpClass(cls):
        cls.inst = Outbound(Zone({"remote.example": [("MX", (10, "mx.remote.example"))],
                                  "mx.remote.example": [("A", "127.0.0.2")],
                                  "sender.example": [("MX", (10, "mx.sender.example"))],
                                  "mx.sender.example": [("A", "127.0.0.3")]}),
                            sinks={"127.0.0.2": Behaviour(), "127.0.0.3": Behaviour()})
        cls.inst.admin("alias", "add", "fwd@example.test", "someone@remote.example")

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def from_outside(self, sender, rcpt, subject):
        with smtplib.SMTP(HOST, self.inst.mx, local_hostname="client.example", timeout=30,
                          source_address=(HOST, 0)) as s:
            s.ehlo()
            self.assertEqual(s.mail(sender)[0], 250)
            code, text = s.rcpt(rcpt)
            if code != 250:
                return code, text.decode()
            return s.data(f"From: <{sender or 'mailer-daemon@sender.example'}>\r\nSubject: {subject}\r\n\r\n"
                          f"Hello\r\n".encode())

    def delivered(self, sink, subject):
        def find():
            return [m for m in self.inst.sinks[sink].messages if f"Subject: {subject}".encode() in m["data"]]
        return self.inst.wait(find, what=f"{subject!r} at {sink}")[0]

    def test_forwarded_mail_and_its_bounce(self):
        self.assertEqual(self.from_outside("joe@sender.example", "fwd@example.test", "forward me")[0], 250)
        got = self.delivered("127.0.0.2", "forward me")
        self.assertEqual(got["recipients"], ["someone@remote.example"])
        srs = got["sender"]
        self.assertRegex(srs, r"^SRS0=[A-Za-z0-9+/]{6}=[A-Z2-7]{2}=sender\.example=joe@example\.test$")
        # The remote server bounces to the SRS address: it goes back to joe, as a bounce.
        self.assertEqual(self.from_outside("", srs, "bounce of forward me")[0], 250)
        bounce = self.delivered("127.0.0.3", "bounce of forward me")
        self.assertEqual(bounce["recipients"], ["joe@sender.example"])
        self.assertEqual(bounce["sender"], "")
        self.assertIn("event=accepted", self.inst.smtpd.log())

    def test_forged_srs_address_is_refused(self):
        code, text = self.from_outside("", "SRS0=AAAAAA=AB=victim.example=eve@example.test", "forged")
        self.assertEqual((code, text), (550, "5.1.1 <SRS0=AAAAAA=AB=victim.example=eve@example.test>: "
                                             "Invalid or expired SRS address"))
        self.assertIn("event=srs_refused", self.inst.smtpd.log())

    def test_local_senders_are_not_rewritten(self):
        self.inst.send(["fwd@example.test"], body="from alice\r\n")
        got = self.inst.wait(lambda: [m for m in self.inst.sinks["127.0.0.2"].messages
                                      if b"from alice" in m["data"]], what="alice's forwarded mail")[0]
        self.assertEqual(got["sender"], ALICE)
