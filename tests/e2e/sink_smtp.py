"""SMTP sink servers for the outbound tests: each listens on a loopback address, speaks enough
ESMTP (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, optional STARTTLS and AUTH PLAIN) and records
every transaction it accepts. Its replies can be scripted to refuse, defer or hang."""

import base64
import socket
import socketserver
import ssl
import threading
import time


class Behaviour:
    def __init__(self, greeting="220 sink.test ESMTP", starttls=True, auth=None, rcpt=None, data_replies=None,
                 mail_reply="250 2.1.0 ok", hang=False, size=0, ehlo=True, smtputf8=True, trickle=False):
        self.greeting = greeting
        self.starttls = starttls
        self.auth = auth                          # (user, password) required before MAIL, or None
        self.rcpt = rcpt or {}                    # address -> reply line
        self.data_replies = list(data_replies or [])  # replies after the dot, used up in order
        self.mail_reply = mail_reply
        self.hang = hang                          # accept the connection and say nothing
        self.size = size
        self.ehlo = ehlo                          # False: an old server that knows only HELO
        self.smtputf8 = smtputf8
        self.trickle = trickle                    # send the greeting a byte a second, for ever


class Ipv4Server(socketserver.ThreadingTCPServer):
    # socketserver's default backlog of 5 drops connections when the queue runner opens a
    # hundred at once; the client then waits for a greeting that never comes (RFC 5321 lets it
    # wait 5 minutes).
    request_queue_size = 1024
    allow_reuse_address = True
    daemon_threads = True


class Ipv6Server(Ipv4Server):
    address_family = socket.AF_INET6


def ipv6_loopback():
    """Whether ::1 can be bound here (some containers run without IPv6)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Sink:
    def __init__(self, host, port, behaviour=None, certfile=None, keyfile=None):
        self.behaviour = behaviour or Behaviour()
        self.messages = []   # dicts: sender, recipients, data, tls, auth
        self.connections = 0
        self.lock = threading.Lock()
        tls = None
        if certfile:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(certfile, keyfile)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with sink.lock:
                    sink.connections += 1
                sink.session(self.connection, tls)

        server_class = Ipv6Server if ":" in host else Ipv4Server
        self.server = server_class((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} messages arrived, expected {count}")

    def session(self, conn, tls):
        b = self.behaviour
        if b.hang:
            time.sleep(60)
            return
        if b.trickle:
            try:
                for _ in range(120):
                    conn.sendall(b"2")
                    time.sleep(1)
            except OSError:
                pass
            return
        f = conn.makefile("rb")
        state = {"tls": False, "auth": None, "sender": None, "rcpts": []}

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        send(b.greeting)
        if not b.greeting.startswith("220"):
            return
        while True:
            raw = f.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO" and not b.ehlo:
                send("500 5.5.1 unknown command")
            elif verb == "HELO":
                send("250 sink.test")
            elif verb == "EHLO":
                ext = ["sink.test", "PIPELINING", f"SIZE {b.size}", "8BITMIME"] + (["SMTPUTF8"] if b.smtputf8 else [])
                if b.starttls and tls and not state["tls"]:
                    ext.append("STARTTLS")
                if b.auth and state["tls"]:
                    ext.append("AUTH PLAIN")
                for i, e in enumerate(ext):
                    send(f"250{'-' if i + 1 < len(ext) else ' '}{e}")
            elif verb == "STARTTLS" and tls and b.starttls:
                send("220 2.0.0 go ahead")
                conn = tls.wrap_socket(conn, server_side=True)
                f = conn.makefile("rb")
                state["tls"] = True
            elif verb == "AUTH":
                parts = line.split()
                decoded = base64.b64decode(parts[2]).split(b"\0") if len(parts) == 3 else []
                if b.auth and len(decoded) == 3 and (decoded[1].decode(), decoded[2].decode()) == b.auth:
                    state["auth"] = decoded[1].decode()
                    send("235 2.7.0 ok")
                else:
                    send("535 5.7.8 bad credentials")
            elif verb == "MAIL":
                if b.auth and not state["auth"]:
                    send("530 5.7.0 auth first")
                    continue
                send(b.mail_reply)
                if b.mail_reply.startswith("250"):
                    state["sender"] = line[line.index("<") + 1:line.index(">")]
                    state["rcpts"] = []
            elif verb == "RCPT":
                address = line[line.index("<") + 1:line.index(">")]
                reply = b.rcpt.get(address, "250 2.1.5 ok")
                send(reply)
                if reply.startswith("250"):
                    state["rcpts"].append(address)
            elif verb == "DATA":
                if state["sender"] is None or not state["rcpts"]:
                    send("554 5.5.1 no valid recipients")
                    continue
                send("354 go ahead")
                data = b""
                while True:
                    chunk = f.readline()
                    if not chunk:
                        return
                    if chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                with self.lock:
                    reply = b.data_replies.pop(0) if b.data_replies else "250 2.0.0 queued"
                    if reply.startswith("250"):
                        self.messages.append({"sender": state["sender"], "recipients": state["rcpts"], "data": data,
                                              "tls": state["tls"], "auth": state["auth"]})
                send(reply)
                state["sender"] = None
            elif verb == "RSET":
                state["sender"] = None
                send("250 2.0.0 ok")
            elif verb == "QUIT":
                send("221 2.0.0 bye")
                return
            else:
                send("502 5.5.2 unknown")
