"""Content filters (milters) end to end: mailstead-smtpd talks the Sendmail milter protocol to
- a filter on Sendmail's own libmilter (python3-milter, tests/e2e/scripted_milter.py) that
  refuses, defers, discards, quarantines and rewrites as each message asks, and records what it
  was sent;
- a real rspamd (its proxy worker in milter mode, started here on loopback with a config of its
  own: no network, no Redis), whose verdicts decide between Inbox, Junk and a 554;
- filters that misbehave (down, silent, endlessly "still working", sending a packet of a
  gigabyte): the mail waits (451 4.7.1) or passes as milter.on_failure says, within the
  configured timeouts, and other sessions are not held up."""

import contextlib
import email.utils
import json
import os
import pathlib
import re
import smtplib
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import HOST, SMTPD, Daemon, Instance, free_port, smtp_waiter

ALICE, PASSWORD = "alice@example.test", "alice's long password"
SCRIPTED = pathlib.Path(__file__).resolve().parent / "scripted_milter.py"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(subject, body="Hello\r\n", sender="joe@sender.example"):
    # Dated now: rspamd scores a Date more than a day old (DATE_IN_PAST, +1), which moved the
    # soft-reject case (5 points) into add_header (6) once a fixed date had aged.
    date = email.utils.formatdate(usegmt=True)
    return (f"From: <{sender}>\r\nTo: <{ALICE}>\r\nSubject: {subject}\r\nMessage-ID: <{time.time()}@x>\r\n"
            f"Date: {date}\r\n\r\n{body}").encode()


class Mailstead:
    """An instance with one user and smtpd on port 25 and 587, filtered by `milter`."""

    def __init__(self, milter, smtpd=None):
        self.mx, self.submission = free_port(), free_port()
        self.instance = Instance(sections={
            "smtpd": {"listen": [f"{HOST}:{self.mx}"], "submission_listen": [f"{HOST}:{self.submission}"],
                      "submissions_listen": [], "allow_plaintext_auth": True, **(smtpd or {})},
            "server": {"hostname": "mail.example.test"},
            "milter": milter,
        })
        self.instance.admin("domain", "add", "example.test")
        self.instance.admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        self.instance.admin("user", "add", "refused-bob@example.test", "--password-stdin", stdin=PASSWORD + "\n")
        self.smtpd = Daemon([str(SMTPD), "-c", str(self.instance.config)], self.instance.dir / "smtpd.log")

    def close(self):
        try:
            self.smtpd.stop_cleanly()
        finally:
            self.instance.cleanup()

    def send(self, data, mail_from="joe@sender.example", rcpts=(ALICE,), helo="client.example"):
        """Port 25; (code, text) of the end of DATA."""
        with smtplib.SMTP(HOST, self.mx, local_hostname=helo, timeout=60, source_address=(HOST, 0)) as s:
            s.ehlo()
            code, text = s.mail(mail_from)
            if code != 250:
                return code, text.decode()
            for r in rcpts:
                s.rcpt(r)
            code, text = s.data(data)
            return code, text.decode()

    def stored(self, subject, mailbox="INBOX"):
        for m in self.instance.messages(ALICE, mailbox):
            data = self.instance.message_bytes(ALICE, m["uid"], mailbox)
            if subject.encode() in data:
                return data
        return None


class ScriptedFilterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.events_path = pathlib.Path(cls.tmp.name) / "events.jsonl"
        cls.filter_port = free_port()
        cls.filter = Daemon(["/usr/bin/python3", str(SCRIPTED), HOST, str(cls.filter_port), str(cls.events_path)],
                            pathlib.Path(cls.tmp.name) / "milter.log")
        try:
            cls.mailstead = Mailstead({"servers": [f"inet:{HOST}:{cls.filter_port}"]})
        except BaseException:  # tearDownClass does not run when setUpClass fails
            cls.filter.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.mailstead.close()
        finally:
            cls.filter.stop()
            cls.tmp.cleanup()

    def events(self):
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines()]

    def events_of(self, queue_id):
        """The events of the filter session whose MAIL carried macro i = queue_id."""
        out, current = [], None
        for e in self.events():
            if e["stage"] == "mail":
                current = e.get("i")
            if current == queue_id:
                out.append(e)
        return out

    def queue_id(self, text):
        return re.search(r"queued as (\S+)", text).group(1)

    def test_clean_message_passes_with_every_stage_and_macro(self):
        code, text = self.mailstead.send(message("clean one"))
        self.assertEqual(code, 250, text)
        self.assertIsNotNone(self.mailstead.stored("clean one"))
        events = self.events()
        connects = [e for e in events if e["stage"] == "connect" and e["address"] == HOST]
        self.assertTrue(connects)
        self.assertEqual(connects[-1]["hostname"], "unknown")  # no reverse DNS here
        self.assertEqual(connects[-1]["j"], "mail.example.test")
        self.assertEqual(connects[-1]["daemon"], "mailstead-smtpd")
        self.assertIn({"stage": "helo", "name": "client.example", "tls_version": None}, events)
        mine = self.events_of(self.queue_id(text))
        stages = [e["stage"] for e in mine]
        self.assertEqual(stages[:3], ["mail", "rcpt", "eom"], stages)
        self.assertEqual(mine[0]["from"], "<joe@sender.example>")
        self.assertIsNone(mine[0]["auth_authen"])
        self.assertEqual(mine[1]["to"], f"<{ALICE}>")
        self.assertEqual(mine[1]["mailer"], "local")
        eom = mine[2]
        names = [n for n, _ in eom["headers"]]
        # The filter sees our trace and findings on top, as Postfix's filters see its Received.
        self.assertEqual(names[0], "Received")
        self.assertIn("Subject", names)
        self.assertIn(["Subject", "clean one"], eom["headers"])
        self.assertEqual(eom["body"], "Hello\r\n")

    def test_reject_at_end_of_message_uses_the_filters_reply(self):
        code, text = self.mailstead.send(message("milter:reject please"))
        self.assertEqual((code, text), (554, "5.7.1 Rejected by the scripted filter"))
        self.assertIsNone(self.mailstead.stored("milter:reject please"))

    def test_tempfail(self):
        code, text = self.mailstead.send(message("milter:tempfail please"))
        self.assertEqual(code, 451, text)
        self.assertTrue(text.startswith("4.7.1"), text)
        self.assertIsNone(self.mailstead.stored("milter:tempfail please"))

    def test_discard_is_accepted_and_dropped(self):
        code, text = self.mailstead.send(message("milter:discard please"))
        self.assertEqual(code, 250, text)
        self.assertIsNone(self.mailstead.stored("milter:discard please"))
        self.assertIn("discarded", self.mailstead.smtpd.log())

    def test_quarantine_goes_to_junk(self):
        self.assertEqual(self.mailstead.send(message("milter:quarantine please"))[0], 250)
        self.assertIsNone(self.mailstead.stored("milter:quarantine please"))
        self.assertIsNotNone(self.mailstead.stored("milter:quarantine please", "Junk"))

    def test_spam_header_goes_to_junk(self):
        self.assertEqual(self.mailstead.send(message("milter:spam please"))[0], 250)
        self.assertIsNone(self.mailstead.stored("milter:spam please"))
        data = self.mailstead.stored("milter:spam please", "Junk")
        self.assertIn(b"\r\nX-Spam: Yes\r\n", data)

    def test_rewrite_changes_header_and_body(self):
        code, text = self.mailstead.send(message("milter:rewrite please"))
        self.assertEqual(code, 250, text)
        data = self.mailstead.stored("rewritten by the filter")
        self.assertIsNotNone(data)
        header, body = data.split(b"\r\n\r\n", 1)
        self.assertIn(b"\r\nSubject: rewritten by the filter\r\n", header)
        self.assertNotIn(b"milter:rewrite", header)
        self.assertIn(b"\r\nX-Filtered: yes,\r\n\tfolded", header)
        self.assertEqual(body, b"The filter replaced this body.\r\n")

    def test_recipients_changed_by_the_filter(self):
        code, text = self.mailstead.send(message("milter:redirect please"))
        self.assertEqual(code, 250, text)
        self.assertIsNone(self.mailstead.stored("milter:redirect please"))
        bob = self.mailstead.instance.messages("refused-bob@example.test")
        self.assertEqual(len(bob), 1)

    def test_accept_at_end_of_header_skips_the_rest(self):
        code, text = self.mailstead.send(message("milter:accept-early milter:reject"))
        self.assertEqual(code, 250, text)  # the filter accepted before it would have refused
        self.assertIsNotNone(self.mailstead.stored("milter:accept-early"))
        stages = [e["stage"] for e in self.events_of(self.queue_id(text))]
        self.assertIn("accept-early", stages)
        self.assertNotIn("eom", stages)

    def test_sender_refused_at_mail(self):
        code, text = self.mailstead.send(message("blocked"), mail_from="blocked-sender@sender.example")
        self.assertEqual((code, text), (550, "5.7.1 Sender blocked by the scripted filter"))

    def test_one_recipient_refused_at_rcpt(self):
        with smtplib.SMTP(HOST, self.mailstead.mx, local_hostname="client.example", timeout=30,
                          source_address=(HOST, 0)) as s:
            s.ehlo()
            self.assertEqual(s.mail("joe@sender.example")[0], 250)
            self.assertEqual(s.rcpt("refused-bob@example.test"),
                             (550, b"5.7.1 Recipient refused by the scripted filter"))
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            self.assertEqual(s.data(message("one of two"))[0], 250)
        self.assertIsNotNone(self.mailstead.stored("one of two"))
        self.assertEqual(self.mailstead.instance.messages("refused-bob@example.test"), [])

    def test_helo_refused(self):
        with smtplib.SMTP(HOST, self.mailstead.mx, local_hostname="rejected.example", timeout=30,
                          source_address=(HOST, 0)) as s:
            code, text = s.ehlo()
            self.assertEqual((code, text), (550, b"5.7.1 HELO refused by the scripted filter"))
            # Another greeting is heard again.
            self.assertEqual(s.ehlo("better.example")[0], 250)
            self.assertEqual(s.mail("joe@sender.example")[0], 250)

    def test_rset_aborts_the_filters_transaction(self):
        with smtplib.SMTP(HOST, self.mailstead.mx, local_hostname="client.example", timeout=30,
                          source_address=(HOST, 0)) as s:
            s.ehlo()
            self.assertEqual(s.mail("rset-test@sender.example")[0], 250)
            s.rset()
            self.assertEqual(s.mail("joe@sender.example")[0], 250)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
            code, text = s.data(message("after rset"))
            self.assertEqual(code, 250)
        events = self.events()
        at = next(i for i, e in enumerate(events) if e["stage"] == "mail" and "rset-test" in e["from"])
        self.assertEqual(events[at + 1]["stage"], "abort")

    def test_users_mail_is_filtered_with_their_name(self):
        with smtplib.SMTP(HOST, self.mailstead.submission, timeout=30) as s:
            s.ehlo("laptop.example")
            s.login(ALICE, PASSWORD)
            s.sendmail(ALICE, [ALICE], message("from alice", sender=ALICE))
        mail = [e for e in self.events() if e["stage"] == "mail" and e["from"] == f"<{ALICE}>"]
        self.assertTrue(mail)
        self.assertEqual(mail[-1]["auth_authen"], ALICE)


