"""End-to-end tests of common/net through mailstead-test-listener: TLS (implicit and STARTTLS,
TLS 1.1 refused), the bounded line reader over a real socket, SASL with password checks off
the event loop, per-client connection limits, idle and handshake timeouts, graceful shutdown
and privilege drop. Real clients: Python's ssl/socket and openssl s_client/s_server."""

import base64
import os
import signal
import socket
import ssl
import subprocess
import time
import unittest
import warnings

from harness import ADMIN, HOST, SANITIZED, TEST_LISTENER, Daemon, Instance, LineClient, client_context, free_port

PASSWORD = "correct horse battery"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def start(instance, *extra):
    return Daemon([str(TEST_LISTENER), "-c", str(instance.config), *extra], instance.dir / "listener.log")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def tls11_client_context():
    """A client that offers only TLS 1.1 (OpenSSL 3 needs security level 0 for it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = client_context(minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


class ListenerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.instance = Instance(sections={
            "server": {"threads": 2},
            "limits": {"max_connections_per_ip": 0, "shutdown_grace": "2s"},
            "log": {"level": "debug"}})
        hash_file = cls.instance.dir / "hash"
        hash_file.write_text(subprocess.run(["openssl", "passwd", "-6", PASSWORD], check=True, capture_output=True,
                                            text=True).stdout)
        cls.daemon = start(cls.instance, "--hash-file", str(hash_file))

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop_cleanly()
        finally:
            cls.instance.cleanup()

    def connect(self, tls=None, port=None):
        port = port or (self.instance.tls_port if tls else self.instance.plain_port)
        client = LineClient(port, tls)
        self.addCleanup(client.close)
        self.assertEqual(client.line(), "* test listener ready")
        return client

    def assert_still_serving(self):
        c = self.connect()
        c.send("still there?")
        self.assertEqual(c.line(), "ECHO still there?")

    def test_plain_echo(self):
        c = self.connect()
        c.send("hello")
        self.assertEqual(c.line(), "ECHO hello")
        c.send("TLS")
        self.assertEqual(c.line(), "TLS none")
        c.send("QUIT")
        self.assertEqual(c.line(), "BYE")
        self.assertTrue(c.closed())

    def test_implicit_tls_prefers_tls13(self):
        c = self.connect(client_context())
        self.assertEqual(c.sock.version(), "TLSv1.3")
        c.send("TLS")
        self.assertRegex(c.line(), r"^TLS TLSv1\.3 TLS_")

    def test_implicit_tls12_uses_a_forward_secret_aead_cipher(self):
        c = self.connect(client_context(maximum=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(c.sock.version(), "TLSv1.2")
        c.send("TLS")
        self.assertRegex(c.line(), r"^TLS TLSv1\.2 ECDHE-RSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$")

    def test_tls11_is_refused(self):
        # Control: this client can speak TLS 1.1 to a server that allows it, so a refusal below
        # is our server's doing, not the client's.
        port = free_port()
        cert, key = self.instance.dir / "tls/cert.pem", self.instance.dir / "tls/key.pem"
        control = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"{HOST}:{port}", "-cert", str(cert), "-key", str(key), "-tls1_1",
             "-cipher", "ALL:@SECLEVEL=0", "-www", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(50):
                try:
                    with tls11_client_context().wrap_socket(socket.create_connection((HOST, port)),
                                                            server_hostname="localhost") as s:
                        self.assertEqual(s.version(), "TLSv1.1")
                        break
                except ConnectionRefusedError:
                    time.sleep(0.1)
            else:
                self.fail("openssl s_server did not start")
        finally:
            os.kill(control.pid, signal.SIGTERM)
            control.wait()
            control.stdin.close()
        with socket.create_connection((HOST, self.instance.tls_port)) as raw:
            with self.assertRaises(ssl.SSLError):
                tls11_client_context().wrap_socket(raw, server_hostname="localhost")
        self.assert_still_serving()

    def test_openssl_s_client(self):
        def s_client(*flags):
            return subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{self.instance.tls_port}", *flags],
                                  input=b"", capture_output=True, timeout=30).stdout.decode(errors="replace")
        self.assertRegex(s_client("-tls1_2"), r"New, TLSv1\.2, Cipher is ECDHE-RSA-")
        self.assertRegex(s_client("-tls1_3"), r"New, TLSv1\.3, Cipher is TLS_")
        refused = s_client("-tls1_1", "-cipher", "ALL:@SECLEVEL=0")
        self.assertNotRegex(refused, r"TLSv1\.1, Cipher is")
        self.assertRegex(refused, r"New, \(NONE\), Cipher is \(NONE\)")

    def test_starttls(self):
        c = self.connect()
        c.send("STARTTLS")
        self.assertEqual(c.line(), "OK begin TLS")
        c.starttls(client_context())
        c.send("TLS")
        self.assertRegex(c.line(), r"^TLS TLSv1\.3 ")
        c.send("STARTTLS")
        self.assertEqual(c.line(), "ERR already TLS")

    def test_starttls_discards_pipelined_plaintext(self):
        # CVE-2011-0411: a command sent in plaintext behind STARTTLS must not run as if it had
        # come over TLS.
        c = self.connect()
        c.send_raw(b"STARTTLS\r\nECHO injected\r\n")
        self.assertEqual(c.line(), "OK begin TLS")
        self.assertEqual(c.buffer, b"")
        c.starttls(client_context())
        c.send("TLS")
        self.assertRegex(c.line(), r"^TLS TLSv1\.3 ")
        c.send("after")
        self.assertEqual(c.line(), "ECHO after")

    def test_over_long_line_is_reported_and_session_goes_on(self):
        c = self.connect()
        c.send("x" * 500)
        self.assertEqual(c.line(), "ERR line too long")
        c.send("next")
        self.assertEqual(c.line(), "ECHO next")

    def test_limit_counts_the_crlf(self):
        c = self.connect()
        c.send("y" * 126)  # 128 bytes with CRLF: the test listener's limit
        self.assertEqual(c.line(), "ECHO " + "y" * 126)
        c.send("y" * 127)
        self.assertEqual(c.line(), "ERR line too long")

    def send_endless_line(self, client, mib):
        chunk = b"z" * 65536
        for _ in range(16 * mib):
            client.send_raw(chunk)
        client.send_raw(b"\r\nafter\r\n")
        self.assertEqual(client.line(), "ERR line too long")
        self.assertEqual(client.line(), "ECHO after")

    def test_endless_line_is_reported_once_and_skipped(self):
        self.send_endless_line(self.connect(), 4)

    @unittest.skipIf(SANITIZED, "ASan's quarantine keeps freed memory on purpose, so RSS says nothing there")
    def test_endless_line_does_not_grow_memory(self):
        c = self.connect()
        self.send_endless_line(c, 1)  # warm up allocator caches
        before = rss_kib(self.daemon.proc.pid)
        self.send_endless_line(c, 10)
        self.assertLess(rss_kib(self.daemon.proc.pid) - before, 2048)

    def test_bare_line_endings_are_reported(self):
        c = self.connect()
        c.send_raw(b"bare\nlf\r\n")
        self.assertEqual(c.line(), "ERR bare LF")
        self.assertEqual(c.line(), "ECHO lf")
        c.send_raw(b"bare\rcr\r\n")
        self.assertEqual(c.line(), "ERR bare CR")

    def test_split_writes_make_one_line(self):
        c = self.connect()
        for piece in (b"sp", b"lit li", b"ne\r", b"\n"):
            c.send_raw(piece)
            time.sleep(0.02)
        self.assertEqual(c.line(), "ECHO split line")

    def test_sasl_plain(self):
        c = self.connect(client_context())
        c.send("AUTH PLAIN " + b64(f"\0alice@example.test\0{PASSWORD}"))
        self.assertEqual(c.line(), "OK authenticated")
        c.send("AUTH PLAIN " + b64("\0alice@example.test\0wrong"))
        self.assertEqual(c.line(), "NO authentication failed")
        c.send("AUTH PLAIN")
        self.assertEqual(c.line(), "+ ")
        c.send(b64(f"\0alice@example.test\0{PASSWORD}"))
        self.assertEqual(c.line(), "OK authenticated")
        c.send("AUTH PLAIN !!!")
        self.assertEqual(c.line(), "BAD malformed base64")
        c.send("AUTH PLAIN")
        self.assertEqual(c.line(), "+ ")
        c.send("*")
        self.assertEqual(c.line(), "BAD cancelled by client")
        log = self.daemon.log()
        self.assertIn("password=<redacted>", log)
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn(b64(f"\0alice@example.test\0{PASSWORD}"), log)

    def test_sasl_login(self):
        c = self.connect(client_context())
        c.send("AUTH LOGIN")
        self.assertEqual(c.line(), "+ " + b64("Username:"))
        c.send(b64("alice@example.test"))
        self.assertEqual(c.line(), "+ " + b64("Password:"))
        c.send(b64(PASSWORD))
        self.assertEqual(c.line(), "OK authenticated")

    def test_slow_password_checks_do_not_stall_other_sessions(self):
        slow = [self.connect(client_context()) for _ in range(3)]
        for s in slow:
            s.send("AUTH PLAIN " + b64(f"\0alice@example.test\0{PASSWORD}"))
        fast = self.connect()
        fast.send("ping")
        self.assertEqual(fast.line(), "ECHO ping")
        for s in slow:
            self.assertEqual(s.line(), "OK authenticated")

    def test_garbage_on_the_tls_port(self):
        s = socket.create_connection((HOST, self.instance.tls_port), timeout=10)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = s.recv(4096)
        self.assertNotIn(b"listener", data)  # nothing readable in plaintext, then a close
        s.close()
        self.assert_still_serving()

    def test_log_lines_carry_the_session(self):
        c = self.connect()
        c.send("QUIT")
        c.line()
        time.sleep(0.2)
        log = self.daemon.log()
        self.assertRegex(log, r"session=[0-9a-f]{8} event=connect listener=plain remote=127\.0\.0\.1:\d+")
        self.assertRegex(log, r"session=[0-9a-f]{8} event=disconnect outcome=done duration_ms=\d+")


class DaemonCase(unittest.TestCase):
    """One test listener for the whole class, with the class's config sections and arguments."""
    sections = {}
    arguments = ()

    @classmethod
    def setUpClass(cls):
        cls.instance = Instance(sections=cls.sections)
        cls.daemon = start(cls.instance, *cls.arguments)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop_cleanly()
        finally:
            cls.instance.cleanup()


