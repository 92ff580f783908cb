# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the role's variables may hold: one table of rules, applied by ``settings_problems``.

Every rule checks a value for its meaning, not only its type, and says what is allowed. The role
calls the filter once per host in preflight, before any host changes; docs/settings.md lists the
same table for operators.
"""

import posixpath
import re
from collections import namedtuple
from collections.abc import Mapping

from ansible_collections.raftops.etcd.plugins.module_utils.backup.stream_segments import parse_point_time
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.members import is_dns_name, is_ip_address
from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import PINNED_IMAGE, RUNTIMES
from ansible_collections.raftops.etcd.plugins.module_utils.host.values import (
    BOOL_TEXTS, GIB, MAX_ELECTION_MS, METRICS_MODES, SYSTEM_DIRS, compaction_off, duration_seconds as _duration_seconds,
    integer as _integer, path_inside, show, wal_parent_problem,
)
from ansible_collections.raftops.etcd.plugins.module_utils.plan.sizing import PROFILE_NAMES
from ansible_collections.raftops.etcd.plugins.module_utils.backup.s3 import PART_SIZE_RANGE
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import HIDDEN, NAME_PATTERN, NAME_RULE, SECRET_SETTINGS
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import (
    EXPERIMENTAL_REPLACEMENTS,
    FEATURE_GATES_SINCE,
    VERSION_PATTERN,
    known_feature_gates,
)
# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).

# One rule: the variable it reports on, the check, what is allowed (the message when the check
# just fails) and why. A check gets the value and the settings that passed their own rules so far,
# and returns None when the value is fine, True to report ``allowed``, a text to report instead,
# or a list of (label, value, text) for parts of the value (keys of a dict, items of a list).
# A rule is skipped when its variable is missing or failed an earlier rule, so rules that relate
# several variables come last and only ever see values that are sound on their own.
# A kind of value that several variables take is (check, allowed), written once: Rule(variable, *KIND, why).
Rule = namedtuple("Rule", ["variable", "check", "allowed", "why"])

# --- values -------------------------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def whole_number(minimum=None, maximum=None):
    def check(value, _settings):
        number = _integer(value)
        if number is None:
            return True
        if minimum is not None and number < minimum:
            return True
        if maximum is not None and number > maximum:
            return True
        return None
    return check


def counted(unit, minimum, maximum=None):
    """A kind of value: a whole number of ``unit`` from ``minimum`` (up to ``maximum``), its
    check and what it allows said from the same bounds."""
    if maximum is not None:
        bounds = "from %d to %d" % (minimum, maximum)
    elif minimum == 0:
        bounds = "0 or more"
    else:
        bounds = "at least %d" % minimum
    return whole_number(minimum, maximum), "a whole number of %s, %s" % (unit, bounds)


def one_of(choices):
    def check(value, _settings):
        return None if isinstance(value, str) and value in choices else True
    return check


def _true(value):
    """What Ansible's bool filter makes of a value that passed ``boolean``."""
    return str(value).lower() in ("yes", "on", "true", "1")


def boolean(value, _settings):
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.lower() in BOOL_TEXTS:
        return None
    if isinstance(value, int) and value in (0, 1):
        return None
    return True


def matches(pattern, empty_ok=False):
    compiled = re.compile(pattern)

    def check(value, _settings):
        if not isinstance(value, str):
            return True
        if value == "" and empty_ok:
            return None
        return None if compiled.fullmatch(value) else True
    return check


# --- ports, timing, sizes -----------------------------------------------------------------------

PORT = (whole_number(1, 65535), "a port is a whole number from 1 to 65535")
# The first contact of the playbooks meant for dead hosts (the action of raftops.etcd.etcd_reach checks
# its bound with these too, before it reaches a host).
MAX_FIRST_CONTACT = 600
FIRST_CONTACT_TEXT = "a whole number of seconds from 1 to %d" % MAX_FIRST_CONTACT
MAX_QUOTA = 100 * GIB


def ports_differ(value, settings):
    if "etcd_client_port" in settings and _integer(value) == _integer(settings["etcd_client_port"]):
        return "must differ from etcd_client_port (%s)" % show(settings["etcd_client_port"])
    return None


def metrics_port_differs(value, settings):
    for variable in ("etcd_client_port", "etcd_peer_port"):
        if variable in settings and _integer(value) == _integer(settings[variable]):
            return "must differ from %s (%s)" % (variable, show(settings[variable]))
    return None


def sizing_profile(value, _settings):
    return None if value in ("", *PROFILE_NAMES) else True


def election_vs_heartbeat(value, settings):
    if "etcd_heartbeat_interval" not in settings:
        return None
    heartbeat = _integer(settings["etcd_heartbeat_interval"])
    if _integer(value) < 5 * heartbeat:
        return ("must be at least 5 x etcd_heartbeat_interval (5 x %d = %d), as etcd requires"
                % (heartbeat, 5 * heartbeat))
    return None


# --- compaction ---------------------------------------------------------------------------------

COMPACTION_MODES = ("", "periodic", "revision")
PERIODIC_TEXT = ("with etcd_auto_compaction_mode='periodic': a Go duration like '1h', '30m' or '1h30m', a whole "
                 "number of hours like '1', or 0 (off, as etcd takes it)")
REVISION_TEXT = ("with etcd_auto_compaction_mode='revision': a whole number of revisions to keep, at least 1, "
                 "or 0 (off, as etcd takes it)")
RETENTION_TEXT = ("a Go duration like '1h' or '1h30m', or a whole number (hours with periodic, revisions with "
                  "revision compaction); 0 turns compaction off")


def compaction_retention(value, settings):
    mode = settings.get("etcd_auto_compaction_mode")
    if mode in COMPACTION_MODES and compaction_off(mode, value):
        return None  # compaction is off: the retention is not written anywhere
    number = _integer(value)
    if mode == "revision":
        return None if number is not None and number >= 1 else REVISION_TEXT
    periodic = (number >= 1) if number is not None else (_duration_seconds(value) or 0) > 0
    if mode == "periodic":
        return None if periodic else PERIODIC_TEXT
    return None if periodic else RETENTION_TEXT


# --- paths --------------------------------------------------------------------------------------

PATH_CHARS = re.compile(r"[A-Za-z0-9/._+@-]+")
# Trees that are emptied at boot or are kernel filesystems: nothing of etcd's may live there.
VOLATILE_DIRS = (
    ("/tmp", "a temporary directory that is cleared"),
    ("/var/tmp", "a temporary directory that is cleared"),
    ("/run", "a tmpfs emptied at every boot"),
    ("/proc", "a kernel filesystem"),
    ("/sys", "a kernel filesystem"),
    ("/dev", "the device tree"),
    ("/boot", "the boot partition"),
)
SEPARATE_DIRS = ("etcd_data_dir", "etcd_wal_dir", "etcd_config_dir", "etcd_install_dir", "etcd_backup_host_dir")


def _normal(path):
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


DIRECTORY_TEXT = "an absolute path in normal form, a directory of its own"


def directory(example, empty_ok=False, system_ok=False, volatile_ok=False):
    def check(value, _settings):
        if value == "" and empty_ok:
            return None
        if not isinstance(value, str) or not value.startswith("/"):
            return "must be an absolute path, like %s" % example
        if not PATH_CHARS.fullmatch(value):
            return ("may hold only letters, digits and / . _ - + @ (no whitespace, control characters or "
                    "quotes: it is written into systemd units and scripts)")
        if _normal(value) != value:
            return "is not in normal form (no trailing /, // or . and .. parts): write it as %s" % _normal(value)
        if value in SYSTEM_DIRS and not system_ok:
            return "is a system or shared directory; use a directory of its own, like %s" % example
        for root, what in () if volatile_ok else VOLATILE_DIRS:
            if value == root or path_inside(value, root):
                return "lies under %s, %s; use a persistent directory, like %s" % (root, what, example)
        return None
    return check


def wal_beside_own_directory(value, settings):
    """A WAL dir kept apart needs a parent of its own (etcd_values.wal_parent_problem)."""
    problem = wal_parent_problem(settings.get("etcd_data_dir"), value)
    return "lies directly in %s" % problem if problem else None


