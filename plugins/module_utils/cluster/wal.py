# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Read what a stopped member's write-ahead log says, without etcd.

Quorum recovery picks the survivor whose log has the most committed entries, and judges quorum
against the voting members that log commits to; this reads each survivor's log (and its newest raft
snapshot, where the log starts after one) offline, in pure Python, so that hosts need nothing but
python3.

A WAL directory holds files named <seq>-<index>.wal. Each is a stream of frames: an 8-byte
little-endian length field (record length in the low 56 bits; when the top bit is set, the three
bits below it give the padding that aligns the frame to 8 bytes) and a walpb.Record protobuf
{1: type, 2: crc, 3: data}. Preallocated space after the last frame is zeros.
"""

import json
import os

# walpb record types.
METADATA, ENTRY, STATE, CRC, SNAPSHOT = 1, 2, 3, 4, 5
# Wire types of protobuf fields.
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
# raftpb entry types, and the ConfChangeType of an EntryConfChange.
ENTRY_NORMAL, ENTRY_CONF_CHANGE = 0, 1
ADD_NODE, REMOVE_NODE, UPDATE_NODE, ADD_LEARNER_NODE = 0, 1, 2, 3
# InternalRaftRequest.cluster_member_attr_set (etcd 3.5+ publishes a member's name with it), and the
# bytes of its field key, to pass over the other entries without decoding them.
MEMBER_ATTR_SET = 1301
MEMBER_ATTR_SET_KEY = b"\xaa\x51"
# etcd 3.4 publishes a member's name as a v2 request: PUT /0/members/<hex id>/attributes.
V2_MEMBERS = b"/0/members/"
# etcd refuses records this large; a length beyond it is a torn or garbage frame, not a record.
MAX_RECORD_BYTES = 10 * 1024 * 1024


class WalError(Exception):
    pass


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise WalError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WalError("varint too long")


def each_field(data):
    """(field number, wire type, value) of each field of a protobuf message, in order: ints for
    varints, bytes otherwise."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire == LENGTH_DELIMITED:
            size, pos = read_varint(data, pos)
            value, pos = bytes(data[pos:pos + size]), pos + size
            if pos > len(data):
                raise WalError("truncated field %d" % number)
        elif wire == FIXED64:
            value, pos = bytes(data[pos:pos + 8]), pos + 8
        elif wire == FIXED32:
            value, pos = bytes(data[pos:pos + 4]), pos + 4
        else:
            raise WalError("unsupported wire type %d" % wire)
        yield number, wire, value


def fields(data):
    """{field number: last value} of a protobuf message: ints for varints, bytes otherwise."""
    return {number: value for number, _wire, value in each_field(data)}


def repeated(data, number):
    """Every value of a repeated varint field, packed or not."""
    values = []
    for field, wire, value in each_field(data):
        if field != number:
            continue
        if wire == VARINT:
            values.append(value)
        elif wire == LENGTH_DELIMITED:
            inner = 0
            while inner < len(value):
                item, inner = read_varint(value, inner)
                values.append(item)
    return values


def repeated_bytes(data, number):
    """Every value of a repeated length-delimited field."""
    return [value for field, wire, value in each_field(data) if field == number and wire == LENGTH_DELIMITED]


def frames(data):
    """(record type, record data) of each frame, stopping at preallocated zeros or a torn tail.

    Returns the records and whether the stream ended in a torn or unreadable frame.
    """
    records, pos = [], 0
    while pos + 8 <= len(data):
        length_field = int.from_bytes(data[pos:pos + 8], "little")
        if length_field == 0:
            return records, False
        length = length_field & ((1 << 56) - 1)
        padding = (length_field >> 56) & 0x7 if length_field >> 63 else 0
        end = pos + 8 + length
        if length > MAX_RECORD_BYTES or end + padding > len(data):
            return records, True
        try:
            record = fields(data[pos + 8:end])
        except WalError:
            return records, True
        records.append((record.get(1, 0), record.get(3, b"")))
        pos = end + padding
    return records, pos != len(data)


