# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The one way the collection replaces a file: whole or not at all. Standard library only.

etcd reads its certificates on every new TLS connection and its CRL on every handshake, and a
snapshot is trusted by its name: none of them may ever be seen half written, with loose
permissions, or with an owner etcd cannot read. So a file is written to a temporary file beside it
(same file system, so the rename is atomic), created 0600, given its final mode and owner, synced,
and only then renamed over the old one; the rename is synced too, so a crash leaves the old file
or the new one. And the one way it reads a file's SHA-256 (sha256_of), and a text file that may not
be there (read_text).
"""

import hashlib
import os
import tempfile
from contextlib import contextmanager


class AtomicFile:
    """The temporary file being written: ``handle`` to write to, ``path`` to check or chown it."""

    def __init__(self, handle, path):
        self.handle = handle
        self.path = path

    def write(self, data):
        self.handle.write(data)


@contextmanager
def atomic_file(path, mode=0o600, suffix=".tmp"):
    """Replace ``path`` with what the block writes, only when the block finishes without an error.

    Yields an AtomicFile whose temporary file is already ``mode``. The block may read, check or
    chown ``AtomicFile.path`` after ``handle.flush()``. When it raises, the temporary file is removed
    and ``path`` is left as it was.
    """
    directory = os.path.dirname(path) or "."
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=suffix)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            yield AtomicFile(handle, temporary)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    fsync_directory(directory)


def write_file_atomically(path, data, mode):
    """Replace ``path`` with ``data`` (bytes), mode ``mode``; see ``atomic_file``."""
    with atomic_file(path, mode) as out:
        out.write(data)


def fsync_directory(directory):
    """Make a rename in ``directory`` durable; a file system that cannot is left as it is."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def sha256_of(path):
    """The SHA-256 of the file at ``path``, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text(path):
    """The text of the file at ``path`` (``~`` expanded), '' when there is none or it cannot be read."""
    try:
        with open(os.path.expanduser(str(path or "")), encoding="utf-8", errors="replace") as text:
            return text.read()
    except OSError:
        return ""
