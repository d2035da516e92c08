#!/usr/bin/env python3
"""What mail authentication costs mailstead-smtpd: inbound mail on port 25 with each check
turned on in turn (SPF, DKIM verification of an RSA-2048 signature, DMARC), and mail from a
trusted network (the path of a user's mail once logged in, without the password hash that
dominates a login per message) signed with an RSA-2048 key, then with RSA and Ed25519 together,
each beside the same load with the feature off. DNS is a local server (tests/e2e/fake_dns.py) holding the
sender's SPF, DKIM and DMARC records and the client's reverse name.

One message of 4 KiB per connection, CONNECTIONS at a time, MESSAGES per run, median of RUNS;
every case's smtpd runs from the start and the runs take the cases in turn.
CPU per message is the daemon's user + system time (/proc/PID/stat) over the run divided by
the messages; smtpd runs one I/O thread (server.threads = 1), as in bench/smtp.sh.

usage: bench/checks.py [BUILD_DIR]     RUNS=5 MESSAGES=1000 CONNECTIONS=10
"""

import os
import pathlib
import smtplib
import statistics
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
if len(sys.argv) > 1:
    os.environ["MAILSTEAD_BUILD"] = str(pathlib.Path(sys.argv[1]).resolve())

from fake_dns import FakeDns, Zone  # noqa: E402
from harness import HOST, SMTPD, Daemon, Instance, free_port  # noqa: E402
from test_dkim import SIGNER, rsa_key, system_python  # noqa: E402

RUNS = int(os.environ.get("RUNS", 5))
MESSAGES = int(os.environ.get("MESSAGES", 1000))
CONNECTIONS = int(os.environ.get("CONNECTIONS", 10))
PASSWORD = "a long enough password"  # the user exists; it never logs in
USER = "user1@example.test"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def message(sender):
    body = ("The quick brown fox jumps over the lazy dog. " * 2 + "\r\n") * 44  # about 4 KiB
    return (f"From: <{sender}>\r\nTo: <{USER}>\r\nSubject: benchmark\r\nMessage-ID: <bench@example.org>\r\n"
            f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n{body}").encode()


def load(port, sender, data):
    """MESSAGES messages, one per connection, CONNECTIONS at a time; returns seconds."""
    left = [MESSAGES]
    lock = threading.Lock()
    failures = []

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                with smtplib.SMTP(HOST, port, local_hostname="client.example.org", timeout=60,
                                  source_address=(HOST, 0)) as s:
                    s.sendmail(sender, [USER], data)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} messages failed, e.g. {failures[0]}")
    return time.monotonic() - start


class Case:
    def __init__(self, name, sections, sender="joe@example.org", data=None, keys=(), trusted=False):
        self.name, self.sections, self.sender, self.data, self.keys, self.trusted = (
            name, sections, sender, data, keys, trusted)


