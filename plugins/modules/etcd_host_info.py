#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_host_info
short_description: What etcd a host already has installed, configured and stored
version_added: 1.0.0
description:
  - Reads, in one call, what a host already runs as an etcd member; the role compares it with the
    inventory before changing anything.
  - The installed settings come from the C(EnvironmentFile=) files named in the systemd unit, so a
    member whose configuration directory, data directory, ports or address changed in the
    inventory is still found with the values it runs with.
  - Whether a data directory holds member data is decided by its write-ahead log (a non-empty
    C(member/wal), or the separate WAL directory).
  - Never changes anything.
  - The role's preflight reads everything it needs of a host in this one call, the answer of the
    host's own etcd included (O(ask_etcd)).
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.connection]
attributes:
  check_mode:
    details: The module only reads.
options:
  unit_path:
    description: The systemd unit of the etcd service.
    type: path
    default: /etc/systemd/system/etcd.service
  data_dir:
    description: The data directory the inventory asks for.
    type: path
    required: true
  wal_dir:
    description: The separate WAL directory the inventory asks for; empty when the WAL lives in the data directory.
    type: path
  bin_path:
    description: The etcd binary, usually a link into a versioned release directory.
    type: path
    default: /usr/local/bin/etcd
  images:
    description:
      - Container images whose presence in the storage of the host's container engine (RV(container_engine)) RV(images) reports.
    type: list
    elements: str
    default: []
    version_added: 1.0.0
  ports:
    description:
      - TCP ports the member will listen on; RV(ports_in_use) says which of them something on the host
        already listens on (another etcd instance or another service), from C(/proc/net/tcp) and C(/proc/net/tcp6).
    type: list
    elements: int
    default: []
  facts:
    description:
      - Also return, as facts, the few the role uses, in place of a C(setup) run, which costs more.
      - They are C(ansible_architecture), C(ansible_service_mgr), C(ansible_hostname), C(ansible_fqdn) and
        C(ansible_default_ipv4.address) (the source address of the route to the internet; none without one).
    type: bool
    default: false
  account:
    description: Also read this account from the password database into RV(account).
    type: str
  paths:
    description: Also say which of these paths exist, in RV(present), and which do not, in RV(absent).
    type: list
    elements: path
    default: []
  links:
    description: Also read where each of these paths links to, into RV(links).
    type: list
    elements: path
    default: []
  checksums:
    description: Also read the SHA-256 of each of these files that exists, into RV(checksums).
    type: list
    elements: path
    default: []
  files:
    description:
      - Also read what each of these paths is, into RV(files), as M(raftops.etcd.etcd_member_files) compares it.
      - Give it the paths a later M(raftops.etcd.etcd_member_files) call writes, and that call's
        O(raftops.etcd.etcd_member_files#module:host_files) spares the host the call when nothing would change.
    type: list
    elements: path
    default: []
  calendars:
    description:
      - Also have systemd's own parser (C(systemd-analyze calendar)) read each of these calendar expressions,
        into RV(calendars), so that a timer's schedule is checked on the host that will run it.
      - The keys are the caller's names for the expressions (the role uses the settings that hold them).
    type: dict
    default: {}
  units:
    description:
      - Also read whether each of these systemd units is active and enabled, into RV(units), in one
        C(systemctl show) call (the role's timers, so that one running as asked is not started again).
    type: list
    elements: str
    default: []
  read_log:
    description:
      - Also read the installed member's write-ahead log, offline, into RV(log), which quorum recovery compares
        between survivors. Stop etcd first for a final answer; a running member's log may grow while it is read.
    type: bool
    default: false
  journal_since:
    description:
      - Also read what the unit of O(unit_path) logged since this time (C(journalctl --since), for example
        C(2026-01-31 10:00:00 UTC)), and say in RV(etcd_said) why etcd failed, from the last error it logged.
      - The role reads it after a failed join, for its message.
    type: str
    version_added: 1.0.0
  v2store_target:
    description:
      - The release the run moves the member to. When it is 3.6 or later and the installed etcd is an
        older minor version, also read the member's data, offline and read-only, for what etcd 3.6
        refuses to start with (v2 store content, v2 requests in the log) into RV(v2store).
      - A running member is not disturbed, unlike with C(etcdutl check v2store), which wants a stopped
        one and renames a snap file it cannot read (one being written) to C(.broken).
    type: str
    default: ""
  ask_etcd:
    description:
      - Also ask the etcd on this host which cluster it belongs to, into RV(local_health), when the host
        holds member data (RV(has_data) or RV(configured_has_data)).
      - It is asked at the loopback client URL its installed settings listen on (C(ETCD_LISTEN_CLIENT_URLS)),
        else at the first of O(endpoints), with the connection options, as M(raftops.etcd.etcd_health)
        with O(raftops.etcd.etcd_health#module:discover=false) asks.
    type: bool
    default: false
  login_client_cert:
    description:
      - With O(ask_etcd) and O(auth_user), a client certificate used in place of O(client_cert) when it and
        O(login_client_key) exist on the host. Once auth is on, etcd's gateway refuses certificates with a
        common name, so a login needs one without (the role's C(client.pem) for its root login).
    type: path
  login_client_key:
    description: The private key of O(login_client_cert).
    type: path
  role_settings:
    description:
      - For the C(raftops.etcd.etcd) role. The action plugin first checks every C(etcd_*) variable of the host
        for meaning (the rules of C(docs/settings.md)) and fails naming each problem, with nothing read. It then
        derives the role's settings of the host from those variables, returns them in RV(host_settings), and fills from them each of O(account), O(paths),
        O(links), O(checksums), O(files), O(units), O(unit_path), O(data_dir), O(wal_dir), O(bin_path),
        O(v2store_target), O(ports), O(endpoints), O(login_client_cert) and O(login_client_key) that the task
        does not set, and O(facts) when the facts it names were not gathered.
    type: bool
    default: false
    version_added: 1.0.0
  role_calendars:
    description: With O(role_settings), also fill O(calendars) with the schedules of the role's timers that have one.
    type: bool
    default: false
    version_added: 1.0.0
  role_units:
    description:
      - With O(role_settings), fill O(units) with etcd's unit and every timer unit of the role, scheduled or not
        (those a removed member's host retires), instead of the scheduled timers' units only.
    type: bool
    default: false
    version_added: 1.0.0
  contact_timeout:
    description:
      - Reach the host first with one command that must answer within this many seconds, whatever the SSH
        settings, as M(raftops.etcd.etcd_reach) does; a host that does not answer in time is reported
        unreachable, naming the host and the bound, with nothing read (the role's C(remove_member) and
        C(replace_member) read each host so, with C(ignore_unreachable), and pass C(etcd_first_contact_timeout)).
      - Taken by the action plugin; without it the read has no bound of its own.
    type: int
    version_added: 1.0.0
notes:
  - Run it with privileges that can read the data directory (C(0700), owned by the etcd user).
seealso:
  - module: raftops.etcd.etcd_health
    description: What the running member says about itself and its cluster.
"""

EXAMPLES = r"""
- name: Read what this host runs
  become: true
  raftops.etcd.etcd_host_info:
    data_dir: /var/lib/etcd
  register: installed

- name: Say when the member runs with another data directory
  ansible.builtin.debug:
    msg: "etcd runs with {{ installed.data_dir }}"
  when: installed.data_dir not in [None, '/var/lib/etcd']
"""

RETURN = r"""
installed:
  description: Whether the etcd unit exists.
  returned: always
  type: bool
  sample: true
runtime:
  description: How the unit runs etcd, V(host) (the release's binary) or V(container) (an image under Podman or Docker); null without a unit.
  returned: always
  type: str
  sample: container
  version_added: 1.0.0
images:
  description: Each of O(images), and whether it is in the storage of the host's container engine (never without the engine).
  returned: always
  type: dict
  sample: {"localhost/raftops-etcd:v3.5.30": true}
  version_added: 1.0.0
container_engine:
  description:
    - What runs etcd's image on the host with the role's C(etcd_runtime=container), V(podman) or V(docker),
      whatever the role variable says - V(docker) where the host has Docker's command and not Podman's,
      else V(podman) (which the role installs on a host that has neither).
  returned: always
  type: str
  sample: podman
  version_added: 1.1.0
settings:
  description:
    - The C(ETCD_*) settings of the unit's environment files, later files winning, without the bootstrap or join file.
    - The value of a secret, C(ETCD_DISCOVERY) (the discovery URL carries the token), C(ETCD_DISCOVERY_TOKEN) or
      C(ETCD_DISCOVERY_PASSWORD), is never returned; it reads C(<hidden>).
  returned: always
  type: dict
  sample: {"ETCD_NAME": "etcd-host0", "ETCD_DATA_DIR": "/var/lib/etcd"}
initial_settings:
  description:
    - The settings of an environment file the unit reads only when it exists (C(EnvironmentFile=-...)),
      which the role writes while a member bootstraps or joins; empty when there is none.
    - A secret's value is replaced as in RV(settings).
  returned: always
  type: dict
  sample: {"ETCD_INITIAL_CLUSTER_STATE": "existing"}
data_dir:
  description: The data directory the installed member runs with (C(ETCD_DATA_DIR)); null when none is installed.
  returned: always
  type: str
  sample: /var/lib/etcd
has_data:
  description: Whether the installed member's data directory (or its WAL directory) holds member data.
  returned: always
  type: bool
configured_has_data:
  description: Whether the data directory (or WAL directory) of O(data_dir) and O(wal_dir) holds member data.
  returned: always
  type: bool
release:
  description: The release the binary links to (C(X.Y.Z) from C(.../vX.Y.Z/etcd)); null when it is no such link.
  returned: always
  type: str
  sample: 3.5.1
binary:
  description: Where O(bin_path) points; null when it does not exist.
  returned: always
  type: str
  sample: /opt/etcd/v3.5.1/etcd
active:
  description: Whether the etcd service is active (running or starting), by C(systemctl is-active).
  returned: always
  type: bool
ports_in_use:
  description: The ports of O(ports) that a socket on the host listens on, in ascending order.
  returned: always
  type: list
  elements: int
  sample: [2379]
log:
  description:
    - What the installed member's write-ahead log holds, with O(read_log=true); null without it or when the
      member has no data.
  returned: always
  type: dict
  contains:
    node_id:
      description: The member ID the log was written by (decimal; etcd shows it in hex).
      type: int
    cluster_id:
      description: The cluster ID (decimal).
      type: int
    term:
      description: The raft term of the last hard state.
      type: int
    commit:
      description: The commit index of the last hard state; entries up to it were committed by the cluster.
      type: int
    last_index:
      description: The index of the last entry in the log.
      type: int
    last_term:
      description: The term of the last entry in the log.
      type: int
    snapshot_index:
      description: The index of the last raft snapshot the log records.
      type: int
    files:
      description: The number of WAL files.
      type: int
    torn_tail:
      description: Whether the last file ends in a partly written record (the member died while writing it).
      type: bool
    members:
      description:
        - The membership the log commits to, read offline from the member's newest raft snapshot the log
          records (in C(member/snap)) and the committed membership changes after it; each with C(id) (decimal),
          C(name) (empty until the member published it), C(peer_urls), C(client_urls) and C(learner).
        - Empty when C(members_error) says why it is not known.
      type: list
      elements: dict
    members_error:
      description: Why the membership could not be read (a snapshot the log starts after is missing); empty otherwise.
      type: str
  sample: {"node_id": 12020451340049434369, "cluster_id": 1496131217543287940, "term": 4, "commit": 1822,
           "last_index": 1822, "last_term": 4, "snapshot_index": 0, "files": 1, "torn_tail": false,
           "members": [{"id": 12020451340049434369, "name": "etcd-host0", "peer_urls": ["https://10.0.0.11:2380"],
                        "client_urls": ["https://10.0.0.11:2379"], "learner": false}], "members_error": ""}
python_cryptography:
  description: Whether the host's python3 can import C(cryptography) (Debian's C(python3-cryptography)), which the
    member's backup push seals backups with.
  returned: always
  type: bool
  sample: true
python_boto3:
  description: Whether the host's python3 can import C(boto3) (Debian's C(python3-boto3)), which the member's
    backup push speaks S3 with; the role installs the package where a push has an S3 target and this is false.
  returned: always
  type: bool
  sample: false
  version_added: 1.0.0
etcd_said:
  description:
    - With O(journal_since), the message of the last error (or worse) etcd logged since then, with the error
      it names; empty when it logged none, or without O(journal_since).
  returned: always
  type: str
  sample: "discovery failed: cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs"
log_error:
  description: Why the log could not be read, with O(read_log=true); empty otherwise.
  returned: always
  type: str
v2store:
  description:
    - What of the installed member's data etcd 3.6 refuses, with O(v2store_target) of 3.6 or later and an
      installed release before 3.6; null otherwise.
  returned: always
  type: dict
  contains:
    snapshot_index:
      description: The newest committed raft snapshot the log records and the snap directory holds; 0 for none.
      type: int
    nodes:
      description: The top nodes of that snapshot's v2 store that hold content (the v2 keys are under C(/1)).
      type: list
      elements: str
    requests:
      description: The v2 requests in the log after that snapshot that etcd 3.6 does not apply, as C(METHOD path).
      type: list
      elements: str
    error:
      description: Why the data could not be read; only then set.
      type: str
  sample: {"snapshot_index": 0, "nodes": [], "requests": []}
account:
  description:
    - The fields of O(account) in the password database after its name, as C(getent passwd) shows them
      (password, uid, gid, comment, home, shell); empty when there is no such account or no O(account).
  returned: always
  type: list
  elements: str
  sample: ["x", "998", "998", "", "/var/lib/etcd", "/usr/sbin/nologin"]
account_name:
  description: The account O(account) names, which RV(account) and RV(account_group) are of; null without O(account).
  returned: always
  type: str
  sample: etcd
account_group:
  description: Whether a group of the name O(account) exists; false without O(account).
  returned: always
  type: bool
links:
  description: For each path of O(links), where it links to; null when it is no link (or does not exist).
  returned: always
  type: dict
  sample: {"/usr/local/bin/etcd": "/opt/etcd/v3.5.1/etcd"}
checksums:
  description: The SHA-256 of each file of O(checksums) that exists, by path.
  returned: always
  type: dict
  sample: {"/etc/etcd/pki/ca.pem": "5f0c...e2"}
files:
  description:
    - For each path of O(files), what it is (C(kind) V(file), V(directory), V(other), V(absent), or V(unreadable)),
      and what exists with its C(owner), C(group) and C(mode) (four octal digits); for a file the SHA-256 of its
      content (C(sha256)), never the content.
  returned: always
  type: dict
  sample: {"/etc/etcd/etcd.env": {"kind": "file", "owner": "root", "group": "etcd", "mode": "0640", "sha256": "9a3c...41"}}
mount_points:
  description:
    - Those of O(data_dir) and O(wal_dir) that are mount points (bind mounts included), which a restore cannot move
      aside by renaming them.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/etcd]
present:
  description: The paths of O(paths) that exist.
  returned: always
  type: list
  elements: str
  sample: [/etc/etcd/pki/client-key.pem]
absent:
  description: The paths of O(paths) that do not exist.
  returned: always
  type: list
  elements: str
  sample: [/etc/etcd/restart-pending]
local_health:
  description:
    - With O(ask_etcd), the answer of the host's own etcd, as M(raftops.etcd.etcd_health) returns it
      (RV(raftops.etcd.etcd_health#module:members), RV(raftops.etcd.etcd_health#module:cluster),
      RV(raftops.etcd.etcd_health#module:endpoints), ...). When it did not answer, or could not be asked, it
      also holds C(failed=true) and C(msg), and the module itself still succeeds.
    - Empty without O(ask_etcd) or when the host holds no member data.
  returned: always
  type: dict
  sample: {"healthy": true, "members": [{"name": "etcd-host0", "id": "8e9e05c52164694d"}], "endpoints": []}
ansible_facts:
  description: With O(facts=true), the facts named there.
  returned: with O(facts=true)
  type: dict
  sample: {"ansible_architecture": "x86_64", "ansible_service_mgr": "systemd", "ansible_hostname": "etcd-host0",
           "ansible_fqdn": "etcd-host0.example.net", "ansible_default_ipv4": {"address": "10.0.0.10"}}
units:
  description:
    - For each unit of O(units), its C(active) state (V(active), V(inactive), V(failed), ...) and its C(enabled)
      state (V(enabled), V(disabled), ..., empty for a unit without a file), as systemd reports them.
  returned: always
  type: dict
  sample: {"etcd-snapshot.timer": {"active": "active", "enabled": "enabled"}}
host_settings:
  description:
    - With O(role_settings), the role's settings of the host (C(plugins/module_utils/host/host_settings.py)),
      its paths, release, timers and their files, the backup push's files, and the maintenance, status and PKI
      settings. Internal to the role; its fields may change in any release.
  returned: with O(role_settings=true)
  type: dict
  sample: {"env_path": "/etc/etcd/etcd.env", "unit": "etcd.service", "local_endpoint": "https://127.0.0.1:2379"}
calendars:
  description:
    - For each name of O(calendars), its C(expression) and the C(error) C(systemd-analyze calendar) gave for it,
      empty when systemd reads it.
  returned: always
  type: dict
  sample: {"etcd_backup_schedule": {"expression": "Mon..Fri 25:00", "error": "Failed to parse calendar specification 'Mon..Fri 25:00': Invalid argument"}}
"""

import importlib.util
import os
import platform
import pwd
import re
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    CONNECTION_EXCLUSIVE, client_factory, connection_argument_spec)
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.cluster_state import read_cluster_health
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import etcd_said, installed_local_endpoint, parse_environment
from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import (host_engine, image_inspect,
                                                                                          runtime_of_unit)
from ansible_collections.raftops.etcd.plugins.module_utils.host.install_plan import missing_account, read_links
from ansible_collections.raftops.etcd.plugins.module_utils.host.files import sha256_of
from ansible_collections.raftops.etcd.plugins.module_utils.host.member_files_state import path_state
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import version_tuple
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.wal import WalError, log_state, v2_content

RELEASE_IN_PATH = re.compile(r"/v(\d+\.\d+\.\d+)/etcd$")


def environment_files(unit_text):
    """(path, optional) of each EnvironmentFile= of a unit, in order."""
    files = []
    for line in unit_text.splitlines():
        line = line.strip()
        if line.startswith("EnvironmentFile="):
            path = line.split("=", 1)[1].strip()
            files.append((path[1:], True) if path.startswith("-") else (path, False))
    return files


def wal_path(data_dir, wal_dir=None):
    return wal_dir or os.path.join(data_dir, "member", "wal")


def holds_member_data(data_dir, wal_dir=None):
    """Member data is a non-empty write-ahead log: etcd starts from it, never from the snap directory alone."""
    if not data_dir:
        return False
    wal = wal_path(data_dir, wal_dir)
    try:
        return any(name.endswith(".wal") for name in os.listdir(wal))
    except OSError:
        return False


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


# /proc/net/tcp{,6}: "sl local_address rem_address st ...", the address as HEX:PORT in hex, state 0A = LISTEN.
PROC_NET_TCP = ("/proc/net/tcp", "/proc/net/tcp6")
TCP_LISTEN = "0A"


def listening_ports(tables):
    """The local ports of the listening sockets in the text of /proc/net/tcp-style tables."""
    ports = set()
    for text in tables:
        for line in (text or "").splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == TCP_LISTEN and ":" in fields[1]:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


# /proc/self/mountinfo: the fifth field of each line is a mount point.
MOUNTINFO = "/proc/self/mountinfo"
MOUNTINFO_ESCAPE = re.compile(r"\\([0-7]{3})")


def mount_points(paths, mountinfo):
    """Those of ``paths`` that are mount points by ``mountinfo`` (the text of /proc/self/mountinfo, as
    mountpoint(1) reads it: a bind mount within one filesystem counts, which os.path.ismount misses);
    by os.path.ismount when it could not be read (None)."""
    paths = [path for path in paths if path]
    if mountinfo is None:
        return [path for path in paths if os.path.ismount(path)]
    # Space, tab, newline and backslash are written in octal there.
    mounted = {MOUNTINFO_ESCAPE.sub(lambda code: chr(int(code.group(1), 8)), line.split()[4])
               for line in mountinfo.splitlines() if len(line.split()) > 4}
    return [path for path in paths if os.path.realpath(path) in mounted]


def read_log(data_dir, wal_dir):
    """(log state, error) of a member's write-ahead log."""
    try:
        return log_state(wal_path(data_dir, wal_dir), os.path.join(data_dir, "member", "snap")), ""
    except (OSError, WalError) as error:
        return None, "cannot read the write-ahead log in %s: %s" % (wal_path(data_dir, wal_dir), error)


def read_v2store(release, target, data_dir, wal_dir):
    """What etcd 3.6 refuses of the member's data (etcd_wal.v2_content) when the run moves it from before
    3.6 to ``target`` 3.6 or later; None otherwise."""
    try:
        moves_to_3_6 = version_tuple(target)[:2] >= [3, 6] > version_tuple(release)[:2]
    except ValueError:
        return None
    if not moves_to_3_6:
        return None
    try:
        return v2_content(wal_path(data_dir, wal_dir), os.path.join(data_dir, "member", "snap"))
    except (OSError, ValueError, WalError) as error:
        return dict(error="cannot read the data in %s: %s" % (data_dir, error))


def host_info(unit_path, data_dir, wal_dir, bin_path, active, ports=(), with_log=False, v2store_target=""):
    unit = read_text(unit_path)
    settings, initial = {}, {}
    for path, optional in environment_files(unit or ""):
        text = read_text(path)
        if text is not None:
            (initial if optional else settings).update(parse_environment(text))
    installed_dir = settings.get("ETCD_DATA_DIR") or None
    binary = os.path.realpath(bin_path) if os.path.lexists(bin_path) else None
    release = RELEASE_IN_PATH.search(os.readlink(bin_path)) if os.path.islink(bin_path) else None
    installed_wal = settings.get("ETCD_WAL_DIR") or None
    has_data = holds_member_data(installed_dir, installed_wal)
    log, log_error = read_log(installed_dir, installed_wal) if with_log and has_data else (None, "")
    release = release.group(1) if release else None
    return dict(
        installed=unit is not None,
        runtime=runtime_of_unit(unit),
        settings=settings,
        initial_settings=initial,
        data_dir=installed_dir,
        has_data=has_data,
        configured_has_data=holds_member_data(data_dir, wal_dir or None),
        release=release,
        binary=binary,
        active=active,
        ports_in_use=sorted(set(ports) & listening_ports(read_text(path) for path in PROC_NET_TCP)),
        log=log,
        log_error=log_error,
        v2store=read_v2store(release, v2store_target, installed_dir, installed_wal) if has_data else None,
    )


# Any address outside the host: connecting a UDP socket sends nothing, it only picks the route.
ROUTE_PROBE = ("192.0.2.1", 9)


def default_ipv4():
    """The source address of the host's route to the internet (what C(ip route get) says), or None without one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(ROUTE_PROBE)
        return probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()


def service_manager():
    """systemd when it runs the host (its runtime directory exists), else the name of process 1."""
    if os.path.isdir("/run/systemd/system"):
        return "systemd"
    return (read_text("/proc/1/comm") or "unknown").strip()


def host_facts():
    address = default_ipv4()
    facts = dict(architecture=platform.machine(), service_mgr=service_manager(), hostname=platform.node().split(".")[0],
                 fqdn=socket.getfqdn(), default_ipv4=dict(address=address) if address else {})
    # Named as setup names them: Ansible keeps facts under ansible_facts without the prefix.
    return {"ansible_" + name: value for name, value in facts.items()}


def passwd_fields(name):
    """The password database entry of ``name`` after the name, as getent shows it; [] when there is none."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return []
    return [entry.pw_passwd, str(entry.pw_uid), str(entry.pw_gid), entry.pw_gecos, entry.pw_dir, entry.pw_shell]


def read_calendars(calendars, run_command, analyze_path):
    """What systemd's parser says of each calendar expression, by name: {'expression', 'error'}, the
    error empty when systemd reads it. ``run_command(argv)`` returns (rc, out, err)."""
    read = {}
    for name, expression in calendars.items():
        if analyze_path is None:
            error = "systemd-analyze was not found on the host"
        else:
            rc, _out, err = run_command([analyze_path, "calendar", str(expression)])
            error = "" if rc == 0 else (err.strip() or "systemd-analyze exited with %d" % rc)
        read[name] = dict(expression=expression, error=error)
    return read


def read_units(units, run_command, systemctl_path):
    """{unit: {'active', 'enabled'}} from one ``systemctl show``, which prints one block of
    properties per unit, in the order asked; a unit systemd does not know reads inactive, with no
    unit file state. Without systemctl every unit reads unknown."""
    if not units:
        return {}
    unknown = {unit: dict(active="unknown", enabled="") for unit in units}
    if systemctl_path is None:
        return unknown
    rc, out, _err = run_command([systemctl_path, "show", "--property=ActiveState,UnitFileState", "--", *units])
    blocks = out.strip().split("\n\n") if out.strip() else []
    if rc != 0 or len(blocks) != len(units):
        return unknown
    read = {}
    for unit, block in zip(units, blocks):
        properties = dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)
        read[unit] = dict(active=properties.get("ActiveState", "unknown"), enabled=properties.get("UnitFileState", ""))
    return read


def read_images(images, run_command, engine_path):
    """{each of ``images``: whether it is in the storage of the container engine at ``engine_path``};
    none is without the engine."""
    return {image: engine_path is not None and run_command(image_inspect(engine_path, image))[0] == 0
            for image in images}


def read_etcd_said(unit, since, run_command, journalctl_path):
    """Why etcd failed, from what ``unit`` logged since ``since`` (etcd_said); '' when the journal cannot
    be read: the caller's own message stands then. ``run_command(argv)`` returns (rc, out, err)."""
    if not since or journalctl_path is None:
        return ""
    rc, out, _err = run_command([journalctl_path, "--unit", unit, "--since", since, "--output", "cat", "--no-pager"])
    return etcd_said(out.splitlines()) if rc == 0 else ""


def ask_local_etcd(params, settings):
    """What the etcd on this host says of its cluster, as etcd_health returns it (``failed`` and ``msg``
    added when it cannot be asked or does not answer), at the loopback URL its installed ``settings``
    listen on, else at the first of ``endpoints``."""
    connection = dict(params)
    login_pair = (params["login_client_cert"], params["login_client_key"])
    if params["auth_user"] and all(login_pair) and all(os.path.isfile(path) for path in login_pair):
        connection.update(client_cert=login_pair[0], client_key=login_pair[1])
    endpoint = installed_local_endpoint(settings, (params["endpoints"] or [None])[0])
    make_client = client_factory(connection)
    try:
        client = make_client(endpoint)
    except (OSError, ValueError) as exc:
        return dict(failed=True, msg="cannot set up the etcd client: %s" % exc)
    _healthy, result, no_answer = read_cluster_health([client], make_client, discover=False)
    if no_answer:
        result.update(failed=True, msg=no_answer)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            connection_argument_spec(),
            unit_path=dict(type="path", default="/etc/systemd/system/etcd.service"),
            data_dir=dict(type="path", required=True),
            wal_dir=dict(type="path"),
            bin_path=dict(type="path", default="/usr/local/bin/etcd"),
            ports=dict(type="list", elements="int", default=[]),
            images=dict(type="list", elements="str", default=[]),
            read_log=dict(type="bool", default=False),
            v2store_target=dict(type="str", default=""),
            journal_since=dict(type="str"),
            facts=dict(type="bool", default=False),
            account=dict(type="str"),
            paths=dict(type="list", elements="path", default=[]),
            links=dict(type="list", elements="path", default=[]),
            checksums=dict(type="list", elements="path", default=[]),
            files=dict(type="list", elements="path", default=[]),
            calendars=dict(type="dict", default={}),
            units=dict(type="list", elements="str", default=[]),
            ask_etcd=dict(type="bool", default=False),
            login_client_cert=dict(type="path"),
            login_client_key=dict(type="path", no_log=False),
            # Taken by the action plugin; never sent here.
            role_settings=dict(type="bool", default=False),
            role_calendars=dict(type="bool", default=False),
            role_units=dict(type="bool", default=False),
            contact_timeout=dict(type="int"),
        ),
        mutually_exclusive=CONNECTION_EXCLUSIVE,
        supports_check_mode=True,
    )
    p = module.params
    systemctl = module.get_bin_path("systemctl")
    unit_name = os.path.basename(p["unit_path"])
    active = bool(systemctl) and module.run_command([systemctl, "is-active", "--quiet", unit_name])[0] == 0
    result = host_info(p["unit_path"], p["data_dir"], p["wal_dir"], p["bin_path"], active, p["ports"], p["read_log"],
                       p["v2store_target"])
    result["account"] = passwd_fields(p["account"]) if p["account"] else []
    result["account_name"] = p["account"]
    result["account_group"] = bool(p["account"]) and not missing_account(p["account"])[0]
    result["links"] = read_links(p["links"])
    result["mount_points"] = mount_points([p["data_dir"], p["wal_dir"]], read_text(MOUNTINFO))
    result["present"] = [path for path in p["paths"] if os.path.lexists(path)]
    result["absent"] = [path for path in p["paths"] if path not in result["present"]]
    result["checksums"] = {path: sha256_of(path) for path in p["checksums"] if os.path.isfile(path)}
    result["files"] = {path: path_state(path) for path in p["files"]}
    result["units"] = read_units(p["units"], module.run_command, systemctl)
    result["container_engine"], engine = host_engine(module.get_bin_path)
    result["images"] = read_images(p["images"], module.run_command, engine)
    result["calendars"] = read_calendars(p["calendars"], module.run_command, module.get_bin_path("systemd-analyze"))
    # The member's backup push seals backups with it (etcd_backup_push): the plan refuses a push on a
    # host whose python3 lacks it, rather than every timer run failing there.
    result["python_cryptography"] = importlib.util.find_spec("cryptography") is not None
    # The push's S3 client (etcd_s3.py); the role installs Debian's python3-boto3 where it is missing.
    result["python_boto3"] = importlib.util.find_spec("boto3") is not None
    result["etcd_said"] = read_etcd_said(unit_name, p["journal_since"], module.run_command, module.get_bin_path("journalctl"))
    asked = p["ask_etcd"] and (result["has_data"] or result["configured_has_data"])
    result["local_health"] = ask_local_etcd(p, result["settings"]) if asked else {}
    if p["facts"]:
        result["ansible_facts"] = host_facts()
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
