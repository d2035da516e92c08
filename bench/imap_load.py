#!/usr/bin/env python3
"""IMAP load generator for bench/imap.sh; prints one line of key=value results.

  imap_load.py big HOST PORT USER PASSWORD
      One session on a big INBOX, each step timed in ms: select_ms (SELECT), fetch_ms
      (FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)), search_header_ms (UID SEARCH HEADER
      Subject "message 4321"), search_body_ms (UID SEARCH BODY "zzzz", no match: every body
      read). Checks each answer's size so that a server that skips work cannot look fast.
  imap_load.py reselect HOST PORT USER PASSWORD
      The big INBOX selected, closed, a message appended to it by a second session, and
      SELECT timed again: select_after_new_mail_ms (leaves the INBOX one message bigger).
  imap_load.py idle HOST PORT USER PASSWORD COUNT PIDS USERS [tls|compress|tls+compress]
      COUNT authenticated connections ("%d" in USER cycles over users 2..USERS+1), each SELECTs
      INBOX (after COMPRESS=DEFLATE with "compress") and then sits in IDLE; prints the
      proportional set size (PSS) of the server's processes before and after, and per
      connection.
  imap_load.py mixed HOST PORT USER PASSWORD CLIENTS SECONDS FIRST
      CLIENTS parallel clients ("%d" in USER becomes FIRST, FIRST+1, ...), each looping a whole
      session as a mail client would run it: LOGIN, LIST, STATUS INBOX, SELECT INBOX,
      FETCH 1:* (FLAGS UID), FETCH of the last 10 messages' ENVELOPE and one BODY.PEEK[],
      STORE +FLAGS \\Seen on one, UID SEARCH UNSEEN, APPEND to Drafts, LOGOUT. Prints sessions/s
      and commands/s.
  imap_load.py resync HOST PORT USER PASSWORD qresync|full
      A client that had the big INBOX open comes back after another session changed the
      flags of 100 messages (a keyword of its own each run) and expunged 10: with QRESYNC
      (RFC 7162: SELECT INBOX (QRESYNC (uidvalidity modseq)), VANISHED (EARLIER) and the
      changed messages' FETCH) or without (SELECT, then UID FETCH 1:* (FLAGS), what a client
      without CONDSTORE does). Checks that the answer names the changes; prints resync_ms
      and resync_octets (what the server sent for the resync). Leaves the INBOX 10 smaller.
  imap_load.py append HOST PORT USER PASSWORD COUNT
      COUNT 2 KiB messages APPENDed one after another to a new mailbox by Python's imaplib as
      it comes (Nagle's algorithm on, the literal and its CRLF written apart, as migration
      scripts do): appends_per_s. Deletes the mailbox afterwards.
  imap_load.py mbsync HOST TLS_PORT USER PASSWORD MAILDIR CAFILE
      isync's mbsync pushes a copy of MAILDIR's messages into a new mailbox over implicit TLS
      (host name "localhost", the certificate checked against CAFILE), as a migration with it
      does: mbsync_messages_per_s. Checks the count, deletes the mailbox afterwards.
"""

import imaplib
import os
import resource
import socket
import ssl
import sys
import time
import zlib


class DeflateSocket:
    """A socket after COMPRESS=DEFLATE (RFC 4978): raw DEFLATE both ways."""

    def __init__(self, sock):
        self.sock = sock
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)

    def sendall(self, data):
        self.sock.sendall(self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH))

    def recv(self, size):
        while True:
            chunk = self.sock.recv(size)
            if not chunk:
                return b""
            if out := self.inflate.decompress(chunk):
                return out

    def close(self):
        self.sock.close()


