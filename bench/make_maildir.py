#!/usr/bin/env python3
"""Writes COUNT deterministic test messages into a Maildir (cur/, seen), for the benchmarks:
sizes spread from 1 KiB to 16 KiB (about 6 KiB on average) unless --size fixes one, text
lines of 76 characters, one in 40 starting with a dot so that RETR has to stuff it.

usage: make_maildir.py DIR COUNT [--size BYTES]"""

import os
import random
import sys


def message(i, size, rng):
    header = (f"Return-Path: <sender{i % 97}@example.org>\r\n"
              f"From: Sender {i % 97} <sender{i % 97}@example.org>\r\n"
              f"To: user@example.test\r\nSubject: benchmark message {i}\r\n"
              f"Date: Tue, 24 Nov 2026 12:00:00 +0000\r\nMessage-ID: <{i}.bench@example.org>\r\n"
              "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    lines = []
    length = len(header)
    n = 0
    while length < size:
        n += 1
        line = ("." if n % 40 == 0 else "") + "".join(rng.choices("abcdefghij klmnopqrst", k=74))
        lines.append(line + "\r\n")
        length += len(lines[-1])
    return (header + "".join(lines)).encode()


def main():
    target, count = sys.argv[1], int(sys.argv[2])
    fixed = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--size" else None
    rng = random.Random(20261124)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(target, sub), exist_ok=True)
    for i in range(count):
        size = fixed or int(rng.triangular(1024, 16384, 2048))
        with open(os.path.join(target, "cur", f"{1700000000 + i}.M{i}P1.bench:2,S"), "wb") as f:
            f.write(message(i, size, rng))


if __name__ == "__main__":
    main()
