#!/usr/bin/env python3
"""Regenerates the golden ENVELOPE / BODY / BODYSTRUCTURE answers of this folder's messages
from a reference IMAP server (Dovecot from ../shared/reference-stack), by hand:

  make_golden.py HOST PORT USER PASSWORD

Each NAME.eml is appended to the user's INBOX and fetched; the answer is kept in
NAME.json as parsed values (tests/e2e/imap_sexp.py), so spelling differences that IMAP
does not care about (quoted string or literal) do not matter."""

import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))
from imap_sexp import fetch_items  # noqa: E402

ITEMS = ("ENVELOPE", "BODY", "BODYSTRUCTURE")


class Raw:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, int(port)))
        self.buffer = b""
        self.n = 0

    def read_response(self, tag):
        """Everything up to and including the tagged line; literals kept inline."""
        out = b""
        while True:
            while b"\r\n" not in self.buffer:
                self.buffer += self.sock.recv(65536)
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            out += line + b"\r\n"
            if line.endswith(b"}") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1:-1])
                while len(self.buffer) < size:
                    self.buffer += self.sock.recv(65536)
                out += self.buffer[:size]
                self.buffer = self.buffer[size:]
                continue
            if line.startswith(tag + b" "):
                return out

    def command(self, text, literal=None):
        self.n += 1
        tag = b"g%d" % self.n
        if literal is None:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        return self.read_response(tag)


def main():
    host, port, user, password = sys.argv[1:5]
    here = Path(__file__).resolve().parent
    raw = Raw(host, port)
    raw.buffer = b""
    while b"\r\n" not in raw.buffer:
        raw.buffer += raw.sock.recv(65536)
    raw.buffer = raw.buffer.split(b"\r\n", 1)[1]
    raw.command(b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
    raw.command(b"CREATE golden")
    for eml in sorted(here.glob("*.eml")):
        raw.command(b"SELECT golden")
        raw.command(b"STORE 1:* +FLAGS.SILENT (\\Deleted)")
        raw.command(b"EXPUNGE")
        raw.command(b"APPEND golden", eml.read_bytes())
        raw.command(b"NOOP")
        answer = {}
        for item in ITEMS:
            response = raw.command(b"FETCH 1 " + item.encode())
            fetch_line = response[response.index(b"* 1 FETCH"):]
            answer[item] = fetch_items(fetch_line)[item]
        (here / (eml.stem + ".json")).write_text(json.dumps(answer, indent=1, ensure_ascii=True) + "\n")
        print(eml.stem)


if __name__ == "__main__":
    main()
