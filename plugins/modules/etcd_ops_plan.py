#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_ops_plan
short_description: The plan steps of the etcd role's timers, a DNS SRV bootstrap's records and the proxy role, on the controller
version_added: 0.4.0
description:
  - Internal to the C(raftops.etcd.etcd) and C(raftops.etcd.etcd_proxy) roles; the task files read its fields.
    Each step decides in tested Python what the task files used to decide in Jinja.
  - V(schedule), for one member, from its timers and what the host read found of their files and
    units - which files to write, which timers to start or restart, and what a timer without a
    schedule (or the off-host push turned off) left behind.
  - V(srv) resolves a DNS SRV bootstrap's peer records on the controller as the members will, and
    refuses records that do not match the members, with the zone lines the inventory needs.
  - V(proxy_group), V(proxy_settings) and V(proxy_reach) refuse a proxy run before any proxy host
    changes - an empty proxy group when proxies are asked for, settings without meaning or other than
    the members', a proxy host that reaches no member. V(proxy_pki) names the proxies' certificates
    and the pairs of proxies whose host left the group. V(proxy_health) asks a proxy for its
    C(/health) on its own host (M(ansible.builtin.uri) there), again until it reaches the cluster
    with C(retries) in O(settings). V(proxy_status) makes the proxies' status lines.
  - V(roll_stop) words why a roll stopped at a member, from the failed step's result - its message,
    or its host gone during the call (Ansible could not read the module's answer) - and what the
    next run does.
  - Runs on the controller (an action plugin); only V(srv) (DNS) and V(proxy_health) (the proxy
    host) ask anything of anyone.
extends_documentation_fragment:
  - raftops.etcd.controller_action
  - raftops.etcd.common
attributes:
  check_mode:
    details: Changes nothing in any mode; V(proxy_health) asks the proxy in check mode only with C(check_mode=false).
options:
  stage:
    description: The step; see the description.
    type: str
    required: true
    choices: [schedule, srv, proxy_group, proxy_settings, proxy_reach, proxy_pki, proxy_health, proxy_status, roll_stop]
  members:
    description: The member records (P(raftops.etcd.members#filter)), for V(srv) and V(proxy_pki).
    type: list
    elements: dict
    default: []
  health:
    description: The proxy host's M(raftops.etcd.etcd_health) result of the members, for V(proxy_reach).
    type: dict
    default: {}
  settings:
    description:
      - V(schedule) - C(timers), C(push), C(lib_files), C(found) (the timers' paths on the host) and C(units).
      - V(srv) - C(domain), C(name), C(tls), C(resolvers) and C(new_hosts) (members not in the cluster yet).
      - V(proxy_group) - C(group) and C(asked). V(proxy_settings) - C(values) (the host's role variables)
        and C(address). V(proxy_reach) - C(endpoints) and C(certificates). V(proxy_pki) - C(instance),
        C(group), C(pki_dir) and C(managed). V(proxy_health) - C(listen_address), C(port), C(tls), C(mode),
        C(ca_cert), C(client_cert), C(client_key), C(retries) and C(delay).
      - V(roll_stop) - C(host), C(member), C(note_path) (the restart note the members keep), C(failure)
        (the failed step's result) and C(step) (its name).
    type: dict
    default: {}
  refuse:
    description: Fail the task with the step's RV(refusal) when it has one.
    type: bool
    default: false
  report_var:
    description: The variable of each play host that V(proxy_pki) (each host's V(proxy_settings) result)
      and V(proxy_status) (each host's V(proxy_health) result) read.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Plan the member's timers
  raftops.etcd.etcd_ops_plan:
    stage: schedule
    settings:
      timers: "{{ _etcd_host.timers }}"
      push: "{{ _etcd_backup_push }}"
      lib_files: "{{ _etcd_host.maintenance_lib_files }}"
      found: "{{ _etcd_host.timer_paths_found }}"
      units: "{{ _etcd_host_info.units | default({}) }}"
  register: _etcd_schedule

- name: Show the proxies
  run_once: true
  raftops.etcd.etcd_ops_plan:
    stage: proxy_status
    report_var: _etcd_proxy_seen
  register: _etcd_proxy_status
"""

RETURN = r"""
refusal:
  description: Why the run cannot go on, naming the hosts, members or records; empty when it can.
  returned: with O(stage=srv), V(proxy_group), V(proxy_settings), V(proxy_reach) and V(roll_stop)
  type: str
templates:
  description: The timers' files rendered from the role's templates, each its C(file) (path, owner, group, mode) and C(src).
  returned: with O(stage=schedule)
  type: list
  elements: dict
copies:
  description: The code the timers run, copied as it is, each its C(file) and C(src).
  returned: with O(stage=schedule)
  type: list
  elements: dict
timers:
  description: The timers with a schedule, each its C(name), its files' C(paths) and whether it is C(running) and enabled.
  returned: with O(stage=schedule)
  type: list
  elements: dict
push_ssh:
  description: Whether the off-host push is on with an SSH target.
  returned: with O(stage=schedule)
  type: bool
push_withdrawn:
  description: Whether the push was turned off on a member that has its settings, whose key comes off the targets' hosts.
  returned: with O(stage=schedule)
  type: bool
unscheduled:
  description: The files found on the host of timers without a schedule, of the push turned off and of unused code.
  returned: with O(stage=schedule)
  type: list
  elements: str
unscheduled_timers:
  description: The timer units among RV(unscheduled), to stop.
  returned: with O(stage=schedule)
  type: list
  elements: str
service:
  description: The SRV service name of the members' peers.
  returned: with O(stage=srv)
  type: str
records:
  description: The records it resolved to, as the lookup C(raftops.etcd.etcd_srv) gives them.
  returned: with O(stage=srv)
  type: list
  elements: dict
needed:
  description: The zone lines the inventory needs (P(raftops.etcd.srv_records#filter)).
  returned: with O(stage=srv)
  type: list
  elements: str
pki:
  description: What the proxy host's certificates name (C(address), C(listen_address), C(mode)).
  returned: with O(stage=proxy_settings)
  type: dict
members:
  description: The gRPC proxies' server pairs for M(raftops.etcd.etcd_pki)'s O(raftops.etcd.etcd_pki#module:members).
  returned: with O(stage=proxy_pki)
  type: list
  elements: dict
clients:
  description: The proxies' client pairs, without a CN.
  returned: with O(stage=proxy_pki)
  type: list
  elements: dict
revoke:
  description: The names of the proxies whose host left the group, whose pairs are revoked (with the role's PKI only).
  returned: with O(stage=proxy_pki)
  type: list
  elements: str
reaches:
  description: Whether the proxy reaches the cluster - V(yes), V(yes:auth-on) (etcd refused its read for want of a user), or V(no:) and why.
  returned: with O(stage=proxy_health)
  type: str
lines:
  description: The proxies' status table, one line per proxy host of the play; one that dropped out is named as not answering.
  returned: with O(stage=proxy_status)
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.plan.operation_plan import ops_plan_argument_spec


def main():
    # The action plugin of the same name does the work on the controller: nothing here runs on a host.
    module = AnsibleModule(argument_spec=ops_plan_argument_spec(), supports_check_mode=True)
    module.fail_json(msg="raftops.etcd.etcd_ops_plan runs on the controller as an action plugin only")


if __name__ == "__main__":
    main()
