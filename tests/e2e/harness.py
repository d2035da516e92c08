"""Shared pieces of the end-to-end tests: build paths, throwaway instances (config, certificate,
data dir) in a temporary directory, free loopback ports, and processes that are stopped by
their own PID."""

import imaplib
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import zlib
from pathlib import Path

BUILD = Path(os.environ.get("MAILSTEAD_BUILD", Path(__file__).resolve().parents[2] / "build"))
SOURCE = Path(os.environ.get("MAILSTEAD_SOURCE", Path(__file__).resolve().parents[2]))
ADMIN = BUILD / "admin" / "mailstead"
SMTPD = BUILD / "smtpd" / "mailstead-smtpd"
POP3D = BUILD / "pop3d" / "mailstead-pop3d"
IMAPD = BUILD / "imapd" / "mailstead-imapd"
SENDMAIL = BUILD / "sendmail" / "mailstead-sendmail"
TEST_LISTENER = BUILD / "tests" / "mailstead-test-listener"
# Each test process listens on a loopback address of its own (127.100.0.1 to 127.199.250.1,
# from its PID), so suites run in parallel (ctest -j) cannot take each other's ports between
# free_port() and the daemon's bind. Clients still connect from 127.0.0.1.
HOST = os.environ.get("MAILSTEAD_TEST_HOST") or f"127.{100 + os.getpid() % 100}.{os.getpid() // 100 % 250 + 1}.1"
SANITIZED = os.environ.get("MAILSTEAD_SANITIZE") == "ON"


_ports_given = set()


