"""End-to-end tests of what every daemon shares at start and while running
(session/daemon.cpp), with mailstead-pop3d as the daemon: the readiness message to
systemd (Type=notify units) and SIGHUP, which re-reads the config and certificate (a certbot
renewal) without dropping a session, and keeps the old ones when the new files are broken."""

import hashlib
import os
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest
from pathlib import Path

from harness import HOST, POP3D, Daemon, Instance, client_context, free_port, make_certificate


def certificate_digest(port):
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with client_context().wrap_socket(raw) as tls:
            tls.recv(512)
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def file_digest(cert_path):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(Path(cert_path).read_text())).hexdigest()


def wait_for_log(daemon, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in daemon.log():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the log:\n{daemon.log()}")
        time.sleep(0.05)


class DaemonLifecycleTest(unittest.TestCase):
    def setUp(self):
        self.tls_port = free_port()
        self.instance = Instance(sections={"pop3d": {"listen": [], "tls_listen": [f"{HOST}:{self.tls_port}"]}})
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.stop_cleanly()
        self.instance.cleanup()

    def start(self, env=None):
        saved = os.environ.copy()
        os.environ.update(env or {})
        try:
            daemon = Daemon([str(POP3D), "-c", str(self.instance.config)], self.instance.dir / "pop3d.log")
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.daemons.append(daemon)
        return daemon

    def test_tells_systemd_it_is_ready_once_it_listens(self):
        directory = tempfile.mkdtemp(prefix="mailstead-notify-")
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(path)
            notify.settimeout(10)
            self.start({"NOTIFY_SOCKET": path})
            self.assertEqual(notify.recv(64), b"READY=1")
            # By then the port answers.
            self.assertEqual(len(certificate_digest(self.tls_port)), 64)

    def test_sighup_loads_a_renewed_certificate_and_keeps_sessions(self):
        daemon = self.start()
        tls = self.instance.dir / "tls"
        self.assertEqual(certificate_digest(self.tls_port), file_digest(tls / "cert.pem"))
        with socket.create_connection((HOST, self.tls_port), timeout=10) as raw:
            with client_context().wrap_socket(raw) as session:
                self.assertTrue(session.recv(512).startswith(b"+OK"))
                # Renewal as certbot does it: new files in place, then a reload.
                renewed = self.instance.dir / "renewed"
                make_certificate(renewed)
                for name in ("cert.pem", "key.pem"):
                    os.replace(renewed / name, tls / name)
                daemon.signal(signal.SIGHUP)
                wait_for_log(daemon, "event=reloaded")
                self.assertEqual(certificate_digest(self.tls_port), file_digest(tls / "cert.pem"))
                # The session that began before the reload goes on.
                session.sendall(b"CAPA\r\n")
                self.assertTrue(session.recv(512).startswith(b"+OK"))
        self.assertIsNone(daemon.proc.poll())

    def test_a_broken_certificate_or_config_on_reload_changes_nothing(self):
        daemon = self.start()
        tls = self.instance.dir / "tls"
        before = certificate_digest(self.tls_port)
        (tls / "key.pem").write_text("not a key\n")
        daemon.signal(signal.SIGHUP)
        wait_for_log(daemon, "event=reload_failed")
        self.assertEqual(certificate_digest(self.tls_port), before)

        config = self.instance.config.read_text()
        self.instance.config.write_text(config + "\n[pop3d]\nno_such_key = 1\n")
        daemon.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while daemon.log().count("event=reload_failed") < 2:
            self.assertLess(time.monotonic(), deadline, daemon.log())
            time.sleep(0.05)
        self.assertEqual(certificate_digest(self.tls_port), before)
        self.assertIsNone(daemon.proc.poll())
        self.assertNotIn("event=reloaded", daemon.log())


if __name__ == "__main__":
    unittest.main()
