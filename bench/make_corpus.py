#!/usr/bin/env python3
"""Writes COUNT deterministic messages that read like mail into a Maildir (cur/, seen), for the
search benchmark: words drawn from a 30,000-word vocabulary by Zipf's law (as words in text
are), 40 to 3,000 words a message, headers as a receiving server sees them (two Received
lines, a DKIM-Signature with its base64, a Message-ID), 500 correspondents; a quarter of the
messages are multipart/alternative with an HTML part, a tenth quoted-printable ISO-8859-1
with accented words. Message 4321 (UID 4322 once imported) alone holds the word "quuxeltrope"
and comes from rare.sender@example.net.

usage: make_corpus.py DIR COUNT"""

import base64
import bisect
import itertools
import os
import random
import sys

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "ve", "sho", "pri", "an", "el", "ost", "ing", "er", "tion",
             "con", "de", "pro", "re", "com", "ex", "is", "al", "ment", "ly", "ble", "ter", "str", "ou", "ch"]
ACCENTED = ["café", "résumé", "façade", "déjà", "naïve", "über", "größe", "señor", "crème", "élève"]


def vocabulary(rng, size=30000):
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words)


def main():
    target, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(20261207)
    words = vocabulary(rng)
    rng.shuffle(words)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    total = cumulative[-1]

    def word():
        return words[min(bisect.bisect(cumulative, rng.random() * total), len(words) - 1)]

    def sentence():
        return " ".join(word() for _ in range(rng.randint(5, 18))).capitalize() + "."

    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(target, sub), exist_ok=True)
    for i in range(count):
        sender = "rare.sender@example.net" if i == 4321 else f"person{rng.randrange(500)}@example.org"
        subject = " ".join(word() for _ in range(rng.randint(2, 7)))
        paragraphs = []
        for _ in range(rng.choice((1, 2, 3, 5, 8, 20))):
            paragraphs.append(" ".join(sentence() for _ in range(rng.randint(1, 6))))
        if i == 4321:
            paragraphs.insert(1, "The quuxeltrope is here.")
        text = "\r\n\r\n".join(paragraphs)
        signature = base64.b64encode(rng.randbytes(256)).decode()
        header = (f"Return-Path: <{sender}>\r\n"
                  f"Received: from mx{rng.randrange(50)}.example.org (mx.example.org [192.0.2.{rng.randrange(255)}])\r\n"
                  f"\tby mail.example.test with ESMTPS id {rng.randbytes(6).hex()}\r\n"
                  f"\tfor <user@example.test>; Mon, 7 Dec 2026 10:{i % 60:02}:00 +0000\r\n"
                  f"Received: from [10.0.{rng.randrange(255)}.{rng.randrange(255)}] by mx.example.org\r\n"
                  f"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=mail; h=from:to:subject;\r\n"
                  f"\tb={signature[:70]}\r\n\t{signature[70:140]}\r\n\t{signature[140:]}\r\n"
                  f"From: {sender.split('@')[0].replace('.', ' ').title()} <{sender}>\r\n"
                  f"To: user@example.test\r\nSubject: {subject}\r\n"
                  f"Date: Mon, 7 Dec 2026 10:{i % 60:02}:00 +0000\r\n"
                  f"Message-ID: <{rng.randbytes(8).hex()}.{i}@example.org>\r\nMIME-Version: 1.0\r\n")
        kind = rng.random()
        if kind < 0.10:
            latin = text + "\r\n\r\n" + " ".join(rng.choice(ACCENTED) for _ in range(8))
            body = latin.encode("iso-8859-1").decode("latin-1")
            qp = "".join(c if (32 <= ord(c) < 127 and c != "=") or c in "\r\n" else f"={ord(c):02X}" for c in body)
            message = header + ("Content-Type: text/plain; charset=iso-8859-1\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp + "\r\n")
        elif kind < 0.35:
            html = "".join(f"<p style=\"margin:0 0 1em 0;font-family:Arial\">{p}</p>\r\n" for p in paragraphs)
            message = header + ("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n--alt\r\n"
                                "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n" + html +
                                "</body></html>\r\n--alt--\r\n")
        else:
            message = header + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
        with open(os.path.join(target, "cur", f"{1700000000 + i}.M{i}P1.corpus:2,S"), "wb") as f:
            f.write(message.encode("utf-8"))
    # The words by rank, to pick common and rare ones from.
    with open(os.path.join(target, "words-by-rank"), "w") as f:
        f.write("\n".join(words) + "\n")


if __name__ == "__main__":
    main()