# --- misbehaving filters --------------------------------------------------------------------

class RawFilter:
    """A filter written on a socket, to misbehave as no real one would: `mode` is "silent"
    (never answers), "mute" (negotiates, then never answers), "progress" (at the end of a message, says "still working" every 0.2 s
    for ever), "huge" (answers the negotiation with a packet that claims a gigabyte)."""

    def __init__(self, mode):
        self.mode = mode
        self.port = free_port()
        self.listener = socket.create_server((HOST, self.port))
        self.connections = []
        self.stopped = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    @staticmethod
    def packet(command, data=b""):
        return struct.pack(">I", len(data) + 1) + command + data

    def session(self, conn):
        buffered = b""
        try:
            while not self.stopped.is_set():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffered += chunk
                while len(buffered) >= 4 and len(buffered) >= 4 + struct.unpack(">I", buffered[:4])[0]:
                    size = struct.unpack(">I", buffered[:4])[0]
                    command, buffered = buffered[4:5], buffered[4 + size:]
                    if self.mode == "silent":
                        continue
                    if command == b"O":
                        if self.mode == "huge":
                            conn.sendall(struct.pack(">I", 1 << 30) + b"O" + b"\0" * 4096)
                            continue
                        conn.sendall(self.packet(b"O", struct.pack(">III", 6, 0x3f, 0)))
                    elif self.mode == "mute":
                        continue
                    elif command in (b"C", b"H", b"M", b"R", b"T", b"L", b"N", b"B"):
                        conn.sendall(self.packet(b"c"))
                    elif command == b"E":
                        while not self.stopped.is_set():
                            conn.sendall(self.packet(b"p"))
                            time.sleep(0.2)
        except OSError:
            pass

    def close(self):
        self.stopped.set()
        self.listener.close()
        for c in self.connections:
            c.close()