class Client:
    def __init__(self, host, port, tls=False):
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock)
        self.buffer = bytearray()
        self.pos = 0  # start of the unread bytes: lines are sliced off without copying the rest
        self.tag = 0

    def receive(self):
        if self.pos:
            del self.buffer[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("closed")
        self.buffer += chunk

    def line(self):
        while (end := self.buffer.find(b"\r\n", self.pos)) < 0:
            self.receive()
        line = bytes(self.buffer[self.pos:end])
        self.pos = end + 2
        return line

    def command(self, text):
        """Sends a command; returns (octets of the whole answer, untagged lines)."""
        self.tag += 1
        tag = b"b%d" % self.tag
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        octets = 0
        untagged = []
        while True:
            line = self.line()
            octets += len(line) + 2
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text[:40]}: {line!r}")
                return octets, untagged
            # A literal: skip its bytes, then the rest of the line.
            if line.endswith(b"}") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1:-1])
                while len(self.buffer) - self.pos < size:
                    self.receive()
                self.pos += size
                octets += size
            untagged.append(line)

    def login(self, user, password):
        if not self.line().startswith(b"* OK"):
            raise RuntimeError("no greeting")
        self.command(f'LOGIN "{user}" "{password}"')


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def big(host, port, user, password):
    c = Client(host, port)
    c.login(user, password)
    select_ms, (_, untagged) = timed(lambda: c.command("SELECT INBOX"))
    exists = next(int(l.split()[1]) for l in untagged if l.endswith(b" EXISTS"))
    fetch_ms, (_, lines) = timed(lambda: c.command("FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)"))
    fetched = sum(1 for l in lines if b" FETCH " in l)
    if fetched != exists:
        raise RuntimeError(f"FETCH answered {fetched} of {exists} messages")
    header_ms, (_, lines) = timed(lambda: c.command('UID SEARCH HEADER Subject "message 4321"'))
    if not any(l.startswith(b"* SEARCH ") for l in lines):
        raise RuntimeError("HEADER search found nothing")
    body_ms, (_, lines) = timed(lambda: c.command('UID SEARCH BODY "zzzz"'))
    c.command("LOGOUT")
    print(f"messages={exists} select_ms={select_ms:.1f} fetch_ms={fetch_ms:.1f} "
          f"search_header_ms={header_ms:.1f} search_body_ms={body_ms:.1f}")


def searches(host, port, user, password, criteria):
    """Each criteria as a UID SEARCH of the INBOX, one after the other: ms and matches each."""
    c = Client(host, port)
    c.login(user, password)
    c.command("SELECT INBOX")
    out = []
    for i, text in enumerate(criteria):
        ms, (_, lines) = timed(lambda: c.command(f"UID SEARCH {text}"))
        found = next((len(l.split()) - 2 for l in lines if l.startswith(b"* SEARCH")), 0)
        out.append(f"case{i}_ms={ms:.1f} case{i}_matches={found}")
    c.command("LOGOUT")
    print(" ".join(out))


def reselect(host, port, user, password):
    """The folder opened again after new mail came into it (another session's APPEND)."""
    c = Client(host, port)
    c.login(user, password)
    c.command("SELECT INBOX")
    c.command("UNSELECT")
    other = Client(host, port)
    other.login(user, password)
    new = "Subject: new\r\n\r\nnew mail\r\n"
    other.command(f"APPEND INBOX {{{len(new)}+}}\r\n{new}")
    other.command("LOGOUT")
    reselect_ms, _ = timed(lambda: c.command("SELECT INBOX"))
    c.command("LOGOUT")
    print(f"select_after_new_mail_ms={reselect_ms:.1f}")