class ConnectionLimitTest(DaemonCase):
    sections = {"limits": {"max_connections_per_ip": 4}}

    def connect(self):
        client = LineClient(self.instance.plain_port)
        self.addCleanup(client.close)
        self.assertEqual(client.line(), "* test listener ready")
        return client

    def test_per_client_connection_limit(self):
        held = [self.connect() for _ in range(4)]
        extra = LineClient(self.instance.plain_port)
        self.addCleanup(extra.close)
        self.assertEqual(extra.line(), "BYE too_many_from_client")
        self.assertTrue(extra.closed())
        implicit = LineClient(self.instance.tls_port, client_context())  # the refusal goes over TLS there
        self.addCleanup(implicit.close)
        self.assertEqual(implicit.line(), "BYE too_many_from_client")
        held.pop().send("QUIT")
        deadline = time.monotonic() + 5
        while True:  # the slot comes back once the server has closed that session
            again = LineClient(self.instance.plain_port)
            self.addCleanup(again.close)
            if again.line() == "* test listener ready":
                break
            self.assertLess(time.monotonic(), deadline, "the freed slot was never given back")
            time.sleep(0.05)

        self.assertIn("event=refused reason=too_many_from_client", self.daemon.log())


class ConnectionRateTest(DaemonCase):
    sections = {"limits": {"max_connection_rate_per_ip": 5}}

    def test_too_many_new_connections_a_minute_are_turned_away(self):
        for _ in range(5):
            c = LineClient(self.instance.plain_port)
            self.assertEqual(c.line(), "* test listener ready")
            c.send("QUIT")
            self.assertEqual(c.line(), "BYE")
            c.close()
        sixth = LineClient(self.instance.plain_port)
        self.addCleanup(sixth.close)
        self.assertEqual(sixth.line(), "BYE too_fast_from_client")
        self.assertTrue(sixth.closed())
        self.assertIn("event=refused reason=too_fast_from_client", self.daemon.log())


