#!/usr/bin/env python3
"""POP3 load generator for bench/pop3.sh; prints one line of key=value results.

  pop3_load.py logins HOST PORT USER PASSWORD CLIENTS SECONDS FIRST
      CLIENTS connections in parallel, each looping connect, USER/PASS, STAT, QUIT; "%d" in
      USER becomes FIRST, FIRST+1, ... (one user per client).
  pop3_load.py retr HOST PORT USER PASSWORD
      One session: RETR of every message, pipelined 100 at a time; nothing is deleted.
  pop3_load.py uidl HOST PORT USER PASSWORD
      One session: login, STAT, LIST and UIDL of the whole maildrop; times each."""

import socket
import sys
import threading
import time

TERMINATOR = b"\r\n.\r\n"


class Client:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def command(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        reply = self.line()
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"{text.split()[0]}: {reply!r}")
        return reply

    def login(self, user, password):
        if not self.line().startswith(b"+OK"):
            raise RuntimeError("no greeting")
        self.command(f"USER {user}")
        self.command(f"PASS {password}")

    def skip_multiline(self, count):
        """Reads `count` multi-line responses (status line, body, terminator); returns octets."""
        data = self.buffer
        self.buffer = b""
        seen = 0
        total = 0
        start = 0
        while True:
            found = data.find(TERMINATOR, start)
            if found >= 0:
                seen += 1
                start = found + len(TERMINATOR)
                if seen == count:
                    self.buffer = data[start:]
                    return total + start
                continue
            keep = data[max(start, len(data) - 4):]
            total += len(data) - len(keep)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("closed")
            data = keep + chunk
            start = 0

    def quit(self):
        self.command("QUIT")
        self.sock.close()


def logins(host, port, user, password, clients, seconds, first):
    counts = [0] * int(clients)
    deadline = time.monotonic() + float(seconds)

    def loop(k):
        while time.monotonic() < deadline:
            c = Client(host, port)
            c.login(user.replace("%d", str(k + int(first))), password)
            c.command("STAT")
            c.quit()
            counts[k] += 1

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(int(clients))]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    print(f"logins={sum(counts)} seconds={elapsed:.2f} logins_per_s={sum(counts) / elapsed:.1f}")


def retr(host, port, user, password):
    c = Client(host, port)
    c.login(user, password)
    count = int(c.command("STAT").split()[1])
    start = time.monotonic()
    octets = 0
    for first in range(1, count + 1, 100):
        last = min(first + 99, count)
        c.sock.sendall(b"".join(f"RETR {n}\r\n".encode() for n in range(first, last + 1)))
        octets += c.skip_multiline(last - first + 1)
    elapsed = time.monotonic() - start
    c.quit()
    print(f"messages={count} seconds={elapsed:.3f} messages_per_s={count / elapsed:.0f} "
          f"mb_per_s={octets / elapsed / 1e6:.1f}")


def uidl(host, port, user, password):
    start = time.monotonic()
    c = Client(host, port)
    c.login(user, password)
    count = int(c.command("STAT").split()[1])
    login_ms = (time.monotonic() - start) * 1000
    t = time.monotonic()
    c.sock.sendall(b"LIST\r\n")
    c.skip_multiline(1)
    list_ms = (time.monotonic() - t) * 1000
    t = time.monotonic()
    c.sock.sendall(b"UIDL\r\n")
    c.skip_multiline(1)
    uidl_ms = (time.monotonic() - t) * 1000
    c.quit()
    print(f"messages={count} login_stat_ms={login_ms:.1f} list_ms={list_ms:.1f} uidl_ms={uidl_ms:.1f}")


if __name__ == "__main__":
    {"logins": logins, "retr": retr, "uidl": uidl}[sys.argv[1]](*sys.argv[2:])