def resync(host, port, user, password, mode):
    before = Client(host, port)
    before.login(user, password)
    before.command("ENABLE QRESYNC")
    _, untagged = before.command("SELECT INBOX")
    code = lambda name: next(int(l.split(b"[" + name + b" ")[1].split(b"]")[0]) for l in untagged
                             if b"[" + name + b" " in l)
    uidvalidity, modseq = code(b"UIDVALIDITY"), code(b"HIGHESTMODSEQ")
    exists = next(int(l.split()[1]) for l in untagged if l.endswith(b" EXISTS"))
    before.command("LOGOUT")
    # Meanwhile, on another client: 100 flag changes spread over the mailbox, 10 expunges.
    other = Client(host, port)
    other.login(user, password)
    other.command("SELECT INBOX")
    step = exists // 100
    keyword = f"Run{int(time.time() * 1000) % 100000000}"
    other.command(f"STORE {','.join(str(1 + i * step) for i in range(100))} +FLAGS.SILENT ({keyword})")
    other.command(f"STORE {','.join(str(2 + i * step * 10) for i in range(10))} +FLAGS.SILENT (\\Deleted)")
    other.command("EXPUNGE")
    other.command("LOGOUT")
    c = Client(host, port)
    c.login(user, password)
    start = time.perf_counter()
    if mode == "qresync":
        octets, lines = c.command("ENABLE QRESYNC")
        more, untagged = c.command(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq}))")
        octets += more
        lines += untagged
        changed = sum(1 for l in lines if keyword.encode() in l and b" FETCH " in l)
        vanished = sum(1 for l in lines if l.startswith(b"* VANISHED (EARLIER) "))
        if changed < 90 or vanished != 1:
            raise RuntimeError(f"QRESYNC answered {changed} changed messages and {vanished} VANISHED")
    else:
        octets, _ = c.command("SELECT INBOX")
        more, lines = c.command("UID FETCH 1:* (FLAGS)")
        octets += more
        changed = sum(1 for l in lines if keyword.encode() in l)
        if changed < 90 or len(lines) != exists - 10:
            raise RuntimeError(f"FETCH answered {len(lines)} messages, {changed} changed")
    ms = (time.perf_counter() - start) * 1000
    c.command("LOGOUT")
    print(f"resync_ms={ms:.1f} resync_octets={octets}")


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def tree(root_pids):
    """The given processes and all their descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    out, todo = [], list(root_pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def idle(host, port, user, password, count, roots, users, mode=""):
    tls = "tls" in mode
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))
    roots = [int(p) for p in roots.split(",")]
    before = pss_kib(tree(roots))
    clients = []
    for i in range(count):
        c = Client(host, port, tls)
        c.login(user.replace("%d", str(i % users + 2)), password)
        if "compress" in mode:
            c.command("COMPRESS DEFLATE")
            c.sock = DeflateSocket(c.sock)
        c.command("SELECT INBOX")
        c.tag += 1
        c.sock.sendall(b"i IDLE\r\n")
        if not c.line().startswith(b"+"):
            raise RuntimeError("IDLE refused")
        clients.append(c)
    time.sleep(2)
    after = pss_kib(tree(roots))
    print(f"connections={count} tls={'yes' if tls else 'no'} compress={'yes' if 'compress' in mode else 'no'} "
          f"pss_before_kib={before} pss_after_kib={after} "
          f"kib_per_connection={(after - before) / count:.1f}")
    for c in clients:
        c.sock.close()


def mixed(host, port, user, password, clients, seconds, first):
    import threading
    deadline = time.monotonic() + seconds
    counts = [0] * clients
    commands = [0] * clients
    errors = []
    draft = b"From: a@example.test\r\nSubject: draft\r\n\r\nsaved draft\r\n"

    def loop(k):
        name = user.replace("%d", str(first + k))
        try:
            setup = Client(host, port)  # the reference stack's users have no Drafts yet
            setup.login(name, password)
            try:
                setup.command("CREATE Drafts")
            except RuntimeError:
                pass  # it exists
            setup.sock.close()
            while time.monotonic() < deadline:
                c = Client(host, port)
                c.login(name, password)
                c.command('LIST "" "*"')
                c.command("STATUS INBOX (MESSAGES UNSEEN)")
                _, untagged = c.command("SELECT INBOX")
                exists = next(int(l.split()[1]) for l in untagged if l.endswith(b" EXISTS"))
                c.command("FETCH 1:* (FLAGS UID)")
                if exists:
                    c.command(f"FETCH {max(1, exists - 9)}:{exists} (ENVELOPE)")
                    c.command(f"FETCH {exists} (BODY.PEEK[])")
                    c.command(f"STORE {exists} +FLAGS (\\Seen)")
                c.command("UID SEARCH UNSEEN")
                c.command(f"APPEND Drafts {{{len(draft)}+}}\r\n" + draft.decode())
                c.command("LOGOUT")
                c.sock.close()
                counts[k] += 1
                commands[k] += 11 if exists else 8
        except Exception as e:  # noqa: BLE001 - reported, and the run fails
            errors.append(repr(e))

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if errors:
        raise RuntimeError(errors[0])
    print(f"sessions={sum(counts)} sessions_per_s={sum(counts) / elapsed:.1f} "
          f"commands_per_s={sum(commands) / elapsed:.1f}")


def append(host, port, user, password, count):
    imap = imaplib.IMAP4(host, int(port))
    imap.login(user, password)
    box = "bench-append-%d" % os.getpid()
    imap.create(box)
    body = ("x" * 76 + "\r\n") * 26
    start = time.perf_counter()
    for i in range(count):
        message = ("From: bench@example.test\r\nSubject: append %d\r\n\r\n%s" % (i, body)).encode()
        typ, _ = imap.append(box, None, None, message)
        if typ != "OK":
            raise RuntimeError("APPEND failed")
    elapsed = time.perf_counter() - start
    typ, data = imap.status(box, "(MESSAGES)")
    if b"MESSAGES %d" % count not in data[0]:
        raise RuntimeError("mailbox holds %r" % data)
    imap.delete(box)
    imap.logout()
    print("appends_per_s=%.1f ms_per_append=%.2f" % (count / elapsed, 1000 * elapsed / count))


def mbsync(host, port, user, password, maildir, cafile):
    import shutil
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as work:
        near = os.path.join(work, "near")
        shutil.copytree(maildir, os.path.join(near, "INBOX"))
        count = len(os.listdir(os.path.join(near, "INBOX", "cur")))
        box = "bench-mbsync-%d" % os.getpid()
        config = os.path.join(work, "mbsyncrc")
        with open(config, "w") as f:
            f.write(f"""IMAPAccount far