class TimeoutTest(DaemonCase):
    sections = {"limits": {"tls_handshake_timeout": "1s"}}
    arguments = ("--idle", "1")

    def test_idle_client_is_told_and_closed(self):
        c = LineClient(self.instance.plain_port)
        self.addCleanup(c.close)
        self.assertEqual(c.line(), "* test listener ready")
        started = time.monotonic()
        self.assertEqual(c.line(), "BYE timeout")
        self.assertTrue(c.closed())
        self.assertGreaterEqual(time.monotonic() - started, 0.9)

    def test_each_command_restarts_the_idle_clock(self):
        c = LineClient(self.instance.plain_port)
        self.addCleanup(c.close)
        c.line()
        for i in range(4):
            time.sleep(0.5)
            c.send(f"keepalive {i}")
            self.assertEqual(c.line(), f"ECHO keepalive {i}")

    def test_stalled_tls_handshake_is_closed(self):
        s = socket.create_connection((HOST, self.instance.tls_port), timeout=10)
        started = time.monotonic()
        self.assertEqual(s.recv(1), b"")
        self.assertLess(time.monotonic() - started, 5)
        s.close()


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.instance = Instance(sections={"limits": {"shutdown_grace": "2s"}})
        self.addCleanup(self.instance.cleanup)
        self.daemon = start(self.instance)
        self.addCleanup(self.daemon.stop_cleanly)

    def test_sigterm_tells_idle_sessions_and_exits(self):
        clients = [LineClient(self.instance.plain_port) for _ in range(3)]
        for c in clients:
            self.addCleanup(c.close)
            self.assertEqual(c.line(), "* test listener ready")
        started = time.monotonic()
        self.daemon.signal(signal.SIGTERM)
        for c in clients:
            self.assertEqual(c.line(), "BYE shutting down")
            self.assertTrue(c.closed())
        self.assertEqual(self.daemon.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 1.5, "idle sessions must not wait for the grace period")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((HOST, self.instance.plain_port), timeout=2)

    def test_busy_session_is_closed_after_the_grace_period(self):
        # A client stuck in its TLS handshake is not waiting for a command, so only the grace
        # deadline ends it.
        stuck = socket.create_connection((HOST, self.instance.tls_port), timeout=10)
        time.sleep(0.2)
        started = time.monotonic()
        self.daemon.signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait(timeout=10), 0)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 1.8)
        self.assertLess(elapsed, 6)
        stuck.close()
        self.assertIn("event=close_all connections=1", self.daemon.log())

    def test_second_signal_closes_at_once(self):
        stuck = socket.create_connection((HOST, self.instance.tls_port), timeout=10)
        time.sleep(0.2)
        started = time.monotonic()
        self.daemon.signal(signal.SIGTERM)
        time.sleep(0.2)
        self.daemon.signal(signal.SIGINT)
        self.assertEqual(self.daemon.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 1.5)
        stuck.close()


