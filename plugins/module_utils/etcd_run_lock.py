# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The etcd role's run lock: who holds it, whether that run still lives, and the keeper.

The role's holder reads ``ansible-playbook (PLAY) on HOST by USER, pid PID, started TIME``
(roles/etcd/vars/main.yml). A lock held by a run of this very controller whose ansible-playbook
process is gone (killed, crashed, its terminal closed) is taken over at once: nothing else can be
running it. A run of another controller cannot be looked at from here; its lease is short, and
kept alive only while its run lives (the keeper below), so it frees the cluster within a TTL.

The keeper is a process detached on the controller for the length of a run. It holds the lock
file of the controller's PKI directory (so two runs never write one PKI directory at once) and
renews the run lock's lease while the ansible-playbook process lives. It revokes nothing: the
run's own end releases the lock, and a run that dies leaves a lease that expires within its TTL.
"""

import errno
import fcntl
import os
import re
import time

HOLDER_RE = re.compile(
    r"^ansible-playbook \((?P<play>.*)\) on (?P<host>\S+) by (?P<user>.*), pid (?P<pid>[0-9]+), started (?P<started>\S+)$")
# The lock file sits beside the PKI directory, not in it: what the directory holds stays the PKI.
PKI_LOCK_SUFFIX = ".lock"
# How often the keeper looks whether the run still lives.
LIFE_CHECK_INTERVAL = 1.0


def parse_holder(text):
    """dict(play, host, user, pid, started) of a holder the role wrote, or None for another one."""
    match = HOLDER_RE.match(" ".join(str(text or "").split()))
    if not match:
        return None
    holder = match.groupdict()
    holder["pid"] = int(holder["pid"])
    return holder


def run_pids(text):
    """The process IDs in ``pgrep``'s output (one a line)."""
    return sorted({int(word) for word in str(text or "").split() if word.isdigit()})


def dead_holder(holder, controller):
    """Why the run that ``holder`` names is dead, or None when it may live.

    ``controller`` is dict(host, run_pids): this controller's host name and the process IDs of the
    ansible-playbook processes that run on it now. Only a run of this controller can be known dead:
    its pid no longer runs ansible-playbook (gone, or reused by another program).
    """
    parsed = parse_holder(holder)
    if parsed is None or not controller or parsed["host"] != controller.get("host"):
        return None
    if parsed["pid"] in set(int(pid) for pid in controller.get("run_pids") or []):
        return None
    return "pid %d on %s runs no ansible-playbook any more" % (parsed["pid"], parsed["host"])


def same_run(holder, other):
    """Whether two holders the role wrote name one ansible-playbook process (host and pid)."""
    first, second = parse_holder(holder), parse_holder(other)
    return bool(first and second and (first["host"], first["pid"]) == (second["host"], second["pid"]))


def process_lives(pid):
    """Whether a process with this ID exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PkiDirBusy(Exception):
    """The PKI directory's lock file is held by another run."""


def pki_lock_path(pki_dir):
    """The lock file of a PKI directory: ``<pki_dir>.lock`` beside it."""
    return os.path.normpath(pki_dir) + PKI_LOCK_SUFFIX


def lock_pki_dir(pki_dir, holder):
    """Take the lock file of the PKI directory for ``holder``; returns its open descriptor.

    flock(2): the lock stays with the descriptor, so a child that inherits it holds it, and the
    kernel drops it when the last process holding it ends, however it ends. Returns None when the
    holder of the lock is this run (``holder``'s host and pid: a later play of the same run).
    Raises PkiDirBusy with the other holder's words when another process holds it.
    """
    path = pki_lock_path(pki_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            os.close(fd)
            raise
        other = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        if same_run(holder, other):
            return None
        raise PkiDirBusy("%s is in use by %s" % (pki_dir, other)) from None
    os.ftruncate(fd, 0)
    os.write(fd, holder.encode("utf-8"))
    return high_fd(fd)


def high_fd(fd):
    """The descriptor moved to 3 or above: a keeper's standard streams are replaced by /dev/null
    (the module may run with one of them closed, and an open then reuses its number)."""
    if fd >= 3:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 3)
    os.close(fd)
    return moved


def pki_connection(pki_dir, pair="admin"):
    """(ca_cert, client_cert, client_key) in the controller's PKI directory, looked up at each
    renewal: during a CA rotation the trusted CAs are in ca-bundle.pem, and the pairs re-issued."""
    bundle = os.path.join(pki_dir, "ca-bundle.pem")
    ca_cert = bundle if os.path.exists(bundle) else os.path.join(pki_dir, "ca.pem")
    return ca_cert, os.path.join(pki_dir, pair + ".pem"), os.path.join(pki_dir, pair + "-key.pem")


def keep(pid, renew, interval, lives=process_lives, clock=time.monotonic, sleep=time.sleep):
    """Renew a lease every ``interval`` seconds while the process ``pid`` lives; return when it ends.

    ``renew()`` renews the lease and returns the seconds it has left (0 once it is gone: the run
    released the lock, or it expired), or raises (etcd did not answer: tried again next time).
    Once the lease is gone nothing is renewed, but the keeper stays until the run ends: it holds
    the PKI directory's lock for the run. Returns the number of renewals.
    """
    renewals = 0
    leased = True
    due = clock() + interval
    while lives(pid):
        if leased and clock() >= due:
            due = clock() + interval
            try:
                leased = renew() > 0
                renewals += 1
            except Exception:  # pylint: disable=broad-except
                pass  # an endpoint that does not answer now may next time; the lease outlives a miss
        sleep(LIFE_CHECK_INTERVAL)
    return renewals


def detach(keep_fds):
    """Fork a detached keeper: True in the keeper, False in the caller (after the first child ended).

    Double fork and a new session, so that the keeper is in no process group of the run (a kill of
    the run's group leaves it to notice the run is gone) and is nobody's child to wait for. Its
    standard streams go to /dev/null and every other descriptor but ``keep_fds`` is closed, so that
    no pipe of the caller stays open (Ansible reads the module's output to its end).
    """
    first = os.fork()
    if first:
        os.waitpid(first, 0)
        return False
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for fd in range(3, _max_fd()):
        if fd not in keep_fds:
            try:
                os.close(fd)
            except OSError:
                pass
    os.chdir("/")
    return True


def _max_fd():
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (ValueError, OSError):
        return 1024