class FailingFilterTest(unittest.TestCase):
    def run_with(self, milter, subject):
        mailstead = Mailstead(milter)
        try:
            start = time.monotonic()
            code, text = mailstead.send(message(subject))
            return code, text, time.monotonic() - start, mailstead.stored(subject) is not None, mailstead.smtpd.log()
        finally:
            mailstead.close()

    def test_filter_down_defers_the_mail(self):
        down = f"inet:{HOST}:{free_port()}"  # nothing listens there
        code, text, _, stored, log = self.run_with({"servers": [down]}, "down, tempfail")
        self.assertEqual((code, text), (451, "4.7.1 Content filter unavailable, try again later"))
        self.assertFalse(stored)
        self.assertIn("milter_failed", log)

    def test_filter_down_with_on_failure_accept_delivers(self):
        down = f"inet:{HOST}:{free_port()}"
        code, text, _, stored, _ = self.run_with({"servers": [down], "on_failure": "accept"}, "down, accept")
        self.assertEqual(code, 250, text)
        self.assertTrue(stored)

    def test_silent_filter_costs_its_timeout_and_holds_up_no_one_else(self):
        # The waiter's NOOPs are not junk commands to be cut off after 100.
        with self.misbehaving("silent", smtpd={"max_junk_commands": 100000}, connect_timeout="2s") as mailstead:
            # The waiter's own session meets the silent filter first (its greeting waits out the
            # negotiation); its NOOPs are measured from then on.
            waiter = smtp_waiter(mailstead.mx)
            waiter.start()
            deadline = time.monotonic() + 20
            while waiter.round_trips < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertGreaterEqual(waiter.round_trips, 5)
            waiter.longest = 0.0
            code, text, elapsed = self.timed_send(mailstead, "silent filter")
            self.assertTrue(waiter.is_alive())  # it waited all along, not just until an error
            waiter.stop.set()
            waiter.join()
            print(f"\nsilent filter: 451 after {elapsed:.2f} s (connect_timeout 2 s); another session's NOOP "
                  f"waited at most {waiter.longest * 1000:.0f} ms over {waiter.round_trips} round trips")
            self.assertEqual(code, 451, text)
            # The negotiation waits its 2 s once; the session then knows the filter failed.
            self.assertLess(elapsed, 10)
            self.assertLess(waiter.longest, 1.0)

    @contextlib.contextmanager
    def misbehaving(self, mode, smtpd=None, **milter):
        """An instance filtered by a RawFilter in `mode`."""
        raw = RawFilter(mode)
        mailstead = Mailstead({"servers": [f"inet:{HOST}:{raw.port}"], **milter}, smtpd)
        try:
            yield mailstead
        finally:
            mailstead.close()
            raw.close()

    @staticmethod
    def timed_send(mailstead, subject):
        start = time.monotonic()
        code, text = mailstead.send(message(subject))
        return code, text, time.monotonic() - start

    def test_mute_filter_is_given_up_after_the_command_timeout(self):
        with self.misbehaving("mute", command_timeout="1s") as mailstead:
            code, text, elapsed = self.timed_send(mailstead, "mute filter")
            print(f"\nfilter that stops answering after the negotiation: 451 after {elapsed:.2f} s "
                  f"(command_timeout 1 s)")
            self.assertEqual(code, 451, text)
            # The connect stage waits its 1 s; HELO and MAIL know the filter failed.
            self.assertGreaterEqual(elapsed, 0.9)
            self.assertLess(elapsed, 5)
            self.assertIn("timed out waiting for a reply", mailstead.smtpd.log())

    def test_endless_progress_is_cut_at_four_content_timeouts(self):
        with self.misbehaving("progress", content_timeout="1s") as mailstead:
            code, text, elapsed = self.timed_send(mailstead, "endless progress")
            print(f"\nfilter saying 'still working' every 0.2 s: 451 after {elapsed:.2f} s (content_timeout 1 s)")
            self.assertEqual(code, 451, text)
            self.assertGreaterEqual(elapsed, 3.5)
            self.assertLess(elapsed, 10)

    def test_gigabyte_packet_is_refused_from_its_length(self):
        with self.misbehaving("huge") as mailstead:
            code, text, elapsed = self.timed_send(mailstead, "huge packet")
            self.assertEqual(code, 451, text)
            self.assertLess(elapsed, 5)
            self.assertIn("more than the 1048576 allowed", mailstead.smtpd.log())
            status = pathlib.Path(f"/proc/{mailstead.smtpd.proc.pid}/status").read_text()
            peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
            print(f"\nfilter claiming a 1 GiB packet: 451 after {elapsed:.2f} s; smtpd peak RSS {peak // 1024} MiB")
            self.assertLess(peak, 200 * 1024)