def wal_files(wal_dir):
    """The .wal files of a directory in log order (their names sort by sequence)."""
    return sorted(name for name in os.listdir(wal_dir) if name.endswith(".wal"))


def segments(wal_dir):
    """(name, records, torn) of each .wal file in log order. Only the last file may end torn (etcd
    repairs it on the next start): damage before it is an error."""
    names = wal_files(wal_dir)
    for number, name in enumerate(names):
        with open(os.path.join(wal_dir, name), "rb") as handle:
            records, torn = frames(handle.read())
        if torn and number < len(names) - 1:
            raise WalError("%s is damaged before its end" % name)
        yield name, records, torn


def log_state(wal_dir, snap_dir=None):
    """What the member's log holds: IDs, the last hard state, the last entry and its members.

    Entries are replayed in order: an entry at an index at or below the last one truncates the log
    there (raft overwrote a conflicting tail), so the last entry read is the end of the log.
    ``members`` is the membership the log commits to (the newest snapshot of ``snap_dir`` the log
    records, then the committed membership changes after it): {id, name, peer_urls, client_urls,
    learner} per member; ``members_error`` says why it is not known (then ``members`` is empty).
    """
    state = dict(node_id=None, cluster_id=None, term=0, vote=0, commit=0, last_index=0, last_term=0,
                 snapshot_index=0, snapshot_term=0, files=0, torn_tail=False, members=[], members_error="")
    # Membership changes and names in log order, (index, kind, data); truncated with the log.
    state["_changes"], state["_snapshots"] = [], {}
    for _name, records, torn in segments(wal_dir):
        state["files"] += 1
        state["torn_tail"] = torn
        for kind, data in records:
            apply_record(state, kind, data)
    changes, snapshots = state.pop("_changes"), state.pop("_snapshots")
    try:
        state["members"] = committed_members(state, changes, snapshots, snap_dir)
    except (WalError, ValueError) as error:
        state["members_error"] = str(error)
    return state


def apply_record(state, kind, data):
    values = fields(data)
    if kind == METADATA:
        state["node_id"], state["cluster_id"] = values.get(1, 0), values.get(2, 0)
    elif kind == STATE and values:
        # An empty hard state is written when the file is cut before any election; it says nothing.
        state["term"], state["vote"], state["commit"] = values.get(1, 0), values.get(2, 0), values.get(3, 0)
    elif kind == SNAPSHOT:
        state["snapshot_index"], state["snapshot_term"] = values.get(1, 0), values.get(2, 0)
        state["_snapshots"][state["snapshot_index"]] = values.get(3, b"")
        if state["snapshot_index"] > state["last_index"]:
            state["last_index"], state["last_term"] = state["snapshot_index"], state["snapshot_term"]
    elif kind == ENTRY:
        index, entry_type, entry_data = values.get(3, 0), values.get(1, 0), values.get(4, b"")
        state["last_term"], state["last_index"] = values.get(2, 0), index
        changes = state["_changes"]
        while changes and changes[-1][0] >= index:
            changes.pop()
        if entry_type == ENTRY_CONF_CHANGE or (entry_type == ENTRY_NORMAL and (
                MEMBER_ATTR_SET_KEY in entry_data or V2_MEMBERS in entry_data)):
            changes.append((index, entry_type, entry_data))


def committed_members(state, changes, snapshots, snap_dir):
    """The members after every committed change, from the newest snapshot both the log and snap_dir hold."""
    first_index = min(snapshots) if snapshots else 0
    base_index = max((index for index in snapshots if index and snap_file(snap_dir, index)), default=0)
    members = {}
    if base_index:
        members = snapshot_members(snap_file(snap_dir, base_index), snapshots[base_index])
    elif first_index:
        raise WalError("the log starts after raft snapshot %d, which the snap directory does not hold" % first_index)
    for index, entry_type, data in changes:
        if base_index < index <= state["commit"]:
            (apply_conf_change if entry_type == ENTRY_CONF_CHANGE else apply_member_name)(members, data)
    return [dict(members[member_id], id=member_id) for member_id in sorted(members)]