def separate_directory(me):
    """A check for directory ``me``: equal to an earlier one of SEPARATE_DIRS, or inside any other."""
    def check(value, settings):
        for variable in SEPARATE_DIRS:
            other = settings.get(variable)
            if variable == me or not other:
                continue
            if other == value and SEPARATE_DIRS.index(variable) < SEPARATE_DIRS.index(me):
                return ("is the same directory as %s; the data, WAL, config, install and backup directories "
                        "must each be separate" % variable)
            if path_inside(value, other):
                if me == "etcd_wal_dir" and variable == "etcd_data_dir":
                    member = other + "/member"
                    if value == member or path_inside(value, member):
                        return ("lies inside etcd_data_dir's member directory (%s), which etcd manages; "
                                "put the WAL outside it" % member)
                    continue
                return ("lies inside %s (%s); the data, WAL, config, install and backup directories must each "
                        "be separate, none inside another" % (variable, other))
        return None
    return check


# --- names, URLs, certificates ------------------------------------------------------------------

USER_PATTERN = r"[a-z_][a-z0-9_-]{0,30}"
SYSTEM_USERS = frozenset((
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
    "backup", "list", "irc", "gnats", "nobody", "nogroup", "adm", "wheel", "sudo", "admin", "operator", "halt",
    "shutdown", "ftp", "sshd", "messagebus", "dbus", "syslog", "polkitd", "_apt", "tss", "uuidd", "postgres",
    "mysql", "redis", "nginx", "apache", "ubuntu", "debian", "centos", "ec2-user",
))


SERVICE_USER_TEXT = "a user name matching ^%s$ that is not root or another system or login account" % USER_PATTERN


def service_user(value, _settings):
    if not isinstance(value, str) or not re.fullmatch(USER_PATTERN, value):
        return True
    if value in SYSTEM_USERS or value.startswith("systemd-"):
        return ("is a system or login account; etcd needs a system user of its own, like etcd "
                "(the role creates it)")
    return None


SAN_TEXT = ("an IP address or a DNS name, like 10.0.0.10, lb.example.com or *.example.com "
            "(no port, scheme or whitespace)")


def san_list(variable):
    """A check for ``variable``, a list of SANs: each item an IP address or a DNS name."""
    def check(value, _settings):
        if not isinstance(value, (list, tuple)):
            return "must be a list of IP addresses or DNS names, like ['10.0.0.10', 'lb.example.com']"
        return [("%s[%d]" % (variable, i), san, SAN_TEXT)
                for i, san in enumerate(value) if not (is_ip_address(san) or is_dns_name(san, wildcard=True))]
    return check


def validity_ca(value, settings):
    if "etcd_pki_validity_days" in settings and _integer(value) < _integer(settings["etcd_pki_validity_days"]):
        return ("must be at least etcd_pki_validity_days (%s): a certificate cannot outlive its CA"
                % show(settings["etcd_pki_validity_days"]))
    return None


def renew_before(value, settings):
    if "etcd_pki_validity_days" in settings and _integer(value) >= _integer(settings["etcd_pki_validity_days"]):
        return ("must be less than etcd_pki_validity_days (%s), or every run would renew every certificate"
                % show(settings["etcd_pki_validity_days"]))
    return None


def pki_clients(value, _settings):
    """etcd_pki_clients: the rules of etcd_pki's applications (plugins/module_utils/pki/pki_params.py)."""
    from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import application_problems

    return application_problems(value, "etcd_pki_clients") or None


def pki_clients_root(value, settings):
    """An application whose certificate says root (its user, or its name without one) is etcd's
    superuser on the gRPC port: refused unless etcd_pki_clients_allow_root says so."""
    from ansible_collections.raftops.etcd.plugins.module_utils.client.access import ROOT

    if _true(settings.get("etcd_pki_clients_allow_root", False)):
        return None
    return [("etcd_pki_clients[%d]" % index, entry,
             "its certificate's common name would be root, etcd's superuser: every permission on the gRPC port "
             "(etcdctl, Go clients) once auth is on; give the application a user of its own (user: NAME with "
             "etcd_roles/etcd_users), or set etcd_pki_clients_allow_root=true to issue it anyway")
            for index, entry in enumerate(value or []) if (entry.get("user") or entry.get("name")) == ROOT]


# = the choices of etcd_tls_transition in meta/argument_specs.yml
TLS_TRANSITIONS = ("none", "both")


def tls_transition_needs(value, settings):
    if value == "both" and not _true(settings.get("etcd_tls", True)):
        return "needs etcd_tls=true: the move ends with TLS"
    return None


def pki_clients_issued(value, settings):
    if not value:
        return None
    if not _true(settings.get("etcd_tls", True)):
        return "needs etcd_tls=true: without TLS etcd checks no client certificate"
    if not _true(settings.get("etcd_pki_managed", True)):
        return ("needs etcd_pki_managed=true: the role issues no certificate into a PKI you provide; issue the "
                "applications' certificates with your CA (and revoke them in its crl.pem)")
    return None


def _needs_own_ca(settings, without_tls, with_own_pki):
    """The refusal of a setting that acts on the CA the role manages, with why it needs it; None when it does."""
    if not _true(settings.get("etcd_tls", True)):
        return "needs etcd_tls=true: " + without_tls
    if not _true(settings.get("etcd_pki_managed", True)):
        return "needs etcd_pki_managed=true: " + with_own_pki
    return None


def rotate_ca_needs(value, settings):
    """etcd_pki_rotate_ca: a rotation of the role's own CA, not together with its replacement."""
    if not _true(value):
        return None
    problem = _needs_own_ca(settings, "without TLS there is no CA to rotate",
                            "the role rotates only a CA it manages; put the new certificates of your CA (and a ca.pem "
                            "that holds both CAs meanwhile) in etcd_pki_dir instead")
    if problem is None and _true(settings.get("etcd_pki_replace_ca", False)):
        return ("cannot be combined with etcd_pki_replace_ca=true: a rotation keeps the members trusting the CA "
                "they run with until every certificate is new; a replacement does not")
    return problem


def rotate_ca_pause_needs(value, settings):
    """etcd_pki_rotate_ca_pause: only where the role rotates a CA (its own PKI, over TLS)."""
    if not _true(value):
        return None
    return _needs_own_ca(settings, "without TLS there is no CA rotation to pause",
                         "the role rotates only a CA it manages; with your own PKI each phase is a run of its own anyway")


PKI_KEY_TYPES = ("ec", "rsa")  # = the choices of etcd_pki_key_type in meta/argument_specs.yml
LOG_LEVELS = ("debug", "info", "warn", "error", "panic", "fatal")  # etcd's --log-level


def release_url(value, _settings):
    if not isinstance(value, str) or not re.fullmatch(r"(https|http|file)://[^\s\x00-\x1f\x7f]+", value):
        return True
    return "must not end with /: the role appends /v{version}/..." if value.endswith("/") else None


def release_version(value, _settings):
    match = VERSION_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return True
    if (int(match.group("major")), int(match.group("minor"))) < (3, 4):
        return "is older than 3.4, which this role does not support"
    return None


def schedule(value, _settings):
    if not isinstance(value, str):
        return True
    return True if CONTROL.search(value) or re.search(r"[;#%\\]", value) else None


def restore_bump(value, _settings):
    if isinstance(value, str) and value == "auto":
        return None
    number = _integer(value)
    return None if number is not None and number >= 0 else True


def point_time(value, _settings):
    if value == "":
        return None
    try:
        parse_point_time(value)
    except (ValueError, TypeError, IndexError):
        return True
    return None


def bump_needs_mark(value, settings):
    bump = settings.get("etcd_restore_bump_revision", "auto")
    if str(value).lower() in ("no", "off", "false", "0") and _integer(bump) != 0:
        return ("must be true while etcd_restore_bump_revision is %s: etcdutl bumps the revision only together "
                "with --mark-compacted; set etcd_restore_bump_revision=0 to restore without either" % show(bump))
    return None


def defrag_rule(value, _settings):
    from ansible_collections.raftops.etcd.plugins.module_utils.cluster.defrag_rule import RuleError, parse as parse_defrag_rule

    try:
        parse_defrag_rule(value)
    except RuleError as exc:
        return "%s; see docs/maintenance.md for the words a rule uses" % exc.problem
    return None


# --- off-host backup targets --------------------------------------------------------------------

# Where settings_problems puts the inventory's hosts for the checks (not a variable name).
INVENTORY = "(inventory hosts)"
TARGET_KEYS = dict(
    s3=("name", "type", "bucket", "prefix", "endpoint_url", "region", "access_key", "secret_key", "part_size_mib",
        "keep", "max_age_days"),
    ssh=("name", "type", "host", "path", "keep", "max_age_days"),
)
TARGET_TEXT = ("a dict with name, type (s3 or ssh) and, for s3, bucket (prefix, endpoint_url, region, access_key, "
               "secret_key, part_size_mib optional), for ssh, host and path; keep and max_age_days optional")


