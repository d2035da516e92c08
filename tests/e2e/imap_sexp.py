"""Reading IMAP response data (RFC 9051 §9) into Python values, for tests that compare
structures rather than spellings: lists for parenthesised lists, None for NIL, int for
numbers, str (bytes decoded as Latin-1, one character per byte) for quoted strings, literals
and atoms."""


def parse(data: bytes):
    """Parses one value at the start of `data`; returns (value, rest)."""
    value, pos = _value(data, 0)
    return value, data[pos:]


def parse_all(data: bytes):
    values, pos = [], 0
    while pos < len(data):
        if data[pos:pos + 1] == b" ":
            pos += 1
            continue
        value, pos = _value(data, pos)
        values.append(value)
    return values


def _value(data, pos):
    c = data[pos:pos + 1]
    if c == b"(":
        items, pos = [], pos + 1
        while data[pos:pos + 1] != b")":
            if data[pos:pos + 1] == b" ":
                pos += 1
                continue
            item, pos = _value(data, pos)
            items.append(item)
        return items, pos + 1
    if c == b'"':
        out, pos = bytearray(), pos + 1
        while data[pos:pos + 1] != b'"':
            if data[pos:pos + 1] == b"\\":
                pos += 1
            out += data[pos:pos + 1]
            pos += 1
        return out.decode("latin-1"), pos + 1
    if c in (b"{", b"~"):
        start = data.index(b"{", pos) + 1
        end = data.index(b"}", start)
        size = int(data[start:end].rstrip(b"+"))
        body = data[end + 3:end + 3 + size]
        return body.decode("latin-1"), end + 3 + size
    end = pos
    while end < len(data) and data[end:end + 1] not in (b" ", b")", b"("):
        end += 1
    atom = data[pos:end].decode("latin-1")
    if atom.upper() == "NIL":
        return None, end
    if atom.isdigit():
        return int(atom), end
    return atom, end


def fetch_items(response: bytes):
    """`* n FETCH (NAME value NAME value ...)` (literals inline) to {NAME: value}."""
    start = response.index(b"FETCH (") + len(b"FETCH ")
    items, _ = parse(response[start:])
    return {items[i].upper(): items[i + 1] for i in range(0, len(items), 2)}
