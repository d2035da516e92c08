#!/usr/bin/env python3
"""Do more event-loop threads help? mailstead-imapd with server.threads = 1, 2, ... under the
same mixed IMAP load (bench/imap_load.py mixed: whole mail-client sessions over implicit TLS
or plain, CLIENTS clients spread over PROCESSES load processes so that the load generator
itself is not held by one Python interpreter). Reports sessions/s and commands/s (median of
RUNS runs after a warm-up) and imapd's CPU per session from /proc. mailstead beside itself:
no reference stack is needed.

usage: bench/threads.py [BUILD_DIR]
  THREADS="1 2" RUNS=5 CLIENTS=16 PROCESSES=4 SECONDS_PER_RUN=10
"""

import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
if len(sys.argv) > 1:
    os.environ["MAILSTEAD_BUILD"] = str(Path(sys.argv[1]).resolve())

from harness import HOST, IMAPD, Daemon, Instance  # noqa: E402

with warnings.catch_warnings():  # deprecated in 3.11, and still the one SHA512-crypt maker here
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402

PASSWORD = "a long enough password"


def cpu_seconds(pid):
    """User + system CPU of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(port, clients, processes, seconds):
    per = [clients // processes + (1 if k < clients % processes else 0) for k in range(processes)]
    first, procs = 1, []
    for n in per:
        procs.append(subprocess.Popen(
            [sys.executable, str(HERE / "imap_load.py"), "mixed", HOST, str(port), "user%d@example.test", PASSWORD,
             str(n), str(seconds), str(first)], stdout=subprocess.PIPE, text=True))
        first += n
    sessions = commands = 0.0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 120)
        if p.returncode != 0:
            raise RuntimeError("load generator failed")
        fields = dict(kv.split("=") for kv in out.split())
        sessions += float(fields["sessions_per_s"])
        commands += float(fields["commands_per_s"])
    return sessions, commands


def measure(threads, clients, processes, seconds, runs):
    inst = Instance(sections={
        "server": {"threads": threads},
        "auth": {"hash_threads": 2, "failure_delay": "0s"},
        "log": {"level": "warn"},
        "imapd": {"allow_plaintext_auth": True},
        "limits": {"max_connections_per_ip": 20000, "max_connections": 20000},
    })
    try:
        inst.admin("domain", "add", "example.test")
        # SHA512-CRYPT (as bench/imap.sh takes from Dovecot) keeps logins from being all hashing.
        hash_file = inst.dir / "hash"
        hash_file.write_text(crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512)) + "\n")
        for i in range(1, clients + 1):
            inst.admin("user", "add", f"user{i}@example.test", "--password-hash-file", str(hash_file))
        subprocess.run([sys.executable, str(HERE / "make_maildir.py"), str(inst.dir / "maildir"), "50"], check=True,
                       capture_output=True)
        for i in range(1, clients + 1):
            inst.admin("import", f"user{i}@example.test", str(inst.dir / "maildir"))
        imapd = Daemon([str(IMAPD), "-c", str(inst.config)], inst.dir / "imapd.log")
        try:
            run_load(inst.plain_port, clients, processes, min(seconds, 3))  # warm-up
            results = []
            for _ in range(runs):
                cpu_before = cpu_seconds(imapd.proc.pid)
                sessions, commands = run_load(inst.plain_port, clients, processes, seconds)
                cpu = cpu_seconds(imapd.proc.pid) - cpu_before
                results.append((sessions, commands, cpu / (sessions * seconds) * 1000))
            return results
        finally:
            imapd.stop_cleanly()
    finally:
        inst.cleanup()


def main():
    threads_list = [int(t) for t in os.environ.get("THREADS", "1 2").split()]
    runs = int(os.environ.get("RUNS", "5"))
    clients = int(os.environ.get("CLIENTS", "16"))
    processes = int(os.environ.get("PROCESSES", "4"))
    seconds = float(os.environ.get("SECONDS_PER_RUN", "10"))
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores, {os.uname().release}; "
          f"{clients} clients in {processes} processes, {seconds:g} s per run, median of {runs} runs after a warm-up")
    print(f"{'server.threads':>14} {'sessions/s':>11} {'commands/s':>11} {'imapd CPU ms/session':>21}")
    base = None
    for t in threads_list:
        results = measure(t, clients, processes, seconds, runs)
        sessions = statistics.median(r[0] for r in results)
        commands = statistics.median(r[1] for r in results)
        cpu = statistics.median(r[2] for r in results)
        base = base or sessions
        print(f"{t:>14} {sessions:>11.1f} {commands:>11.1f} {cpu:>21.3f}   ({sessions / base:.2f}x threads={threads_list[0]})")


if __name__ == "__main__":
    main()