def _target_problem(target, names, inventory):
    """What is wrong with one item of etcd_backup_targets, or None."""
    if not isinstance(target, Mapping):
        return TARGET_TEXT
    name = target.get("name")
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        return "name must be %s" % NAME_RULE
    if name in names:
        return "name %s is used by another target too; each target needs its own name" % show(name)
    kind = target.get("type", "s3")
    if kind not in TARGET_KEYS:
        return "type %s is not s3 or ssh" % show(kind)
    unknown = sorted(set(map(str, target)) - set(TARGET_KEYS[kind]))
    if unknown:
        allowed = ", ".join(TARGET_KEYS[kind])
        return "%s target %s: unknown keys %s; it takes %s" % (kind, name, ", ".join(unknown), allowed)
    if _integer(target.get("keep", 1)) is None or _integer(target.get("keep", 1)) < 1:
        return "keep %s: a whole number of backups, at least 1 (0 would delete every backup)" % show(target["keep"])
    if _integer(target.get("max_age_days", 0)) is None or _integer(target.get("max_age_days", 0)) < 0:
        return "max_age_days %s: a whole number of days, 0 (no age limit) or more" % show(target["max_age_days"])
    if kind == "s3":
        bucket = target.get("bucket")
        if not isinstance(bucket, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            return "s3 target %s needs a bucket: 3 to 63 lowercase letters, digits, . and -" % name
        if bool(target.get("access_key")) != bool(target.get("secret_key")):
            return ("s3 target %s: access_key and secret_key go together; set both, or neither to take the "
                    "credentials of where it runs (environment, instance profile)" % name)
        part = _integer(target.get("part_size_mib", PART_SIZE_RANGE[0]))
        if part is None or not PART_SIZE_RANGE[0] <= part <= PART_SIZE_RANGE[1]:
            return ("s3 target %s: part_size_mib %s is not a whole number of MiB from %d to %d (S3's part sizes)"
                    % (name, show(target["part_size_mib"]), *PART_SIZE_RANGE))
        return None
    host = target.get("host")
    if not isinstance(host, str) or not host:
        return "ssh target %s needs a host: an inventory host name" % name
    if inventory is not None and host not in inventory:
        return "ssh target %s: host %s is not in the inventory" % (name, show(host))
    path = target.get("path")
    problem = directory("/srv/etcd-backups", volatile_ok=False)(path, {})
    if problem:
        return "ssh target %s: path %s %s" % (name, show(path), problem)
    return None


SECRET_KEYS = ("access_key", "secret_key")


def _redacted(target):
    """A target as a message may show it: without its credentials."""
    if not isinstance(target, Mapping):
        return target
    return {k: ("<hidden>" if k in SECRET_KEYS else v) for k, v in target.items()}


def drill_schedule(value, settings):
    """A timer's calendar (schedule); a drill proves the members' pushes, so it needs etcd_backup_push on."""
    if schedule(value, settings) or not value or _true(settings.get("etcd_backup_push", False)):
        return schedule(value, settings)
    return "needs etcd_backup_push: true, whose pushes the drill proves (docs/backup-targets.md)"


def max_age(value, _settings):
    return None if (_duration_seconds(value) or 0) > 0 else True


def backup_targets(value, settings):
    if not isinstance(value, (list, tuple)):
        return [("etcd_backup_targets", _redacted(value),
                 "must be a list of targets, like [{name: offsite, type: s3, bucket: etcd-backups}]")]
    problems, names = [], set()
    for index, target in enumerate(value):
        problem = _target_problem(target, names, settings.get(INVENTORY))
        if problem:
            problems.append(("etcd_backup_targets[%d]" % index, _redacted(target), problem))
        elif isinstance(target, Mapping):
            names.add(target["name"])
    return problems


# A path segment of etcd_backup_cluster: it names S3 objects (<cluster>/...) and backup files.
BACKUP_CLUSTER_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
BACKUP_CLUSTER_TEXT = ("a name of letters, digits, '.', '_' and '-', or several joined by '/', like etcd/etcd (no leading "
                       "or trailing '/', no empty part, no part starting with '.', so no '..')")


def backup_cluster(value, _settings):
    if not isinstance(value, str) or not value:
        return True
    return None if all(BACKUP_CLUSTER_SEGMENT.fullmatch(part) for part in value.split("/")) else True


def recover_lost(value, settings):
    """etcd_recover_lost: hosts (or member names) gone for good, a comma-separated text or a list, each once.
    Whether each is a host of the group or a member of the cluster is judged by the recovery's plan
    (module_utils/plan/recovery_plan.py, judge_recovery), which has the group and the survivors' record
    of the membership."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        return True
    names = [item.strip() for item in items]
    if isinstance(value, str) and names == [""]:
        return None
    inventory = settings.get(INVENTORY) or ()
    bad = [name for name in names if name not in inventory and not re.fullmatch(NAME_PATTERN, name)]
    if bad:
        return ("%s is no inventory host or member name (%s)"
                % (", ".join(show(name) for name in bad), NAME_RULE))
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        return "%s is named more than once; name each lost host once" % ", ".join(twice)
    return None


def controller_file(value, _settings):
    if not isinstance(value, str) or not value.startswith("/") or CONTROL.search(value) or value.endswith("/"):
        return True
    return None


# --- auth: users, roles and RBAC as role variables (docs/access.md) -----------------------------

ACCESS_NAME = re.compile(r"[^\x00-\x1f\x7f\s](?:[^\x00-\x1f\x7f]{0,126}[^\x00-\x1f\x7f\s])?")
ACCESS_NAME_TEXT = "1 to 128 characters without control characters or surrounding spaces"
ROLE_KEYS = ("name", "permissions", "state")
USER_KEYS = ("name", "password", "roles", "state")
ROLES_TEXT = ("a list of roles, each {name: NAME, permissions: [{prefix: P, permission: read|write|readwrite}, ...]} "
              "(key: K for one key) or {name: NAME, state: absent}")
USERS_TEXT = ("a list of users, each {name: NAME, password: P, roles: [ROLE, ...]} (no password: a certificate-only "
              "user, named by an etcd_pki_clients entry) or {name: NAME, state: absent}")
ROOT_PASSWORD_TEXT = "'' (none) or the password of etcd's root user: a string without control characters"


def optional_boolean(value, settings):
    return None if value is None else boolean(value, settings)


def _hidden(entry):
    """An etcd_users entry as a message may show it: without its password."""
    if not isinstance(entry, Mapping):
        return entry
    return {k: ("<hidden>" if k == "password" else v) for k, v in entry.items()}


def _access_entry_problem(entry, kind, keys, seen):
    """What is wrong with one etcd_roles / etcd_users entry on its own; '' when nothing."""
    from ansible_collections.raftops.etcd.plugins.module_utils.client.access import ROOT

    if not isinstance(entry, Mapping):
        return "must be a dict with a name"
    unknown = sorted(str(k) for k in entry if k not in keys)
    if unknown:
        return "unknown key(s) %s; the keys are %s" % (", ".join(unknown), ", ".join(keys))
    name = entry.get("name")
    if not isinstance(name, str) or not ACCESS_NAME.fullmatch(name):
        return "name %s: a %s name is %s" % (show(name), kind, ACCESS_NAME_TEXT)
    if name in seen:
        return "%s %s is listed twice" % (kind, name)
    seen.add(name)
    if entry.get("state", "present") not in ("present", "absent"):
        return "state %s: present or absent" % show(entry.get("state"))
    if name == ROOT:
        if kind == "role":
            return ("the role root is etcd's own: it holds every permission and cannot be changed or deleted; "
                    "give the permissions to a role of your own")
        return ("the user root is the role's: set etcd_auth_root_password (in a vault), and list your "
                "applications' users here")
    return ""


def _access_entries(value, kind, keys, own_problem, shown):
    """The check of etcd_roles / etcd_users: (label, ``shown(entry)``, problem) of each bad entry, by
    _access_entry_problem, then ``own_problem(entry)`` ('' when nothing) of an entry sound so far."""
    if not isinstance(value, (list, tuple)):
        return True
    problems, seen = [], set()
    for index, entry in enumerate(value):
        problem = _access_entry_problem(entry, kind, keys, seen) or own_problem(entry)
        if problem:
            problems.append(("etcd_%ss[%d]" % (kind, index), shown(entry), problem))
    return problems


def _role_problem(entry):
    if entry.get("state", "present") != "present":
        return ""
    if not isinstance(entry.get("permissions") or [], (list, tuple)):
        return "role %s: permissions must be a list" % entry["name"]
    from ansible_collections.raftops.etcd.plugins.module_utils.client.access import AccessError, wanted_permissions

    try:
        wanted_permissions(entry.get("permissions") or [])
    except AccessError as exc:
        return "role %s: %s" % (entry["name"], exc)
    return ""


def _user_problem(entry):
    password, roles = entry.get("password"), entry.get("roles", [])
    if password is not None and (not isinstance(password, str) or not password or CONTROL.search(password)):
        return "user %s: the password must be a non-empty string without control characters" % entry["name"]
    if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) and r for r in roles):
        return "user %s: roles must be a list of role names" % entry["name"]
    return ""


def access_roles(value, _settings):
    return _access_entries(value, "role", ROLE_KEYS, _role_problem, lambda entry: entry)


def access_users(value, _settings):
    return _access_entries(value, "user", USER_KEYS, _user_problem, _hidden)


def root_password(value, _settings):
    if isinstance(value, str) and not CONTROL.search(value):
        return None
    # the value is a secret: never shown
    return [("etcd_auth_root_password", "<hidden>", ROOT_PASSWORD_TEXT)]


def _present(entries):
    return [e for e in entries or [] if e.get("state", "present") == "present"]


def users_roles_known(value, settings):
    """Every role a user is to get is one etcd_roles defines (or root); the rest of etcd's roles are not the role's."""
    from ansible_collections.raftops.etcd.plugins.module_utils.client.access import ROOT

    if "etcd_roles" not in settings:
        return None
    defined = set(e["name"] for e in _present(settings["etcd_roles"])) | {ROOT}
    problems = []
    for index, entry in enumerate(value or []):
        if entry.get("state", "present") != "present":
            continue
        unknown = [r for r in entry.get("roles", []) if r not in defined]
        if unknown:
            problems.append(("etcd_users[%d]" % index, _hidden(entry),
                             "user %s: role(s) %s not defined (present) in etcd_roles; define them there, or take them "
                             "off the user" % (entry["name"], ", ".join(unknown))))
    return problems


def users_log_in(value, settings):
    """A user without a password logs in with a client certificate: an etcd_pki_clients entry must name it."""
    cert_users = set(str(c.get("user", c.get("name"))) for c in settings.get("etcd_pki_clients") or []
                     if isinstance(c, Mapping))
    problems = []
    for index, entry in enumerate(value or []):
        if entry.get("state", "present") == "present" and entry.get("password") is None \
                and entry["name"] not in cert_users:
            problems.append(("etcd_users[%d]" % index, _hidden(entry),
                             "user %s has neither a password nor a certificate: give it a password (in a vault), or "
                             "add {name: ..., user: %s} to etcd_pki_clients for a certificate whose CN is the user"
                             % (entry["name"], entry["name"])))
    return problems


def auth_needs_root(value, settings):
    """Turning auth on or off needs the root user, and the role logs in as root once auth is on."""
    if value is None:
        return None
    if not settings.get("etcd_auth_root_password"):
        return ("there is no root user: etcd enables auth only with a user root holding the role root, and the role "
                "logs in as root once auth is on; set etcd_auth_root_password (in a vault) and the role creates it")
    return None


def root_login_needs_pki(value, settings):
    if value and _true(settings.get("etcd_tls", True)) and not _true(settings.get("etcd_pki_managed", True)):
        return [("etcd_auth_root_password", "<hidden>",
                 "needs etcd_pki_managed=true while etcd_tls is true: with auth on, the role's calls from the members "
                 "use the admin client pair (no CN), which it issues only in a PKI it manages")]
    return None


# --- bootstrap: DNS SRV, discovery service, auto-TLS (docs/bootstrap.md) -------------------------

BOOTSTRAP_MODES = ("static", "dns_srv", "discovery")  # = the choices of etcd_bootstrap in meta/argument_specs.yml
SRV_NAME_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,40}[A-Za-z0-9])?"
SRV_NAME = (matches(SRV_NAME_PATTERN, empty_ok=True), "'' or letters, digits and - (not first or last), like prod")
# etcd's v2 discovery URL: a directory of the v2 keys API, by convention /v2/keys/_etcd/registry/<token>.
DISCOVERY_URL = re.compile(r"https?://[^/\s\x00-\x1f\x7f]+/v2/keys/(?:[A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+")
DISCOVERY_URL_TEXT = ("'' or the v2 URL of a token on the discovery cluster, like "
                      "https://disco.example.com:2379/v2/keys/_etcd/registry/<token> (no trailing /)")
V2_KEYS = "/v2/keys/"


def container_image_pinned(value, _settings):
    if value == "":
        return None
    return None if isinstance(value, str) and PINNED_IMAGE.fullmatch(value) else True


def container_image_needs_runtime(value, settings):
    # A runtime that failed its own rule is not sound: the image is not judged by it.
    return True if value and settings.get("etcd_runtime", "container") != "container" else None


def discovery_url(value, settings):
    """A bad etcd_discovery_url is shown without its token: up to /v2/keys/ at most."""
    if not matches(DISCOVERY_URL.pattern, empty_ok=True)(value, settings):
        return None
    shown = value.split(V2_KEYS, 1)[0] + V2_KEYS + HIDDEN if isinstance(value, str) and V2_KEYS in value else HIDDEN
    return [("etcd_discovery_url", shown, DISCOVERY_URL_TEXT)]


def discovery_token(value, settings):
    """A bad etcd_discovery_token is refused without showing it."""
    if not matches(NAME_PATTERN, empty_ok=True)(value, settings):
        return None
    return [("etcd_discovery_token", HIDDEN, "'' or " + NAME_RULE)]


ENDPOINT_URL = re.compile(r"https?://[^/\s\x00-\x1f\x7f]+")
V3_DISCOVERY_SINCE = (3, 6)


def discovery_domain(value, _settings):
    if not isinstance(value, str):
        return True
    if value == "":
        return None
    return None if is_dns_name(value.rstrip(".")) and "." in value.rstrip(".") else True


SRV_DOMAIN = (discovery_domain, "'' or a DNS domain like example.com")


def discovery_endpoints(value, _settings):
    if not isinstance(value, (list, tuple)):
        return "must be a list of client URLs of the discovery cluster, like ['https://disco.example.com:2379']"
    return [("etcd_discovery_endpoints[%d]" % i, url, "a client URL like https://disco.example.com:2379 (no path)")
            for i, url in enumerate(value) if not (isinstance(url, str) and ENDPOINT_URL.fullmatch(url))]


def _release(settings):
    match = VERSION_PATTERN.fullmatch(settings.get("etcd_version", "")) if isinstance(
        settings.get("etcd_version"), str) else None
    return (int(match.group("major")), int(match.group("minor"))) if match else None


def bootstrap_needs(value, settings):
    """What the bootstrap mode ``value`` needs from the other settings."""
    if value == "dns_srv" and not settings.get("etcd_discovery_srv"):
        return ("needs etcd_discovery_srv, the domain whose _etcd-server-ssl._tcp SRV records name the members "
                "(docs/bootstrap.md)")
    if value != "discovery":
        for variable in ("etcd_discovery_url", "etcd_discovery_token"):
            if settings.get(variable):
                return "does not use %s (set etcd_bootstrap: discovery, or leave %s empty)" % (variable, variable)
        if value != "dns_srv" and settings.get("etcd_discovery_srv"):
            return "does not use etcd_discovery_srv (set etcd_bootstrap: dns_srv, or leave etcd_discovery_srv empty)"
        return None
    release = _release(settings)
    v3 = bool(settings.get("etcd_discovery_endpoints")) or bool(settings.get("etcd_discovery_token"))
    if release is not None and release >= V3_DISCOVERY_SINCE:
        if settings.get("etcd_discovery_url"):
            return ("with etcd %d.%d uses the v3 discovery protocol: set etcd_discovery_endpoints and "
                    "etcd_discovery_token instead of etcd_discovery_url" % release)
        if not (settings.get("etcd_discovery_endpoints") and settings.get("etcd_discovery_token")):
            return ("with etcd %d.%d needs etcd_discovery_endpoints (the discovery cluster's client URLs) and "
                    "etcd_discovery_token" % release)
        return None
    if v3:
        return ("with etcd before 3.6 uses the v2 discovery protocol: set etcd_discovery_url, not "
                "etcd_discovery_endpoints or etcd_discovery_token")
    if not settings.get("etcd_discovery_url"):
        return ("needs etcd_discovery_url, the v2 URL of a token on the discovery cluster, like "
                "https://disco.example.com:2379/v2/keys/_etcd/registry/<token>")
    return None


AUTO_TLS_WITH_CERT_AUTH = ("cannot be combined with etcd_tls=true: auto-TLS certificates are self-signed, so etcd "
                           "can authenticate no client or peer with them; set etcd_tls: false with etcd_auto_tls: "
                           "true (encrypted, unauthenticated), or keep etcd_tls and turn etcd_auto_tls off")


def auto_tls_alone(value, settings):
    if not _true(value):
        return None
    if _true(settings.get("etcd_tls", False)):
        return AUTO_TLS_WITH_CERT_AUTH
    if settings.get("etcd_metrics") == "address":
        return ("cannot be combined with etcd_metrics=address: without client certificates the metrics listener on "
                "the member's address would be plaintext; use etcd_metrics: loopback")
    return None


# --- etcd_extra_env -----------------------------------------------------------------------------

ENV_KEY = re.compile(r"ETCD_[A-Z0-9_]+")
SAFETY = "the role manages this for safety"
TLS_SAFETY = SAFETY + " (TLS comes from etcd_tls and etcd_pki_dir)"
TLS_KEYS = (
    "ETCD_TRUSTED_CA_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_CLIENT_CERT_AUTH", "ETCD_CLIENT_CRL_FILE",
    "ETCD_CLIENT_CERT_ALLOWED_HOSTNAME", "ETCD_CLIENT_CERT_FILE", "ETCD_CLIENT_KEY_FILE",
    "ETCD_PEER_TRUSTED_CA_FILE", "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE", "ETCD_PEER_CLIENT_CERT_AUTH",
    "ETCD_PEER_CRL_FILE", "ETCD_PEER_CERT_ALLOWED_CN", "ETCD_PEER_CERT_ALLOWED_HOSTNAME",
    "ETCD_PEER_CLIENT_CERT_FILE", "ETCD_PEER_CLIENT_KEY_FILE", "ETCD_AUTO_TLS", "ETCD_PEER_AUTO_TLS",
    "ETCD_SELF_SIGNED_CERT_VALIDITY", "ETCD_TLS_MIN_VERSION", "ETCD_TLS_MAX_VERSION", "ETCD_CIPHER_SUITES",
    "ETCD_PEER_SKIP_CLIENT_SAN_VERIFICATION", "ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION",
)
# Settings the role writes from a role variable: key -> what to set instead.
ROLE_SET_ENV = dict(
    ETCD_NAME="NODE_NAME",
    ETCD_DATA_DIR="etcd_data_dir",
    ETCD_WAL_DIR="etcd_wal_dir",
    ETCD_LISTEN_PEER_URLS="etcd_address and etcd_peer_port",
    ETCD_INITIAL_ADVERTISE_PEER_URLS="etcd_address and etcd_peer_port",
    ETCD_LISTEN_CLIENT_URLS="etcd_address and etcd_client_port",
    ETCD_ADVERTISE_CLIENT_URLS="etcd_address and etcd_client_port",
    ETCD_INITIAL_CLUSTER="the hosts of the etcd_group group",
    ETCD_INITIAL_CLUSTER_TOKEN="etcd_cluster_token",
    ETCD_HEARTBEAT_INTERVAL="etcd_heartbeat_interval",
    ETCD_ELECTION_TIMEOUT="etcd_election_timeout",
    ETCD_SNAPSHOT_COUNT="etcd_snapshot_count",
    ETCD_QUOTA_BACKEND_BYTES="etcd_quota_backend_bytes",
    ETCD_AUTO_COMPACTION_MODE="etcd_auto_compaction_mode",
    ETCD_AUTO_COMPACTION_RETENTION="etcd_auto_compaction_retention",
    ETCD_LOG_LEVEL="etcd_log_level",
    ETCD_LISTEN_METRICS_URLS="etcd_metrics and etcd_metrics_port",
    ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK="etcd_corruption_checks",
    ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED="etcd_corruption_checks",
)
# Settings the role writes itself or that would break what it guarantees: key -> why refused.
MANAGED_ENV = dict(
    {key: TLS_SAFETY for key in TLS_KEYS},
    **{key: "the role sets this; use %s instead" % instead for key, instead in ROLE_SET_ENV.items()},
    ETCD_INITIAL_CLUSTER_STATE=SAFETY,
    ETCD_LOGGER="the role sets this (zap, to stderr and so the journal); use etcd_log_level instead",
    ETCD_LOG_OUTPUTS="the role sets this (zap, to stderr and so the journal); use etcd_log_level instead",
    ETCD_CONFIG_FILE=SAFETY + ": etcd would ignore every other setting",
    ETCD_FORCE_NEW_CLUSTER=SAFETY + ": it would split this member off as a cluster of its own",
    ETCD_DISCOVERY=SAFETY + ": the role bootstraps the cluster",
    ETCD_DISCOVERY_SRV=SAFETY + ": the role bootstraps the cluster",
    ETCD_UNSAFE_NO_FSYNC=SAFETY + ": a crash could lose committed data",
    ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG="the role sets this from 3.5.14 on (from 3.6 as the feature gate "
                                                  "StopGRPCServiceOnDefrag, which etcd_feature_gates may turn off): a "
                                                  "member that defragments sends gRPC clients that check its health "
                                                  "elsewhere (docs/maintenance.md)",
    ETCD_FEATURE_GATES="the role sets this (with the corruption checks' gates); use etcd_feature_gates instead",
)
# Anything else about TLS (experimental or future names) is the role's too.
TLS_KEY = re.compile(r".*(TLS|CERT|KEY_FILE|CRL|CIPHER|_CA_FILE|SAN_VERIFICATION).*")
ENV_KEY_TEXT = "a key is ETCD_ and upper-case letters, digits and _, like ETCD_MAX_REQUEST_BYTES"
ENV_VALUE_TEXT = "a value is one line of text, a number or true/false (no newline, carriage return or NUL)"
PLAINTEXT_TEXT = ("a plaintext listener (http:// or unix://) is refused; use https:// (metrics on loopback: "
                  "etcd_metrics)")


def _managed(key):
    if key in MANAGED_ENV:
        return MANAGED_ENV[key]
    if key.startswith("ETCD_DISCOVERY_"):
        return SAFETY + ": the role bootstraps the cluster"
    if TLS_KEY.fullmatch(key):
        return TLS_SAFETY
    return None


def _plaintext_listener(key, text):
    if not key.startswith(("ETCD_LISTEN_", "ETCD_ADVERTISE_")):
        return False
    for url in text.split(","):
        url = url.strip()
        if url.lower().startswith(("http://", "unix://")):
            return True
    return False


def extra_env(value, settings):
    if not isinstance(value, Mapping):
        return True
    problems = []
    for key in sorted(value, key=str):
        item = value[key]
        label = "etcd_extra_env[%s]" % show(key)
        if not isinstance(key, str) or not ENV_KEY.fullmatch(key):
            problems.append((label, item, ENV_KEY_TEXT))
            continue
        managed = _managed(key)
        if managed:
            # (every secret setting is one the role manages)
            problems.append((label, HIDDEN if key in SECRET_SETTINGS else item, managed))
            continue
        if not isinstance(item, (str, int)) or (isinstance(item, str) and re.search(r"[\r\n\x00]", item)):
            problems.append((label, item, ENV_VALUE_TEXT))
            continue
        if isinstance(item, str) and _plaintext_listener(key, item):
            problems.append((label, item, PLAINTEXT_TEXT))
            continue
        release = _release(settings)
        if key.startswith("ETCD_EXPERIMENTAL_") and release is not None and release >= FEATURE_GATES_SINCE:
            problems.append((label, item, _experimental_text(key, release)))
    return problems


def _experimental_text(key, release):
    """etcd 3.6 deprecated the --experimental-* flags and 3.7 removed them, and an unknown ETCD_*
    setting is only a warning: the member would start without it."""
    replacement = EXPERIMENTAL_REPLACEMENTS.get(key)
    text = "etcd %d.%d has no experimental settings any more (3.6 deprecated them, 3.7 removed them, and " \
           "etcd would only warn and run without it); " % release
    if replacement:
        return text + "use %s instead" % replacement
    return text + "see etcd's CHANGELOG-3.6 for the setting or feature gate (etcd_feature_gates) that replaced it"


# --- etcd_feature_gates --------------------------------------------------------------------------

FEATURE_GATES_TEXT = "a dict of etcd feature gate -> true/false, like {StopGRPCServiceOnDefrag: true}"
CORRUPTION_GATES = ("CompactHashCheck", "InitialCorruptCheck")


def feature_gates(value, settings):
    """The gates must be ones etcd_version knows (an unknown gate stops etcd at start), with a
    boolean each, and leave the corruption checks' gates to etcd_corruption_checks."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, (bool, str, int))
                                                 for k, v in value.items()):
        return True
    if not value:
        return None
    release = _release(settings)
    if release is None:
        return None
    if release < FEATURE_GATES_SINCE:
        return "etcd %d.%d has no feature gates (--feature-gates arrives in 3.6); leave it {}" % release
    known = known_feature_gates(release)
    unknown = sorted(name for name in value if name not in known)
    if unknown:
        return "etcd %d.%d knows no feature gate %s; its gates are %s" % (
            *release, ", ".join(unknown), ", ".join(known))
    bad = sorted(name for name, on in value.items() if str(on).lower() not in ("true", "false", "yes", "no", "1", "0"))
    if bad:
        return "the value of %s must be true or false" % ", ".join(bad)
    managed = sorted(name for name in value if name in CORRUPTION_GATES)
    if managed:
        return "%s: the role sets these for etcd_corruption_checks; use that instead" % ", ".join(managed)
    return None


