#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_lock_keeper
short_description: Keep a run's lock alive on the controller while the run lives
version_added: 0.2.0
description:
  - Runs on the controller (C(delegate_to) V(localhost)) and leaves a detached process there, the
    keeper, for the length of an C(ansible-playbook) run (O(pid)). The role's run lock uses it
    (roles/etcd/tasks/run_keeper.yml).
  - With O(hold_pki_dir), the keeper holds the lock file O(pki_dir)C(.lock) beside O(pki_dir)
    (C(flock)), so that two runs never write one PKI directory at once. A second run is refused by this module,
    naming the run that holds it.
  - With O(lease_id), the keeper renews that lease every O(interval) seconds while the process
    O(pid) lives, from the controller through O(endpoints). Before it detaches, this module renews
    it once, so that a controller that cannot reach etcd fails here rather than losing the lock
    later.
  - The keeper revokes nothing and ends within a second of the process O(pid). The run's own end
    releases the lock (M(raftops.etcd.etcd_lock)), a run that dies leaves a lease that expires at
    most its TTL later, and the kernel drops the lock file's lock when the keeper ends.
extends_documentation_fragment:
  - raftops.etcd.common
attributes:
  check_mode:
    support: none
    details: It starts a process on the controller; in check mode the role does not call it.
options:
  pid:
    description: The process ID of the C(ansible-playbook) run the keeper lives with.
    type: int
    required: true
  holder:
    description: The run, in words; written into the lock file for a refused run to name.
    type: str
    required: true
  pki_dir:
    description:
      - The controller's PKI directory. With O(hold_pki_dir), the keeper holds its lock file.
      - With O(tls), the keeper renews the lease with its files, looked up at each renewal
        (C(ca-bundle.pem) when it exists, else C(ca.pem); O(client_pair)C(.pem) and
        O(client_pair)C(-key.pem)).
    type: path
  hold_pki_dir:
    description:
      - Hold the lock file O(pki_dir)C(.lock) (created beside the directory, mode 0600) for the run.
        Another run that holds it is refused, naming it; a later play of this same run finds it its
        own.
      - Where that file cannot be created (the directory's parent is not writable, or missing),
        nothing is held; this run cannot write the directory either (M(raftops.etcd.etcd_pki) says so).
    type: bool
    default: false
  client_pair:
    description: The client pair in O(pki_dir) the lease is renewed with.
    type: str
    default: admin
  lease_id:
    description:
      - The lease of the run lock, in hex as M(raftops.etcd.etcd_lock) returns it.
      - Without it, nothing is renewed.
    type: str
  endpoints:
    description: The etcd client URLs the lease is renewed through.
    type: list
    elements: str
    default: []
  tls:
    description: Whether the endpoints are https with client certificates from O(pki_dir).
    type: bool
    default: true
  tls_verify:
    description: Whether the server certificates are checked (off only with etcd's auto-TLS).
    type: bool
    default: true
  interval:
    description:
      - Seconds between renewals; a third of the lease's TTL leaves two renewals to miss.
    type: int
    default: 15
  timeout:
    description: Seconds each request to etcd may take.
    type: float
    default: 5
  auth_user:
    description:
      - The etcd user the lease is renewed as, when RBAC auth is on (etcd refuses a keepalive of no
        user then). Each renewal logs in afresh.
    type: str
  auth_password:
    description: The password of O(auth_user).
    type: str
notes:
  - The controller must reach the members' client URLs. The module fails at once when it cannot.
"""

EXAMPLES = r"""
- name: Keep the run lock alive and hold the PKI directory while this run lives
  raftops.etcd.etcd_lock_keeper:
    pid: "{{ lookup('ansible.builtin.pipe', 'ps -o ppid= -p $PPID') | trim }}"
    holder: "{{ run_lock.holder }}"
    pki_dir: /srv/inventory/etcd-pki
    hold_pki_dir: true
    lease_id: "{{ run_lock.lease_id }}"
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
keeper_pid:
  description: The process ID of the keeper.
  returned: success
  type: int
  sample: 12345
expires_in:
  description: Seconds the lease had left after this module renewed it.
  returned: with O(lease_id), when the files of O(client_pair) are in O(pki_dir)
  type: int
  sample: 45
renewal_deferred:
  description:
    - Why the lease was not renewed before the keeper started - the CA or O(client_pair) files are not in
      O(pki_dir) yet (a step after this one makes them, or refuses the directory). The keeper renews with
      them once they are there.
  returned: with O(lease_id), when those files are missing
  type: str
  sample: /etc/ansible/etcd-pki/ca.pem not there yet
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: run lock kept alive (lease 694d77aa9e38260f, every 15 s) and etcd-pki held while pid 4242 runs
"""

import errno
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_client import EtcdError, first_answer, client_factory
from ansible_collections.raftops.etcd.plugins.module_utils.etcd_run_lock import (
    PkiDirBusy, detach, high_fd, keep, lock_pki_dir, pki_connection, process_lives)


def renewer(params, lease_id):
    """renew(): one keepalive of the lease, with clients made afresh (the PKI files may change)."""
    def renew():
        connection = dict(tls_verify=params["tls_verify"], timeout=params["timeout"], auth_user=params["auth_user"],
                          auth_password=params["auth_password"])
        if params["tls"] and params["pki_dir"]:
            connection.update(zip(("ca_cert", "client_cert", "client_key"),
                                  pki_connection(params["pki_dir"], params["client_pair"])))
        make_client = client_factory(connection)
        clients = [make_client(url) for url in params["endpoints"]]
        return first_answer(clients, lambda client: client.lease_keepalive_once(lease_id))
    return renew


def argument_spec():
    return dict(
        pid=dict(type="int", required=True),
        holder=dict(type="str", required=True),
        pki_dir=dict(type="path"),
        hold_pki_dir=dict(type="bool", default=False),
        client_pair=dict(type="str", default="admin"),
        lease_id=dict(type="str"),
        endpoints=dict(type="list", elements="str", default=[]),
        tls=dict(type="bool", default=True),
        tls_verify=dict(type="bool", default=True),
        interval=dict(type="int", default=15),
        timeout=dict(type="float", default=5),
        auth_user=dict(type="str"),
        auth_password=dict(type="str", no_log=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=False)
    params = module.params
    if params["hold_pki_dir"] and not params["pki_dir"]:
        module.fail_json(msg="hold_pki_dir needs pki_dir: the directory whose lock file to hold")
    if params["interval"] < 1:
        module.fail_json(msg="interval must be at least 1 second, got %d" % params["interval"])
    if not process_lives(params["pid"]):
        module.fail_json(msg="pid %d runs no process: give the pid of this ansible-playbook run" % params["pid"])
    if params["lease_id"] and not params["endpoints"]:
        module.fail_json(msg="endpoints must name the etcd client URLs to renew the lease through")
    keep_fds = set()
    result = dict(changed=False)
    not_held = None
    if params["hold_pki_dir"]:
        try:
            held = lock_pki_dir(params["pki_dir"], params["holder"])
        except PkiDirBusy as exc:
            module.fail_json(msg="etcd_pki_dir %s: wait for that run to finish; nothing was changed" % exc)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                module.fail_json(msg="etcd_pki_dir %s: cannot take its lock file: %s" % (params["pki_dir"], exc))
            not_held = "%s not held (%s)" % (params["pki_dir"], exc.strerror)
            held = None
        if held is not None:
            keep_fds.add(held)
    renew = None
    if params["lease_id"]:
        lease_id = int(params["lease_id"], 16)
        renew = renewer(params, lease_id)
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
                module.fail_json(msg="the run lock's lease %s cannot be renewed from this controller through %s: %s. The "
                                     "controller must reach the members' client URLs to keep the run lock alive"
                                     % (params["lease_id"], ", ".join(params["endpoints"]), exc))
    if not keep_fds and renew is None:
        module.exit_json(msg=not_held or "nothing to keep: this run holds %s already" % params["pki_dir"], **result)
    read_end, write_end = (high_fd(fd) for fd in os.pipe())
    if detach(keep_fds | {write_end}):
        # The keeper: it says who it is, keeps, and ends; never back into the module's code.
        try:
            os.write(write_end, str(os.getpid()).encode("ascii"))
            os.close(write_end)
            keep(params["pid"], renew or (lambda: 0), params["interval"])
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
    module.exit_json(**result)


if __name__ == "__main__":
    main()
