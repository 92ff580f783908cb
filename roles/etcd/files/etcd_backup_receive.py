# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What a member's push key may do on an SSH target's host: ``python3 -I etcd_backup_receive.py DIRECTORY...``.

The etcd role installs this file (root's, 0644) on the host of every SSH target of a member's push
(docs/backup-targets.md, "From the members") and authorizes each member's push key for the account
``etcd-backup`` only as a forced command, from the member's address::

    command="python3 -I /usr/local/lib/raftops-etcd/etcd_backup_receive.py /srv/etcd-backups",restrict,from="10.0.0.11" ssh-ed25519 AAAA...

sshd runs it whatever command the client asked for, which it reads from SSH_ORIGINAL_COMMAND: one
request of a fixed protocol, about one backup object in one of the DIRECTORY arguments (the SSH
targets of that host; the account owns them, mode 0700). Nothing else is run, no shell, no other
path:

    put DIR NAME SIZE SHA256   stdin, exactly SIZE bytes of that SHA-256, into a hidden part file of
                               DIR, renamed into place once verified; an existing NAME is refused
    list DIR                   ``NAME SIZE MTIME`` of each backup object and segment (a regular file) in DIR
    head DIR NAME BYTES        the first BYTES bytes of the object (BYTES at most MAX_HEAD)
    get DIR NAME               the whole object
    sha256 DIR NAME            ``SIZE SHA256`` of the object
    delete DIR NAME            the object removed
    cleanup DIR                the part files of puts killed over an hour ago removed (put does it too)

DIR must be one of the directories this command was given, as given; NAME a backup object's name
(``etcd-snapshot-<...>.enc``: NAME_PATTERN, the collection's etcd_backup_crypto.OBJECT_PREFIX and
OBJECT_SUFFIX) or a segment of the change stream's (``etcd-stream-<first>-<last>.enc``, each revision
16 digits: SEGMENT_PATTERN, the collection's stream_segments.NAME). Anything else (a shell command, another verb, a path, ``..``, a name of another
form, a link or a file that is not regular) is refused on stderr with exit status 2, and nothing in
the directory changes. The directory is opened without following a link, and every object through
it, also without following one. Standard library only: the targets' hosts need only python3.
"""

import hashlib
import os
import re
import secrets
import stat
import sys
import time

# A backup object's name, as the push and the backup playbook make them (etcd-snapshot-<UTC time>.db.enc);
# a name of the collection's form (crypto.is_backup_object) in characters no shell or path reads.
NAME_PATTERN = re.compile(r"\Aetcd-snapshot-[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.enc\Z")
# A segment of the change stream (etcd_backup_stream.py): its first and last revisions, zero-padded.
SEGMENT_PATTERN = re.compile(r"\Aetcd-stream-[0-9]{16}-[0-9]{16}\.enc\Z")
# The most a head request reads: more than a backup's header, label and signature (crypto.MAX_HEAD_SIZE).
MAX_HEAD = 65536
# Part files of puts that died are removed after an hour.
PART_AGE = 3600
PART_PATTERN = re.compile(r"\A\.etcd-(snapshot|stream)-[A-Za-z0-9_.-]+\.part\Z")
BLOCK = 1 << 20
USAGE = ("expected one of: put DIR NAME SIZE SHA256 | list DIR | head DIR NAME BYTES | get DIR NAME | "
         "sha256 DIR NAME | delete DIR NAME | cleanup DIR")
# The verbs and the number of arguments each takes after DIR.
VERBS = {"put": 3, "list": 0, "head": 2, "get": 1, "sha256": 1, "delete": 1, "cleanup": 0}


class Refused(Exception):
    """A request this command does not carry out; nothing was changed."""


def _is_object(name):
    """Whether ``name`` is one this command serves: a full backup's or a segment's."""
    return bool(SEGMENT_PATTERN.match(name) or (NAME_PATTERN.match(name) and ".." not in name))


def _name(name):
    if not _is_object(name):
        raise Refused("%r is not a backup object's name (etcd-snapshot-<...>.enc or etcd-stream-<first>-<last>.enc)"
                      % name)
    return name


def _number(text, what, most=None):
    if not re.match(r"\A[0-9]{1,15}\Z", text):
        raise Refused("%s %r is not a number" % (what, text))
    value = int(text)
    if most is not None and not 0 < value <= most:
        raise Refused("%s %d is not between 1 and %d" % (what, value, most))
    return value


def _open_object(directory, name):
    """A read descriptor of the regular file ``name`` in ``directory`` (a descriptor), never through a link."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
    except FileNotFoundError:
        raise Refused("no object %s" % name) from None
    except OSError as exc:
        raise Refused("object %s cannot be opened: %s" % (name, exc.strerror)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Refused("object %s is not a regular file" % name)
    os.set_blocking(fd, True)
    return fd


def _blocks(fd, limit=None):
    left = limit
    while left is None or left > 0:
        block = os.read(fd, BLOCK if left is None else min(BLOCK, left))
        if not block:
            return
        if left is not None:
            left -= len(block)
        yield block


def cleanup(directory, now=None):
    """Remove the part files of puts that died (older than PART_AGE); their names."""
    now = time.time() if now is None else now
    removed = []
    for entry in os.listdir(directory):
        if not PART_PATTERN.match(entry):
            continue
        try:
            info = os.stat(entry, dir_fd=directory, follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < now - PART_AGE:
                os.unlink(entry, dir_fd=directory)
                removed.append(entry)
        except FileNotFoundError:
            continue
    return removed


def put(directory, name, size, sha256, source):
    """Exactly ``size`` bytes of ``source`` whose SHA-256 is ``sha256``, as ``name``: written to a part
    file of a name no one can guess, checked, then linked into place (which refuses an existing name)."""
    if not re.match(r"\A[0-9a-f]{64}\Z", sha256):
        raise Refused("%r is not a SHA-256 (64 hexadecimal digits)" % sha256)
    if _exists(directory, name):
        raise Refused("object %s is there already: not written again" % name)
    cleanup(directory)
    part = ".%s.%s.part" % (name, secrets.token_hex(8))
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=directory)
    try:
        digest, got = hashlib.sha256(), 0
        with os.fdopen(fd, "wb", closefd=True) as out:
            while got < size:
                block = source.read(min(BLOCK, size - got))
                if not block:
                    break
                digest.update(block)
                out.write(block)
                got += len(block)
            if got < size:
                raise Refused("the copy of %s is not what was sent (cut short?): %d of %d bytes" % (name, got, size))
            if source.read(1):
                raise Refused("the copy of %s is not what was sent: more than %d bytes" % (name, size))
            if digest.hexdigest() != sha256:
                raise Refused("the copy of %s is not what was sent: SHA-256 %s, not %s"
                              % (name, digest.hexdigest(), sha256))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(part, name, src_dir_fd=directory, dst_dir_fd=directory, follow_symlinks=False)
        except FileExistsError:
            raise Refused("object %s is there already: not written again" % name) from None
    finally:
        try:
            os.unlink(part, dir_fd=directory)
        except FileNotFoundError:
            pass
    os.fsync(directory)
    return "%s %d %s\n" % (name, size, sha256)


def _exists(directory, name):
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def listing(directory):
    lines = []
    for entry in sorted(os.listdir(directory)):
        if not _is_object(entry):
            continue
        try:
            info = os.stat(entry, dir_fd=directory, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            lines.append("%s %d %.6f\n" % (entry, info.st_size, info.st_mtime))
    return "".join(lines)


def sha256_of(directory, name):
    fd = _open_object(directory, name)
    try:
        digest, size = hashlib.sha256(), 0
        for block in _blocks(fd):
            digest.update(block)
            size += len(block)
    finally:
        os.close(fd)
    return "%d %s\n" % (size, digest.hexdigest())


def send(directory, name, out, limit=None):
    fd = _open_object(directory, name)
    try:
        for block in _blocks(fd, limit):
            out.write(block)
    finally:
        os.close(fd)


def delete(directory, name):
    try:
        info = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        raise Refused("no object %s" % name) from None
    if not stat.S_ISREG(info.st_mode):
        raise Refused("object %s is not a regular file: not deleted" % name)
    os.unlink(name, dir_fd=directory)
    return "deleted %s\n" % name


def open_directory(path):
    """A descriptor of ``path``, a directory reached without following a link at its end."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise Refused("directory %s cannot be opened: %s" % (path, exc.strerror)) from None


def serve(request, directories, stdin, stdout):
    """Carry out one ``request`` (SSH_ORIGINAL_COMMAND) in one of ``directories``; Refused otherwise."""
    words = (request or "").split(" ")
    verb = words[0]
    if not request or verb not in VERBS:
        raise Refused("%r is not a request of the backup push: %s" % ((request or "")[:200], USAGE))
    if len(words) != VERBS[verb] + 2 or not all(words):
        raise Refused("%s takes %d argument(s) after DIR: %s" % (verb, VERBS[verb], USAGE))
    where, args = words[1], words[2:]
    if where not in directories:
        raise Refused("%r is not a directory this key may use" % where[:200])
    if verb in ("list", "cleanup"):
        directory = open_directory(where)
        try:
            if verb == "list":
                stdout.write(listing(directory).encode())
            else:
                stdout.write("".join("removed %s\n" % n for n in cleanup(directory)).encode())
        finally:
            os.close(directory)
        return
    name = _name(args[0])
    if verb == "put":
        size = _number(args[1], "size")
        sha256 = args[2]
    elif verb == "head":
        limit = _number(args[1], "byte count", MAX_HEAD)
    directory = open_directory(where)
    try:
        if verb == "put":
            stdout.write(put(directory, name, size, sha256, stdin).encode())
        elif verb == "head":
            send(directory, name, stdout, limit)
        elif verb == "get":
            send(directory, name, stdout)
        elif verb == "sha256":
            stdout.write(sha256_of(directory, name).encode())
        else:
            stdout.write(delete(directory, name).encode())
    finally:
        os.close(directory)


def main(argv, environ=None, stdin=None, stdout=None, stderr=None):
    environ = os.environ if environ is None else environ
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    stderr = stderr or sys.stderr
    directories = argv[1:]
    if not directories or not all(os.path.isabs(d) for d in directories):
        print("etcd_backup_receive: refused: no absolute directory given to the forced command", file=stderr)
        return 2
    try:
        serve(environ.get("SSH_ORIGINAL_COMMAND", ""), directories, stdin, stdout)
    except Refused as exc:
        print("etcd_backup_receive: refused: %s" % exc, file=stderr)
        return 2
    except OSError as exc:
        print("etcd_backup_receive: failed: %s" % exc, file=stderr)
        return 1
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
