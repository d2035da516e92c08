#!/usr/bin/env python3
"""The include rules of mailstead's layers, checked over the source tree.

Every product file belongs to one group (the first rule of GROUPS whose prefix its path starts
with), and every include names one layer (LAYERS; system and third-party headers that are not
listed belong to none and are always allowed). A group may include only the layers it lists.
docs/ARCHITECTURE.md ("Layers") shows the same table; keep the two together.

usage: check_layers.py [ROOT]     exit status 1 and one line per violation when any is found
"""

import pathlib
import re
import sys

# Layer of an include, by the first prefix it starts with.
LAYERS = [
    ("lmdb.h", "lmdb"),
    ("storage/detail/lmdb.hpp", "lmdb"),  # includes lmdb.h: whoever includes it needs LMDB
    ("openssl/", "openssl"),
    ("boost/", "asio"),  # Boost here is Asio (and, later, Beast): the event loop
    ("common/net/", "net"),
    ("common/dkim/", "dkim"),
    ("common/dns/", "dns"),
    ("common/spf/", "spf"),
    ("common/dmarc/", "dmarc"),
    ("common/milter/", "milter"),
    ("common/srs/", "srs"),
    ("common/", "base"),
    ("storage/detail/", "storage-internals"),
    ("storage/", "storage"),
    ("session/", "session"),
    ("smtpd/proto/", "smtp-proto"),
    ("pop3d/proto/", "pop3-proto"),
    ("imapd/proto/", "imap-proto"),
    ("smtpd/", "smtpd"),
    ("pop3d/", "pop3d"),
    ("imapd/", "imapd"),
    ("admin/", "admin"),
    ("sendmail/", "sendmail"),
]

_DAEMON_SUPPORT = {"base", "net", "dkim", "dns", "spf", "dmarc", "milter", "srs", "asio", "openssl", "storage",
                   "session"}

# Group of a file, by the first prefix its path starts with, and the layers it may include.
GROUPS = [
    ("common/net/", "net", {"base", "net", "asio", "openssl"}),
    # Mail authentication: pure parsing and canonicalisation, and libcrypto; no sockets.
    ("common/dkim/", "dkim", {"base", "dkim", "openssl"}),
    # DNS through c-ares on the event loop; its response parser is pure.
    ("common/dns/", "dns", {"base", "dns", "net", "asio"}),
    # SPF: records and macros (pure), and the check, a coroutine over a lookup function.
    ("common/spf/", "spf", {"base", "spf", "dns", "net", "asio"}),
    # DMARC: records, alignment, verdicts; pure but for libpsl's list.
    ("common/dmarc/", "dmarc", {"base", "dmarc"}),
    # The milter protocol (pure) and one connection to a filter on the event loop.
    ("common/milter/", "milter", {"base", "milter", "net", "asio"}),
    # SRS: address rewriting, pure but for libcrypto's HMAC.
    ("common/srs/", "srs", {"base", "srs", "openssl"}),
    # mailstead_base: parsers and readers, testable and fuzzable without a socket.
    ("common/", "base", {"base"}),
    # Only storage/ knows LMDB; its libcrypto use is SHA-256 of message bytes.
    ("storage/", "storage", {"base", "storage", "storage-internals", "lmdb", "openssl"}),
    ("session/", "session", _DAEMON_SUPPORT),
    # Protocol syntax: no storage, no sockets, no TLS.
    ("smtpd/proto/", "smtp-proto", {"base", "smtp-proto"}),
    ("pop3d/proto/", "pop3-proto", {"base", "pop3-proto"}),
    ("imapd/proto/", "imap-proto", {"base", "imap-proto"}),
    ("smtpd/", "smtpd", _DAEMON_SUPPORT | {"smtp-proto", "smtpd"}),
    ("pop3d/", "pop3d", _DAEMON_SUPPORT | {"pop3-proto", "pop3d"}),
    ("imapd/", "imapd", _DAEMON_SUPPORT | {"imap-proto", "imapd"}),
    ("admin/", "admin", _DAEMON_SUPPORT | {"admin"}),
    # A client of smtpd's local socket: it never opens the store.
    ("sendmail/", "sendmail", {"base", "smtp-proto", "sendmail"}),
    ("fuzz/", "fuzz", {"base", "dkim", "dns", "spf", "dmarc", "milter", "srs", "smtp-proto", "pop3-proto",
                       "imap-proto"}),
    ("bench/", "bench", {"base", "storage"}),
    # Tests may use every layer, storage's record layouts included, but never LMDB itself:
    # the storage tests reach the backend through storage/testing.hpp.
    ("tests/", "tests", {layer for _, layer in LAYERS} - {"lmdb"}),
]

SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".cc", ".in"}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')


def layer_of(include):
    for prefix, layer in LAYERS:
        if include == prefix or include.startswith(prefix):
            return layer
    return None


def group_of(path):
    for prefix, name, allowed in GROUPS:
        if path.startswith(prefix):
            return name, allowed
    return None


def violations(root):
    """Yields 'path:line: ...' for every include that crosses a forbidden line."""
    root = pathlib.Path(root)
    for file in sorted(root.rglob("*")):
        if file.suffix not in SOURCE_SUFFIXES or not file.is_file():
            continue
        path = file.relative_to(root).as_posix()
        group = group_of(path)
        if group is None:
            continue  # build trees, generated files, scripts
        name, allowed = group
        for number, text in enumerate(file.read_text(errors="replace").splitlines(), start=1):
            match = INCLUDE.match(text)
            if not match:
                continue
            layer = layer_of(match.group(1))
            if layer is not None and layer not in allowed:
                yield f"{path}:{number}: includes {match.group(1)} ({layer}), which {name} may not use"


def main(argv):
    root = argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
    found = list(violations(root))
    for line in found:
        print(line)
    print(f"{len(found)} include(s) across a forbidden line" if found else "layers: every include is allowed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
