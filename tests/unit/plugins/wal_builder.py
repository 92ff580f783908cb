"""Write etcd WAL records the way etcd frames them, for tests of the offline log reader."""

import json


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


def entry(term, index, data=b"put", entry_type=0):
    return record(2, message((1, entry_type), (2, term), (3, index), (4, data)))


def conf_change(term, index, kind, node_id, **member):
    """An EntryConfChange: ConfChange{type, node_id, context: the member as etcd writes it, JSON}."""
    context = json.dumps(member).encode() if member else b""
    return entry(term, index, message((2, kind), (3, node_id), (4, context)), entry_type=1)


def member_attr_set(term, index, node_id, name, client_url):
    """etcd 3.5's publish: InternalRaftRequest{header, cluster_member_attr_set{member_ID, {name, client_urls}}}."""
    attributes = message((1, name.encode()), (2, client_url.encode()))
    return entry(term, index, message((100, message((1, 7))), (1301, message((1, node_id), (2, attributes)))))


def v2_request(term, index, method, path, value=b""):
    """A v2 API request as etcd 3.4 and 3.5 log it: etcdserverpb.Request{ID, Method, Path, Val}."""
    return entry(term, index, message((1, 9), (2, method), (3, path), (4, value)))


def v2_publish(term, index, node_id, name, client_url):
    """etcd 3.4's publish: a v2 Request PUT /0/members/<hex id>/attributes."""
    value = json.dumps({"name": name, "clientURLs": [client_url]}).encode()
    return entry(term, index, message((1, 9), (2, b"PUT"), (3, b"/0/members/%x/attributes" % node_id), (4, value)))


def snap_file(index, term, voters, learners, members, v2_nodes=None):
    """A member/snap file: snappb.Snapshot{crc, raftpb.Snapshot{v2 store JSON, {ConfState, index, term}}}.

    ``members``: {id: (name, peer URL, client URL)}; ``v2_nodes``: more top nodes of the v2 store.
    """
    children = {"%x" % member_id: {"Children": {
        "raftAttributes": {"Value": json.dumps({"peerURLs": [peer]})},
        "attributes": {"Value": json.dumps({"name": name, "clientURLs": [client]})}}}
        for member_id, (name, peer, client) in members.items()}
    store = {"Root": {"Children": {"0": {"Children": {"members": {"Children": children}}}, **(v2_nodes or {})}}}
    conf_state = message(*[(1, voter) for voter in voters], *[(2, learner) for learner in learners])
    metadata_ = message((1, conf_state), (2, index), (3, term))
    return message((1, 99), (2, message((1, json.dumps(store).encode()), (2, metadata_))))


def hard_state(term, vote, commit):
    return record(3, message((1, term), (2, vote), (3, commit)))


def snapshot(index, term, conf_state=None):
    return record(5, message((1, index), (2, term), *([(3, conf_state)] if conf_state else [])))


def crc():
    return record(4, b"")
