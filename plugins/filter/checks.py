# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The preflight checks of the etcd role that look at hosts rather than at settings: each returns the
refusal to show (an empty string or list when all is well), so that the role's tasks only read,
call a filter and assert on its answer.

plugins/filter/settings.py checks the values of the role's variables; this file checks what the
hosts are (system, architecture, group, the etcd user's account, systemd's reading of the schedule),
whether the running cluster may change release, and whether the defragmentation rule can be read the
way the members' timer and etcd_maintenance will read it.
"""

from ansible.errors import AnsibleFilterError

# module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).

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


def system_problems(hosts, hostvars, group_hosts, group, architectures, host_reads=None):
    """Hosts of the play that are no members or cannot run etcd; see plugins/filter/system_problems.yml."""
    if isinstance(hosts, str):
        raise AnsibleFilterError("system_problems: the hosts must be a list of inventory hostnames")
    architectures = list(architectures or [])
    group_hosts = list(group_hosts or [])
    problems = []
    for host in hosts:
        facts = hostvars[host]
        if host not in group_hosts:
            problems.append("host %s: not in the group %s (etcd_group); run the role on the members only" % (host, group))
        # A fact that was not gathered counts as Linux with systemd, and is shown as '?'.
        if facts.get("ansible_system", "Linux") != "Linux" or facts.get("ansible_service_mgr", "systemd") != "systemd":
            problems.append("host %s: unsupported system %s with %s; Linux with systemd is required"
                            % (host, facts.get("ansible_system", "?"), facts.get("ansible_service_mgr", "?")))
        architecture = facts.get("ansible_architecture", "?")
        if architecture not in architectures:
            problems.append("host %s: unsupported architecture %s; etcd releases exist for %s"
                            % (host, architecture, ", ".join(str(a) for a in architectures)))
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
    """Each schedule systemd cannot read, on each host; see plugins/filter/calendar_problems.yml."""
    problems = []
    for host, host_read in (reads or {}).items():
        for setting, read in ((host_read or {}).get("calendars") or {}).items():
            if read.get("error"):
                problems.append("host %s: %s=%s: systemd does not read it as a calendar expression (%s); see "
                                "'man systemd.time', e.g. hourly or *-*-* 00/6:00:00; nothing was changed"
                                % (host, setting, read.get("expression"), read["error"]))
    return problems


def version_change_problem(versions, target, allow_downgrade=False, health=None, auth=False):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, version_change_problem."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_plan

    try:
        return etcd_plan.version_change_problem(versions, target, allow_downgrade, health, auth)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def release_warning(version):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, release_warning."""
    from ansible_collections.raftops.etcd.plugins.module_utils import etcd_plan

    try:
        return etcd_plan.release_warning(version)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def auth_refused(reads):
    """The hosts whose etcd refused the role's read for want of an etcd user, each with etcd's answer;
    ``reads``: host -> a result of raftops.etcd.etcd_health, or etcd_host_info's ``local_health`` (a
    skipped or empty one counts as no read)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_client import (
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


def call_pair(tls, root_login, pair_there, auth_refused):
    """The client pair the role's calls present (vars/main.yml, _etcd_connection): None without TLS.
    Without a root login, 'server', the member's own pair. With one, 'client', the CN-less pair
    configure.yml puts on the member, once it is there; before that 'text' where etcd refused the
    role's read for want of a user (``auth_refused``, preflight's hosts: auth turned on outside the
    role), the controller's pair given as text, so that preflight writes nothing before the run lock;
    else 'server' (auth is off: etcd takes any certificate of its CA, and the controller's pair may not
    be made yet)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_versions import truthy

    if not truthy(tls):
        return None
    if not truthy(root_login):
        return "server"
    if truthy(pair_there):
        return "client"
    return "text" if auth_refused else "server"


class FilterModule:
    def filters(self):
        return {
            "account_problem": account_problem,
            "auth_refused": auth_refused,
            "calendar_problems": calendar_problems,
            "call_pair": call_pair,
            "release_warning": release_warning,
            "system_problems": system_problems,
            "version_change_problem": version_change_problem,
        }
