# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Preflight's checks of what the hosts are, and of the running cluster's answer, that refuse a
deploy run before any host changes: pure functions on plain data.

The deploy's plan (plugins/action/etcd_plan.py) calls them: the hosts stage for the hosts (group,
system, architecture, the etcd user's account, systemd's reading of the timers' schedules) and for
auth turned on outside the role; the cluster stage for the refusals after the cluster is read (etcd's
upgrade policy, a downgrade cancelled and started at once, the run lock held by another run); the
converge stage for whether any later phase has something to do. The day-2 action
raftops.etcd.etcd_plan calls srv_refusal for a DNS SRV bootstrap's records.
"""

from __future__ import absolute_import, division, print_function

from urllib.parse import urlsplit

from ansible_collections.raftops.etcd.plugins.module_utils.host.release import architecture_problem


# Shells of accounts that cannot log in (the role's own system user gets /usr/sbin/nologin).
NOLOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")
# Below this uid an account is a system account (Debian and RHEL alike).
FIRST_LOGIN_UID = 1000


def _as_int(value):
    """A number as Jinja's ``int`` filter reads it: ``'12'`` and ``12.5`` are numbers, anything else is 0."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def system_problems(hosts, facts, group_hosts, group, architectures=None, host_reads=None):
    """Hosts of the play that are no members or cannot run etcd. ``facts``: host -> its variables
    (ansible_system, ansible_service_mgr, ansible_architecture; a fact not gathered counts as Linux
    with systemd and is shown as '?'); ``architectures``: those etcd has releases for, as Ansible
    names them (default: etcd_release.ARCHITECTURES); ``host_reads``: host -> its etcd_host_info read (the account)."""
    if isinstance(hosts, str):
        raise ValueError("the hosts must be a list of inventory hostnames")
    group_hosts = list(group_hosts or [])
    problems = []
    for host in hosts:
        host_facts = facts[host]
        if host not in group_hosts:
            problems.append("host %s: not in the group %s (etcd_group); run the role on the members only" % (host, group))
        if host_facts.get("ansible_system", "Linux") != "Linux" or host_facts.get("ansible_service_mgr", "systemd") != "systemd":
            problems.append("host %s: unsupported system %s with %s; Linux with systemd is required"
                            % (host, host_facts.get("ansible_system", "?"), host_facts.get("ansible_service_mgr", "?")))
        architecture = architecture_problem(host_facts.get("ansible_architecture", "?"), architectures)
        if architecture:
            problems.append("host %s: %s" % (host, architecture))
        read = (host_reads or {}).get(host) or {}
        login = account_problem(read.get("account"), read.get("account_name"), host)
        if login:
            problems.append(login)
    return problems


def account_problem(account, user, host):
    """Why ``user``, as getent reads it (``account``: its passwd fields after the name), may not run etcd; '' when it may."""
    fields = list(account or [])
    if not fields:
        return ""
    uid = fields[1] if len(fields) > 1 else None
    shell = fields[5] if len(fields) > 5 else None
    if _as_int(uid) < FIRST_LOGIN_UID and shell in NOLOGIN_SHELLS:
        return ""
    return ("host %s: etcd_user=%s: that account exists as a login account (uid %s, shell %s); the role runs etcd as "
            "a system account of its own without a login: choose another etcd_user; nothing was changed"
            % (host, user, "?" if uid is None else uid, "?" if shell is None else shell))


def calendar_problems(reads):
    """Each schedule systemd cannot read, on each host (``reads``: host -> its etcd_host_info read)."""
    problems = []
    for host, host_read in (reads or {}).items():
        for setting, read in ((host_read or {}).get("calendars") or {}).items():
            if read.get("error"):
                problems.append("host %s: %s=%s: systemd does not read it as a calendar expression (%s); see "
                                "'man systemd.time', e.g. hourly or *-*-* 00/6:00:00; nothing was changed"
                                % (host, setting, read.get("expression"), read["error"]))
    return problems