def free_port(host=HOST):
    """A port nothing listens on at `host`, never the same twice in one test process: the
    kernel may hand out a port again once it is closed, and two listeners of one config on
    one port is a config error. Only HOST is this process's own: another address (127.0.0.1
    for a client that must reach "localhost") may be taken by a parallel suite meanwhile."""
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def make_certificate(directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


class Instance:
    """A temporary directory holding mailstead.toml, tls/ and data/."""

    def __init__(self, extra_toml="", sections=None):
        self._tmp = tempfile.TemporaryDirectory(prefix="mailstead-e2e-")
        self.dir = Path(self._tmp.name)
        os.chmod(self.dir, 0o755)  # readable by an unprivileged user after a privilege drop
        make_certificate(self.dir / "tls")
        self.plain_port, self.tls_port = free_port(), free_port()
        sections = dict(sections or {})
        server = sections.pop("server", {})
        server.setdefault("user", "")
        server.setdefault("data_dir", "data")
        # The ThreadSanitizer run sets more event-loop threads than the default one.
        if "MAILSTEAD_THREADS" in os.environ:
            server.setdefault("threads", int(os.environ["MAILSTEAD_THREADS"]))
        imapd = sections.pop("imapd", {})
        imapd.setdefault("listen", [f"{HOST}:{self.plain_port}"])
        imapd.setdefault("tls_listen", [f"{HOST}:{self.tls_port}"])
        # Tests connect to port 25 thousands of times: the early-talker wait (smtpd.greeting_delay)
        # is off unless a test of it sets it.
        smtpd = {"listen": [], "submission_listen": [], "submissions_listen": [], "local_socket": "submit.sock",
                 "greeting_delay": "0s"}
        smtpd.update(sections.pop("smtpd", {}))
        body = {"server": server, "tls": {"certificate": "tls/cert.pem", "private_key": "tls/key.pem"},
                "smtpd": smtpd,
                "pop3d": {"listen": [], "tls_listen": []}, "imapd": imapd}
        # Tests open many connections from 127.0.0.1 in a minute; only the tests of that limit set it.
        limits = {"max_connection_rate_per_ip": 100000}
        limits.update(sections.pop("limits", {}))
        body["limits"] = limits
        # Outbound mail never leaves loopback: DNS goes to a port where nothing answers (the
        # queue runner sees a temporary failure) unless a test brings its own server.
        dns = {"servers": [f"{HOST}:{free_port()}"]}
        dns.update(sections.pop("dns", {}))
        body["dns"] = dns
        body.update(sections)
        self.config = self.dir / "mailstead.toml"
        self.config.write_text(to_toml(body) + extra_toml)

    def admin(self, *args, stdin=None):
        """Runs `mailstead -c <this config> ARGS`; fails the test on a non-zero exit."""
        r = subprocess.run([str(ADMIN), "-c", str(self.config), *args], capture_output=True, text=True,
                           input=stdin, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"mailstead {args}: {r.stderr}")
        return r.stdout

    def messages(self, user, mailbox="INBOX"):
        return json.loads(self.admin("message", "list", user, mailbox, "--json"))

    def message_bytes(self, user, uid, mailbox="INBOX"):
        return subprocess.run([str(ADMIN), "-c", str(self.config), "message", "cat", user, mailbox, str(uid)],
                              capture_output=True, check=True).stdout

    def queue(self):
        return json.loads(self.admin("queue", "list", "--json"))

    def cleanup(self):
        self._tmp.cleanup()


def to_toml(sections):
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = []
    for name, keys in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {value(v)}" for k, v in keys.items()]
        out.append("")
    return "\n".join(out)


class Daemon:
    """A process that prints 'ready ...' on stdout once it listens; stderr goes to a log file."""

    def __init__(self, argv, log_path, timeout=20):
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        self.ready_line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not self.ready_line.startswith("ready"):
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start: {self.ready_line!r}\n{self.log()}")
        self.ports = [int(p) for p in self.ready_line.split()[1:]]

    def log(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """Stops the process with SIGTERM (SIGKILL after 15 s); returns its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode

    def stop_cleanly(self):
        """Stops the process and fails unless it exited 0 without a sanitizer report."""
        status = self.stop()
        log = self.log()
        if status != 0 or "Sanitizer" in log:
            # A sanitizer report says where first ("WARNING: ThreadSanitizer: data race ...", the
            # two stacks): from its start, not the log's last lines, which hold only its tail.
            starts = [at for at in (log.find(mark) for mark in (
                "WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"))
                if at >= 0]
            shown = log[max(min(starts) - 200, 0):][:12000] if starts else log[-4000:]
            raise AssertionError(f"{self.proc.args[0]} exited with {status}:\n{shown}")


class LineClient:
    """A CRLF line client over a plain or TLS socket."""

    def __init__(self, port, tls_context=None, timeout=10):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname="localhost")
        self.buffer = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def _receive(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; unread: {self.buffer!r}")
        self.buffer += chunk

    def line_bytes(self):
        while b"\r\n" not in self.buffer:
            self._receive()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def line(self):
        return self.line_bytes().decode(errors="replace")

    def read_exact(self, size):
        """`size` bytes that are not lines (an IMAP literal)."""
        while len(self.buffer) < size:
            self._receive()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def closed(self):
        """True if the server has closed the connection (after any pending lines)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def starttls(self, context):
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")

    def close(self):
        self.sock.close()


def client_context(minimum=ssl.TLSVersion.TLSv1_2, maximum=None):
    """A TLS client context that accepts the test instance's self-signed certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


class Waiter(threading.Thread):
    """Another client's round trips (one command, one answer) while the hostile one runs: the
    longest it waited is what every other user of the daemon felt."""

    def __init__(self, connect, command, done):
        super().__init__(daemon=True)
        self.connect, self.command, self.done = connect, command, done
        self.longest = 0.0
        self.round_trips = 0
        self.stop = threading.Event()

    def run(self):
        client = self.connect()
        while not self.stop.is_set():
            start = time.monotonic()
            client.send(self.command)
            while not self.done(client.line()):
                pass
            self.longest = max(self.longest, time.monotonic() - start)
            self.round_trips += 1
            time.sleep(0.002)
        client.close()


def smtp_waiter(port):
    """A Waiter of NOOPs on one SMTP session to `port` (after EHLO)."""
    def connect():
        c = LineClient(port)
        c.line()
        c.send("EHLO waiter.example")
        while c.line()[3] == "-":
            pass
        return c
    return Waiter(connect, "NOOP", lambda line: line[3] != "-")


imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))  # RFC 4978; imaplib does not know it


class _Compressing:
    """imaplib with RFC 4978 COMPRESS=DEFLATE: after compress() answers OK, everything is raw
    DEFLATE both ways (Python's zlib, as an independent implementation). Counts the compressed
    bytes each way."""

    _deflate = None

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._inflate = zlib.decompressobj(-15)
            self._plain = bytearray()
            self.bytes_in = self.bytes_out = 0
        return typ, data

    def send(self, data):
        if self._deflate is None:
            return super().send(data)
        data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self.bytes_out += len(data)
        self.sock.sendall(data)

    def send_raw_compressed(self, data):
        """Compressed bytes as they are (a hostile client's)."""
        self.bytes_out += len(data)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("socket closed")
        self.bytes_in += len(chunk)
        self._plain += self._inflate.decompress(chunk)

    def read(self, size):
        if self._deflate is None:
            return super().read(size)
        while len(self._plain) < size:
            self._fill()
        out = bytes(self._plain[:size])
        del self._plain[:size]
        return out

    def readline(self):
        if self._deflate is None:
            return super().readline()
        while (end := self._plain.find(b"\n")) < 0:
            self._fill()
        out = bytes(self._plain[:end + 1])
        del self._plain[:end + 1]
        return out


class CompressingIMAP4(_Compressing, imaplib.IMAP4):
    pass


class CompressingIMAP4_SSL(_Compressing, imaplib.IMAP4_SSL):
    pass