def snap_file(snap_dir, index):
    """The path of snap_dir's raft snapshot at ``index`` (files are named <term>-<index>.snap, in hex)."""
    if not snap_dir or not os.path.isdir(snap_dir):
        return None
    for name in os.listdir(snap_dir):
        parts = name[:-len(".snap")].split("-") if name.endswith(".snap") else []
        if len(parts) == 2 and int(parts[1], 16) == index:
            return os.path.join(snap_dir, name)
    return None


def snapshot_members(path, conf_state):
    """Members of a raft snapshot file: who votes from its ConfState, their URLs and names from the
    v2 store it carries (snappb.Snapshot{crc, data: raftpb.Snapshot{data, metadata}})."""
    with open(path, "rb") as handle:
        snapshot = fields(fields(handle.read()).get(2, b""))
    conf_state = conf_state or fields(snapshot.get(2, b"")).get(1, b"")
    voters, learners = set(repeated(conf_state, 1)), set(repeated(conf_state, 2))
    store = json.loads(snapshot.get(1, b"{}").decode("utf-8"))
    nodes = (((store.get("Root") or {}).get("Children") or {}).get("0") or {}).get("Children") or {}
    members = {}
    for hex_id, node in ((nodes.get("members") or {}).get("Children") or {}).items():
        children = node.get("Children") or {}
        raft = json.loads((children.get("raftAttributes") or {}).get("Value") or "{}")
        attributes = json.loads((children.get("attributes") or {}).get("Value") or "{}")
        members[int(hex_id, 16)] = dict(name=attributes.get("name", ""), peer_urls=raft.get("peerURLs") or [],
                                        client_urls=attributes.get("clientURLs") or [], learner=False)
    for member_id in voters | learners:
        members.setdefault(member_id, dict(name="", peer_urls=[], client_urls=[], learner=False))
        members[member_id]["learner"] = member_id in learners
    return {member_id: member for member_id, member in members.items() if member_id in voters | learners}


def apply_conf_change(members, data):
    """raftpb.ConfChange{type, node_id, context: the member as JSON} applied to members."""
    change = fields(data)
    kind, member_id = change.get(2, 0), change.get(3, 0)
    context = json.loads(change.get(4) or b"{}")
    if kind == REMOVE_NODE:
        members.pop(member_id, None)
        return
    member = members.setdefault(member_id, dict(name="", peer_urls=[], client_urls=[], learner=False))
    if context.get("peerURLs"):
        member["peer_urls"] = context["peerURLs"]
    if context.get("name"):
        member["name"] = context["name"]
    if kind == ADD_LEARNER_NODE:
        member["learner"] = True
    elif kind == ADD_NODE:
        member["learner"] = False


def apply_member_name(members, data):
    """A member's published name and client URLs: InternalRaftRequest.cluster_member_attr_set (3.5+),
    or a v2 PUT of /0/members/<hex id>/attributes (3.4)."""
    request = fields(data)
    if MEMBER_ATTR_SET in request:
        attr_set = fields(request[MEMBER_ATTR_SET])
        attributes = fields(attr_set.get(2, b""))
        member_id, name = attr_set.get(1, 0), attributes.get(1, b"").decode("utf-8")
        client_urls = [url.decode("utf-8") for url in repeated_bytes(attr_set.get(2, b""), 2)]
    else:
        path = request.get(3, b"")
        if request.get(2) != b"PUT" or not isinstance(path, bytes) or not path.startswith(V2_MEMBERS) \
                or not path.endswith(b"/attributes"):
            return
        member_id = int(path[len(V2_MEMBERS):-len(b"/attributes")], 16)
        attributes = json.loads(request.get(4) or b"{}")
        name, client_urls = attributes.get("name", ""), attributes.get("clientURLs") or []
    if member_id in members:
        members[member_id].update(name=name, client_urls=client_urls)