def auth_refused(reads):
    """The hosts whose etcd refused the role's read for want of an etcd user, each with etcd's answer;
    ``reads``: host -> a result of raftops.etcd.etcd_health, or etcd_host_info's ``local_health`` (a
    skipped or empty one counts as no read)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
        AUTH_FAILED,
        GATEWAY_CN_REFUSED,
        INVALID_TOKEN,
        USER_EMPTY,
    )

    # What etcd answers, with RBAC auth on, a call that is no etcd user's (or not root's with a wrong
    # password): a certificate with a CN through the gateway, no token, a stale token, a failed login.
    refusals = (GATEWAY_CN_REFUSED, USER_EMPTY, INVALID_TOKEN, AUTH_FAILED)
    refused = {}
    for host, read in (reads or {}).items():
        for record in (read or {}).get("endpoints") or []:
            error = str(record.get("status_error") or "")
            if any(refusal.lower() in error.lower() for refusal in refusals):
                refused[host] = error
                break
    return refused


def _named(refused):
    return "%s: %s" % (", ".join(refused), next(iter(refused.values()), ""))


def auth_refusal(refused, root_refused, settings):
    """The refusal of a cluster whose auth was turned on outside the role ('' when the run may go on):
    ``refused``: auth_refused of the hosts' own reads; ``root_refused``: auth_refused of the reads
    again as root (preflight_root_login.yml); ``settings``: root_login, check_mode, tls, pki_managed."""
    if not refused:
        return ""
    if not settings.get("root_login"):
        return ("auth is enabled on the cluster (turned on outside this role?): set etcd_auth_root_password (in a vault) "
                "to the password of etcd's user root, and the role logs in as root (%sdocs/access.md); leave "
                "etcd_auth_enabled unset to keep auth as it is. etcd on %s refused the role's read: %s. No host was changed."
                % ("with its own PKI, etcd_pki_managed=true, " if settings.get("tls") and not settings.get("pki_managed") else "",
                   ", ".join(refused), next(iter(refused.values()))))
    if settings.get("check_mode"):
        return ("auth is enabled on the cluster (turned on outside this role?), and the members do not have the role's "
                "client pair for a root login yet: run once without --check, which puts it there. etcd on %s refused "
                "the role's read: %s. No host was changed." % (", ".join(refused), next(iter(refused.values()))))
    if root_refused:
        return ("auth is enabled on the cluster, and etcd refused the role's root login on %s; etcd_auth_root_password "
                "must be the password of etcd's user root. No host was changed." % _named(root_refused))
    return ""


def host_refusal(problems, auth_message, plan_refusal):
    """The one refusal of the hosts stage: the hosts that cannot run etcd (``problems``) first, then
    auth turned on outside the role, then the plan's own (foreign data, identity changes)."""
    if problems:
        return "; ".join(problems)
    return auth_message or plan_refusal


def cluster_refusal(plan, version, downgrade_cancel, lock_read):
    """The refusal once the cluster is read ('' when the run may go on): etcd's upgrade policy (the
    plan's ``version_problem``), a downgrade cancelled and started in the same run, then the run lock
    not taken (``lock_read``: etcd_lock's result; skipped or empty when no lock was asked for; a
    cluster of which no endpoint answered holds no lock and refuses nothing)."""
    if plan.get("version_problem"):
        return plan["version_problem"]
    target = plan.get("downgrade_target") or ""
    if target and downgrade_cancel:
        return ("etcd_downgrade_cancel=true cancels a downgrade, but etcd_version=%s would start one to %s: set "
                "etcd_version to the release the cluster runs; nothing was changed" % (version, target))
    lock_read = lock_read or {}
    if lock_read and not lock_read.get("skipped") and not lock_read.get("acquired") \
            and "msg" not in (lock_read.get("cluster") or {}):
        return lock_read.get("msg") or "the run lock was not taken"
    return ""


def later_phases(plan, settings):
    """Whether any phase after the members' files has something to do in this run (main.yml
    includes none of them otherwise): the members' scrape targets on the controller
    (``metrics_targets``), the cluster's own (the plan's ``converge``), a CA rotation in progress on
    an existing cluster, auth (the plan's ``auth_phase``), the timers (``timers``: one has a
    schedule) or the hash check after a quorum recovery (the plan's ``hash_reference``); the rotation and the hash check change
    nothing in check mode. A timer's files left on a host are that host's own matter (main.yml)."""
    changes = not settings.get("check_mode")
    rotation = str(settings.get("rotation_phase") or "none") != "none" and not plan.get("bootstrap")
    return bool(settings.get("metrics_targets") or plan.get("converge") or plan.get("auth_phase") or settings.get("timers")
                or (changes and (rotation or plan.get("hash_reference"))))


