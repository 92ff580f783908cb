"""Write etcd WAL records the way etcd frames them, for tests of the offline log reader."""


def varint(number):
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def message(*fields):
    """A protobuf message of (field number, int or bytes) pairs."""
    out = b""
    for number, value in fields:
        if isinstance(value, int):
            out += varint(number << 3) + varint(value)
        else:
            out += varint(number << 3 | 2) + varint(len(value)) + value
    return out


def record(kind, data):
    return message((1, kind), (2, 12345), (3, data))


def frame(rec):
    """A length field (padding bits set when the record is not 8-byte aligned), the record, the padding."""
    padding = (8 - len(rec) % 8) % 8
    length = len(rec) | ((0x80 | padding) << 56 if padding else 0)
    return length.to_bytes(8, "little") + rec + bytes(padding)


def metadata(node_id, cluster_id):
    return record(1, message((1, node_id), (2, cluster_id)))


def entry(term, index, data=b"put"):
    return record(2, message((1, 0), (2, term), (3, index), (4, data)))


def hard_state(term, vote, commit):
    return record(3, message((1, term), (2, vote), (3, commit)))


def snapshot(index, term):
    return record(5, message((1, index), (2, term)))


def crc():
    return record(4, b"")