# --- rspamd -----------------------------------------------------------------------------------

RSPAMD_CONF = """
options {{
  pidfile = "{dir}/rspamd.pid";
  filters = "regexp";
  dns {{ nameserver = ["{dns}"]; timeout = 1s; retransmits = 1; }}
  local_addrs = [];
  disable_hyperscan = true;
  cache_file = "{dir}/symbols.cache";
  control_socket = "{dir}/rspamd.sock mode=0600";
  task_timeout = 8s;
}}
logging {{ type = "file"; filename = "{dir}/rspamd.log"; level = "info"; }}
actions {{ reject = 15; add_header = 6; soft_reject = 5; }}
lua = "$RULESDIR/rspamd.lua"
worker "rspamd_proxy" {{
  bind_socket = "{host}:{port}";
  milter = yes;
  timeout = 120s;
  count = 1;
  upstream "local" {{ default = yes; self_scan = yes; }}
  spam_header = "X-Spam";
  reject_message = "Spam message rejected";
  quarantine_on_reject = {quarantine};
}}
multimap {{
  TEST_SPAM_SUBJECT {{ type = "header"; header = "Subject"; regexp = true; map = "{dir}/spam_subjects.map"; score = 8.0; }}
  TEST_GREY_SUBJECT {{ type = "header"; header = "Subject"; regexp = true; map = "{dir}/grey_subjects.map"; score = 5.0; }}
}}
modules {{ path = "${{PLUGINSDIR}}"; }}
"""


