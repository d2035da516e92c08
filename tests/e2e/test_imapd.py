"""End-to-end tests of mailstead-imapd with real clients (Python's imaplib, curl, mbsync, raw sockets)
on mail delivered through mailstead-smtpd: what a mail client sees after login, byte-exact
bodies, FETCH sections, SEARCH, STORE, APPEND, COPY/MOVE with UIDPLUS, EXPUNGE, two sessions
on one mailbox, IDLE woken by SMTP delivery, STARTTLS/LOGINDISABLED, and hostile input."""

import base64
import imaplib
import json
import re
import smtplib
import socket
import subprocess
import time
import unittest
from pathlib import Path

from harness import (HOST, IMAPD, SMTPD, CompressingIMAP4, CompressingIMAP4_SSL, Daemon, Instance, LineClient,
                     client_context, free_port)
from imap_sexp import fetch_items

PASSWORD = "alice's long password"
ALICE = "alice@example.test"
MESSAGE = (b"From: Bob <bob@example.org>\r\nTo: alice@example.test\r\n"
           b"Subject: =?UTF-8?Q?caf=C3=A9?= news\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
           b"Message-ID: <1@example.org>\r\n\r\nHello world\r\n.. a dotted line\r\n")
MULTIPART = (b"From: carol@example.org\r\nTo: alice@example.test\r\nSubject: parts\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
             b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfirst part\r\n"
             b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             b"AAECAwQ=\r\n--XX--\r\n")


class ImapInstance:
    """smtpd (for delivery) and imapd on one store, with alice and bob."""

    def __init__(self, auth=None, log_level="info", **imapd_options):
        self.mx = free_port()
        # mbsync checks the certificate's name (localhost), so implicit TLS is on 127.0.0.1 too.
        self.imaps, self.imaps_localhost = free_port(), free_port("127.0.0.1")
        imapd = {"allow_plaintext_auth": True,
                 "tls_listen": [f"{HOST}:{self.imaps}", f"127.0.0.1:{self.imaps_localhost}"]}
        imapd.update(imapd_options)
        self.instance = Instance(sections={"smtpd": {"listen": [f"{HOST}:{self.mx}"]}, "imapd": imapd,
                                           "auth": auth or {"failure_delay": "0s"}, "log": {"level": log_level}})
        self.imap = self.instance.plain_port
        self.instance.admin("domain", "add", "example.test")
        self.instance.admin("user", "add", ALICE, "--password-stdin", stdin=PASSWORD + "\n")
        self.instance.admin("user", "add", "bob@example.test", "--password-stdin", stdin="bob's long password\n")
        self.smtpd = Daemon([str(SMTPD), "-c", str(self.instance.config)], self.instance.dir / "smtpd.log")
        self.imapd = Daemon([str(IMAPD), "-c", str(self.instance.config)], self.instance.dir / "imapd.log")

    def deliver(self, message=MESSAGE, to=ALICE):
        with smtplib.SMTP(HOST, self.mx, timeout=10) as s:
            s.sendmail("bob@example.org", [to], message)

    def login(self):
        m = imaplib.IMAP4(HOST, self.imap, timeout=10)
        m.login(ALICE, PASSWORD)
        return m

    def raw_login(self):
        """A line-level client past the greeting and logged in as alice (tag "a")."""
        raw = Raw(self.imap)
        raw.line()
        raw.command(f"a LOGIN {ALICE} {json.dumps(PASSWORD)}")
        return raw

    def close(self):
        try:
            try:
                self.imapd.stop_cleanly()
            finally:  # smtpd is stopped even when imapd ended badly
                self.smtpd.stop_cleanly()
        finally:
            self.instance.cleanup()


def normalize(value):
    """IMAP compares body types, subtypes, parameter names and encodings without case."""
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str) and value.upper() in {
            "TEXT", "PLAIN", "HTML", "MULTIPART", "MIXED", "ALTERNATIVE", "MESSAGE", "RFC822", "APPLICATION", "PDF",
            "CHARSET", "NAME", "FILENAME", "BOUNDARY", "FORMAT", "7BIT", "8BIT", "BASE64", "QUOTED-PRINTABLE",
            "ATTACHMENT", "INLINE", "US-ASCII", "UTF-8", "ISO-8859-1"}:
        return value.upper()
    return value


class Raw(LineClient):
    def raw_response(self, tag):
        """The bytes up to the tagged line, literals inline."""
        out = b""
        while True:
            line = self.line_bytes()
            out += line + b"\r\n"
            if line.endswith(b"}") and b"{" in line:
                out += self.read_exact(int(line[line.rindex(b"{") + 1:-1]))
                continue
            if line.startswith(tag + b" "):
                return out

    def command(self, line):
        """Sends a tagged command; returns (untagged lines, tagged line)."""
        tag = line.split(" ", 1)[0]
        self.send(line)
        untagged = []
        while not (reply := self.line()).startswith(tag + " "):
            untagged.append(reply)
        return untagged, reply


def search_log(imapd):
    """(examined, read, matched) of each SEARCH imapd logged (at debug level), in order."""
    return [tuple(int(x) for x in m) for m in
            re.findall(r"event=search .*?examined=(\d+) read=(\d+) matched=(\d+)", imapd.log())]