# --- the client access tier (roles/etcd_proxy) ---------------------------------------------------

PROXY_MODES = ("grpc", "gateway")  # = plugins/module_utils/host/proxy_args.py MODES and the argument_specs choices
# Written into the proxy's ExecStart, where systemd expands % and $: letters, digits and / . _ : @ + = , - only.
KEY_PREFIX = re.compile(r"/[A-Za-z0-9/._:@+=,-]*")
NAMESPACE_TEXT = ("'' (no namespace) or a key prefix that starts and ends with /, like /app/: without the final / "
                  "the keys of /app would share their prefix with those of /apple (letters, digits and / . _ : @ + = , - "
                  "only)")


def key_prefix(value, _settings):
    if not isinstance(value, str):
        return True
    if value == "":
        return None
    return None if KEY_PREFIX.fullmatch(value) and value.endswith("/") else True


def ip_address(value, _settings):
    return None if isinstance(value, str) and is_ip_address(value) else True


def host_address(value, _settings):
    return None if isinstance(value, str) and (value == "" or is_ip_address(value) or is_dns_name(value)) else True


def go_duration(value, _settings):
    return None if (_duration_seconds(value) or 0) > 0 else True


def proxy_ports_differ(value, settings):
    if _integer(value) != 0 and "etcd_proxy_port" in settings and _integer(value) == _integer(settings["etcd_proxy_port"]):
        return "must differ from etcd_proxy_port (%s)" % show(settings["etcd_proxy_port"])
    return None


