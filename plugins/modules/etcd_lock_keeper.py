#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_lock_keeper
short_description: Keep a run's lock alive on the controller while the run lives
version_added: 1.0.0
description:
  - Runs on the controller (C(delegate_to) V(localhost)) and leaves a detached process there, the
    keeper, for the length of an C(ansible-playbook) run (O(pid)). The role's run lock uses it
    (roles/etcd/tasks/run_keeper.yml). With a local connection and without C(become), its action
    starts the keeper from C(ansible-playbook)'s own process rather than starting a module; anywhere
    else it runs as a module.
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
  - With O(lock_key), when the process O(pid) ends while O(lease_id) still holds that lock (the run
    was killed or crashed), the keeper records so in the lock's value and renews the lease no more;
    M(raftops.etcd.etcd_lock) then takes the lock over at once, naming the run that died.
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  check_mode:
    support: none
    details: It starts a process on the controller; in check mode the role does not call it.
options:
  pid:
    description:
      - The process ID of the C(ansible-playbook) run the keeper lives with.
      - Not given, the module's action fills it with this run's (on the controller); give it when the module
        runs as a module elsewhere.
    type: int
  holder:
    description:
      - The run, in words; written into the lock file for a refused run to name.
      - Not given, the module's action names this run in the words of the collection's run lock
        (M(raftops.etcd.etcd_lock)'s O(raftops.etcd.etcd_lock#module:holder)).
    type: str
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
  lock_key:
    description:
      - The key of the lock O(lease_id) holds (M(raftops.etcd.etcd_lock)'s C(key)). When the process O(pid)
        ends while the lease still holds it, the keeper records that its run ended without releasing it.
      - Without it, a run that dies leaves its lock until the lease expires.
    type: str
    version_added: 1.0.0
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
  role:
    description:
      - For the C(raftops.etcd.etcd) role (its C(tasks/run_keeper.yml)); internal to it, its fields may change in
        any release. The action fills, from these and the role's variables C(etcd_tls), C(etcd_auto_tls),
        C(etcd_pki_dir), C(etcd_pki_managed) and C(etcd_run_lock_ttl), each of O(pki_dir), O(hold_pki_dir),
        O(client_pair), O(lease_id), O(lock_key), O(endpoints), O(tls), O(tls_verify) and O(interval) that the task
        does not set.
      - O(hold_pki_dir) is then true only with C(etcd_tls) and C(etcd_pki_managed) (the role never writes an
        operator's PKI directory); O(client_pair) is C(admin), or a member's server pair where there is no admin
        pair (C(etcd_pki_managed=false)) or members do not trust it yet (phase 1 of an adopted CA's rotation);
        O(interval) is a third of C(etcd_run_lock_ttl).
    type: dict
    suboptions:
      lease_id:
        description: The lease the run lock took; empty for none.
        type: str
        default: ""
      lock_key:
        description: The run lock's key; empty for none.
        type: str
        default: ""
      hold_pki_dir:
        description: Whether this step of the role holds C(etcd_pki_dir).
        type: bool
        default: false
      members:
        description: The role's members (C(host), C(name)).
        type: list
        elements: dict
        default: []
      hosts:
        description: The hosts with data, before the play's own, whose member's server pair renews the lease.
        type: list
        elements: str
        default: []
      endpoints:
        description: The client URLs of the run lock.
        type: list
        elements: str
        default: []
      rotation:
        description: The CA rotation's plan (C(members_kept)).
        type: dict
        default: {}
    version_added: 1.0.0
notes:
  - With neither O(hold_pki_dir) nor O(lease_id) there is nothing to keep, and no keeper starts.
  - The controller must reach the members' client URLs. The module fails at once when it cannot.
"""

EXAMPLES = r"""
# pid and holder: this ansible-playbook run (the action fills them).
- name: Keep the run lock alive and hold the PKI directory while this run lives
  raftops.etcd.etcd_lock_keeper:
    pki_dir: /srv/inventory/etcd-pki
    hold_pki_dir: true
    lease_id: "{{ run_lock.lease_id }}"
    lock_key: "{{ run_lock.key }}"
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
keeper_pid:
  description: The process ID of the keeper.
  returned: success, when there was something to keep
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_keeper import argument_spec, start_keeper


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=False)
    result = start_keeper(module.params)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