class TextIndexTest(unittest.TestCase):
    """SEARCH with the text index, against the same SEARCH reading every message."""

    def setUp(self):
        self.inst = ImapInstance(log_level="debug")
        self.addCleanup(self.inst.close)

    def indexed_through(self):
        return max([int(t) for t in re.findall(r"event=text_indexed .*?through=(\d+)", self.inst.imapd.log())],
                   default=0)

    def test_search_reads_only_what_may_match(self):
        """320 messages APPENDed (plain; quoted-printable ISO-8859-1 with encoded words; base64
        UTF-8 beside an attachment): once indexed (five segments of 64), SEARCH
        BODY/TEXT/FROM/SUBJECT of a rare string reads a message or two instead of 320 and
        answers as the scan does; a message the index has not reached yet is found;
        restarted with the index off, imapd reads every message and gives the same answers."""
        N = 320
        m = self.inst.login()
        m.select("INBOX")
        for i in range(N):
            if i % 3 == 0:
                msg = (f"From: Sender {i} <sender{i}@example.org>\r\nSubject: plain {i:04}\r\n\r\n"
                       f"body word token{i:04} and more text\r\n")
            elif i % 3 == 1:
                msg = (f"From: =?ISO-8859-1?Q?J=FCrgen_{i}?= <juergen{i}@example.de>\r\n"
                       f"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_{i:04}?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                       f"Content-Transfer-Encoding: quoted-printable\r\n\r\nZ=DCRICH token{i:04} soft=\r\nbreak\r\n")
            else:
                text = base64.b64encode(f"Greek \u03a3\u039f\u03a6\u038a\u0391 token{i:04}\r\n".encode()).decode()
                msg = (f"From: carol{i}@example.net\r\nSubject: mixed {i:04}\r\n"
                       "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                       f"{text}\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                       "\r\nJVBERi0xLjQ=\r\n--b--\r\n")
            self.assertEqual(m.append("INBOX", None, None, msg.encode())[0], "OK")
        deadline = time.monotonic() + 30
        while self.indexed_through() < N:
            self.assertLess(time.monotonic(), deadline, "the index did not reach the last message")
            time.sleep(0.1)

        def search(client, criteria):
            *atoms, last = criteria
            if last.isascii():
                typ, data = client.uid("SEARCH", "CHARSET", "UTF-8", *criteria)
            else:  # imaplib sends a literal as the command's last argument
                client.literal = last.encode()
                typ, data = client.uid("SEARCH", "CHARSET", "UTF-8", *atoms)
            self.assertEqual(typ, "OK", criteria)
            return [int(x) for x in data[0].split()]

        qp = [i + 1 for i in range(N) if i % 3 == 1]
        cases = [
            (("BODY", "token0042"), [43]),
            (("BODY", "TOKEN0101"), [102]),  # base64 UTF-8
            (("TEXT", "\"plain 0123\""), [124]),
            (("FROM", "sender9@"), [10]),
            (("FROM", "j\u00fcrgen 4"), [u for u in qp if str(u - 1).startswith("4")]),  # decoded words
            (("SUBJECT", "gr\u00fc\u00dfe 0100"), [101]),
            (("BODY", "z\u00fcrich token0007"), [8]),  # ISO-8859-1, quoted-printable, case folded
            (("BODY", "\u03c3\u03bf\u03c6\u03af\u03b1 token0032"), [33]),
            (("BODY", "softbreak"), qp),  # joined by the soft line break
            (("BODY", "nowhere-at-all"), []),
            (("BODY", "JVBERi0"), []),  # an attachment is not text
            (("NOT", "BODY", "token0042"), [u for u in range(1, N + 1) if u != 43]),
        ]
        before = len(search_log(self.inst.imapd))
        for criteria, expected in cases:
            self.assertEqual(search(m, criteria), expected, criteria)
        logged = search_log(self.inst.imapd)[before:]
        self.assertEqual(len(logged), len(cases))
        narrow = [(criteria, expected, read) for (criteria, expected), (examined, read, matched) in zip(cases, logged)
                  if len(expected) < 10 and criteria[0] != "NOT"]
        for (criteria, expected), (examined, read, matched) in zip(cases, logged):
            self.assertEqual((examined, matched), (N, len(expected)), criteria)
        # A needle whose trigrams are all rare is read where it is; one that differs from its
        # neighbours by a single trigram ("jürgen 4" beside "jürgen 7") lets a few more by.
        for criteria, expected, read in narrow:
            self.assertLess(read, len(expected) + 40, criteria)
        self.assertLessEqual(sum(read for _, _, read in narrow), sum(len(e) for _, e, _ in narrow) + 40)
        self.assertEqual([read for c, e, read in narrow if "token" in c[-1].lower()], [1, 1, 1, 1])

        # A message the index has not reached is found all the same.
        m.append("INBOX", None, None, b"Subject: late\r\n\r\nfreshly appended token9999\r\n")
        self.assertEqual(search(m, ("BODY", "token9999")), [N + 1])
        m.logout()

        # With the index off: every message read, the same answers.
        self.inst.imapd.stop_cleanly()
        config = self.inst.instance.config
        config.write_text(config.read_text().replace("[imapd]\n", "[imapd]\ntext_index = false\n", 1))
        self.inst.imapd = Daemon([str(IMAPD), "-c", str(config)], self.inst.instance.dir / "imapd-scan.log")
        m = self.inst.login()
        m.select("INBOX")
        for criteria, expected in cases:
            late = [N + 1] if criteria[0] == "NOT" else []
            self.assertEqual(search(m, criteria), expected + late, criteria)
        self.assertEqual([read for _, read, _ in search_log(self.inst.imapd)], [N + 1] * len(cases))
        self.assertNotIn("text_indexed", self.inst.imapd.log())
        m.logout()


class ContextUpdateTest(unittest.TestCase):
    """CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4.3): a search and a sort kept up to date
    for a client in IDLE while SMTP delivers and another client (imaplib) flags and expunges."""

    def setUp(self):
        self.inst = ImapInstance()
        self.addCleanup(self.inst.close)

    def test_results_follow_deliveries_flags_and_expunges_in_idle(self):
        def message(n):  # each longer than the one before: REVERSE SIZE is newest first
            return MESSAGE.replace(b"Hello world", f"message {str(n) * n}".encode())

        for n in (1, 2):
            self.inst.deliver(message(n))
        raw = self.inst.raw_login()
        raw.command("b SELECT INBOX")
        self.assertEqual(raw.command("s1 UID SEARCH RETURN (UPDATE COUNT) UNSEEN"),
                         (['* ESEARCH (TAG "s1") UID COUNT 2'], "s1 OK UID SEARCH completed"))
        self.assertEqual(raw.command("s2 UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 ALL"),
                         (['* ESEARCH (TAG "s2") UID ALL 2,1'], "s2 OK UID SORT completed"))
        raw.send("i IDLE")
        self.assertTrue(raw.line().startswith("+ "))
        started = time.monotonic()
        self.inst.deliver(message(3))
        self.assertEqual(raw.line(), "* 3 EXISTS")
        self.assertEqual(raw.line(), "* 3 RECENT")
        self.assertEqual(raw.line(), '* ESEARCH (TAG "s1") UID ADDTO (0 3)')
        self.assertEqual(raw.line(), '* ESEARCH (TAG "s2") UID ADDTO (1 3)')  # newest first
        self.assertLess(time.monotonic() - started, 2)
        other = self.inst.login()
        other.select("INBOX")
        other.store("1", "+FLAGS", "(\\Seen)")
        self.assertEqual(raw.line(), "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))")
        self.assertEqual(raw.line(), '* ESEARCH (TAG "s1") UID REMOVEFROM (0 1)')
        other.store("2", "+FLAGS", "(\\Deleted)")
        self.assertEqual(raw.line(), "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))")
        other.expunge()
        # Before the EXPUNGE: the sorted result [3, 2, 1] loses its second.
        self.assertEqual(raw.line(), '* ESEARCH (TAG "s1") UID REMOVEFROM (0 2)')
        self.assertEqual(raw.line(), '* ESEARCH (TAG "s2") UID REMOVEFROM (2 2)')
        self.assertEqual(raw.line(), "* 2 EXPUNGE")
        raw.send("DONE")
        self.assertEqual(raw.line(), "i OK IDLE terminated")
        # What the client holds now is what a new search answers.
        self.assertEqual(raw.command("s3 UID SEARCH RETURN (ALL) UNSEEN")[0], ['* ESEARCH (TAG "s3") UID ALL 3'])
        self.assertEqual(raw.command("s4 UID SORT RETURN (ALL) (REVERSE SIZE) UTF-8 ALL")[0],
                         ['* ESEARCH (TAG "s4") UID ALL 3,1'])
        self.assertEqual(raw.command('c CANCELUPDATE "s1" "s2"'), ([], "c OK CANCELUPDATE completed"))
        other.uid("STORE", "3", "+FLAGS", "(\\Seen)")
        self.assertEqual(raw.command("n NOOP"), (["* 2 FETCH (UID 3 FLAGS (\\Seen \\Recent))"], "n OK NOOP completed"))
        other.logout()


class ImapTest(unittest.TestCase):
    def setUp(self):
        self.inst = ImapInstance()
        self.addCleanup(self.inst.close)

    def test_delivered_mail_is_read_byte_exact(self):
        self.inst.deliver()
        m = self.inst.login()
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        body = data[0][1]
        self.assertTrue(body.startswith(b"Return-Path: <bob@example.org>\r\nReceived: "), body[:80])
        self.assertTrue(body.endswith(MESSAGE), body)  # dot-unstuffed exactly, trace headers prepended
        typ, data = m.fetch("1", "(FLAGS RFC822.SIZE)")
        self.assertIn(f"RFC822.SIZE {len(body)}".encode(), data[0])
        self.assertIn(b"FLAGS (\\Recent)", data[0])  # PEEK did not set \Seen; the first SELECT sees it new
        typ, data = m.fetch("1", "(BODY[TEXT])")
        self.assertEqual(data[0][1], b"Hello world\r\n.. a dotted line\r\n")
        self.assertIn(b"\\Seen", data[1] if isinstance(data[1], bytes) else data[0][0])
        typ, data = m.fetch("1", "(ENVELOPE)")
        self.assertIn(b'"=?UTF-8?Q?caf=C3=A9?= news" (("Bob" NIL "bob" "example.org"))', data[0])
        self.assertIn(b'"<1@example.org>"', data[0])
        m.logout()

    def test_sections_and_binary_of_a_multipart(self):
        self.inst.deliver(MULTIPART)
        m = self.inst.login()
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODYSTRUCTURE)")
        self.assertIn(b'("text" "plain" ("CHARSET" "utf-8") NIL NIL "7bit" 10 0', data[0])  # line ends counted
        self.assertIn(b'"mixed" ("BOUNDARY" "XX")', data[0])
        typ, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2])")
        parts = [d for d in data if isinstance(d, tuple)]
        self.assertEqual(parts[0][1], b"first part")
        self.assertTrue(parts[1][1].startswith(b"Content-Type: application/octet-stream\r\n"))
        self.assertEqual(parts[2][1], b"\x00\x01\x02\x03\x04")
        self.assertIn(b"BINARY.SIZE[2] 5", data[-1])
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[]<0.10>)")
        self.assertEqual(data[0][1], b"Subject: parts\r\n\r\n")
        self.assertEqual(data[1][1], b"Return-Pat")
        self.assertIn(b"BODY[]<0>", data[1][0])
        m.logout()

    def test_search(self):
        self.inst.deliver()
        self.inst.deliver(MULTIPART)
        m = self.inst.login()
        m.select("INBOX")
        self.assertEqual(m.search(None, "ALL"), ("OK", [b"1 2"]))
        self.assertEqual(m.search(None, "SUBJECT", "news"), ("OK", [b"1"]))
        self.assertEqual(m.search(None, "FROM", "carol"), ("OK", [b"2"]))
        self.assertEqual(m.search(None, "BODY", '"FIRST PART"'), ("OK", [b"2"]))
        self.assertEqual(m.search(None, "TEXT", "dotted"), ("OK", [b"1"]))
        self.assertEqual(m.search(None, "NOT", "FROM", "carol"), ("OK", [b"1"]))
        self.assertEqual(m.search(None, "OR", "FROM", "carol", "SUBJECT", "news"), ("OK", [b"1 2"]))
        self.assertEqual(m.search(None, "SENTON", "24-Nov-2026"), ("OK", [b"1"]))
        self.assertEqual(m.search(None, "UNSEEN", "LARGER", "100"), ("OK", [b"1 2"]))
        # UTF-8 search on a decoded encoded word (imaplib sends the literal)
        m.literal = "CAFÉ".encode()
        self.assertEqual(m.search("UTF-8", "SUBJECT"), ("OK", [b"1"]))
        # ... and in another charset, which the server converts first
        m.literal = "CAFÉ".encode("iso-8859-1")
        self.assertEqual(m.search("ISO-8859-1", "SUBJECT"), ("OK", [b"1"]))
        typ, data = m.search("X-NO-SUCH-CHARSET", "SUBJECT", "x")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[BADCHARSET", data[0])
        m.store("2", "+FLAGS", "(\\Flagged)")
        self.assertEqual(m.uid("SEARCH", "FLAGGED"), ("OK", [b"2"]))
        typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
        self.assertEqual(typ, "OK")
        self.assertIn(b"MIN 1 MAX 2 COUNT 2", m.response("ESEARCH")[1][0])
        self.assertEqual(m.search(None, "DELETED"), ("OK", [b""]))
        m.logout()

    def test_sort_and_thread_with_imaplib(self):
        """imaplib's sort() and thread() (RFC 5256) over a short conversation delivered by SMTP."""
        first = (b"From: Ann <ann@example.org>\r\nSubject: plans\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n"
                 b"Message-ID: <p1@example.org>\r\n\r\nfirst\r\n")
        reply = (b"From: bob@example.org\r\nSubject: Re: plans\r\nDate: Mon, 5 Jan 2026 11:00:00 +0000\r\n"
                 b"Message-ID: <p2@example.org>\r\nIn-Reply-To: <p1@example.org>\r\n"
                 b"References: <p1@example.org>\r\n\r\nsecond\r\n")
        other = (b"From: carol@example.org\r\nSubject: Another topic\r\nDate: Sun, 4 Jan 2026 10:00:00 +0000\r\n"
                 b"Message-ID: <o1@example.org>\r\n\r\nthird\r\n")
        for message in (reply, other, first):
            self.inst.deliver(message)
        m = self.inst.login()
        caps = m.capabilities
        for cap in ("SORT", "SORT=DISPLAY", "ESORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT"):
            self.assertIn(cap, caps)
        m.select("INBOX")
        self.assertEqual(m.sort("(SUBJECT)", "UTF-8", "ALL"), ("OK", [b"2 1 3"]))
        self.assertEqual(m.sort("(REVERSE DATE)", "UTF-8", "ALL"), ("OK", [b"1 3 2"]))
        self.assertEqual(m.sort("(DISPLAYFROM)", "UTF-8", "ALL"), ("OK", [b"3 1 2"]))
        self.assertEqual(m.thread("REFERENCES", "UTF-8", "ALL"), ("OK", [b"(2)(3 1)"]))
        self.assertEqual(m.thread("ORDEREDSUBJECT", "UTF-8", "NOT", "FROM", "carol"), ("OK", [b"(3 1)"]))
        self.assertEqual(m.uid("SORT", "(SIZE)", "UTF-8", "ALL")[0], "OK")
        m.logout()

    def test_compress_deflate_both_ways_plain_and_over_tls(self):
        """RFC 4978 with Python's zlib as the client's side: commands, a synchronising literal
        and a whole message through DEFLATE, on port 143 and over implicit TLS."""
        self.inst.deliver()
        big = b"Subject: compressed\r\n\r\n" + b"the same line again and again\r\n" * 4000
        for m in (CompressingIMAP4(HOST, self.inst.imap, timeout=10),
                  CompressingIMAP4_SSL(HOST, self.inst.imaps, ssl_context=client_context(), timeout=10)):
            self.assertNotIn("COMPRESS=DEFLATE", m.capabilities)  # not before login
            m.login(ALICE, PASSWORD)
            self.assertIn(b"COMPRESS=DEFLATE", m.capability()[1][0])
            self.assertEqual(m.compress(), ("OK", [b"DEFLATE active"]))
            self.assertNotIn(b"COMPRESS=DEFLATE", m.capability()[1][0])
            typ, data = m.compress()
            self.assertEqual(typ, "NO")
            self.assertIn(b"[COMPRESSIONACTIVE]", data[0])
            m.select("INBOX")
            typ, data = m.fetch("1", "(BODY.PEEK[])")
            self.assertTrue(data[0][1].endswith(MESSAGE))
            self.assertEqual(m.append("Drafts", None, None, big)[0], "OK")  # waits for "+" on the way
            m.select("Drafts")
            typ, data = m.fetch("1", "(BODY.PEEK[])")
            self.assertEqual(data[0][1], big)
            self.assertEqual(m.uid("EXPUNGE", "1:*")[0], "OK")
            m.store("1:*", "+FLAGS", "(\\Deleted)")
            m.expunge()
            # The 128 KB message went out and came back as a few KB each way.
            print(f"\n  COMPRESS ({type(m).__name__}): {m.bytes_out} bytes sent, {m.bytes_in} received "
                  f"for two copies of {len(big)} bytes")
            self.assertLess(m.bytes_out, len(big) / 10)
            self.assertLess(m.bytes_in, len(big) / 10)
            m.logout()

    def test_objectid(self):
        """RFC 8474: EMAILID the same for every copy of a message and for nothing else, MAILBOXID
        kept through RENAME and new for a new mailbox of an old name; THREADID one per
        conversation: a reply (delivered by SMTP) in the thread of what it answers, a copy in
        its original's, an unrelated message in its own."""
        self.inst.deliver()
        self.inst.deliver(MULTIPART)
        raw = self.inst.raw_login()
        self.assertIn(" OBJECTID", raw.command("c CAPABILITY")[0][0])
        _, ok = raw.command("d CREATE Projects")
        created = re.match(r"d OK \[MAILBOXID \((F\d+)\)\] CREATE completed", ok).group(1)
        self.assertEqual(raw.command("e STATUS Projects (MAILBOXID MESSAGES)")[0],
                         [f"* STATUS Projects (MAILBOXID ({created}) MESSAGES 0)"])
        untagged, _ = raw.command("f SELECT INBOX")
        self.assertEqual(len([u for u in untagged if re.fullmatch(r"\* OK \[MAILBOXID \(F\d+\)\] Ok", u)]), 1)
        untagged, _ = raw.command("g FETCH 1:2 (EMAILID THREADID)")
        found = [re.search(r"EMAILID \((M[0-9a-f]{24})\) THREADID \((T[0-9a-f]+)\)", u) for u in untagged]
        ids = [f.group(1) for f in found]
        threads = [f.group(2) for f in found]
        self.assertNotEqual(ids[0], ids[1])
        self.assertNotEqual(threads[0], threads[1])
        self.inst.deliver(b"From: carol@example.org\r\nSubject: Re: news\r\nMessage-ID: <2@example.org>\r\n"
                          b"In-Reply-To: <1@example.org>\r\nReferences: <0@example.org> <1@example.org>\r\n\r\nyes\r\n")
        raw.command("g2 NOOP")
        self.assertIn(f"THREADID ({threads[0]})", raw.command("g3 FETCH 3 THREADID")[0][0])
        self.assertEqual(raw.command(f"g4 SEARCH THREADID {threads[0]}")[0], ["* SEARCH 1 3"])
        raw.command("h COPY 1 Projects")
        raw.command("i RENAME Projects Archive/Projects")
        self.assertEqual(raw.command("j STATUS Archive/Projects (MAILBOXID)")[0],
                         [f"* STATUS Archive/Projects (MAILBOXID ({created}))"])
        raw.command("k SELECT Archive/Projects")
        self.assertIn(f"EMAILID ({ids[0]})", raw.command("l FETCH 1 EMAILID")[0][0])
        self.assertEqual(raw.command(f"m SEARCH EMAILID {ids[0]}")[0], ["* SEARCH 1"])
        self.assertEqual(raw.command(f"n SEARCH EMAILID {ids[1]}")[0], ["* SEARCH"])
        self.assertIn(f"THREADID ({threads[0]})", raw.command("n2 FETCH 1 THREADID")[0][0])
        self.assertEqual(raw.command(f"o SEARCH THREADID {threads[0]}")[0], ["* SEARCH 1"])
        self.assertEqual(raw.command("o2 SEARCH THREADID Tffffffffff")[0], ["* SEARCH"])
        raw.command("p DELETE Archive/Projects")
        _, ok = raw.command("q CREATE Archive/Projects")
        self.assertNotIn(f"({created})", ok)

    def test_replace_saves_a_draft_again(self):
        """RFC 8508 with imaplib: a draft saved five times is one message in Drafts, its last
        version, which a second session on Drafts sees too; UID REPLACE then files it in Sent."""
        imaplib.Commands.setdefault("REPLACE", ("SELECTED",))
        m = self.inst.login()
        self.assertIn("REPLACE", m.capabilities)
        watcher = self.inst.login()

        def draft(n):
            return f"From: {ALICE}\r\nSubject: draft {n}\r\n\r\n{'words ' * n}\r\n".encode()

        self.assertEqual(m.append("Drafts", r"(\Draft)", None, draft(1))[0], "OK")
        m.select("Drafts")
        watcher.select("Drafts")
        for n in range(2, 6):
            m.literal = draft(n)
            typ, data = m._simple_command("REPLACE", "1", "Drafts", r"(\Draft)")
            self.assertEqual(typ, "OK", data)
            self.assertRegex(m.response("APPENDUID")[1][0].decode(), rf"^\d+ {n}$")
        _, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[TEXT])")
        self.assertEqual(len([d for d in data if isinstance(d, tuple)]), 1)
        self.assertIn(b"UID 5", data[0][0])
        self.assertEqual(data[0][1], b"words " * 5 + b"\r\n")
        watcher.noop()
        self.assertEqual(watcher.uid("SEARCH", "ALL")[1], [b"5"])

        m.literal = draft(6)
        typ, data = m.uid("REPLACE", "5", "Sent", r"(\Seen)")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.uid("SEARCH", "ALL")[1], [b""])
        self.assertEqual(m.status("Sent", "(MESSAGES UNSEEN)")[1], [b"Sent (MESSAGES 1 UNSEEN 0)"])
        watcher.noop()
        self.assertEqual(watcher.uid("SEARCH", "ALL")[1], [b""])
        m.logout()
        watcher.logout()

    def test_savedate_with_imaplib(self):
        """RFC 8514: a message APPENDed with an old date is saved today; its copy too, keeping the
        old INTERNALDATE; SAVEDSINCE finds both, BEFORE only by the internal date."""
        m = self.inst.login()
        self.assertIn("SAVEDATE", m.capabilities)
        m.append("INBOX", None, '"01-Jan-2020 12:00:00 +0000"', b"Subject: old\r\n\r\nold\r\n")
        m.select("INBOX")
        m.copy("1", "Archive")
        today = time.strftime("%d-%b-%Y", time.gmtime())
        for box in ("INBOX", "Archive"):
            m.select(box)
            _, data = m.fetch("1", "(INTERNALDATE SAVEDATE)")
            self.assertRegex(data[0].decode(), r'INTERNALDATE "01-Jan-2020 12:00:00 \+0000" SAVEDATE "\d\d-\w{3}-\d{4} ')
            saved = re.search(r'SAVEDATE "([^ ]+) ', data[0].decode()).group(1)
            self.assertIn(saved, (today, time.strftime("%d-%b-%Y", time.gmtime(time.time() - 60))))
            self.assertEqual(m.search(None, "SAVEDSINCE", today)[1], [b"1"])
            self.assertEqual(m.search(None, "BEFORE", "1-Jan-2021")[1], [b"1"])
            self.assertEqual(m.search(None, "SAVEDBEFORE", "1-Jan-2021")[1], [b""])
        m.logout()

    def test_preview_of_delivered_mail(self):
        """RFC 8970: a newsletter delivered over SMTP (multipart/alternative, its plain part
        quoted-printable in ISO-8859-1 behind a reply's quoted lines) previews as its decoded
        first words; an HTML-only one as its visible text; PREVIEW (LAZY) gets the same, stored
        when the message was."""
        plain = ("Bonjour,\r\n\r\nle caf=E9 ouvre =E0 8h.\r\n> ancienne citation\r\n-- \r\nLa direction\r\n")
        self.inst.deliver(
            "From: bob@example.org\r\nSubject: news\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n"
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + plain + "--x\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--x--\r\n")
        self.inst.deliver(
            "From: bob@example.org\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            "<html><head><style>p {}</style></head><body><p>Sale&nbsp;&zwnj;ends <b>today</b></p>"
            "<script>x()</script></body></html>\r\n")
        m = self.inst.login()
        self.assertIn("PREVIEW", m.capabilities)
        m.select("INBOX")
        for items in ("(PREVIEW)", "(PREVIEW (LAZY))"):
            _, data = m.fetch("1:2", items)
            texts = [part[1].decode() if isinstance(part, tuple) else part.decode() for part in data]
            joined = " | ".join(texts)
            self.assertIn("Bonjour, le caf\u00e9 ouvre \u00e0 8h.", joined)
            self.assertNotIn("citation", joined)
            self.assertNotIn("direction", joined)
            self.assertIn('PREVIEW "Sale ends today"', joined)
        m.logout()

    def test_uidonly_with_imaplib(self):
        """RFC 9586 with Python's imaplib: after ENABLE UIDONLY, UID FETCH data comes as
        UIDFETCH keyed by UID, a sequence-number FETCH is refused with [UIDREQUIRED], and a
        message another session expunges is reported as VANISHED by its UID."""
        for _ in range(3):
            self.inst.deliver()
        m = self.inst.login()
        self.assertIn("UIDONLY", m.capabilities)
        m.enable("UIDONLY")
        m.select("INBOX")
        typ, _ = m._simple_command("UID", "FETCH", "2:3", "(FLAGS RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        fetched = m.untagged_responses.pop("UIDFETCH")
        self.assertEqual([line.split(b" ")[0] for line in fetched], [b"2", b"3"])
        self.assertNotIn("FETCH", m.untagged_responses)
        with self.assertRaises(imaplib.IMAP4.error) as refused:
            m.fetch("1", "(FLAGS)")
        self.assertIn("UIDREQUIRED", str(refused.exception))
        other = self.inst.login()
        other.select("INBOX")
        other.store("2", "+FLAGS", "(\\Deleted)")
        other.expunge()
        other.logout()
        m.noop()
        self.assertEqual(m.untagged_responses.pop("VANISHED"), [b"2"])
        self.assertNotIn("EXPUNGE", m.untagged_responses)
        m.logout()

    def test_metadata_with_imaplib(self):
        """RFC 5464: a mailbox comment set with a literal on one connection is read through
        Python's imaplib on another, after a RENAME too; a private server entry is per user; a
        value over imapd.max_metadata_size is refused and nothing of its command stored; DELETE
        takes the entries."""
        for name in ("GETMETADATA", "SETMETADATA"):  # imaplib knows commands by name and state
            imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))
        raw = self.inst.raw_login()
        comment = b"Project mail,\r\nkept for 5 years"
        raw.send_raw(b"s1 SETMETADATA Archive (/private/comment \"mine\" /shared/comment {%d+}\r\n%s)\r\n"
                     % (len(comment), comment))
        self.assertIn(b"s1 OK", raw.raw_response(b"s1"))
        big = b"y" * (64 * 1024 + 1)
        raw.send_raw(b"s2 SETMETADATA Archive (/private/comment \"lost\" /private/big {%d+}\r\n%s)\r\n"
                     % (len(big), big))
        self.assertIn(b"s2 NO [METADATA MAXSIZE 65536]", raw.raw_response(b"s2"))
        raw.send("s3 SETMETADATA \"\" (/private/vendor/vendor.test/theme \"dark\")")
        self.assertIn(b"s3 OK", raw.raw_response(b"s3"))

        m = self.inst.login()
        self.assertIn("METADATA", m.capabilities)
        m.rename("Archive", "Old")
        typ, _ = m._simple_command("GETMETADATA", "Old", "(/shared/comment /private/comment /private/big)")
        self.assertEqual(typ, "OK")
        got = m.untagged_responses.pop("METADATA")
        # In the order asked for; the comment as a literal, since it holds a line break.
        self.assertEqual(got[0], (b"Old (/shared/comment {%d}" % len(comment), comment))
        self.assertEqual(got[1], b' /private/comment "mine")')
        typ, _ = m._simple_command("GETMETADATA", '""', "(DEPTH infinity)", "/private/vendor/vendor.test")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("METADATA"), [b'"" (/private/vendor/vendor.test/theme "dark")'])
        bob = imaplib.IMAP4(HOST, self.inst.imap, timeout=10)
        bob.login("bob@example.test", "bob's long password")
        typ, _ = bob._simple_command("GETMETADATA", '""', "(DEPTH infinity)", "/private/vendor/vendor.test")
        self.assertEqual(typ, "OK")
        self.assertNotIn("METADATA", bob.untagged_responses)
        bob.logout()
        m.delete("Old")
        m.create("Old")
        typ, _ = m._simple_command("GETMETADATA", "Old", "(/shared/comment /private/comment)")
        self.assertEqual(typ, "OK")
        self.assertNotIn("METADATA", m.untagged_responses)
        m.logout()

    def test_compressed_bursts_are_answered_to_the_end(self):
        """RFC 4978: bursts of pipelined commands that compress to long back-references, so that
        the last bytes of a burst inflate to more than the session has room for at once: every
        command is answered (none left inside the decompressor while the server waits for more
        input), in the order sent."""
        import zlib
        sock = socket.create_connection((HOST, self.inst.imap), timeout=5)
        self.addCleanup(sock.close)
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"a LOGIN {ALICE} {json.dumps(PASSWORD)}\r\nc COMPRESS DEFLATE\r\n".encode())
        while not reader.readline().startswith(b"c OK"):
            pass
        compressor, decompressor = zlib.compressobj(9, zlib.DEFLATED, -15), zlib.decompressobj(-15)
        inflated = b""
        # Every length up to a few times the session's initial buffer, so that some burst ends in
        # a back-reference that crosses the end of the room the session offers.
        for n in range(1, 1200, 3):
            burst = b"x NOOP\r\n" * n
            # Z_PARTIAL_FLUSH (what some clients flush with) ends a burst with an empty block
            # that zlib may take into its bit buffer before it has written out the match ahead
            # of it.
            flush = zlib.Z_PARTIAL_FLUSH if n % 2 else zlib.Z_SYNC_FLUSH
            sock.sendall(compressor.compress(burst) + compressor.flush(flush))
            while inflated.count(b"x OK") < n:
                chunk = sock.recv(65536)  # a timeout fails the test: answers are missing
                self.assertTrue(chunk, f"closed after {inflated.count(b'x OK')} of {n} answers")
                inflated += decompressor.decompress(chunk)
            self.assertEqual(inflated.count(b"x OK"), n)
            inflated = b""

    def test_a_long_search_reports_its_progress(self):
        """RFC 9585: a SEARCH running for more than a second says how far it is, once a second."""
        inst = ImapInstance(max_search_time="5m")
        self.addCleanup(inst.close)
        m = inst.login()
        # Many middling messages rather than a few big ones: the work of one message (one
        # slice at least) stays well under a second even under ThreadSanitizer, so notices
        # keep coming while the whole search takes seconds.
        body = ("Subject: big\r\n\r\n" + "résumé of nothing in particular, over and over again\r\n" * 2000).encode()
        for _ in range(200):
            self.assertEqual(m.append("INBOX", None, None, body)[0], "OK")
        m.logout()
        raw = inst.raw_login()
        raw.sock.settimeout(120)
        raw.command("b SELECT INBOX")
        # Needles that are not ASCII have every body case-folded once per key, and NOT keeps
        # each key from cutting the others short: 32 keys over 20 MB take seconds. Each needle
        # is made of the text's own trigrams, so the text index cannot rule a message out.
        needles = [("résumé of nothing in particular, over and over" + " and over" * (i + 1)).encode() for i in range(32)]
        keys = b"".join(b' NOT TEXT {%d+}\r\n' % len(n) + n for n in needles)
        started = time.monotonic()
        raw.send_raw(b"c SEARCH CHARSET UTF-8" + keys + b"\r\n")
        untagged = []
        while not (line := raw.line()).startswith("c "):
            untagged.append(line)
        took = time.monotonic() - started
        progress = [u for u in untagged if "INPROGRESS" in u]
        print(f"\n  SEARCH of 32 TEXT keys over 200 x 100 KB: {took:.1f} s, {len(progress)} INPROGRESS notices")
        self.assertEqual(line, "c OK SEARCH completed")
        self.assertGreater(took, 1.5)  # long enough to be reported on
        # One notice a second at most, between slices.
        self.assertGreater(len(progress), 0)
        self.assertLessEqual(len(progress), took + 1)
        self.assertRegex(progress[0], r'^\* OK \[INPROGRESS \("c" \d+ 200\)\] Searching$')
        self.assertEqual(untagged[-1], "* SEARCH " + " ".join(str(n) for n in range(1, 201)))

    def test_store_append_copy_move_expunge(self):
        self.inst.deliver()
        self.inst.deliver()
        m = self.inst.login()
        m.select("INBOX")
        typ, data = m.store("1", "+FLAGS", "(\\Flagged $Work)")
        self.assertEqual(data, [b"1 (FLAGS (\\Flagged \\Recent $Work))"])
        typ, data = m.store("1", "-FLAGS.SILENT", "(\\Flagged)")
        self.assertEqual(data, [None])
        typ, data = m.append("Drafts", "(\\Draft)", None, b"From: alice@example.test\nSubject: draft\n\nbody\n")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0].decode(), r"^\[APPENDUID \d+ 1\]")
        self.assertEqual(m.uid("COPY", "1:*", "Archive")[0], "OK")
        self.assertRegex(m.response("COPYUID")[1][0].decode(), r"^\d+ 1:2 1:2$")
        typ, data = m.uid("MOVE", "2", "Trash")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.response("EXPUNGE")[1], [b"2"])
        typ, data = m.copy("1", "Nowhere")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        m.store("1", "+FLAGS", "(\\Deleted)")
        typ, data = m.expunge()
        self.assertEqual(data, [b"1"])
        self.assertEqual(m.status("Archive", "(MESSAGES UIDNEXT)")[1], [b"Archive (MESSAGES 2 UIDNEXT 3)"])
        self.assertEqual(self.inst.instance.messages(ALICE), [])
        draft = self.inst.instance.messages(ALICE, "Drafts")
        self.assertEqual(len(draft), 1)
        # APPEND stores CRLF line ends whatever the client sent
        self.assertEqual(self.inst.instance.message_bytes(ALICE, 1, "Drafts"),
                         b"From: alice@example.test\r\nSubject: draft\r\n\r\nbody\r\n")
        m.logout()

    def test_multiappend(self):
        """RFC 3502: several messages in one APPEND, each with its flags and date, stored all or
        none; the literals of one command count together against the message size limit."""
        raw = self.inst.raw_login()
        first, second, third = b"Subject: one\r\n\r\n1\r\n", b"Subject: two\r\n\r\n2\r\n", b"Subject: 3\r\n\r\n3\r\n"
        raw.sock.sendall(b"b APPEND Drafts (\\Draft) {%d+}\r\n%s (\\Seen) \" 4-Jul-2026 10:00:00 +0200\" {%d+}\r\n%s"
                         b" UTF8 (~{%d+}\r\n%s)\r\n" % (len(first), first, len(second), second, len(third), third))
        reply = raw.line()
        self.assertRegex(reply, r"^b OK \[APPENDUID \d+ 1:3\] APPEND completed$")
        m = self.inst.login()
        m.select("Drafts")
        typ, data = m.fetch("1:3", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"\\Draft", data[0][0])
        self.assertIn(b"\\Seen", data[2][0])
        self.assertIn(b'INTERNALDATE "04-Jul-2026 08:00:00 +0000"', data[2][0])  # the same instant
        self.assertEqual([data[i][1] for i in (0, 2, 4)], [b"Subject: one\r\n\r\n", b"Subject: two\r\n\r\n", b"Subject: 3\r\n\r\n"])
        # All or nothing: over the message quota at the third, none is stored
        self.inst.instance.admin("user", "quota", ALICE, "--messages", "5")
        raw.sock.sendall(b"c APPEND Drafts {1+}\r\na {1+}\r\nb {1+}\r\nc\r\n")
        self.assertRegex(raw.line(), r"^c NO \[OVERQUOTA\] ")
        self.assertEqual(m.status("Drafts", "(MESSAGES)")[1][0], b"Drafts (MESSAGES 3)")
        self.inst.instance.admin("user", "quota", ALICE, "--messages", "0")
        # A synchronising literal that would take the command past the limit is refused first
        small = ImapInstance(max_message_size="1K")
        try:
            tight = small.raw_login()
            tight.send("b APPEND INBOX {600}")
            self.assertEqual(tight.line(), "+ Ready for literal data")
            tight.sock.sendall(b"x" * 600 + b" {600}\r\n")
            self.assertEqual(tight.line(), "b NO [TOOBIG] Literals of 1200 octets in one command are over the limit of 1024")
            self.assertEqual(tight.command("c NOOP")[1], "c OK NOOP completed")
        finally:
            small.close()
        m.logout()

    def test_quota(self):
        """RFC 9208: one quota root, "", for the whole account, read-only over IMAP."""
        raw = self.inst.raw_login()
        self.assertEqual(raw.command("b GETQUOTAROOT INBOX"), (["* QUOTAROOT INBOX"], "b OK GETQUOTAROOT completed"))
        self.assertEqual(raw.command('c GETQUOTA ""')[1], "c NO [NONEXISTENT] No such quota root")
        self.inst.instance.admin("user", "quota", ALICE, "--bytes", "1M", "--messages", "10")
        self.inst.deliver()
        untagged, reply = raw.command("d GETQUOTAROOT Sent")
        self.assertEqual(untagged, ['* QUOTAROOT Sent ""', '* QUOTA "" (STORAGE 1 1024 MESSAGE 1 10)'])
        self.assertEqual(raw.command('e GETQUOTA ""'), (['* QUOTA "" (STORAGE 1 1024 MESSAGE 1 10)'],
                                                       "e OK GETQUOTA completed"))
        self.assertEqual(raw.command('f SETQUOTA "" (STORAGE 99999)')[1],
                         "f NO [NOPERM] Quotas are set by the administrator (mailstead user quota)")
        self.assertEqual(raw.command("g GETQUOTAROOT Nowhere")[1], "g NO [NONEXISTENT] No such mailbox")
        self.assertEqual(raw.command("h GETQUOTA")[1], "h BAD Missing arguments")

    def test_mailbox_hierarchy(self):
        m = self.inst.login()
        self.assertEqual(m.create("Work/Projects")[0], "OK")
        self.assertEqual(m.create("Work")[0], "NO")
        typ, data = m.list('""', "%")
        self.assertIn(b'(\\HasChildren) "/" Work', data)
        typ, data = m.list('""', "Work/*")
        self.assertEqual(data, [b'(\\HasNoChildren) "/" Work/Projects'])
        self.assertEqual(m.rename("Work", "Jobs")[0], "OK")
        typ, data = m.list('""', "*")
        self.assertIn(b'(\\HasNoChildren) "/" Jobs/Projects', data)
        self.assertEqual(m.subscribe("Jobs/Projects")[0], "OK")
        typ, data = m.lsub('""', "Jobs/*")
        self.assertEqual(data, [b'() "/" Jobs/Projects'])
        # Non-ASCII names travel as modified UTF-7
        self.assertEqual(m._simple_command("CREATE", "Entw&APw-rfe")[0], "OK")
        typ, data = m.list('""', "Entw*")
        self.assertEqual(data, [b'(\\HasNoChildren) "/" Entw&APw-rfe'])
        self.assertEqual(m.delete("Jobs/Projects")[0], "OK")
        self.assertEqual(m.delete("INBOX")[0], "NO")
        typ, data = m._simple_command("LIST", '(SPECIAL-USE)', '""', "*")
        self.assertEqual(len(m.response("LIST")[1]), 5)
        m.logout()

    def test_two_sessions_and_idle_woken_by_delivery(self):
        self.inst.deliver()
        a = self.inst.login()
        a.select("INBOX")
        b = self.inst.login()
        b.select("INBOX")
        b.store("1", "+FLAGS", "(\\Answered)")
        typ, data = a.noop()
        self.assertIn(b"1 (UID 1 FLAGS (\\Answered \\Recent))", a.response("FETCH")[1])  # a selected first
        # IDLE: a delivery arrives within a second
        raw = self.inst.raw_login()
        raw.command("b SELECT INBOX")
        raw.send("c IDLE")
        self.assertTrue(raw.line().startswith("+ "))
        started = time.monotonic()
        self.inst.deliver()
        self.assertEqual(raw.line(), "* 2 EXISTS")
        self.assertEqual(raw.line(), "* 1 RECENT")  # IMAP4rev1: it arrived while this session looked
        self.assertLess(time.monotonic() - started, 2)
        # b learns of message 2 first: a sequence number the client was never told is refused
        with self.assertRaises(imaplib.IMAP4.error):
            b.store("2", "+FLAGS", "(\\Deleted)")
        b.noop()
        b.store("2", "+FLAGS", "(\\Deleted)")
        b.expunge()
        self.assertEqual(raw.line(), "* 2 EXPUNGE")
        raw.send("DONE")
        self.assertEqual(raw.line(), "c OK IDLE terminated")
        a.logout()
        b.logout()

    def test_recent_is_shown_to_one_session_only(self):
        """\\Recent (RFC 3501 §2.3.2): the first read-write session to learn of a message gets it;
        EXAMINE shows what nobody claimed without claiming it; IMAP4rev2 sessions never claim."""
        def select(client, mailbox="INBOX", readonly=False):
            client.select(mailbox, readonly=readonly)
            return int(client.response("RECENT")[1][0])

        def recent_uids(client):
            return client.uid("SEARCH", "RECENT")[1][0].split()

        self.inst.deliver()
        self.inst.deliver()
        a = self.inst.login()
        self.assertEqual(select(a), 2)
        self.assertIn(b"\\Recent", a.fetch("1", "(FLAGS)")[1][0])
        self.assertEqual(recent_uids(a), [b"1", b"2"])
        b = self.inst.login()
        self.assertEqual(select(b), 0)
        self.assertNotIn(b"\\Recent", b.fetch("1", "(FLAGS)")[1][0])
        self.assertEqual(recent_uids(b), [])
        # A read-only look leaves message 3 to the next SELECT
        self.inst.deliver()
        c = self.inst.login()
        self.assertEqual(c.status("INBOX", "(RECENT)")[1][0], b"INBOX (RECENT 1)")
        self.assertEqual(select(c, readonly=True), 1)
        self.assertEqual(recent_uids(c), [b"3"])
        c.logout()
        d = self.inst.login()
        self.assertEqual(select(d), 1)
        self.assertEqual(recent_uids(d), [b"3"])
        self.assertEqual(d.status("INBOX", "(RECENT)")[1][0], b"INBOX (RECENT 0)")
        # New mail while selected: the first session to learn of it, and only that one
        self.inst.deliver()
        a.noop()
        self.assertEqual(a.response("RECENT")[1][-1], b"3")  # its 1 and 2, and now 4
        self.assertEqual(recent_uids(a), [b"1", b"2", b"4"])
        d.noop()
        self.assertEqual(d.response("RECENT")[1][-1], b"1")  # still only its 3
        self.assertEqual(recent_uids(d), [b"3"])
        # IMAP4rev2 has no \\Recent and takes nothing away from IMAP4rev1 sessions
        self.inst.deliver()
        rev2 = self.inst.login()
        rev2._simple_command("ENABLE", "IMAP4rev2")
        rev2.select("INBOX")
        self.assertNotIn(b"\\Recent", rev2.fetch("5", "(FLAGS)")[1][0])
        e = self.inst.login()
        self.assertEqual(select(e), 1)
        for client in (a, b, d, rev2, e):
            client.logout()
        # What a SELECT claimed stays claimed across a restart
        self.inst.imapd.stop_cleanly()
        self.inst.imapd = Daemon([str(IMAPD), "-c", str(self.inst.instance.config)], self.inst.instance.dir / "imapd.log")
        f = self.inst.login()
        self.assertEqual(select(f), 0)
        f.logout()

    def test_session_ends_when_another_deletes_its_mailbox(self):
        other = self.inst.login()
        other.create("Work")
        other.create("Play")
        other.append("Work", None, None, b"Subject: w\r\n\r\nwork\r\n")
        raw = self.inst.raw_login()
        raw.command("b SELECT Work")
        other.delete("Work")
        raw.send("c NOOP")
        self.assertEqual(raw.line(), "c OK NOOP completed")
        self.assertEqual(raw.line(), "* BYE Selected mailbox was deleted, have to disconnect")
        self.assertEqual(raw.sock.recv(100), b"")
        # In IDLE, within the watcher's reach
        idler = self.inst.raw_login()
        idler.command("b SELECT Play")
        idler.send("c IDLE")
        self.assertTrue(idler.line().startswith("+ "))
        started = time.monotonic()
        other.delete("Play")
        self.assertEqual(idler.line(), "* BYE Selected mailbox was deleted, have to disconnect")
        self.assertLess(time.monotonic() - started, 2)
        self.assertEqual(idler.sock.recv(100), b"")
        # The server goes on
        self.assertEqual(other.list()[0], "OK")
        other.logout()

    def test_login_needs_tls_unless_configured(self):
        inst = ImapInstance(allow_plaintext_auth=False)
        self.addCleanup(inst.close)
        m = imaplib.IMAP4(HOST, inst.imap, timeout=10)
        self.assertIn("LOGINDISABLED", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(ALICE, PASSWORD)
        m.starttls(ssl_context=client_context())
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertEqual(m.login(ALICE, PASSWORD)[0], "OK")
        m.logout()
        s = imaplib.IMAP4_SSL(HOST, inst.imaps, ssl_context=client_context(), timeout=10)
        self.assertEqual(s.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())[0], "OK")
        with self.assertRaises(imaplib.IMAP4.error):
            imaplib.IMAP4_SSL(HOST, inst.imaps, ssl_context=client_context(), timeout=10).login(ALICE, "wrong")
        s.logout()

    def test_curl_reads_a_message(self):
        self.inst.deliver()
        out = subprocess.run(["curl", "-sS", "--max-time", "20", "-k", "--ssl-reqd", "-u", f"{ALICE}:{PASSWORD}",
                              f"imap://{HOST}:{self.inst.imap}/INBOX;UID=1"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.endswith(MESSAGE))

    def test_utf8_accept(self):
        self.inst.deliver()
        raw = self.inst.raw_login()
        self.assertEqual(raw.command("b ENABLE UTF8=ACCEPT"), (["* ENABLED UTF8=ACCEPT"], "b OK ENABLE completed"))
        self.assertEqual(raw.command("b2 ENABLE IMAP4rev2"), (["* ENABLED IMAP4rev2"], "b2 OK ENABLE completed"))
        raw.command("b3 SELECT INBOX")
        self.assertEqual(raw.command("b4 UID SEARCH ALL")[0], ['* ESEARCH (TAG "b4") UID ALL 1'])
        _, ok = raw.command('c CREATE "Entwürfe"')
        self.assertRegex(ok, r"^c OK \[MAILBOXID \(F\d+\)\] CREATE completed$")
        untagged, _ = raw.command('d LIST "" "Entw*"')
        self.assertEqual(untagged, ['* LIST (\\HasNoChildren) "/" "Entwürfe"'])

    def test_condstore(self):
        self.inst.deliver()
        self.inst.deliver()
        raw = self.inst.raw_login()
        untagged, _ = raw.command("b SELECT INBOX (CONDSTORE)")
        highest = int(next(re.search(r"HIGHESTMODSEQ (\d+)", l).group(1) for l in untagged if "HIGHESTMODSEQ" in l))
        untagged, reply = raw.command("c FETCH 1:* (UID MODSEQ)")
        modseqs = [int(re.search(r"MODSEQ \((\d+)\)", l).group(1)) for l in untagged]
        self.assertEqual(len(modseqs), 2)
        self.assertEqual(max(modseqs), highest)
        # A change from another session: CHANGEDSINCE returns just that message, with MODSEQ
        other = self.inst.login()
        other.select("INBOX")
        other.store("2", "+FLAGS", "(\\Flagged)")
        untagged, _ = raw.command(f"d UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
        fetches = [l for l in untagged if " FETCH " in l and "\\Flagged" in l]
        self.assertEqual(len(fetches), 1, untagged)
        # \Recent: this session was the first to select the mailbox after the deliveries
        self.assertRegex(fetches[0], r"^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)$")
        # UNCHANGEDSINCE: message 1 is unchanged since `highest` and is stored; message 2 is not
        untagged, reply = raw.command(f"e STORE 1:2 (UNCHANGEDSINCE {highest}) +FLAGS.SILENT (\\Seen)")
        self.assertEqual(reply, "e OK [MODIFIED 2] Some messages were changed meanwhile")
        self.assertTrue(any(re.match(r"^\* 1 FETCH \(MODSEQ \(\d+\)\)$", l) for l in untagged), untagged)
        untagged, _ = raw.command(f"f SEARCH MODSEQ {highest + 1}")
        self.assertRegex(untagged[-1], r"^\* SEARCH 1 2 \(MODSEQ \d+\)$")
        other.logout()

    def test_qresync(self):
        """RFC 7162 QRESYNC: a client back after changes learns them in its SELECT; expunges come
        as VANISHED once enabled; UID FETCH ... VANISHED; all refused before ENABLE."""
        for _ in range(3):
            self.inst.deliver()
        raw = self.inst.raw_login()
        untagged, reply = raw.command("b SELECT INBOX (QRESYNC (1 1))")
        self.assertEqual(reply, "b BAD QRESYNC needs ENABLE QRESYNC first")
        self.assertEqual(raw.command("c ENABLE QRESYNC"), (["* ENABLED QRESYNC"], "c OK ENABLE completed"))
        untagged, _ = raw.command("d SELECT INBOX")
        validity = int(next(re.search(r"UIDVALIDITY (\d+)", l).group(1) for l in untagged if "UIDVALIDITY" in l))
        highest = int(next(re.search(r"HIGHESTMODSEQ (\d+)", l).group(1) for l in untagged if "HIGHESTMODSEQ" in l))
        raw.command("e UNSELECT")
        # Meanwhile, elsewhere: a flag, an expunge, new mail
        other = self.inst.login()
        other.select("INBOX")
        other.store("2", "+FLAGS", "(\\Flagged)")
        other.store("3", "+FLAGS", "(\\Deleted)")
        other.expunge()
        self.inst.deliver()
        untagged, reply = raw.command(f"f SELECT INBOX (QRESYNC ({validity} {highest}))")
        self.assertEqual(reply, "f OK [READ-WRITE] SELECT completed")
        self.assertIn("* 3 EXISTS", untagged)
        resync = untagged[untagged.index("* VANISHED (EARLIER) 3"):]
        self.assertRegex(resync[1], r"^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$")
        self.assertRegex(resync[2], r"^\* 3 FETCH \(UID 4 FLAGS \(\\Recent\) MODSEQ \(\d+\)\)$")
        self.assertEqual(len(resync), 3, untagged)
        # Known UIDs limit what is reported vanished; another UIDVALIDITY means a fresh start
        untagged, _ = raw.command(f"g SELECT INBOX (QRESYNC ({validity} {highest} 1:2))")
        self.assertFalse([l for l in untagged if "VANISHED" in l], untagged)
        self.assertEqual(len([l for l in untagged if " FETCH " in l]), 2, untagged)
        untagged, _ = raw.command(f"h SELECT INBOX (QRESYNC ({validity + 1} {highest}))")
        self.assertFalse([l for l in untagged if "VANISHED" in l or " FETCH " in l], untagged)
        # UID FETCH with VANISHED
        untagged, reply = raw.command(f"i UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
        self.assertEqual(untagged[0], "* VANISHED (EARLIER) 3")
        self.assertEqual([l.split(" FETCH ")[0] for l in untagged[1:]], ["* 2", "* 3"])
        untagged, reply = raw.command(f"j UID FETCH 4:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
        self.assertFalse([l for l in untagged if "VANISHED" in l], untagged)
        self.assertEqual(raw.command(f"k FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")[1],
                         "k BAD VANISHED is for UID FETCH only")
        self.assertEqual(raw.command("l UID FETCH 1:* (FLAGS) (VANISHED)")[1], "l BAD VANISHED needs CHANGEDSINCE")
        # Expunges while selected: VANISHED, not EXPUNGE
        other.noop()
        other.store("1", "+FLAGS", "(\\Deleted)")
        other.expunge()
        self.assertEqual(raw.command("m NOOP"), (["* VANISHED 1"], "m OK NOOP completed"))
        raw.command("n UID STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        untagged, reply = raw.command("o EXPUNGE")
        self.assertEqual((untagged, reply), (["* VANISHED 2,4"], "o OK EXPUNGE completed"))
        other.logout()
        # Without ENABLE QRESYNC, VANISHED is refused
        plain = self.inst.raw_login()
        plain.command("b SELECT INBOX")
        self.assertEqual(plain.command("c UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")[1],
                         "c BAD VANISHED needs ENABLE QRESYNC first")

    def test_mbsync_syncs_the_account_both_ways(self):
        for i in range(3):
            self.inst.deliver(MESSAGE.replace(b"Hello world", b"Hello %d" % i))
        m = self.inst.login()
        m.create("Work")
        m.append("Work", None, None, b"From: alice@example.test\r\nSubject: plan\r\n\r\nthe plan\r\n")
        local = Path(self.inst.instance.dir) / "local"
        local.mkdir()
        config = Path(self.inst.instance.dir) / "mbsyncrc"
        cert = Path(self.inst.instance.dir) / "tls" / "cert.pem"
        config.write_text(f"""IMAPAccount remote
Host localhost
Port {self.inst.imaps_localhost}
User {ALICE}
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account remote

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

        def mbsync():
            r = subprocess.run(["mbsync", "-c", str(config), "-a"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr + r.stdout)

        def files(folder):
            return sorted(p for sub in ("cur", "new") for p in (local / folder / sub).iterdir())

        def body(n):  # FETCH answers may carry unsolicited FLAGS updates too: take the literal
            data = m.fetch(n if isinstance(n, str) else n.decode(), "(BODY.PEEK[])")[1]
            return next(d[1] for d in data if isinstance(d, tuple)).replace(b"\r\n", b"\n")

        def content(path):  # without the X-TUID header mbsync adds to track a message
            return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", path.read_bytes())

        mbsync()
        inbox = files("INBOX")
        self.assertEqual(len(inbox), 3)
        m.select("INBOX")
        # mbsync keeps Maildir files with LF line ends; otherwise byte for byte
        server = sorted(body(str(n)) for n in (1, 2, 3))
        self.assertEqual(sorted(content(p) for p in inbox), server)
        self.assertEqual([content(p) for p in files("Work")],
                         [b"From: alice@example.test\nSubject: plan\n\nthe plan\n"])
        for folder in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
            self.assertTrue((local / folder / "cur").is_dir(), folder)

        # Local changes: read one, delete one, file a new one into Work.
        read, deleted = inbox[0], inbox[1]
        read_body = content(read)
        deleted_body = content(deleted)
        read.rename(local / "INBOX" / "cur" / (read.name.split(":2,")[0] + ":2,S"))
        deleted.rename(local / "INBOX" / "cur" / (deleted.name.split(":2,")[0] + ":2,T"))
        (local / "Work" / "new" / "1700000000.local.host").write_bytes(b"Subject: note\n\nwritten offline\n")
        mbsync()
        m.noop()
        typ, data = m.search(None, "SEEN")
        self.assertEqual(len(data[0].split()), 1)
        self.assertEqual(body(data[0]), read_body)
        typ, data = m.search(None, "ALL")
        self.assertEqual(len(data[0].split()), 2)
        bodies = [body(n) for n in data[0].split()]
        self.assertNotIn(deleted_body, bodies)
        m.select("Work")
        typ, data = m.search(None, "SUBJECT", "note")
        self.assertEqual(len(data[0].split()), 1)
        self.assertEqual(m.fetch(data[0].decode(), "(BODY.PEEK[TEXT])")[1][0][1], b"written offline\r\n")

        # A third run finds nothing to do: nothing is duplicated either side.
        mbsync()
        self.assertEqual(len(files("INBOX")), 2)
        self.assertEqual(len(files("Work")), 2)
        typ, data = m.search(None, "ALL")
        self.assertEqual(len(data[0].split()), 2)
        m.logout()

    def test_envelope_and_bodystructure_match_the_reference_answers(self):
        """tests/golden/imap: real-world message shapes (and broken ones), with the ENVELOPE,
        BODY and BODYSTRUCTURE that Dovecot gives for them (make_golden.py)."""
        golden = Path(__file__).resolve().parents[1] / "golden" / "imap"
        differences = json.loads((golden / "differences.json").read_text())  # deliberate, with reasons
        raw = self.inst.raw_login()
        raw.command("b SELECT Drafts")
        for n, eml in enumerate(sorted(golden.glob("*.eml")), start=1):
            message = eml.read_bytes()
            raw.send_raw(b"c APPEND Drafts {%d+}\r\n" % len(message) + message + b"\r\n")
            while not raw.line().startswith("c OK"):
                pass
            expected = json.loads((golden / (eml.stem + ".json")).read_text())
            expected.update({k: v for k, v in differences.get(eml.stem, {}).items() if k != "why"})
            for item in ("ENVELOPE", "BODY", "BODYSTRUCTURE"):
                raw.send(f"d FETCH {n} {item}")
                response = raw.raw_response(b"d")
                got = fetch_items(response[response.index(b"* %d FETCH" % n):])[item]
                self.assertEqual(normalize(got), normalize(expected[item]), f"{eml.stem} {item}")

    def test_autologout_lockout_and_tag_reuse(self):
        inst = ImapInstance(auth={"failure_delay": "0s", "lockout_failures": 3}, idle_timeout="2s")
        self.addCleanup(inst.close)
        raw = inst.raw_login()
        # Tags are the client's business: a reused tag is answered like any other.
        self.assertEqual(raw.command("t NOOP")[1], "t OK NOOP completed")
        self.assertEqual(raw.command("t NOOP")[1], "t OK NOOP completed")
        raw.command("b SELECT INBOX")
        start = time.monotonic()
        self.assertEqual(raw.line(), "* BYE Autologout; idle for too long")
        self.assertLess(time.monotonic() - start, 10)
        self.assertTrue(raw.closed())
        # Three failures lock the address out, the right password included, over IMAP as in
        # every other daemon (the count lives in the store).
        for _ in range(3):
            with self.assertRaises(imaplib.IMAP4.error):
                imaplib.IMAP4(HOST, inst.imap, timeout=10).login(ALICE, "wrong")
        m = imaplib.IMAP4(HOST, inst.imap, timeout=10)
        with self.assertRaisesRegex(imaplib.IMAP4.error, "UNAVAILABLE"):
            m.login(ALICE, PASSWORD)

    def test_hostile_input_is_refused_and_the_server_goes_on(self):
        raw = self.inst.raw_login()
        _, reply = raw.command("b APPEND INBOX {999999999}")
        self.assertTrue(reply.startswith("b NO [TOOBIG]"), reply)
        _, reply = raw.command("c SEARCH " + "(" * 10000 + "ALL" + ")" * 10000)
        self.assertTrue(reply.startswith("c BAD"), reply)
        raw.command("d SELECT INBOX")
        _, reply = raw.command('e SEARCH SUBJECT "unbalanced')
        self.assertTrue(reply.startswith("e BAD"), reply)
        raw.send("f NOOP " + "x" * (1024 * 1024))
        self.assertEqual(raw.line(), "* BAD Line too long")
        _, reply = raw.command("g NOOP")
        self.assertEqual(reply, "g OK NOOP completed")
        raw.send_raw(b"h SEARCH SUBJECT \"a\x00b\"\r\n")
        self.assertTrue(raw.line().startswith("h BAD"))
        _, reply = raw.command("i FETCH 99 FLAGS")
        self.assertTrue(reply.startswith("i BAD"), reply)
        _, reply = raw.command("j FROB")
        self.assertTrue(reply.startswith("j BAD"), reply)
        _, reply = raw.command("k LOGIN x y")
        self.assertTrue(reply.startswith("k BAD"), reply)
        # A literal within the limit is read after the continuation
        raw.send("l APPEND INBOX {5}")
        self.assertTrue(raw.line().startswith("+ "))
        raw.send("Hi!\r")
        self.assertRegex(raw.line(), r"^(\* 1 EXISTS|l OK)")
        # Still serving, and the store is intact
        m = self.inst.login()
        self.assertEqual(m.select("INBOX"), ("OK", [b"1"]))
        m.logout()

    def test_too_many_bad_commands_disconnect(self):
        raw = Raw(self.inst.imap)
        raw.line()
        for i in range(19):
            _, reply = raw.command(f"t{i} FROB")
        raw.send("last FROB")
        self.assertTrue(raw.line().startswith("last BAD"))
        self.assertEqual(raw.line(), "* BYE Too many bad commands")
        self.assertTrue(raw.closed())


if __name__ == "__main__":
    unittest.main()
