#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_plan
short_description: The plan stages of the etcd and etcd_proxy roles, made on the controller
version_added: 0.1.0
description:
  - Internal to the C(raftops.etcd.etcd) and C(raftops.etcd.etcd_proxy) roles - the collection's one plan action, not
    an interface of its own; the role's task files call it with a O(stage) and read its fields. Each stage decides in
    tested Python what the task files used to decide in Jinja.
  - The deploy and day-2 stages (V(hosts) to V(bootstrap) in the choices of O(stage)) decide, from what the
    role's preflight read of each host and of the running cluster, which hosts hold the cluster's data, which are
    new, foreign, re-join or move to a new address, what the run refuses and warns about, whether the existing
    cluster must be waited for, the order of the roll, and which read of the cluster stands for the status at the end.
  - Internal to the C(raftops.etcd.etcd) role's deploy path (C(playbooks/etcd.yml)) and removal
    (C(playbooks/remove_member.yml), C(playbooks/replace_member.yml)); its fields are listed in the
    role's README, with the tasks that read them.
  - For a removal, decides which members go, which hosts are retired, which surviving members the
    calls go through, and what refuses it; a surviving member's host that did not answer refuses it
    rather than being left out.
  - For a maintenance (C(playbooks/maintenance.yml)), judges the members' read of
    C(raftops.etcd.etcd_maintenance) (O(maintenance)) with the play's hosts - the order, the run lock,
    the NOSPACE recovery - and refuses it when a member's host dropped out of the play. For each round
    of a CA rotation, decides which members restart before the rotation moves on, whether it waits for
    the proxies, and refuses it when a member's host did not answer.
  - For a restore (C(playbooks/restore.yml)), decides who restores and refuses a run without every
    host of the group, gives the C(--initial-cluster), the new token and the old data dirs moved
    aside, refuses what the members reported when the snapshot was checked there (or the hosts that
    dropped out), and decides the revision bump right before the first member stops.
  - For a quorum recovery (C(playbooks/recover_quorum.yml)), reads the survivors' logs (where each
    member lives, what to ask, through which member), then judges whether quorum is truly lost and
    which survivor the new cluster starts from, and again once every member is stopped; a host that
    does not report refuses it unless C(etcd_recover_lost) names it.
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
  - V(source) asks M(raftops.etcd.etcd_health) on the task's host which members answer, and chooses
    the member a backup takes its snapshot from (the first healthy voting member of the play) and
    names the snapshot and its sealed object by the UTC time; it fills in each target's defaults.
    V(record) adds the record written beside the snapshot. V(seal) adds the snapshot sealed for the
    off-host targets, as M(raftops.etcd.etcd_backup_target)'s V(sealed) seals it, with the record the
    members' drill proves a playbook backup against, and is changed as that sealing is; it shows a line
    in the run's output that reports the encryption (the object, its size and speed, the key id, and the
    key file to keep a copy of when this run made it), not in check mode. V(fetch) finds the target a
    restore fetches from. V(drill_snapshot) chooses the snapshot a restore drill proves, with its record.
    The results of V(source), V(record), V(seal) and V(fetch) hold the backup targets' keys - hidden in
    the run's output, and a failure of one of them shows only its message.
  - What each stage returns - of the deploy and day-2 stages, the first of each (V(hosts), V(removal), V(maintenance),
    V(restore), V(recovery_logs)) starts the plan and the others return the plan of the step before (O(plan)) with
    their fields, each field below naming the stage it comes with; V(status), V(status_report) and V(deployed) return
    RV(refusal) and their own fields; V(schedule) RV(templates), RV(copies),
    RV(timers), RV(push_ssh), RV(push_withdrawn), RV(unscheduled), RV(unscheduled_timers); V(srv) RV(service),
    RV(records), RV(needed), RV(refusal); V(proxy_group), V(proxy_reach), V(roll_stop) RV(refusal); V(proxy_settings)
    RV(refusal), RV(pki); V(proxy_pki) RV(members), RV(clients), RV(revoke); V(proxy_health) RV(reaches) with
    C(url), C(host), C(mode) and C(listen); V(proxy_status) RV(lines); V(source) RV(refusal), RV(source), RV(name),
    RV(object), RV(taken), RV(targets), RV(sends); V(record) the plan of V(source) with RV(record); V(seal) the plan
    of V(record) with RV(sealed); V(fetch) RV(refusal), RV(target), RV(head_size); V(drill_snapshot) RV(refusal),
    RV(path), RV(record_text).
  - Runs on the controller (an action plugin). Only V(srv) (DNS), V(proxy_health) (the proxy host) and V(source)
    (M(raftops.etcd.etcd_health) on the task's host) of the stages above ask anything of anyone; V(drill_snapshot)
    and V(seal) read the controller's backup directory and key file, and V(seal) writes the sealed copy into a
    private directory of its own there. Of the deploy and day-2 stages, none asks a host anything but V(status) and
    V(status_report), which ask C(raftops.etcd.etcd_health) on the task's host (O(connection)), V(revocation),
    which has M(raftops.etcd.etcd_pki) revoke on it, V(restore_members), which checks the snapshot file with
    M(raftops.etcd.etcd_snapshot_info) on the task's host (delegate it to the controller), and V(restore_start),
    which asks the old members for their revision (RV(read_old_revisions)).
  - A member of the inventory whose host dropped out of the play (its read failed, or it was
    unreachable) is a problem of the plan, never left out of the decision; one the run leaves out
    (C(--limit)) is listed in RV(left_out).
extends_documentation_fragment:
  - raftops.etcd.controller_action
  - raftops.etcd.common
attributes:
  check_mode:
    details: Changes nothing in any mode; V(proxy_health) asks the proxy in check mode only with C(check_mode=false).
options:
  stage:
    description:
      - V(hosts) from each play host's read (the variable O(report_var) of each host) before the
        cluster is read; V(cluster) from preflight's read of the cluster (O(health)); V(converge)
        from what the members' files found out of date (the variable O(outdated_var) of each member
        with data) and the restart notes and join settings of each host's read; V(roll) from
        the restarts noted on the members with data (the variable O(restart_var) of each) and the leader
        (O(leader); without it, the leader of the plan (RV(leader)) while preflight's read of the cluster
        stands, that is RV(existing_wait) is false and no CA rotation goes on (O(rotation_phase)); else, when a member
        restarts or a CA rotation goes on, the leader C(raftops.etcd.etcd_health) finds on the task's host once the
        cluster is healthy, asked with O(connection)).
      - V(removal) from the request (O(requested)) and which hosts of the group answered their read
        with C(ignore_unreachable) (the variable O(report_var) of each play host); V(removal_check) from
        the cluster's member list, which it asks M(raftops.etcd.etcd_member_info) with C(probe) for on the
        task's host (delegate it to the member the removal acts through), and the CA each surviving member
        trusts (its read); V(revocation), with the removal's C(revokes), has M(raftops.etcd.etcd_pki) revoke the
        removed members' certificates (the plan's C(names)) in C(pki_dir) of O(settings) (delegate it to
        C(localhost)), and is changed as that revocation is; a failed revocation fails with its answer.
      - V(maintenance) from etcd_maintenance's plan (O(maintenance)) and the play's hosts; V(rotation)
        from the rotation in progress (O(rotation)) and when each member's trusted CA file was written and
        its etcd started (the variable O(rotation_read_var) of each member with data).
      - V(restore) from the group and the play's hosts, before the facts; V(restore_members) from the
        snapshot file (refused first when M(raftops.etcd.etcd_snapshot_info) fails on it, naming C(snapshot)
        of O(settings)), the member records (O(members)) and each host's read (the variable O(report_var)) - whether it has an
        old data dir, and a refusal when its data dir or WAL dir is a mount point; V(restore_check) and V(restore_start) from the problem each host of the group
        reported (the variable O(problem_var)), the latter also from the read of the old cluster
        (O(health)) for the revision bump.
      - V(recovery_logs) from each play host's offline read of its log (the variable O(read_var));
        V(recovery) from that read (RV(survivors)) and the cluster's answer, which it asks
        (RV(cluster_answer)); again with the first verdict in O(plan) once every member is stopped, from
        each host's read since (O(read_var)) and the same answer.
      - V(pki_check) from the result of C(raftops.etcd.etcd_pki) (O(plan)), the CA certificate it names
        (C(ca.path), read on the controller) and each checked play host's read (O(report_var)).
      - V(status) from the status read at the end of a deploy run (O(health)), or the earlier read of the run the
        plan's C(status_read) names (C(status_read) of O(settings)), the bootstrap's health wait (RV(bootstrap_read)
        of the run's plan, the variable C(_etcd_plan)) or preflight's read (C(_etcd_preflight_locked_read), else C(_etcd_preflight_read));
        and the members (O(members)) whose hosts are in the play; when the run waits for the cluster version
        (RV(version_wait)), from C(raftops.etcd.etcd_health) asked every second until etcd raised it.
        V(status_report) from whether a play host has the cluster's unit (its read, C(_etcd_host_info)),
        C(raftops.etcd.etcd_health) asked once, the snapshots in C(backup_dir) on the controller and each play
        host's last off-host push and restore drill (the variable C(_etcd_status), a C(slurp) loop over the
        items C(push) and C(drill)).
      - V(deployed) from whether each play host has the cluster's unit, by its read (C(_etcd_host_info)).
        V(hardware) from each measured play host's C(raftops.etcd.etcd_host_check) result (C(_etcd_host_check);
        skipped where not measured), returned with the run's plan (O(plan)).
      - V(bootstrap) from C(raftops.etcd.etcd_health) on the task's host, asked with O(connection) to wait until the
        new cluster is healthy (C(endpoints), C(health_timeout), C(expect_members) and C(quota_bytes) of O(settings);
        not in check mode, which starts nothing), returned with the run's plan (O(plan)) as RV(bootstrap_read) and
        RV(bootstrap_failure). A cluster that did not form is no failure of the task - the role fails every member
        on RV(bootstrap_failure).
      - V(schedule), V(srv), V(proxy_group), V(proxy_settings), V(proxy_reach), V(proxy_pki), V(proxy_health),
        V(proxy_status), V(roll_stop), V(source), V(record), V(seal), V(fetch) and V(drill_snapshot) - see the
        description, and O(settings) for what each reads.
    type: str
    required: true
    choices: [hosts, cluster, converge, roll, removal, removal_check, revocation, maintenance, rotation, restore,
              restore_members, restore_check, restore_start, recovery_logs, recovery, pki_check,
              status, status_report, deployed, hardware, bootstrap,
              schedule, srv, proxy_group, proxy_settings, proxy_reach, proxy_pki, proxy_health, proxy_status, roll_stop,
              source, record, seal, fetch, drill_snapshot]
  members:
    description: >-
      The validated members of the inventory (P(raftops.etcd.members#filter)); the deploy's steps need them, and
      V(srv), V(proxy_pki) and V(source).
    type: list
    elements: dict
    default: []
  requested:
    description: The members to remove (V(removal)), comma-separated, each a C(NODE_NAME) or an inventory host.
    type: str
    default: ""
  connection:
    description:
      - The connection options of the calls a stage makes, those of the group C(raftops.etcd.etcd)'s
        C(module_defaults) (the role's C(_etcd_connection)); never shown.
      - For V(removal_check), M(raftops.etcd.etcd_member_info) is called with them on the task's host.
      - For V(bootstrap), V(status) and V(status_report), C(raftops.etcd.etcd_health) is asked with them; for the first
        V(recovery) step too, on the task's host (delegated to RV(ask_through)), with the pair of RV(ask_cert);
        and for V(restore_start) without O(health), when the plan reads the old members' revisions; and for V(source).
    type: dict
    default: {}
  plan:
    description: >-
      The plan of the step before (every deploy and day-2 step but V(hosts), V(removal) and V(restore)); for V(record),
      the result of V(source), and for V(seal), of V(record).
    type: dict
    default: {}
  health:
    description:
      - The result of C(raftops.etcd.etcd_health) for the running cluster (V(cluster)); V({}) when it was not read.
      - For V(cluster), the read taken with the run lock (C(cluster) of C(lock_read) in O(settings)) stands for it.
      - For V(status), the status read at the end of a deploy run, or a skipped read where an earlier one stands;
        V(status_report) reads the cluster itself.
      - For V(restore_start), the read of the old members that still answer. A skipped task's result counts
        as not read. Not given, the step asks C(raftops.etcd.etcd_health) itself on the task's host (O(connection)),
        through RV(stable_client_urls), when RV(read_old_revisions) is true; a failed read names no revision.
        V(recovery) asks the cluster itself once (O(connection)), and the step made again judges that answer
        (RV(cluster_answer)).
      - For V(proxy_reach), the proxy host's C(raftops.etcd.etcd_health) result of the members.
    type: dict
    default: {}
  leader:
    description:
      - The name of the cluster's leader (V(roll)), which restarts last; empty when none is known.
      - Without it, the step takes the plan's leader while preflight's read stands, else reads the leader itself
        (see O(stage)); a failed read fails the step, and no member restarts.
    type: str
  rotation_phase:
    description: The phase of a CA rotation in progress (V(roll)); V(none) without one.
    type: str
    default: none
  maintenance:
    description: The result of C(raftops.etcd.etcd_maintenance) with C(action=plan) (V(maintenance)).
    type: dict
    default: {}
  rotation:
    description: The C(rotation) of C(raftops.etcd.etcd_pki)'s result, with C(phase), C(step), C(description) and C(bundle) (V(rotation)).
    type: dict
    default: {}
  settings:
    description:
      - The role's settings the step reads. V(hosts) - C(version), C(discard_foreign_data),
        C(cluster_token), C(group), C(preflight_hardware), C(auth_enabled), C(roles), C(users),
        C(root_login), and C(forks) (the play's forks unless given); for the hosts' checks C(group_hosts),
        C(tls), C(pki_managed), and C(check_mode) (the run's unless given), C(bootstrap_checks) (auto-TLS,
        or a bootstrap other than static). V(cluster) - C(version),
        C(allow_downgrade), C(auth_enabled), C(hash_reference),
        C(downgrade_cancel), C(lock_read) (the result of taking the run lock, for RV(cluster_refusal)). V(converge) -
        C(restart_note_path), where a member keeps its note of a restart still due; for RV(later_phases)
        C(metrics_targets) (the members' scrape targets are written on the controller, RV(scrape_targets), with
        C(metrics_port), C(instance), C(tls)), C(rotation_phase),
        C(hash_reference), C(timers) (a timer has a schedule) and C(check_mode). V(removal) - C(group),
        C(replace) (one member whose host answers, to join in its place), C(revokes). V(removal_check) -
        C(group), C(requested), C(pki_dir) (whose C(ca.pem) the action reads on the controller), C(pki_host_dir).
        V(rotation) - C(pki_dir), C(proxies_follow) (the etcd playbook brings proxies along), C(proxies)
        (the proxy group's hosts), C(pass) (of the role in the playbook). V(roll) without O(leader) -
        C(endpoints) (the members' client URLs), C(health_timeout) (seconds to wait for a healthy cluster).
      - V(restore), V(restore_check) - C(group). V(restore_members) - C(group), C(bump_revision), C(snapshot)
        (etcd_restore_snapshot, as the operator named it), C(snapshot_src) (the file on the controller to check),
        C(data_dir). V(restore_start) - C(group), C(bump_revision), C(mark_compacted), C(version), and for RV(report)
        C(snapshot_shown) (the snapshot as the operator named it); C(snapshot_revision) and C(snapshot_keys), when
        not given, are those of RV(snapshot_file). V(recovery_logs) - C(tls), C(root_login), C(pki_host_dir). V(recovery) - C(group), C(lost), C(client_urls)
        (the inventory's members, asked besides those the logs name).
      - V(hosts) and V(restore_members) - C(pki), for RV(pki) - C(managed) (C(etcd_pki_managed)), C(srv_domain),
        C(scrapers) (the addresses of the metrics scrapers that get a pair), C(pair_key) (the root login's client key
        on a member). V(pki_check) - C(hosts) (those whose members already trust a CA), C(ca_path) (the CA certificate
        on a member), C(pki_dir), C(pki_host_dir), C(managed), C(replace_ca).
      - V(status) - C(version), C(all_members_in_run) (the deploy plan's), C(status_read) (the deploy plan's;
        V(none) when not given), C(status_settings) (the settings the status advice reads, as
        P(raftops.etcd.status_advice#filter) takes them), and for the wait C(endpoints), C(quota_bytes) (those
        C(raftops.etcd.etcd_health) is asked with) and C(timeout) (the seconds it waits at most).
        V(status_report) - C(instance), C(group), C(unit_path), C(endpoints), C(quota_bytes),
        C(backup_dir) (where the action lists the C(etcd-snapshot-*.db) files), C(status_settings). V(deployed) -
        C(group), C(instance), C(unit_path).
        V(hardware) - C(profile), C(quota), C(strict), C(heartbeat), C(election) (the role's C(etcd_profile),
        C(etcd_quota_backend_bytes), C(etcd_preflight_strict), C(etcd_heartbeat_interval), C(etcd_election_timeout)).
      - V(schedule) - C(timers), C(push), C(lib_files), C(found) (the timers' paths on the host) and C(units).
      - V(srv) - C(domain), C(name), C(tls), C(resolvers) and C(new_hosts) (members not in the cluster yet).
      - V(proxy_group) - C(group) and C(asked). V(proxy_settings) - C(values) (the host's role variables)
        and C(address). V(proxy_reach) - C(endpoints) and C(certificates). V(proxy_pki) - C(instance),
        C(group), C(pki_dir) and C(managed). V(proxy_health) - C(listen_address), C(port), C(tls), C(mode),
        C(ca_cert), C(client_cert), C(client_key), C(retries) and C(delay).
      - V(roll_stop) - C(host), C(member), C(note_path) (the restart note the members keep), C(failure)
        (the failed step's result) and C(step) (its name).
      - V(source) - C(endpoints) (the members' client URLs), C(targets) and C(cluster).
        V(record) - C(saved) (M(raftops.etcd.etcd_snapshot)'s result, with inspect and keyspace).
        V(seal) - C(src) (the snapshot on the controller, its record C(<src>.json) beside it), C(key_file)
        and C(cluster). V(fetch) - C(targets), C(cluster) and C(target) (the name of one).
        C(targets), when not given, is the play's O(raftops.etcd.etcd#role:main:etcd_backup_targets), read by the
        action itself, so that the S3 targets' keys are not in the task's arguments.
        V(drill_snapshot) - C(fetched) (the snapshot fetched from a target), C(snapshot) and C(backup_dir).
    type: dict
    default: {}
  refuse:
    description:
      - Fail with the step's refusal as the message when there is one (V(hosts) - RV(refusal), unless the hosts
        whose etcd refused the read for want of a user are still to be asked again as root; V(cluster) -
        RV(cluster_refusal)); the plan is returned either way, but for V(source), V(record), V(seal) and V(fetch),
        whose plan may hold the backup targets' keys.
    type: bool
    default: false
  report_var:
    description: >-
      The variable of each play host that holds its read (V(hosts), V(cluster), V(pki), V(pki_check), V(restore_members)):
      the result of C(raftops.etcd.etcd_host_info) with O(raftops.etcd.etcd_host_info#module:role_settings), what it read
      and the settings it derived (C(host_settings)). For V(proxy_pki), each host's V(proxy_settings) result, and for
      V(proxy_status), each host's V(proxy_health) result (the role names the variable).
    type: str
    default: _etcd_host_info
  restart_var:
    description:
      - The variable of each member with data that holds the result of its restart note (C(raftops.etcd.etcd_member_files)
        with O(raftops.etcd.etcd_member_files#module:restart_note)), whose C(restart) says whether it restarts (V(roll)).
    type: str
    default: _etcd_member_files
  outdated_var:
    description:
      - The variable of each member with data that holds the result of writing its files (C(raftops.etcd.etcd_member_files),
        whose C(restart_needed) says whether its settings or certificates changed) (V(converge)). A member without it
        had no files written in this run and is not outdated for it.
    type: str
    default: _etcd_member_files
  rotation_read_var:
    description: >-
      The variable of each member with data that holds its read for the round (V(rotation)): the result of a
      C(command) loop, with C(failed_when) false, over C(stat --format=%Y) of its trusted CA file and
      C(systemctl show -p ExecMainStartTimestamp --timestamp=unix --value) for its etcd.
    type: str
    default: _etcd_rotation_read
  problem_var:
    description: The variable of each host of the group that holds why it cannot take the restore, when it cannot (V(restore_check), V(restore_start)).
    type: str
    default: _etcd_restore_problem
  read_var:
    description: >-
      The variable of each play host that holds its C(raftops.etcd.etcd_host_info) read with C(read_log): for
      V(recovery_logs), and for V(recovery) made again once every member is stopped (the first V(recovery) step
      judges the reads of V(recovery_logs), RV(survivors)).
    type: str
    default: _etcd_host_info
"""

EXAMPLES = r"""
- name: Plan the run from each host's read
  run_once: true
  raftops.etcd.etcd_plan:
    stage: hosts
    members: "{{ _etcd_members }}"
    settings:
      version: "{{ etcd_version }}"
      discard_foreign_data: "{{ etcd_discard_foreign_data }}"
      cluster_token: "{{ etcd_cluster_token }}"
      group: "{{ etcd_group }}"
  register: _etcd_plan

- name: Extend the plan with the read of the running cluster
  run_once: true
  raftops.etcd.etcd_plan:
    stage: cluster
    plan: "{{ _etcd_plan }}"
    members: "{{ _etcd_members }}"
    health: "{{ _etcd_preflight_read }}"
    settings:
      version: "{{ etcd_version }}"
      allow_downgrade: "{{ etcd_allow_downgrade }}"
      auth_enabled: "{{ etcd_auth_enabled }}"
  register: _etcd_plan

- name: Plan the maintenance from the members' read and the play's hosts
  run_once: true
  raftops.etcd.etcd_plan:
    stage: maintenance
    members: "{{ _etcd_members }}"
    maintenance: "{{ _etcd_maintenance_plan }}"
  register: _etcd_plan

- name: Plan the member's timers
  raftops.etcd.etcd_plan:
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
  raftops.etcd.etcd_plan:
    stage: proxy_status
    report_var: _etcd_proxy_seen
  register: _etcd_proxy_status

- name: Choose the member and name the snapshot
  run_once: true
  raftops.etcd.etcd_plan:
    stage: source
    connection: "{{ _etcd_connection }}"
    members: "{{ _etcd_members }}"
    settings:
      endpoints: "{{ _etcd_members | map(attribute='client_url') | list }}"
      cluster: "{{ etcd_backup_cluster }}"
    refuse: true
  register: _etcd_backup
"""

RETURN = r"""
with_data:
  description: >-
    The hosts whose member holds this cluster's data; in a removal, the surviving members whose host answered;
    in a restore, the hosts with an old data dir (RV(with_data_dir)), where the run lock is asked.
  returned: with the deploy and day-2 stages, in a restore with O(stage=restore_members) only (the run lock is taken then)
  type: list
  elements: str
new:
  description: The hosts without data of this cluster (new ones, those that lost their data, and those with foreign data).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
foreign:
  description: The hosts whose data belongs to another cluster or to a removed member (also in RV(new)).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
rejoin:
  description: Host -> the id of the member entry it lost with its data, removed before it joins again.
  returned: with the deploy and day-2 stages
  type: dict
readdress:
  description: Host -> the move of a member to a new address (name, old and new peer URL, member id).
  returned: with the deploy and day-2 stages
  type: dict
tls_move:
  description: >-
    The hosts whose plaintext member serves TLS beside plaintext already (O(settings) of the adopt
    playbook's first run) and moves its peer URL to https at its restart (docs/adopt.md).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
peer_url_updates:
  description: Host -> the peer URL its roll step gives its member right before the restart (RV(readdress), RV(tls_move)).
  returned: with the deploy and day-2 stages
  type: dict
problems:
  description:
    - The refusals of the run (identity changes, busy ports, hosts that dropped out of the play; in a removal,
      surviving members' hosts that did not answer).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
foreign_refusal:
  description: The refusal for foreign data the operator has not let the role discard; empty when none.
  returned: with the deploy and day-2 stages
  type: str
refusal:
  description:
    - The message preflight refuses the run with - the hosts that cannot run etcd (not in the group, not Linux
      with systemd, an architecture without releases, an C(etcd_user) that is a login account) and timer schedules
      systemd cannot read, then auth turned on outside the role without a usable root login, then
      RV(foreign_refusal), then RV(problems); empty when none.
    - In a removal, the request's own refusal (V(removal)), then every problem at once (V(removal_check)).
    - In a maintenance, the members' hosts that dropped out of the play.
    - In the status at the end of a deploy run (V(status)), the members of the run that do not run the release;
      in the status playbook's report (V(status_report)), that no member of the cluster answers; in a day-2 entry
      point's first check (V(deployed)), that no play host has the cluster's unit; in the hardware preflight
      (V(hardware)), with C(strict), every finding.
    - In a PKI check (V(pki_check)), the members that trust another CA than C(etcd_pki_dir)'s, then those that ask
      their peers for a name the peer certificates lack.
    - Of V(srv), V(proxy_group), V(proxy_settings), V(proxy_reach) and V(roll_stop), why the run cannot go on, naming the
      hosts, members or records; of V(source), V(fetch) and V(drill_snapshot), why the backup, the fetch or the drill
      cannot go on.
  returned: with the deploy and day-2 stages, and with O(stage=srv), V(proxy_group), V(proxy_settings), V(proxy_reach),
    V(roll_stop), V(source), V(fetch) and V(drill_snapshot)
  type: str
unanswered:
  description:
    - The members' hosts that started in the play and dropped out of it, or in a removal did not answer
      (also in RV(problems)).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
left_out:
  description: The members' hosts this run leaves out (C(--limit)).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
all_members_in_run:
  description: Whether every member's host is in the run.
  returned: with the deploy and day-2 stages
  type: bool
binaries_outdated:
  description: The members with data whose binaries link to another release than C(etcd_version).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
with_release:
  description: The play hosts whose binaries link to C(etcd_version) already.
  returned: with the deploy and day-2 stages
  type: list
  elements: str
install_hosts:
  description:
    - The play hosts whose read (the role's facts.yml) shows the install's work undone (the account, the release,
      its links but those of RV(binaries_outdated)), or does not tell; the role's install.yml skips the others.
  returned: with the deploy and day-2 stages
  type: list
  elements: str
bootstrap:
  description: Whether no member has data, so that the cluster is bootstrapped.
  returned: with the deploy and day-2 stages
  type: bool
member_files_read_current:
  description:
    - Whether the hosts' reads of the members' files (the role's facts.yml) still stand, so that the role's configure.yml
      hands them to its files call; false from O(stage=converge) on, once that call wrote them.
  returned: with the deploy and day-2 stages
  type: bool
cluster_tasks:
  description: The role's task file that bootstraps (V(bootstrap.yml)) or converges (V(existing.yml)) the cluster.
  returned: with the deploy and day-2 stages
  type: str
read_host:
  description: The host the cluster is read and the run lock taken from.
  returned: with the deploy and day-2 stages
  type: str
stable_client_urls:
  description: >-
    The client URLs of the members with data that keep their address in this run (in a removal, of the
    surviving members; in a restore, every member's: the run lock of the cluster it replaces is taken through them).
  returned: with the deploy and day-2 stages, in a restore with O(stage=restore_members) and after
  type: list
  elements: str
peer_identity_hosts:
  description: The hosts whose member asks its peers for the name of the members' peer certificates.
  returned: with the deploy and day-2 stages
  type: list
  elements: str
new_token:
  description: The token of a new cluster (C(etcd_cluster_token), or the group's name and a random suffix).
  returned: with the deploy and day-2 stages
  type: str
run_warnings:
  description: Warnings to show (an even member count, fewer forks than hosts, a release with known bugs).
  returned: with the deploy and day-2 stages
  type: list
  elements: str
hardware_check:
  description: Whether preflight measures hosts against the hardware profile (C(etcd_preflight_hardware) V(all), or V(new) with new hosts).
  returned: with the deploy and day-2 stages
  type: bool
auth_phase:
  description: Whether the role manages auth, roles or users, or logs in as root, so that its auth phase runs.
  returned: with the deploy and day-2 stages
  type: bool
auth_refused:
  description: The play hosts whose etcd refused the role's read for want of an etcd user (auth turned on outside the role), each with etcd's answer.
  returned: with O(stage=hosts) and after
  type: dict
root_read_endpoints:
  description: For each host in RV(auth_refused), the loopback client URL its etcd listens on now (its installed settings), else the report's C(local_endpoint).
  returned: with O(stage=hosts) and after
  type: dict
root_login_read:
  description: Whether those hosts are asked again as root (a root login, not in check mode) before the plan is made again.
  returned: with O(stage=hosts) and after
  type: bool
root_read_pending:
  description: Whether those hosts are still to be asked as root, so that O(refuse) waits for the plan made again.
  returned: with O(stage=hosts) and after
  type: bool
preflight_checks:
  description:
    - Whether preflight has more to check before the cluster is read - the reads again as root (RV(root_login_read)),
      the hosts against the hardware profile (RV(hardware_check)), or auto-TLS or a bootstrap by DNS SRV or the
      discovery service (C(bootstrap_checks) of O(settings)).
  returned: with O(stage=hosts) and after
  type: bool
versions_before:
  description: The releases the members with data run or have installed.
  returned: with O(stage=cluster) and after
  type: list
  elements: str
not_serving:
  description: The members with data the read of the cluster did not find healthy.
  returned: with O(stage=cluster) and after
  type: list
  elements: str
running_other_release:
  description: The members with data that run another release than C(etcd_version).
  returned: with O(stage=cluster) and after
  type: list
  elements: str
version_problem:
  description: Why the release may not change now; empty when it may.
  returned: with O(stage=cluster) and after
  type: str
cluster_refusal:
  description:
    - The message the run is refused with once the cluster is read - RV(version_problem), else a downgrade
      cancelled and started in the same run, else the run lock not taken; empty when the run goes on.
  returned: with O(stage=cluster) and after
  type: str
outdated:
  description: The members with data whose binaries, settings or certificates changed in this run (V(converge)).
  returned: with O(stage=converge) and after
  type: list
  elements: str
restart_notes:
  description:
    - The members with data whose restart the role's restart note records - those of RV(outdated) and those of
      RV(running_other_release) (V(converge), and V(roll) after a roll).
    - With V(rotation), while RV(rotation_stale) is not empty, its members and those of RV(running_other_release)
      instead, which restart before the rotation moves on.
  returned: with O(stage=converge) and after
  type: list
  elements: str
later_phases:
  description:
    - Whether a phase after the members' files has something to do - the members' scrape targets on the controller,
      the cluster's own (RV(converge)), a CA rotation in progress, auth, a timer with a schedule, or the hash check
      after a quorum recovery (V(converge)).
  returned: with O(stage=converge) and after
  type: bool
downgrade_target:
  description:
    - The minor version (like V(3.5)) etcd's downgrade API must be asked for before the roll (a consented
      downgrade from 3.6 or later, M(raftops.etcd.etcd_downgrade)); empty when the change needs none.
  returned: with O(stage=cluster) and after
  type: str
rotation_request:
  description:
    - What the role asks M(raftops.etcd.etcd_pki) for (its O(raftops.etcd.etcd_pki#module:ca_rotation)).
      V(keep), V(start) or V(auto) from O(stage=cluster), as the settings ask; O(stage=rotation) sets
      V(advance) when its round moves the CA rotation on without holding it for the proxies, V(keep) otherwise.
  returned: with O(stage=cluster) and after
  type: str
  sample: auto
rotation_blockers:
  description:
    - The members that block a CA rotation (not serving), each as C(member NAME on host HOST).
      Empty after O(stage=rotation).
  returned: with O(stage=cluster) and after
  type: list
  elements: str
rotation_left_out:
  description:
    - The members a CA rotation would leave out (C(--limit)), each as C(member NAME on host HOST).
      Empty after O(stage=rotation).
  returned: with O(stage=cluster) and after
  type: list
  elements: str
existing_wait:
  description: Whether the existing cluster must be waited for until healthy before it converges.
  returned: with O(stage=cluster) and after
  type: bool
bootstrap_read:
  description:
    - The new cluster's health wait, C(raftops.etcd.etcd_health)'s result without its invocation.
  returned: with O(stage=bootstrap), not in check mode
  type: dict
bootstrap_failure:
  description: Why the new cluster did not form (the health wait's message); empty once every member is healthy, and in check mode.
  returned: with O(stage=bootstrap)
  type: str
status_read:
  description: The read that stands for the status at the end, V(bootstrap), V(preflight), or V(none) (read again).
  returned: with O(stage=cluster) and after
  type: str
leader:
  description: The name of the leader preflight's read of the cluster found; empty when none answered.
  returned: with O(stage=cluster) and after
  type: str
learners:
  description: The names of the members with data the read of the cluster found learners (a join that stopped).
  returned: with O(stage=cluster) and after
  type: list
  elements: str
restart_due:
  description: The members with data that restart in this run (outdated files, another release, a note left).
  returned: with O(stage=converge) and after
  type: list
  elements: str
converge:
  description: Whether the cluster's phase (RV(cluster_tasks)) has anything to do; always true for a new cluster.
  returned: with O(stage=converge) and after
  type: bool
roll:
  description: The members with data that restart, in the order of the roll, the leader last.
  returned: with O(stage=roll)
  type: list
  elements: str
roll_names:
  description: The member name of each host of RV(roll), by host.
  returned: with O(stage=roll)
  type: dict
  sample: {etcd1: etcd1}
targets:
  description:
    - In a removal, the members asked for, each a C(host) and C(name); C(host) is empty for a name of no host of the group.
    - With O(stage=source) and after, O(raftops.etcd.etcd#role:main:etcd_backup_targets) with their defaults.
  returned: with O(stage=removal) and after, and with O(stage=source)
  type: list
  elements: dict
names:
  description: The names of RV(targets); in a restore, of the members restored.
  returned: with O(stage=removal) or O(stage=restore_members) and after
  type: list
  elements: str
hosts:
  description: The hosts of RV(targets) that are in the group; in a restore, the hosts of the group in the play.
  returned: with O(stage=removal) or O(stage=restore) and after
  type: list
  elements: str
retire:
  description: The removed members' hosts that answered, where etcd is stopped, the data moved aside and the keys deleted.
  returned: with O(stage=removal) and after
  type: list
  elements: str
unretired:
  description: The removed members' hosts that did not answer or are left out of the run.
  returned: with O(stage=removal) and after
  type: list
  elements: str
act_through:
  description: The surviving member's host the calls of the removal run on.
  returned: with O(stage=removal) and after
  type: str
revokes:
  description: Whether the removed members' certificates are revoked.
  returned: with O(stage=removal) and after
  type: bool
client_pair_found:
  description:
    - Whether the member of RV(act_through) has the client pair of a root login, by its read; the connection
      settings of the calls run there read it.
  returned: with O(stage=removal) and after
  type: bool
retire_units:
  description:
    - Each play host's units of etcd and its timers that systemd has there, by its read (which must have been
      asked for them); none on a host not in RV(retire).
  returned: with O(stage=removal) and after
  type: dict
crl_hosts:
  description: The surviving members with a CA certificate, which get the new revocation list.
  returned: with O(stage=removal_check)
  type: list
  elements: str
revoked:
  description:
    - The names whose certificates the revocation revoked, as M(raftops.etcd.etcd_pki) returns them (its
      RV(raftops.etcd.etcd_pki#module:revoked)); empty when it revoked nothing or the removal revokes nothing.
  returned: with O(stage=revocation)
  type: list
  elements: dict
crl_path:
  description: The revocation list the surviving members get (M(raftops.etcd.etcd_pki)'s C(crl.path)); empty when the removal revokes nothing.
  returned: with O(stage=revocation)
  type: str
order:
  description: The names of the members to defragment, in order, the leader last.
  returned: with O(stage=maintenance)
  type: list
  elements: str
lines:
  description:
    - In a maintenance, each member and why it is defragmented or not; the hosts left out of the run.
    - With O(stage=status) or O(stage=status_report), the status table and, below it, every problem with the command
      that addresses it (with V(status_report) also the backups' and drills' problems); none when refused.
    - With O(stage=proxy_status), the proxies' status table, one line per proxy host of the play; one that dropped out
      is named as not answering.
  returned: with O(stage=maintenance), O(stage=status), O(stage=status_report) or O(stage=proxy_status)
  type: list
  elements: str
nospace:
  description: Whether a NOSPACE alarm is raised, so that the run compacts first and disarms at the end.
  returned: with O(stage=maintenance)
  type: bool
lock:
  description: Whether the maintenance holds the run lock (it defragments a member, and the cluster is not in NOSPACE, which refuses the lock's write).
  returned: with O(stage=maintenance)
  type: bool
allow_leader:
  description: Whether the leader is defragmented as the leader (a cluster of one member has no one to hand leadership to).
  returned: with O(stage=maintenance)
  type: bool
rotation_go:
  description: >-
    Whether this round moves the CA rotation on: it is in progress and this pass of the role did not hold it
    for the proxies. Without it the other rotation fields say nothing is to be done, whatever the reads.
  returned: with O(stage=rotation) and after
  type: bool
rotation_round:
  description: The round of this pass of the role, one more than in O(plan) (the run's plan, made anew by each pass's preflight).
  returned: with O(stage=rotation) and after
  type: int
rotation_stale:
  description: The members with data whose etcd started no later than its trusted CA file was written; they restart before the rotation moves on.
  returned: with O(stage=rotation) and after
  type: list
  elements: str
rotation_refusal:
  description: The members with data whose host did not answer the rotation's reads or dropped out of the play, named; empty when none.
  returned: with O(stage=rotation) and after
  type: str
rotation_hold:
  description: Whether this pass of the role stops the rotation until the proxies follow the phase in place.
  returned: with O(stage=rotation) and after
  type: bool
rotation_message:
  description: The phase in place on every member and what it means for applications.
  returned: with O(stage=rotation) and after
  type: str
rotation_after_pass:
  description: >-
    How each pass of the role left the rotation, by pass (C(held) for the proxies, or C(ended)): the
    one of O(plan) (the round before's) with this pass noted when it holds, or when the proxies follow and this
    round moves phase 3 on, which ends the rotation.
  returned: with O(stage=rotation) and after
  type: dict
rotation_next_phase:
  description: >-
    Whether this round puts a next phase of the CA rotation in place on the members: it moves the rotation on,
    does not hold it, and does not move phase 3 on (which ends it on the controller only).
  returned: with O(stage=rotation) and after
  type: bool
initial_cluster:
  description: The C(--initial-cluster) of a new cluster with every member (in a restore, of the restored cluster).
  returned: with O(stage=hosts) or O(stage=restore_members) and after
  type: str
with_data_dir:
  description: The hosts of a restore with an old data dir, moved aside to its name and RV(aside_suffix).
  returned: with O(stage=restore_members) and after
  type: list
  elements: str
token:
  description: The restored cluster's new token.
  returned: with O(stage=restore_members) and after
  type: str
stamp:
  description: The UTC time (like V(20260101T000000Z)) the data dirs moved aside are named by.
  returned: with O(stage=restore_members) or O(stage=recovery) and after
  type: str
aside_suffix:
  description: What an old data dir's name gets when a restore moves it aside (V(.before-restore-) and RV(stamp)).
  returned: with O(stage=restore_members) and after
  type: str
read_old_revisions:
  description: Whether the old members that still answer are asked how far they got (an automatic revision bump, outside check mode).
  returned: with O(stage=restore_members) and after
  type: bool
check_report:
  description: What check mode reports a restore would do.
  returned: with O(stage=restore_members) and after
  type: str
restore:
  description: True, the plan is a restore's (the role's schedule.yml reads the hosts again, configured after their read).
  returned: with O(stage=restore) and after
  type: bool
snapshot_file:
  description: The snapshot file as the controller read it (M(raftops.etcd.etcd_snapshot_info)) - C(sha256), C(revision), C(keys).
  returned: with O(stage=restore_members) and after
  type: dict
run_lock_if_answers:
  description: True in a restore, for the role's run_lock.yml - the run lock is taken only when the cluster the restore
    replaces answers (it may answer without a leader).
  returned: with O(stage=restore_members) and after
  type: bool
keeper_holds_pki:
  description: True in a restore, for the role's run_keeper.yml - the run's keeper holds the PKI directory's lock file.
  returned: with O(stage=restore_members) and after
  type: bool
dropped_out:
  description: The hosts of the group that dropped out of the restore's run, named when no member reported a problem.
  returned: with O(stage=restore_check) and after
  type: list
  elements: str
bump_revision:
  description: How far the restored revision is raised (0 for none).
  returned: with O(stage=restore_start)
  type: int
mark_compacted:
  description: Whether the restored revisions are marked compacted.
  returned: with O(stage=restore_start)
  type: bool
bump_note:
  description: The report's words for the revision bump.
  returned: with O(stage=restore_start)
  type: str
bump_warning:
  description: Why the revision was not bumped when it should have been (a release whose restore cannot); empty otherwise.
  returned: with O(stage=restore_start)
  type: str
addresses:
  description: Member name -> address, from the membership the most advanced survivor's log records.
  returned: with O(stage=recovery_logs) and after
  type: dict
logged_client_urls:
  description: The client URLs of every member the survivors' logs record.
  returned: with O(stage=recovery_logs) and after
  type: list
  elements: str
logged_peer_urls:
  description: Client URL -> peer URLs of every member the survivors' logs record (M(raftops.etcd.etcd_health)'s O(raftops.etcd.etcd_health#module:peer_urls)).
  returned: with O(stage=recovery_logs) and after
  type: dict
ask_cluster:
  description: Whether a survivor has a log, so that the cluster is asked whether it answers.
  returned: with O(stage=recovery_logs) and after
  type: bool
ask_through:
  description: The first play host with a log, through which the cluster is asked (else the first that reported, which asks nothing).
  returned: with O(stage=recovery_logs) and after
  type: str
ask_cert:
  description: The client certificate that host presents (its CN-less client pair with a root login once it is there, else its server pair); empty without TLS.
  returned: with O(stage=recovery_logs) and after
  type: str
ask_key:
  description: The key of RV(ask_cert).
  returned: with O(stage=recovery_logs) and after
  type: str
ask_peer_cert:
  description: The peer certificate that host presents to the members' peer URLs; empty without TLS.
  returned: with O(stage=recovery_logs) and after
  type: str
ask_peer_key:
  description: The key of RV(ask_peer_cert).
  returned: with O(stage=recovery_logs) and after
  type: str
action:
  description: V(refuse), V(recover) (from RV(chosen)), or V(grow) (a recovery stopped after the new cluster started).
  returned: with O(stage=recovery)
  type: str
chosen:
  description: The survivor the new cluster starts from (C(host), C(name) and its log's indexes); null unless RV(action) is V(recover).
  returned: with O(stage=recovery)
  type: dict
grow:
  description: The hosts that join the recovered cluster next.
  returned: with O(stage=recovery)
  type: list
  elements: str
reference:
  description: The member whose keyspace every member must hold after the recovery.
  returned: with O(stage=recovery)
  type: str
survivors:
  description:
    - Each play host's read the recovery judges (C(host), C(log), C(log_error), C(data_dir), C(has_data),
      C(wal_dir), C(present)) - of V(recovery_logs), kept for the first V(recovery) step, which judges those of
      the hosts still in the play; the step made again, the reads once every member is stopped.
  returned: with O(stage=recovery_logs) and after
  type: list
  elements: dict
cluster_answer:
  description:
    - What the recovery judged of the cluster's answer to M(raftops.etcd.etcd_health) (its C(member_status) and
      C(endpoints)); V({}) when no survivor has a log. The step made again once every member is stopped judges it.
  returned: with O(stage=recovery)
  type: dict
lost_hosts:
  description: The hosts of the group C(etcd_recover_lost) names gone for good.
  returned: with O(stage=recovery)
  type: list
  elements: str
aside:
  description: Host -> its data and WAL dirs moved aside, once the new cluster serves (O(stage=recovery)), or before
    the snapshot is restored (O(stage=restore_members), renamed with RV(aside_suffix)).
  returned: with O(stage=recovery), and O(stage=restore_members) and after
  type: dict
report:
  description: The lines for the operator after the recovery (O(stage=recovery)), or the line that says what a restore
    restored (O(stage=restore_start)).
  returned: with O(stage=recovery) and O(stage=restore_start)
  type: list
  elements: str
pki:
  description:
    - What C(raftops.etcd.etcd_pki) is given - C(members) (each member's name, addresses and host names),
      C(clients) (admin, each member's own pairs, the scrapers' pair; none with the operator's PKI), C(revoke)
      (the pairs every member shared - root, and admin when a member holds the root login's pair) - and
      C(ca_check_hosts), the hosts whose members already trust a CA (V(pki_check) checks them).
    - With O(stage=proxy_settings), what the proxy host's certificates name (C(address), C(listen_address), C(mode)).
  returned: with O(stage=hosts) and after, with O(stage=restore_members), and with O(stage=proxy_settings)
  type: dict
other_ca_hosts:
  description: The checked hosts whose members trust another CA than C(etcd_pki_dir)'s.
  returned: with O(stage=pki_check)
  type: list
  elements: str
peer_name_hosts:
  description: The checked hosts whose members ask their peers for the peer name.
  returned: with O(stage=pki_check)
  type: list
  elements: str
other_release:
  description: The members of the run whose etcd runs another release than C(etcd_version), each with C(member) and C(version).
  returned: with O(stage=status)
  type: list
  elements: dict
version_wait:
  description: Whether the run waits for etcd to raise the cluster version to the release's major.minor (RV(cluster_version)).
  returned: with O(stage=status)
  type: bool
cluster_version:
  description: The release's major.minor, which the cluster version follows.
  returned: with O(stage=status)
  type: str
scrape_targets:
  description: With C(metrics_targets), the members as Prometheus file_sd targets of their metrics listener on their address.
  returned: with O(stage=converge) and C(metrics_targets)
  type: list
  elements: dict
auth_roles:
  description: The roles of C(etcd_roles) present (an entry without C(state) is), with their permissions.
  returned: with O(stage=hosts) and after
  type: list
  elements: dict
auth_roles_absent:
  description: The names of the roles of C(etcd_roles) to delete.
  returned: with O(stage=hosts) and after
  type: list
  elements: str
auth_users:
  description:
    - The users of C(etcd_users) present, each as its C(name) and its C(index) in C(etcd_users) (the
      O(settings) C(users)), where the role's auth.yml reads its password and roles; no password is returned.
  returned: with O(stage=hosts) and after
  type: list
  elements: dict
auth_users_absent:
  description: The names of the users of C(etcd_users) to delete.
  returned: with O(stage=hosts) and after
  type: list
  elements: str
auth_update_password:
  description: V(always) while auth is on (a password can be checked by logging in with it), else V(on_create).
  returned: with O(stage=hosts) and after
  type: str
findings:
  description: The measured hosts' shortfalls against the profile, as P(raftops.etcd.hardware_findings#filter) gives them.
  returned: with O(stage=hardware)
  type: list
  elements: dict
timeouts:
  description: The timeouts for the longest measured round trip, as P(raftops.etcd.suggested_timeouts#filter) gives them.
  returned: with O(stage=hardware)
  type: dict
hardware_warnings:
  description: The findings as one warning, and the timeouts to use when the configured ones do not cover the longest round trip.
  returned: with O(stage=hardware)
  type: list
  elements: str
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
source:
  description: The member record the snapshot comes from, with the C(cluster_id) its endpoint answered; null when none is healthy.
  returned: with O(stage=source)
  type: dict
name:
  description: The snapshot's name, C(etcd-snapshot-<UTC time>.db).
  returned: with O(stage=source)
  type: str
object:
  description: The sealed object's name.
  returned: with O(stage=source)
  type: str
taken:
  description: The UTC time in the name, which the sealed header authenticates.
  returned: with O(stage=source)
  type: str
sends:
  description:
    - One C({name, host}) per target of RV(targets), the S3 targets first - the loop of the role's sending, which
      holds no secret; C(host) is where each is sent from (V(localhost) for S3, the target's host for SSH).
  returned: with O(stage=source)
  type: list
  elements: dict
  sample: [{name: offsite, host: localhost}, {name: vault, host: backup1}]
record:
  description: The record written beside the snapshot (revision, keys, hash_kv, compact_revision, hash_problem).
  returned: with O(stage=record)
  type: dict
sealed:
  description:
    - M(raftops.etcd.etcd_backup_target)'s V(sealed) result for the snapshot - among its fields C(path), C(dir)
      (the private directory it is in, to remove), C(sealed_size), C(sealed_sha256) and C(drill_record).
  returned: with O(stage=seal)
  type: dict
target:
  description: The target with its defaults; empty when there is none of that name.
  returned: with O(stage=fetch)
  type: dict
head_size:
  description: How many bytes of a backup its header, label and tag can take.
  returned: with O(stage=fetch)
  type: int
path:
  description: The snapshot the drill proves.
  returned: with O(stage=drill_snapshot)
  type: str
record_text:
  description: The text of its record (C(<snapshot>.json)); empty when it has none.
  returned: with O(stage=drill_snapshot)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import argument_spec


def main():
    # The action plugin of the same name does the work on the controller: nothing here runs on a host.
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.fail_json(msg="raftops.etcd.etcd_plan runs on the controller as an action plugin only")


if __name__ == "__main__":
    main()
