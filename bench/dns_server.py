#!/usr/bin/env python3
"""A DNS server on loopback for the benchmarks (tests/e2e/fake_dns.py): it knows no names, so
every lookup (the client's reverse name, SPF, DMARC) is answered NXDOMAIN at once instead of
waiting for a resolver that is not there. Prints "ready PORT", then serves until killed.

usage: bench/dns_server.py"""

import pathlib
import signal
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "e2e"))
from fake_dns import FakeDns, Zone  # noqa: E402

server = FakeDns(Zone({}, negative_ttl=3600))
print(f"ready {server.port}", flush=True)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
signal.sigwait({signal.SIGTERM, signal.SIGINT})
server.close()
