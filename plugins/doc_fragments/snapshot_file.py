# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """The snapshot file and the etcdutl program of etcd_snapshot_info and etcd_snapshot_restore."""

    DOCUMENTATION = r"""
options:
  src:
    description:
      - The snapshot file, for example one M(raftops.etcd.etcd_snapshot) saved or C(etcdctl snapshot save) wrote.
      - "It is checked without etcd: the file exists; its size is a multiple of 512 plus 32; its last 32 bytes
        are the SHA-256 of everything before them; the database is a whole number of bbolt pages; the bbolt meta
        pages at offsets 0 and page size have the magic V(0xED0CDAED), version 2, the meta page flag and a valid
        FNV-1a checksum, and say no more pages are in use than the file holds."
      - The task fails when a check fails, naming each problem (a hash mismatch gives the expected and the
        actual hash) and returning the same fields as a sound file.
    type: path
    required: true
  etcdutl_path:
    description:
      - The C(etcdutl) (etcd 3.5 and later) or C(etcdctl) (etcd 3.4 or 3.5) program to run for C(snapshot status)
        and C(snapshot restore); its C(version) output tells which it is.
      - By default C(etcdutl) is looked for in C(/usr/local/bin) and then E(PATH), then C(etcdctl) the same
        way. C(etcdctl) 3.6 and later has no C(snapshot) restore or status and is skipped.
      - M(raftops.etcd.etcd_snapshot_info) works without one (the revision and key count are then read from the
        file itself); M(raftops.etcd.etcd_snapshot_restore) fails without one.
    type: path
notes:
  - A snapshot holds the v3 keyspace only, at the revision it was taken.
"""