class Rspamd:
    """rspamd started here on loopback with RSPAMD_CONF, stopped by its PID."""

    def __init__(self, quarantine_on_reject=False):
        self.tmp = tempfile.TemporaryDirectory()
        d = pathlib.Path(self.tmp.name)
        (d / "spam_subjects.map").write_text("/buy cheap watches/i\n")
        (d / "grey_subjects.map").write_text("/somewhat suspicious/i\n")
        self.port = free_port()
        # DNS goes to a loopback port where nothing answers: rspamd sends nothing off this machine.
        (d / "rspamd.conf").write_text(RSPAMD_CONF.format(
            dir=d, host=HOST, port=self.port, dns=f"{HOST}:{free_port()}",
            quarantine="true" if quarantine_on_reject else "false"))
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
        # -i: as root (CI), rspamd keeps running as the given root user instead of refusing.
        self.proc = subprocess.Popen(["rspamd", "-f", "-i", "-c", str(d / "rspamd.conf"), "-u", user, "-g", group],
                                     stdout=subprocess.DEVNULL, stderr=open(d / "stderr.log", "wb"))
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (d / "stderr.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"rspamd did not start:\n{log[-3000:]}")
                time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait()

    def close(self):
        self.stop()
        self.tmp.cleanup()


class RspamdTest(unittest.TestCase):
    """rspamd 3.4 from Debian: GTUBE is refused (its reject action), a message scoring over
    soft_reject is deferred, over add_header goes to Junk with rspamd's X-Spam: Yes, a clean one
    to the Inbox."""

    @classmethod
    def setUpClass(cls):
        cls.rspamd = Rspamd()
        try:
            cls.mailstead = Mailstead({"servers": [f"inet:{HOST}:{cls.rspamd.port}"], "content_timeout": "30s"})
        except BaseException:  # tearDownClass does not run when setUpClass fails
            cls.rspamd.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.mailstead.close()
        finally:
            cls.rspamd.close()

    def test_gtube_is_rejected(self):
        code, text = self.mailstead.send(message("gtube", body=f"{GTUBE}\r\n"))
        # rspamd answers with the reason of the symbol that decided ("Gtube pattern").
        self.assertEqual(code, 554, text)
        self.assertTrue(text.startswith("5.7.1 "), text)
        self.assertIsNone(self.mailstead.stored("gtube"))

    def test_spam_score_goes_to_junk_with_rspamds_header(self):
        code, text = self.mailstead.send(message("Buy cheap watches now"))
        self.assertEqual(code, 250, text)
        self.assertIsNone(self.mailstead.stored("Buy cheap watches now"))
        data = self.mailstead.stored("Buy cheap watches now", "Junk")
        self.assertIsNotNone(data)
        self.assertIn(b"\r\nX-Spam: Yes\r\n", data)
        self.assertIn("junk", self.mailstead.smtpd.log())

    def test_soft_reject_action_defers(self):
        code, text = self.mailstead.send(message("somewhat suspicious offer"))
        self.assertEqual(code, 451, text)
        self.assertTrue(text.startswith("4.7.1 "), text)
        self.assertIsNone(self.mailstead.stored("somewhat suspicious offer"))

    def test_clean_message_goes_to_inbox(self):
        code, text = self.mailstead.send(message("a quiet note"))
        self.assertEqual(code, 250, text)
        data = self.mailstead.stored("a quiet note")
        self.assertIsNotNone(data)
        self.assertNotIn(b"X-Spam: Yes", data)


class RspamdQuarantineTest(unittest.TestCase):
    """rspamd told to quarantine what it would reject (quarantine_on_reject): GTUBE goes to Junk.
    Then rspamd is stopped: the mail waits (451 4.7.1), or with milter.on_failure = "accept"
    passes unfiltered."""

    def test_gtube_quarantined_then_rspamd_stopped(self):
        rspamd = Rspamd(quarantine_on_reject=True)
        try:
            mailstead = Mailstead({"servers": [f"inet:{HOST}:{rspamd.port}"]})
            accepting = Mailstead({"servers": [f"inet:{HOST}:{rspamd.port}"], "on_failure": "accept"})
            try:
                code, text = mailstead.send(message("gtube quarantined", body=f"{GTUBE}\r\n"))
                self.assertEqual(code, 250, text)
                self.assertIsNone(mailstead.stored("gtube quarantined"))
                self.assertIsNotNone(mailstead.stored("gtube quarantined", "Junk"))
                rspamd.stop()
                code, text = mailstead.send(message("while rspamd is down"))
                self.assertEqual((code, text), (451, "4.7.1 Content filter unavailable, try again later"))
                code, text = accepting.send(message("unfiltered while rspamd is down"))
                self.assertEqual(code, 250, text)
                self.assertIsNotNone(accepting.stored("unfiltered while rspamd is down"))
            finally:
                mailstead.close()
                accepting.close()
        finally:
            rspamd.close()


if __name__ == "__main__":
    unittest.main()