Host localhost
Port {port}
User {user}
Pass "{password}"
SSLType IMAPS
CertificateFile {cafile}

IMAPStore far
Account far

MaildirStore near
Path {near}/
Inbox {near}/INBOX

Channel push
Far :far:{box}
Near :near:INBOX
Create Far
Sync Push
SyncState *
""")
        start = time.perf_counter()
        run = subprocess.run(["mbsync", "-q", "-c", config, "push"], capture_output=True, text=True, timeout=3600)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            raise RuntimeError(f"mbsync: {run.stderr[-500:]}")
    imap = imaplib.IMAP4_SSL(host, int(port), ssl_context=ssl._create_unverified_context())
    imap.login(user, password)
    typ, data = imap.status(box, "(MESSAGES)")
    if b"MESSAGES %d" % count not in data[0]:
        raise RuntimeError("mailbox holds %r, not %d messages" % (data, count))
    imap.delete(box)
    imap.logout()
    print("mbsync_messages_per_s=%.1f messages=%d" % (count / elapsed, count))


def main():
    mode = sys.argv[1]
    if mode == "big":
        big(*sys.argv[2:6])
    elif mode == "searches":
        searches(*sys.argv[2:6], sys.argv[6:])
    elif mode == "reselect":
        reselect(*sys.argv[2:6])
    elif mode == "resync":
        resync(*sys.argv[2:7])
    elif mode == "append":
        append(*sys.argv[2:6], int(sys.argv[6]))
    elif mode == "mbsync":
        mbsync(*sys.argv[2:8])
    elif mode == "mixed":
        mixed(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8]))
    elif mode == "idle":
        idle(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7], int(sys.argv[8]),
             sys.argv[9] if len(sys.argv) > 9 else "")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