@unittest.skipUnless(os.geteuid() == 0, "dropping privileges needs root (CI runs as root)")
class PrivilegeDropTest(unittest.TestCase):
    def test_runs_as_the_configured_user_after_binding(self):
        instance = Instance(sections={"server": {"user": "nobody", "group": "nogroup"}})
        self.addCleanup(instance.cleanup)
        daemon = start(instance)
        self.addCleanup(daemon.stop_cleanly)
        nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout)
        c = LineClient(instance.plain_port)
        self.addCleanup(c.close)
        c.line()
        c.send("WHOAMI")
        self.assertEqual(c.line(), f"UID {nobody}")
        with open(f"/proc/{daemon.proc.pid}/status") as f:
            status = f.read()
        self.assertRegex(status, rf"Uid:\s+{nobody}\s+{nobody}\s+{nobody}\s+{nobody}")
        self.assertRegex(status, r"Groups:\s*\d+\s*\n")  # exactly one supplementary group
        self.assertIn("event=privileges_dropped user=nobody", daemon.log())

    def test_unknown_user_refuses_to_start(self):
        instance = Instance(sections={"server": {"user": "no-such-user-here"}})
        self.addCleanup(instance.cleanup)
        with self.assertRaises(RuntimeError) as raised:
            start(instance)
        self.assertIn('server.user: no such user "no-such-user-here"', str(raised.exception))


if __name__ == "__main__":
    unittest.main()
