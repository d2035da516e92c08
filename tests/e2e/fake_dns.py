"""A small authoritative DNS server for the tests, on a loopback UDP and TCP port: it answers
A, AAAA, MX, CNAME, TXT, PTR and SRV from a dict, NXDOMAIN for names it does not know, NODATA for
known names without the type asked, and SERVFAIL for the names told to fail, nothing at all for the silent ones; with
negative_ttl, negative answers carry an SOA saying how long they hold (RFC 2308). Each
question is recorded in `queries`, so that a test can see what was asked (and what a cache
kept from being asked again). Nothing leaves loopback."""

import errno
import socket
import socketserver
import struct
import threading

TYPES = {"A": 1, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}


def encode_name(name):
    if name in ("", "."):
        return b"\x00"
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def decode_name(packet, offset):
    labels = []
    while True:
        length = packet[offset]
        if length == 0:
            return ".".join(labels), offset + 1
        if length & 0xC0:
            pointer = struct.unpack("!H", packet[offset:offset + 2])[0] & 0x3FFF
            rest, _ = decode_name(packet, pointer)
            labels.append(rest)
            return ".".join(labels), offset + 2
        labels.append(packet[offset + 1:offset + 1 + length].decode())
        offset += 1 + length


class Zone:
    """records: {"name": [("MX", (10, "mx.example.org")), ("A", "127.0.0.2"), ("TXT", "v=spf1 -all"),
    ("A", "127.0.0.3", 5), ...]}: a third element is the record's TTL (60 otherwise). A TXT value
    is one string (sent in 255-byte character-strings) or a list of them."""

    def __init__(self, records=None, servfail=(), negative_ttl=None, silent=()):
        self.records = {k.lower().rstrip("."): v for k, v in (records or {}).items()}
        self.servfail = {n.lower() for n in servfail}
        self.silent = {n.lower() for n in silent}  # never answered: a server that has gone away
        self.negative_ttl = negative_ttl
        self.queries = []

    def rdata(self, rtype, value):
        if rtype == "A":
            return socket.inet_pton(socket.AF_INET, value)
        if rtype == "AAAA":
            return socket.inet_pton(socket.AF_INET6, value)
        if rtype == "MX":
            return struct.pack("!H", value[0]) + encode_name(value[1])
        if rtype == "SRV":  # (priority, weight, port, target)
            return struct.pack("!HHH", value[0], value[1], value[2]) + encode_name(value[3])
        if rtype in ("CNAME", "PTR"):
            return encode_name(value)
        if rtype == "TXT":
            strings = [value[i:i + 255] for i in range(0, max(len(value), 1), 255)] if isinstance(value, str) else value
            return b"".join(bytes([len(p.encode())]) + p.encode() for p in strings)
        raise ValueError(rtype)

    def answer(self, query):
        ident, flags = struct.unpack("!HH", query[:4])
        name, offset = decode_name(query, 12)
        qtype, qclass = struct.unpack("!HH", query[offset:offset + 4])
        question = query[12:offset + 4]
        name = name.lower()
        self.queries.append((name, qtype))
        if name in self.silent:
            return None
        rcode = 0
        answers = []
        if name in self.servfail:
            rcode = 2
        elif name not in self.records:
            rcode = 3
        else:
            current, seen = name, set()
            while current in self.records and current not in seen:
                seen.add(current)
                records = self.records[current]
                cname = [r for r in records if r[0] == "CNAME"]
                if cname and qtype != TYPES["CNAME"]:
                    answers.append((current, *cname[0]))
                    current = cname[0][1].lower().rstrip(".")
                    continue
                answers += [(current, *r) for r in records if TYPES[r[0]] == qtype]
                break
        authority = []
        if rcode in (0, 3) and not answers and self.negative_ttl is not None:
            authority.append(name)
        header = struct.pack("!HHHHHH", ident, 0x8400 | (flags & 0x0100) | rcode, 1, len(answers), len(authority), 0)
        body = b""
        for owner, rtype, value, *ttl in answers:
            data = self.rdata(rtype, value)
            body += encode_name(owner) + struct.pack("!HHIH", TYPES[rtype], 1, ttl[0] if ttl else 60, len(data)) + data
        for owner in authority:
            # RFC 2308 §5: the negative answer holds for the lesser of the SOA's TTL and MINIMUM.
            data = encode_name("ns." + owner) + encode_name("hostmaster." + owner) + struct.pack(
                "!IIIII", 1, 3600, 600, 86400, self.negative_ttl)
            body += encode_name(owner) + struct.pack("!HHIH", TYPES["SOA"], 1, 3600, len(data)) + data
        return header + question + body


class FakeDns:
    def __init__(self, zone, host="127.0.0.1"):
        self.zone = zone
        zone_ref = zone

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = zone_ref.answer(data)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                length = struct.unpack("!H", self.request.recv(2))[0]
                data = b""
                while len(data) < length:
                    data += self.request.recv(length - len(data))
                reply = zone_ref.answer(data)
                if reply is not None:
                    self.request.sendall(struct.pack("!H", len(reply)) + reply)

        # UDP and TCP on one port number. The kernel picks a free UDP port, but the same number
        # may be the local port of some TCP connection of the moment: then take another.
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        for attempt in range(100):
            self.udp = socketserver.ThreadingUDPServer((host, 0), Udp)
            self.port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer((host, self.port), Tcp)
                break
            except OSError as e:
                self.udp.server_close()
                if e.errno != errno.EADDRINUSE or attempt == 99:
                    raise
        for server in (self.udp, self.tcp):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self):
        for server in (self.udp, self.tcp):
            server.shutdown()
            server.server_close()
