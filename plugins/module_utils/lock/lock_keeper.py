# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""Starting the run lock's keeper (raftops.etcd.etcd_lock_keeper; the keeper itself is in
etcd_run_lock.py). The action plugin runs this within ansible-playbook's own process on the
controller, the module anywhere else."""

import errno
import gc
import os
import signal

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdError, first_answer, client_factory
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import GatewayLockStore
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import (
    PkiDirBusy, detach, ended_note, high_fd, keep, lock_pki_dir, mark_ended, pki_connection, process_lives, utcnow)

MODULE = "raftops.etcd.etcd_lock_keeper"


def argument_spec():
    return dict(
        pid=dict(type="int"),
        holder=dict(type="str"),
        pki_dir=dict(type="path"),
        hold_pki_dir=dict(type="bool", default=False),
        client_pair=dict(type="str", default="admin"),
        lease_id=dict(type="str"),
        lock_key=dict(type="str", no_log=False),
        endpoints=dict(type="list", elements="str", default=[]),
        tls=dict(type="bool", default=True),
        tls_verify=dict(type="bool", default=True),
        interval=dict(type="int", default=15),
        timeout=dict(type="float", default=5),
        auth_user=dict(type="str"),
        auth_password=dict(type="str", no_log=True),
        role=dict(type="dict", options=dict(
            lease_id=dict(type="str", default=""),
            lock_key=dict(type="str", default="", no_log=False),
            hold_pki_dir=dict(type="bool", default=False),
            members=dict(type="list", elements="dict", default=[]),
            hosts=dict(type="list", elements="str", default=[]),
            endpoints=dict(type="list", elements="str", default=[]),
            rotation=dict(type="dict", default={}),
        )),
    )


# The etcd role's variables role_options reads.
ROLE_VARIABLES = ("etcd_tls", "etcd_auto_tls", "etcd_pki_managed", "etcd_pki_dir", "etcd_run_lock_ttl")


def role_options(role, variables, play_hosts):
    """The keeper's options for a run of the etcd role (roles/etcd/tasks/run_keeper.yml), from the
    task's ``role`` (the lease its run lock took, whether the step holds the PKI directory, the
    plan's members, hosts with data and endpoints, the CA rotation), the role's ``variables``
    (ROLE_VARIABLES) and the play's hosts. Raises ValueError for a value it cannot read."""
    tls, auto_tls, managed = (_flag(variables, name) for name in ("etcd_tls", "etcd_auto_tls", "etcd_pki_managed"))
    try:
        ttl = int(variables["etcd_run_lock_ttl"])
    except (TypeError, ValueError):
        raise ValueError("etcd_run_lock_ttl must be a whole number of seconds, got %r"
                         % (variables["etcd_run_lock_ttl"],)) from None
    lease_id = role["lease_id"] or None
    options = dict(
        # The role never writes an operator's PKI directory (etcd_pki_managed=false).
        hold_pki_dir=role["hold_pki_dir"] and tls and managed,
        lease_id=lease_id,
        lock_key=(role.get("lock_key") or None) if lease_id else None,
        endpoints=list(role["endpoints"] or []) if lease_id else [],
        tls=tls and not auto_tls,
        tls_verify=not auto_tls,
        # Two renewals to miss before the lease expires.
        interval=max(ttl // 3, 1),
    )
    if tls:
        options["pki_dir"] = variables["etcd_pki_dir"]
    if lease_id and options["tls"]:
        options["client_pair"] = _client_pair(role, managed, list(role["hosts"] or []) + list(play_hosts))
    return options


def _flag(variables, name):
    try:
        return boolean(variables[name], strict=True)
    except TypeError:
        raise ValueError("%s must be true or false, got %r" % (name, variables[name])) from None


def _client_pair(role, managed, hosts):
    """admin; in an operator's PKI directory (no admin pair), the server pair of a member of the run
    (it allows client auth). Nor is admin trusted while members keep the pairs of an adopted
    cluster's own CA (phase 1 of its rotation): the new CA signed it, which they trust only once
    restarted."""
    if managed and not boolean((role["rotation"] or {}).get("members_kept") or False, strict=False):
        return "admin"
    for member in role["members"] or []:
        if member.get("host") in hosts:
            return member["name"]
    raise ValueError("no member among the run's hosts (%s) whose server pair renews the lease: the PKI directory "
                     "has no admin pair to renew it with" % ", ".join(hosts))


def _clients(params):
    """Clients of the endpoints, made afresh (the PKI files may change), and their connection."""
    connection = dict(tls_verify=params["tls_verify"], timeout=params["timeout"], auth_user=params["auth_user"],
                      auth_password=params["auth_password"])
    if params["tls"] and params["pki_dir"]:
        connection.update(zip(("ca_cert", "client_cert", "client_key"),
                              pki_connection(params["pki_dir"], params["client_pair"])))
    make_client = client_factory(connection)
    return [make_client(url) for url in params["endpoints"]], connection


def renewer(params, lease_id):
    """renew(): one keepalive of the lease."""
    def renew():
        clients, _connection = _clients(params)
        return first_answer(clients, lambda client: client.lease_keepalive_once(lease_id))
    return renew


def ender(params, lease_id, now=utcnow):
    """ended(): record in the lock (``lock_key``) that the run's process ended without releasing it,
    while ``lease_id`` still holds it (etcd_run_lock.mark_ended): the next run takes it over at once."""
    def ended():
        clients, connection = _clients(params)
        store = GatewayLockStore(clients, dict(connection, endpoints=params["endpoints"]))
        return mark_ended(store, params["lock_key"], lease_id, ended_note(
            params["pid"], now().strftime("%Y-%m-%dT%H:%M:%SZ")))
    return ended


def released_first(ended, fds):
    """``ended`` that first closes ``fds`` (the PKI directory's lock file): the run is over, so the
    next run may write the directory while the end is recorded in etcd (tried again for a while)."""
    if ended is None:
        return None

    def release_then_record():
        while fds:
            os.close(fds.pop())
        return ended()
    return release_then_record


def _failed(msg):
    return dict(failed=True, changed=False, msg=msg)


def start_keeper(params):
    """The module's result: the keeper started (``keeper_pid``), nothing to keep, or ``failed``
    with the reason. In the keeper itself this never returns."""
    if not params["pid"] or not params["holder"]:
        return _failed("pid and holder name the ansible-playbook run the keeper lives with: give both (the action "
                       "fills them on the controller)")
    if params["hold_pki_dir"] and not params["pki_dir"]:
        return _failed("hold_pki_dir needs pki_dir: the directory whose lock file to hold")
    if params["interval"] < 1:
        return _failed("interval must be at least 1 second, got %d" % params["interval"])
    if not process_lives(params["pid"]):
        return _failed("pid %d runs no process: give the pid of this ansible-playbook run" % params["pid"])
    if params["lease_id"] and not params["endpoints"]:
        return _failed("endpoints must name the etcd client URLs to renew the lease through")
    if not params["hold_pki_dir"] and not params["lease_id"]:
        return dict(changed=False, msg="nothing to keep: no lease_id, and no PKI directory to hold")
    keep_fds = set()
    result = dict(changed=False)
    not_held = None
    if params["hold_pki_dir"]:
        try:
            held = lock_pki_dir(params["pki_dir"], params["holder"])
        except PkiDirBusy as exc:
            return _failed("etcd_pki_dir %s: wait for that run to finish; nothing was changed" % exc)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                return _failed("etcd_pki_dir %s: cannot take its lock file: %s" % (params["pki_dir"], exc))
            not_held = "%s not held (%s)" % (params["pki_dir"], exc.strerror)
            held = None
        if held is not None:
            keep_fds.add(held)
    renew = ended = None
    if params["lease_id"]:
        lease_id = int(params["lease_id"], 16)
        renew = renewer(params, lease_id)
        ended = ender(params, lease_id) if params["lock_key"] else None
        missing = [path for path in pki_connection(params["pki_dir"], params["client_pair"]) if not os.path.exists(path)] \
            if params["tls"] and params["pki_dir"] else []
        if missing:
            # A PKI directory without the pair (a new or a wrong etcd_pki_dir): the certificate step
            # that comes next makes it, or refuses the directory naming why; the keeper renews with
            # the files from its first round on, well within the lease's TTL.
            result["renewal_deferred"] = "%s not there yet" % ", ".join(missing)
        else:
            try:
                result["expires_in"] = renew()
            except (EtcdError, OSError, ValueError) as exc:
                for fd in keep_fds:
                    os.close(fd)
                return _failed("the run lock's lease %s cannot be renewed from this controller through %s: %s. The "
                               "controller must reach the members' client URLs to keep the run lock alive"
                               % (params["lease_id"], ", ".join(params["endpoints"]), exc))
    if not keep_fds and renew is None:
        result["msg"] = not_held or "nothing to keep: this run holds %s already" % params["pki_dir"]
        return result
    read_end, write_end = (high_fd(fd) for fd in os.pipe())
    if detach(keep_fds | {write_end}):
        # The keeper: it says who it is, keeps, and ends; never back into the caller's code. Within
        # ansible-playbook's process (the action) it is a copy of a task's process: the signal
        # handlers of that process are not its own, and the objects it inherited are never
        # collected (which would copy their memory into it for nothing).
        try:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            gc.freeze()
            os.write(write_end, str(os.getpid()).encode("ascii"))
            os.close(write_end)
            keep(params["pid"], renew or (lambda: 0), params["interval"], ended=released_first(ended, keep_fds))
        finally:
            os._exit(0)  # pylint: disable=protected-access
    os.close(write_end)
    result["keeper_pid"] = int(os.read(read_end, 32) or b"0")
    os.close(read_end)
    for fd in keep_fds:
        os.close(fd)
    kept = []
    if renew:
        kept.append("run lock kept alive (lease %s, every %d s)" % (params["lease_id"], params["interval"]))
    if keep_fds:
        kept.append("%s held" % params["pki_dir"])
    result["msg"] = "%s while pid %d runs%s" % (" and ".join(kept), params["pid"], "; " + not_held if not_held else "")
    return result