def _url_port(url):
    return urlsplit(str(url)).port


def srv_problems(records, members, service="", new_hosts=None):
    """What is wrong with the resolved SRV ``records`` for the ``members``.

    ``records``: dicts with ``target``, ``port``, ``addresses`` (what the target resolves to) and
    ``failures`` (why an address query failed), as the lookup raftops.etcd.etcd_srv returns them; a
    target with addresses is used whatever its failures, as etcd does. Every member needs exactly one record whose
    target is its srv_target and resolves to its address, on its peer port; no record may point
    anywhere else. ``new_hosts`` are members that are not in the cluster yet (their message says
    that a new member needs its record before it joins).
    """
    if not isinstance(records, list) or not isinstance(members, list):
        raise ValueError("the records and the members must be lists")
    service = str(service or "the SRV service")
    new_hosts = set(new_hosts or [])
    problems = []
    mine = {member["name"]: [] for member in members}
    for record in records:
        target = str(record.get("target", "")).rstrip(".").lower()
        port = int(record.get("port", 0))
        addresses = set(map(str, record.get("addresses") or []))
        shown = "%s -> %s:%d" % (service, target, port)
        if not addresses:
            failures = record.get("failures") or []
            problems.append("record %s: %s does not resolve to an address%s"
                            % (shown, target, " (%s)" % "; ".join(map(str, failures)) if failures else ""))
            continue
        owners = [m for m in members if m.get("srv_target") == target or str(m["address"]) in addresses]
        if not owners:
            problems.append("record %s points at %s, which is no member of the group: remove the record, or add "
                            "that host to the group" % (shown, ", ".join(sorted(addresses))))
            continue
        for member in owners:
            mine[member["name"]].append(record)
            if target != member.get("srv_target"):
                problems.append("record %s points at member %s (host %s) under the name %s, but its peer URL and "
                                "certificates use %s: set etcd_srv_target for host %s to %s, or fix the record"
                                % (shown, member["name"], member["host"], target, member.get("srv_target"),
                                   member["host"], target))
            elif str(member["address"]) not in addresses:
                problems.append("record %s: %s resolves to %s, not to member %s's address %s"
                                % (shown, target, ", ".join(sorted(addresses)), member["name"], member["address"]))
            if port != _url_port(member["peer_url"]):
                problems.append("record %s: port %d is not member %s's peer port %d"
                                % (shown, port, member["name"], _url_port(member["peer_url"])))
    for member in members:
        count = len(mine[member["name"]])
        if count == 1:
            continue
        if count == 0:
            hint = (" (a new member of a DNS SRV cluster needs its record before it joins)"
                    if member["host"] in new_hosts else "")
            problems.append("member %s (host %s, %s) has no record in %s: add '%s. IN SRV 0 0 %d %s.'%s"
                            % (member["name"], member["host"], member["address"], service, service,
                               _url_port(member["peer_url"]), member.get("srv_target"), hint))
        else:
            problems.append("member %s (host %s) has %d records in %s (%s): keep exactly one"
                            % (member["name"], member["host"], count, service,
                               ", ".join("%s:%s" % (str(r.get("target", "")).rstrip("."), r.get("port"))
                                         for r in mine[member["name"]])))
    return problems


def srv_refusal(service, records, members, new_hosts, needed):
    """preflight_bootstrap_mode.yml's refusal of the SRV records ``service`` resolved to on the
    controller (the lookup raftops.etcd.etcd_srv's records) that do not match the members; ``needed``
    are the zone lines the inventory needs (srv_records). '' when they match."""
    problems = srv_problems(records, members, service, new_hosts)
    if not problems:
        return ""
    return "%s. The records the inventory needs: %s. Nothing was changed" % ("; ".join(problems), " | ".join(needed))
