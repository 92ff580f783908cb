"""Make the collection importable as ``ansible_collections.raftops.etcd`` for plain pytest runs.

The collection is exposed through a symlink tree under ``.cache/collections`` (the same tree
the Makefile builds for ansible-test and Molecule), so the tests import exactly the files in
this checkout.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "raftops", "etcd")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