def start(case, dns_port):
    """An instance for `case`, its smtpd started; returns (instance, daemon, port)."""
    mx = free_port()
    sections = {
        "server": {"hostname": "mail.example.test", "threads": 1},
        "log": {"level": "warn"},
        "smtpd": {"listen": [f"{HOST}:{mx}"], "submission_listen": [],
                  "trusted_networks": [f"{HOST}/32"] if case.trusted else []},
        "limits": {"max_connections": 20000, "max_connections_per_ip": 20000,
                   "max_connection_rate_per_ip": 1000000},
        "auth": {"failure_delay": "0s"},
        "dns": {"servers": [f"127.0.0.1:{dns_port}"], "timeout": "2s"},
    }
    for name, keys in case.sections.items():
        sections.setdefault(name, {}).update(keys)
    instance = Instance(sections=sections)
    instance.admin("domain", "add", "example.test")
    instance.admin("user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
    for algorithm in case.keys:
        instance.admin("dkim", "keygen", "example.test", "--algorithm", algorithm, "--selector", algorithm)
    daemon = Daemon([str(SMTPD), "-c", str(instance.config)], instance.dir / "smtpd.log")
    return instance, daemon, mx


def measure(case, daemon, port):
    """One run: (messages/s, CPU ms per message)."""
    before = cpu_seconds(daemon.proc.pid)
    took = load(port, case.sender, case.data)
    return MESSAGES / took, (cpu_seconds(daemon.proc.pid) - before) / MESSAGES * 1000


def main():
    tmp = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"mailstead-bench-checks-{os.getpid()}"
    tmp.mkdir()
    key = tmp / "rsa.pem"
    public = rsa_key(key, 2048)
    reversed_host = ".".join(reversed(HOST.split("."))) + ".in-addr.arpa"
    dns = FakeDns(Zone({
        "example.org": [("TXT", f"v=spf1 ip4:{HOST} -all")],
        "sel._domainkey.example.org": [("TXT", f"v=DKIM1; k=rsa; p={public}")],
        "_dmarc.example.org": [("TXT", "v=DMARC1; p=reject")],
        reversed_host: [("PTR", "client.example.org")],
        "client.example.org": [("A", HOST)],
    }, negative_ttl=3600))
    try:
        plain = message("joe@example.org")
        signed = system_python(SIGNER, "sel", "example.org", "rsa-sha256", str(key), stdin=plain)
        user_message = message(USER)
        off = {"spf": {"check": False}, "dkim": {"verify": False, "sign": False}, "dmarc": {"check": False}}

        def with_(**on):
            sections = {k: dict(v) for k, v in off.items()}
            for section, keys in on.items():
                sections[section].update(keys)
            return sections

        cases = [
            ("inbound, every check off (iprev only)", Case("plain", off, data=plain)),
            ("inbound, SPF", Case("spf", with_(spf={"check": True}), data=plain)),
            ("inbound, DKIM verify (RSA 2048)", Case("dkim", with_(dkim={"verify": True}), data=signed)),
            ("inbound, SPF + DKIM + DMARC (the defaults)",
             Case("all", with_(spf={"check": True}, dkim={"verify": True}, dmarc={"check": True}), data=signed)),
            ("outgoing (trusted), not signed", Case("nosign", off, sender=USER, data=user_message, trusted=True)),
            ("outgoing (trusted), DKIM RSA 2048",
             Case("rsa", with_(dkim={"sign": True}), sender=USER, data=user_message, keys=("rsa",), trusted=True)),
            ("outgoing (trusted), DKIM RSA 2048 + Ed25519",
             Case("dual", with_(dkim={"sign": True}), sender=USER, data=user_message, keys=("rsa", "ed25519"),
                  trusted=True)),
        ]
        print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores, "
              f"{os.uname().release}; {MESSAGES} messages of 4 KiB per run, one per connection, "
              f"{CONNECTIONS} at a time, median of {RUNS} runs; smtpd threads = 1")
        print(f"{'case':<46} {'messages/s':>11} {'CPU ms/msg':>11} {'cost':>10}")
        # Every case's smtpd runs from the start, and the runs take the cases in turn, so that a
        # slow spell of the machine falls on all of them alike.
        started = []
        try:
            for _, case in cases:
                started.append(start(case, dns.port))
            for (_, case), (_, daemon, port) in zip(cases, started):
                load(port, case.sender, case.data)  # warm-up: caches, page cache
            results = [([], []) for _ in cases]
            for _ in range(RUNS):
                for i, ((_, case), (_, daemon, port)) in enumerate(zip(cases, started)):
                    rate, cpu = measure(case, daemon, port)
                    results[i][0].append(rate)
                    results[i][1].append(cpu)
        finally:
            for instance, daemon, _ in started:
                try:
                    daemon.stop_cleanly()
                finally:
                    instance.cleanup()
        base = {}
        for (label, case), (rates, cpus) in zip(cases, results):
            rate, cpu = statistics.median(rates), statistics.median(cpus)
            first = case.trusted not in base
            reference = base.setdefault(case.trusted, cpu)
            cost = "" if first else f"{cpu - reference:+.3f} ms"
            print(f"{label:<46} {rate:>11.0f} {cpu:>11.3f} {cost:>10}", flush=True)
    finally:
        dns.close()
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