# --- the table ----------------------------------------------------------------------------------

BOOL_TEXT = "true or false (yes/no, on/off and 1/0 work too)"

# A cluster's name on its hosts (etcd_instance): a unit, a user, directories and timers derive from it.
INSTANCE_PATTERN = r"[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?"

RULES = [
    Rule("etcd_instance", matches(INSTANCE_PATTERN),
         "1 to 20 lowercase letters, digits and -, starting with a letter and not ending with -, like etcd or "
         "etcd-events",
         "it names this cluster's systemd unit, user and directories on each host"),
    Rule("etcd_version", release_version, "a release version X.Y.Z, 3.4.0 or later, like 3.6.14 (no v, no spaces)",
         "it is part of the download URL; the role supports etcd 3.4 and later"),
    Rule("etcd_release_base_url", release_url,
         "a URL starting with https://, http:// or file://, without whitespace or a trailing /",
         "releases are fetched from {base}/v{version}/..."),
    Rule("etcd_client_port", *PORT, "etcd listens on it"),
    Rule("etcd_profile", sizing_profile, "'' (none), small, medium, large or xlarge",
         "the class of cluster: it sets the quota and snapshot count, and the hardware preflight checks against it "
         "(docs/sizing.md)"),
    Rule("etcd_preflight_hardware", one_of(("new", "all", "off")), "new, all or off",
         "which hosts the hardware preflight measures: new members, every member, none"),
    Rule("etcd_metrics", one_of(METRICS_MODES), "loopback, address or off",
         "where each member serves /metrics and /health (docs/monitoring.md)"),
    Rule("etcd_metrics_port", *PORT, "etcd listens on it unless etcd_metrics is off"),
    Rule("etcd_metrics_scrapers", san_list("etcd_metrics_scrapers"), "a list of IP addresses or DNS names (the Prometheus servers)",
         "they become the SANs of the scrapers' client certificate, which etcd checks"),
    Rule("etcd_peer_port", *PORT, "etcd listens on it"),
    Rule("etcd_heartbeat_interval", whole_number(1, MAX_ELECTION_MS // 5),
         "a whole number of milliseconds from 1 to %d" % (MAX_ELECTION_MS // 5),
         "etcd refuses 0, and the election timeout (at least 5 x this) may not pass %d" % MAX_ELECTION_MS),
    Rule("etcd_election_timeout", whole_number(5, MAX_ELECTION_MS),
         "a whole number of milliseconds from 5 to %d" % MAX_ELECTION_MS,
         "etcd refuses more than %d ms (its maxElectionMs)" % MAX_ELECTION_MS),
    Rule("etcd_snapshot_count", *counted("committed transactions", 1),
         "raft snapshots are taken every that many transactions"),
    Rule("etcd_quota_backend_bytes", whole_number(0, MAX_QUOTA),
         "a whole number of bytes from 0 (etcd's default, 2 GiB) to 100 GiB; etcd recommends at most 8 GiB",
         "a larger value is most likely a typo"),
    Rule("etcd_auto_compaction_mode", one_of(COMPACTION_MODES), "'' (off), 'periodic' or 'revision'",
         "the modes etcd knows"),
    Rule("etcd_auto_compaction_retention", compaction_retention, RETENTION_TEXT,
         "periodic takes a duration or hours, revision a revision count; 0 is off, as etcd documents it"),
    Rule("etcd_log_level", one_of(LOG_LEVELS), "one of %s" % ", ".join(LOG_LEVELS),
         "the levels etcd knows"),
    Rule("etcd_limit_nofile", *counted("open files", 1024),
         "etcd holds a file per client connection and per peer stream"),
    Rule("etcd_runtime", one_of(RUNTIMES), "host or container",
         "how each member runs etcd: the release's binary, or an image of it under Podman or Docker (docs/runtime.md)"),
    Rule("etcd_container_image", container_image_pinned,
         "'' (the image each host builds from the verified release) or an image named by its digest, "
         "like registry.example.com/etcd@sha256:<64 hex digits>",
         "a tag can be moved to another image; a digest names one"),
    Rule("etcd_health_timeout", *counted("seconds", 1), "how long the role waits for health"),
    Rule("etcd_learner_stall_timeout", *counted("seconds", 1), "how long a joining learner may make no progress"),
    Rule("etcd_run_lock_ttl", *counted("seconds", 10),
         "the lock of a run that died expires after it; a shorter one would expire under a live run"),
    Rule("etcd_run_lock_wait", *counted("seconds", 0), "how long a run waits for another run's lock"),
    Rule("etcd_first_contact_timeout", whole_number(1, MAX_FIRST_CONTACT), FIRST_CONTACT_TEXT,
         "how long the playbooks meant for dead hosts wait for each host's first answer before they leave it out "
         "as unreachable; more would no longer bound a run that meets a dead host"),
    Rule("etcd_max_raft_index_gap", *counted("raft entries", 0), "how far behind the leader a restarted member may be"),
    Rule("etcd_backup_keep", *counted("snapshots", 1), "0 would delete every snapshot"),
    Rule("etcd_backup_host_keep", *counted("snapshots", 1), "0 would delete every snapshot"),
    Rule("etcd_restore_bump_revision", restore_bump, "auto or a whole number of revisions, 0 (no bump) or more",
         "a restore raises the revision by it (docs/backup-restore.md)"),
    Rule("etcd_status_backup_max_age_hours", *counted("hours", 1),
         "the status warns when the newest snapshot is older"),
    Rule("etcd_backup_transfer_dir", directory("/var/tmp", empty_ok=True, system_ok=True, volatile_ok=True),
         "'' (the login user's temporary directory) or an absolute path in normal form",
         "a private directory for one snapshot is made in it"),
    Rule("etcd_backup_targets", backup_targets, TARGET_TEXT,
         "each backup is encrypted and sent to every target (docs/backup-targets.md)"),
    Rule("etcd_backup_push", boolean, BOOL_TEXT,
         "the members push their snapshots to etcd_backup_targets (docs/backup-targets.md)"),
    Rule("etcd_backup_push_window", *counted("seconds", 1), "one member pushes per window (docs/backup-targets.md)"),
    Rule("etcd_backup_stream_interval", whole_number(0, 3600), "0 (no change stream) or a whole number of seconds up to 3600",
         "the members ship the cluster's changes off-host that often (docs/backup-restore.md)"),
    Rule("etcd_restore_to", point_time, "'' or an RFC 3339 time with its zone, such as 2026-11-28T14:03:07Z",
         "the restore replays the change stream up to that time (docs/backup-restore.md)"),
    Rule("etcd_restore_revision", whole_number(0), "0 or a whole number of revisions",
         "the restore replays the change stream up to that revision (docs/backup-restore.md)"),
    Rule("etcd_backup_compression", one_of(("zlib", "lzma", "none")), "zlib, lzma or none",
         "the codecs the backup format records"),
    Rule("etcd_backup_cluster", backup_cluster, BACKUP_CLUSTER_TEXT,
         "it is the default prefix of S3 targets and is written into every backup's header"),
    Rule("etcd_recover_lost", recover_lost,
         "a list (or comma-separated text) of the inventory hosts, or member names, gone for good, each once",
         "recover_quorum counts them lost (docs/backup-restore.md); any other silent host stops it"),
    Rule("etcd_backup_key_file", controller_file, "an absolute path of a file on the controller",
         "the backup key is read from it, and made there on first use"),
    Rule("etcd_backup_schedule", schedule,
         "'' (no timer) or a systemd OnCalendar expression like 'hourly' or '*-*-* 00/6:00:00', on one line, "
         "without ; # % or \\",
         "it is written into a systemd timer; systemd-analyze checks the expression on the host"),
    Rule("etcd_backup_drill_schedule", drill_schedule,
         "'' (no timer) or a systemd OnCalendar expression like 'daily' or '*-*-* 04:30:00', on one line, "
         "without ; # % or \\",
         "it is written into a systemd timer; systemd-analyze checks the expression on the host"),
    Rule("etcd_backup_max_age", max_age, "a Go duration like '26h' or '90m', more than 0",
         "the status warns when the newest proven backup is older"),
    Rule("etcd_backup_metrics_dir", directory("/var/lib/prometheus/node-exporter", volatile_ok=True),
         "an absolute path in normal form, like /var/lib/prometheus/node-exporter",
         "it is written into the timers' units"),
    Rule("etcd_maintenance_schedule", schedule,
         "'' (no timer) or a systemd OnCalendar expression like 'daily' or 'Sun *-*-* 03:00:00', on one line, "
         "without ; # % or \\",
         "it is written into a systemd timer; systemd-analyze checks the expression on the host"),
    Rule("etcd_defrag_rule", defrag_rule, "a defragmentation rule (docs/maintenance.md)",
         "the maintenance playbook and timers decide with it"),
    Rule("etcd_maintenance_defrag_timeout", *counted("seconds", 1), "how long one member's defragmentation may take"),
    Rule("etcd_maintenance_defrag_pause", *counted("seconds", 0, 3600),
         "the maintenance waits this long between two members' defragmentations"),
    Rule("etcd_maintenance_compact_keep", *counted("revisions", 0),
         "how many revisions a NOSPACE recovery keeps when it compacts"),
    Rule("etcd_pki_validity_days", *counted("days", 1), "lifetime of member and client certificates"),
    Rule("etcd_pki_ca_validity_days", *counted("days", 1), "lifetime of a new CA"),
    Rule("etcd_pki_renew_before_days", *counted("days", 0), "certificates this close to expiry are renewed"),
    Rule("etcd_pki_key_type", one_of(PKI_KEY_TYPES), "one of %s" % ", ".join(PKI_KEY_TYPES),
         "the key types the role can make"),
    Rule("etcd_pki_extra_sans", san_list("etcd_pki_extra_sans"), "a list of IP addresses or DNS names (*.example.com allowed)",
         "they go into every member certificate"),
    Rule("etcd_pki_clients", pki_clients,
         "a list of applications, each {name: NAME} or {name: NAME, user: USER}: names unique (ignoring case), "
         "1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit, not ending in -key; "
         "user 1 to 64 characters without control characters or surrounding spaces",
         "each application gets etcd_pki_dir/clients/NAME.pem with USER (default NAME) as its common name"),
    Rule("etcd_auth_enabled", optional_boolean, "true (turn etcd's auth on), false (turn it off) or null (leave it)",
         "the role turns etcd's RBAC auth on or off to match (docs/access.md)"),
    Rule("etcd_auth_root_password", root_password, ROOT_PASSWORD_TEXT,
         "the role creates the user root with it and logs in as root once auth is on"),
    Rule("etcd_roles", access_roles, ROLES_TEXT, "the role creates them with exactly these permissions"),
    Rule("etcd_users", access_users, USERS_TEXT, "the role creates them with exactly these roles"),
    Rule("etcd_data_dir", directory("/var/lib/etcd"), DIRECTORY_TEXT,
         "the role chowns it to the etcd user, mode 0700, and moves it aside on removal and restore"),
    Rule("etcd_wal_dir", directory("/var/lib/etcd-wal/wal", empty_ok=True),
         "'' (inside the data dir) or an absolute path in normal form, a directory of its own",
         "like the data dir; often a separate fast disk"),
    Rule("etcd_wal_dir", wal_beside_own_directory, "a WAL dir one level below a directory of its own",
         "etcd writes beside the WAL dir, whose parent the role gives to the etcd user"),
    Rule("etcd_config_dir", directory("/etc/etcd"), DIRECTORY_TEXT,
         "holds the settings and keys, readable by the etcd user only"),
    Rule("etcd_install_dir", directory("/opt/etcd"), DIRECTORY_TEXT,
         "releases are unpacked into it"),
    Rule("etcd_bin_dir", directory("/usr/local/bin", system_ok=True),
         "an absolute path in normal form (a system bin directory is fine)",
         "links to etcd, etcdctl and etcdutl go there"),
    Rule("etcd_backup_host_dir", directory("/var/backups/etcd"),
         DIRECTORY_TEXT, "snapshots are kept and deleted there"),
    Rule("etcd_user", service_user,
         SERVICE_USER_TEXT,
         "etcd runs as this user, which owns the data and keys"),
    Rule("etcd_cluster_token", matches(NAME_PATTERN, empty_ok=True), "'' (a unique token is made) or " + NAME_RULE,
         "it seeds the cluster and member IDs"),
    Rule("etcd_bootstrap", one_of(BOOTSTRAP_MODES), "static, dns_srv or discovery",
         "how a new cluster finds its members (docs/bootstrap.md)"),
    Rule("etcd_discovery_srv", *SRV_DOMAIN,
         "etcd looks up _etcd-server-ssl._tcp.<domain> (and the members' certificates name it)"),
    Rule("etcd_discovery_srv_name", *SRV_NAME, "etcd appends -<name> to the SRV service names (--discovery-srv-name)"),
    Rule("etcd_discovery_srv_resolvers", san_list("etcd_discovery_srv_resolvers"),
         "a list of nameserver IP addresses ([] for the controller's own resolver)",
         "the controller asks them for the SRV records in preflight"),
    Rule("etcd_discovery_url", discovery_url, DISCOVERY_URL_TEXT,
         "etcd 3.4/3.5 members register under it (--discovery)"),
    Rule("etcd_discovery_endpoints", discovery_endpoints, "a list of client URLs of the discovery cluster",
         "etcd 3.6 members register there (--discovery-endpoints)"),
    Rule("etcd_discovery_token", discovery_token, "'' or " + NAME_RULE,
         "etcd 3.6 members register under /_etcd/registry/<token> (--discovery-token)"),
    Rule("etcd_feature_gates", feature_gates, FEATURE_GATES_TEXT,
         "etcd 3.6 and later start with them (ETCD_FEATURE_GATES)"),
    Rule("etcd_extra_env", extra_env,
         "a dict of ETCD_* settings, like {ETCD_MAX_REQUEST_BYTES: 10485760}, that the role does not manage",
         "each becomes a line of the member's environment file"),
    Rule("etcd_proxy_group", matches(r"[A-Za-z_][A-Za-z0-9_-]*"), "an inventory group name, like etcd_proxy",
         "the client hosts that run a proxy are its hosts"),
    Rule("etcd_proxy_mode", one_of(PROXY_MODES), "one of grpc, gateway",
         "grpc runs etcd grpc-proxy, gateway runs etcd gateway (docs/proxy.md)"),
    Rule("etcd_proxy_discovery_srv", *SRV_DOMAIN,
         "the proxy finds the members under _etcd-client-ssl._tcp.<domain> (--discovery-srv)"),
    Rule("etcd_proxy_discovery_srv_name", *SRV_NAME,
         "the proxy appends -<name> to the SRV service names (--discovery-srv-name)"),
    Rule("etcd_proxy_listen_address", ip_address, "an IP address, like 127.0.0.1 (this host only) or 0.0.0.0",
         "the proxy listens on it"),
    Rule("etcd_proxy_port", *PORT, "the proxy listens on it"),
    Rule("etcd_proxy_metrics_port", whole_number(0, 65535), "0 (none) or a port, a whole number from 1 to 65535",
         "the gRPC proxy serves /metrics on it, on 127.0.0.1"),
    Rule("etcd_proxy_namespace", key_prefix, NAMESPACE_TEXT, "the gRPC proxy prefixes every key of its clients with it"),
    Rule("etcd_proxy_resolver_prefix", key_prefix,
         "'' (no registration) or a key prefix that starts and ends with /, like /proxies/ (letters, digits and "
         "/ . _ : @ + = , - only)",
         "the gRPC proxy registers its address under it, for clients that discover proxies"),
    Rule("etcd_proxy_resolver_ttl", *counted("seconds", 1),
         "the registration expires after it unless the proxy renews it (etcd refuses 0 with a prefix)"),
    Rule("etcd_proxy_advertise_address", host_address,
         "'' (the listen address, or the host's address for 0.0.0.0) or an IP address or DNS name, without a port",
         "the address the gRPC proxy registers under etcd_proxy_resolver_prefix"),
    Rule("etcd_proxy_retry_delay", go_duration, "a Go duration above 0, like 1m or 30s (with its unit)",
         "the gateway waits this long before it tries a failed member again"),
    Rule("etcd_proxy_user", service_user,
         SERVICE_USER_TEXT,
         "the proxy runs as this user"),
    Rule("etcd_proxy_config_dir", directory("/etc/etcd-proxy"), DIRECTORY_TEXT,
         "holds the proxy's keys, readable by its user only"),
    Rule("etcd_proxy_data_dir", directory("/var/lib/etcd-proxy"), DIRECTORY_TEXT,
         "the gRPC proxy's working directory"),
] + [
    Rule(variable, boolean, BOOL_TEXT,
         "the role reads it with Ansible's bool filter, which takes other values (like 'y') as false")
    for variable in ("etcd_tls", "etcd_pki_managed", "etcd_systemd_hardening", "etcd_show_status",
                     "etcd_remove_wipe", "etcd_allow_downgrade", "etcd_downgrade_cancel", "etcd_backup_before_upgrade",
                     "etcd_pki_replace_ca", "etcd_pki_rotate_ca", "etcd_pki_rotate_ca_pause",
                     "etcd_run_lock", "etcd_corruption_checks", "etcd_preflight_strict", "etcd_restore_mark_compacted",
                     "etcd_auto_tls", "etcd_download_on_hosts", "etcd_pki_clients_allow_root")
] + [
    # Rules between variables: they only see values that passed the rules above.
    Rule("etcd_peer_port", ports_differ, "not the same as etcd_client_port", "etcd listens on both"),
    Rule("etcd_metrics_port", metrics_port_differs, "not the same as etcd_client_port or etcd_peer_port",
         "etcd listens on all three"),
    Rule("etcd_election_timeout", election_vs_heartbeat, "at least 5 x etcd_heartbeat_interval",
         "etcd's own check"),
    Rule("etcd_pki_ca_validity_days", validity_ca, "at least etcd_pki_validity_days",
         "a certificate cannot outlive its CA"),
    Rule("etcd_pki_renew_before_days", renew_before, "less than etcd_pki_validity_days",
         "or every run would renew every certificate"),
    Rule("etcd_proxy_metrics_port", proxy_ports_differ, "0 or not the same as etcd_proxy_port",
         "the gRPC proxy listens on both"),
    Rule("etcd_bootstrap", bootstrap_needs, "the settings its mode needs (docs/bootstrap.md)",
         "etcd refuses to start without them"),
    Rule("etcd_tls_transition", one_of(TLS_TRANSITIONS), "none, or both with etcd_tls true",
         "the step of a plaintext cluster's move to TLS, which the adopt playbook sets (docs/adopt.md)"),
    Rule("etcd_tls_transition", tls_transition_needs, "none while etcd_tls is false",
         "the move ends with TLS"),
    Rule("etcd_auto_tls", auto_tls_alone, "false while etcd_tls is true or etcd_metrics is address",
         "auto-TLS authenticates nobody: it is refused with client-certificate auth"),
    Rule("etcd_pki_clients", pki_clients_issued, "[] unless etcd_tls and etcd_pki_managed are true",
         "the role issues the applications' certificates only into a PKI it manages"),
    Rule("etcd_pki_clients", pki_clients_root, "no application whose user is root, unless etcd_pki_clients_allow_root is true",
         "a certificate with common name root is etcd's superuser on its gRPC port"),
    Rule("etcd_pki_rotate_ca", rotate_ca_needs, "false unless etcd_tls and etcd_pki_managed are true and "
         "etcd_pki_replace_ca is false", "the role rotates only the CA of a PKI it manages (docs/pki.md, CA rotation)"),
    Rule("etcd_pki_rotate_ca_pause", rotate_ca_pause_needs, "false unless etcd_tls and etcd_pki_managed are true",
         "it stops the CA rotation of a PKI the role manages (docs/pki.md, CA rotation)"),
    Rule("etcd_auth_enabled", auth_needs_root, "null unless etcd_auth_root_password is set",
         "etcd needs the user root to turn auth on, and the role logs in as root"),
    Rule("etcd_auth_root_password", root_login_needs_pki, "'' unless etcd_pki_managed is true (with etcd_tls)",
         "the role's calls use the admin client pair it issues"),
    Rule("etcd_users", users_roles_known, "roles that etcd_roles defines, or root",
         "the role manages only the roles it lists"),
    Rule("etcd_users", users_log_in, "a password, or an etcd_pki_clients entry for the user",
         "a user logs in with a password or a client certificate whose CN is its name"),
    Rule("etcd_container_image", container_image_needs_runtime, "'' unless etcd_runtime is container",
         "only a member in a container runs an image"),
    Rule("etcd_restore_mark_compacted", bump_needs_mark, "true unless etcd_restore_bump_revision is 0",
         "etcdutl bumps the revision only together with --mark-compacted"),
] + [
    Rule(variable, separate_directory(variable),
         "not the same as, nor inside, another of %s (the WAL dir may be inside the data dir, but not in "
         "its member directory)" % ", ".join(SEPARATE_DIRS),
         "the role chowns, moves and deletes these directories whole")
    for variable in SEPARATE_DIRS
]

# The keys the filter reads (in table order): the dict given to it may hold any subset.
VARIABLES = tuple(dict.fromkeys(rule.variable for rule in RULES))


def settings_problems(settings, host="?", inventory_hosts=None):
    """Messages ``host H: VARIABLE=VALUE: what is allowed`` for every bad value; empty when all are fine.

    Variables missing from ``settings`` are skipped; unknown keys are ignored. Never raises for a bad value.
    ``inventory_hosts`` (``groups['all']``), when given, are the hosts an SSH backup target may name.
    """
    host = str(host)
    if not isinstance(settings, Mapping):
        return ["host %s: the settings to check must be a dict of role variables, not %s" % (host, show(settings))]
    problems, failed, sound = [], set(), {}
    if inventory_hosts is not None:
        sound[INVENTORY] = frozenset(map(str, inventory_hosts))
    for rule in RULES:
        variable = rule.variable
        if variable not in settings or variable in failed:
            continue
        value = settings[variable]
        try:
            result = rule.check(value, sound)
        except Exception:  # a check that trips over a value still only reports it
            result = True
        if not result:
            sound[variable] = value
            continue
        failed.add(variable)
        if isinstance(result, list):
            problems.extend("host %s: %s=%s: %s" % (host, label, show(item), text) for label, item, text in result)
        else:
            text = rule.allowed if result is True else result
            problems.append("host %s: %s=%s: %s" % (host, variable, show(value), text))
    return problems
