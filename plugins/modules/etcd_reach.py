#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_reach
short_description: Reach a host over its connection within a bound, or leave it out as unreachable
version_added: 1.0.0
description:
  - Runs one shell command that does nothing (C(true)) on the host over the play's connection, without
    privilege escalation and without Python, and waits for it at most O(timeout) seconds.
  - A host that does not answer within the bound is reported B(unreachable), naming the host and the bound,
    and drops out of the play as any unreachable host does, whatever the SSH settings are. An SSH client
    that goes through a C(ControlPersist) master whose host died (no C(ServerAliveInterval) in the
    master) waits on TCP for many minutes, and neither C(ConnectTimeout) nor the client's own keepalive
    options bound that wait; this bound does. The SSH client left waiting is ended.
  - Any other answer is as without it - a refused connection or a failed login is unreachable as Ansible
    reports it, with SSH's message.
  - The first task of the C(raftops.etcd.etcd) role's entry points for dead hosts (C(recover_quorum),
    C(restore), C(status)); the role passes C(etcd_first_contact_timeout). C(remove_member) and
    C(replace_member) reach each host the same way in their first read (M(raftops.etcd.etcd_host_info),
    O(raftops.etcd.etcd_host_info#module:contact_timeout)).
  - Runs as an action plugin on the controller; the command on the host needs only a POSIX shell.
extends_documentation_fragment: [raftops.etcd.controller_action, raftops.etcd.common]
options:
  timeout:
    description:
      - How long the host has to answer, in seconds, connection included; a whole number from 1 to 600.
    type: int
    default: 20
  setting:
    description: The name the messages give the bound (the role's C(etcd_first_contact_timeout)).
    type: str
    default: timeout
"""

EXAMPLES = r"""
- name: Reach each host within 20 seconds, or leave it out as unreachable
  raftops.etcd.etcd_reach:
    timeout: 20
"""

RETURN = r"""
seconds:
  description: How long the host took to answer, in seconds.
  returned: success
  type: float
  sample: 0.12
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    # The action plugin of the same name does the work on the controller: nothing here runs on a host.
    module = AnsibleModule(argument_spec=dict(timeout=dict(type="int", default=20),
                                              setting=dict(type="str", default="timeout")),
                           supports_check_mode=True)
    module.fail_json(msg="raftops.etcd.etcd_reach runs on the controller as an action plugin only")


if __name__ == "__main__":
    main()