# What etcd 3.6 refuses of a 3.5 member's data (etcd's membership/storev2.go IsMetaStoreOnly, checked
# when 3.6 starts, and apply_v2.go, which stops 3.6 at any other v2 request in the log): v2 store
# content beside /0 (the members and the cluster version) and the empty /2/users and /2/roles that
# v2 auth leaves, and v2 requests but a PUT of a member's attributes or of the cluster version.
V2_META, V2_AUTH = "0", "2"
V2_METHODS = (b"PUT", b"POST", b"DELETE", b"QGET", b"GET", b"HEAD", b"SYNC")
V2_KEPT_PATHS = (b"/0/version",)


def v2_request(data):
    """(method, path) of an entry that is a v2 request (etcdserverpb.Request{ID, Method, Path, ...},
    written to the log as it is), or None for anything else (a v3 InternalRaftRequest)."""
    try:
        request = fields(data)
    except WalError:
        return None
    method, path = request.get(2), request.get(3)
    if method not in V2_METHODS or not isinstance(path, bytes):
        return None
    return method.decode(), path.decode("utf-8", "replace")


def v2_store_content(store):
    """The top nodes of a v2 store (its JSON, as a raft snapshot carries it) that hold content etcd
    3.6 refuses: ``["/1"]`` when v2 keys were written."""
    top = ((store or {}).get("Root") or {}).get("Children") or {}
    found = []
    for name, node in sorted(top.items()):
        children = (node or {}).get("Children") or {}
        if name == V2_META:
            continue
        if name == V2_AUTH:
            children = {key: child for key, child in children.items() if (child or {}).get("Children")}
        if children:
            found.append("/" + name)
    return found


def v2_content(wal_dir, snap_dir):
    """What of a member's data etcd 3.6 refuses, read offline and read-only (a running member is
    not disturbed: etcd's own ``etcdutl check v2store`` wants a stopped one, and renames a snap file
    it cannot read, as one being written):

    ``snapshot_index``: the newest raft snapshot that the log records, the snap directory holds and
    is committed (0: none); ``nodes``: its v2 store's top nodes with content (v2_store_content);
    ``requests``: the log's v2 requests after it that 3.6 does not apply, as "METHOD path".
    """
    snapshots, commit, requests = [], 0, []
    for _name, records, _torn in segments(wal_dir):
        for kind, data in records:
            values = fields(data)
            if kind == SNAPSHOT:
                snapshots.append(values.get(1, 0))
            elif kind == STATE and values:
                commit = values.get(3, 0)
            elif kind == ENTRY:
                index = values.get(3, 0)
                while requests and requests[-1][0] >= index:
                    requests.pop()
                request = v2_request(values.get(4, b"")) if values.get(1, 0) == ENTRY_NORMAL else None
                if request and not _kept_by_3_6(*request):
                    requests.append((index, ("%s %s" % request).strip()))
    base = max((index for index in snapshots if 0 < index <= commit and snap_file(snap_dir, index)), default=0)
    nodes = []
    if base:
        with open(snap_file(snap_dir, base), "rb") as handle:
            snapshot = fields(fields(handle.read()).get(2, b""))
        nodes = v2_store_content(json.loads(snapshot.get(1, b"{}").decode("utf-8")))
    return dict(snapshot_index=base, nodes=nodes, requests=[text for index, text in requests if index > base])


def _kept_by_3_6(method, path):
    return method == "PUT" and (path.encode() in V2_KEPT_PATHS or (
        path.startswith(V2_MEMBERS.decode()) and path.endswith("/attributes")))
