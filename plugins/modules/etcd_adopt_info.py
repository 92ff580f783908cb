#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
module: etcd_adopt_info
short_description: Read the etcd a host runs that another tool or a package set up
version_added: 1.0.0
description:
  - Reads, without changing anything, what the adoption of a running etcd member needs to know
    (playbooks/adopt.yml, docs/adopt.md) - the running etcd's command line and environment
    (C(/proc/PID/cmdline) and C(/proc/PID/environ), or as its unit gives it where root may not read
    another user's process) and from them the settings it goes by (its
    command line over its environment, as etcd reads them), its binary, the user it runs as, its
    systemd unit with the unit's file, state and environment files, and its own answer - its
    release, status (member and cluster ID, leader), member list and alarms, asked at its advertised
    client URL.
  - An etcd that runs in a container started with C(docker run) or C(podman run) is found from its
    cgroup and read with its runtime's C(inspect) - its command line and environment from the
    container's config, and the paths of its settings as the host has them on its bind mounts and
    volumes (RV(container)).
  - Only C(ETCD_*) variables of the environment are read; values of settings whose name holds
    TOKEN, PASSWORD or SECRET, and of the discovery URL, are returned as C(<hidden>).
  - The adoption's decisions are made from these reads on the controller, by the playbook
    C(raftops.etcd.adopt) (plugins/module_utils/plan/adopt.py).
extends_documentation_fragment: [raftops.etcd.common, raftops.etcd.controller_ignored]
attributes:
  check_mode:
    support: full
    details:
      - It only reads.
options:
  timeout:
    description: Seconds to wait for the host's etcd to answer.
    type: float
    default: 5
  data_dir:
    description:
      - Where the member's data should be (C(etcd_data_dir)); when it is not where the data is,
        RV(data_move) says whether a rename can move it there.
    type: path
  run_lock_prefix:
    description:
      - The prefix of the collection's run lock (C(/raftops/<etcd_group>/)); given, RV(local.run_lock)
        says whether a run holds the lock C(<prefix>run) in the member's cluster, read with the
        member's own credentials (the adoption refuses, before any change, while another run holds it).
    type: str
  run_lock_group:
    description:
      - The inventory group of the cluster (C(etcd_group)) whose run lock of the C(raftops.etcd.etcd) role to
        read. The module's action makes O(run_lock_prefix) of it, as the role does, when that is not given.
    type: str
    version_added: 1.0.0
notes:
  - A member that serves TLS is asked with its own server pair and CA (its C(ETCD_CERT_FILE),
    C(ETCD_KEY_FILE) and C(ETCD_TRUSTED_CA_FILE)); run it with become.
seealso:
  - module: raftops.etcd.etcd_host_info
"""

EXAMPLES = r"""
- name: Read the running etcd of each member before adopting it
  raftops.etcd.etcd_adopt_info:
  register: adopt_read
"""

RETURN = r"""
running:
  description: Whether an etcd process runs on the host.
  returned: always
  type: bool
  sample: true
pid:
  description: Its process ID.
  returned: when running
  type: int
  sample: 4711
exe:
  description: Its binary.
  returned: when running
  type: str
  sample: /usr/bin/etcd
user:
  description: The user it runs as.
  returned: when running
  type: str
  sample: etcd
unit:
  description: The systemd unit it runs under; empty outside systemd.
  returned: always
  type: str
  sample: etcd.service
unit_path:
  description: The unit's file.
  returned: always
  type: str
  sample: /lib/systemd/system/etcd.service
unit_file_state:
  description: Whether the unit is enabled (systemd's UnitFileState).
  returned: always
  type: str
  sample: enabled
env_files:
  description: The unit's environment files.
  returned: always
  type: list
  elements: str
  sample: [/etc/default/etcd]
settings:
  description: The C(ETCD_*) settings the running etcd goes by (secrets hidden).
  returned: when running
  type: dict
  sample: {"ETCD_NAME": "etcd-host0", "ETCD_DATA_DIR": "/var/lib/etcd/default"}
environment_from:
  description: >-
    Where its environment was read - C(process) (C(/proc/PID/environ)), or C(unit), as its unit gives
    it (C(Environment=), then each C(EnvironmentFile=)) where root may not read another user's
    process (a container without C(CAP_SYS_PTRACE)), or C(container), from the config of the container
    it runs in (RV(container)).
  returned: when running
  type: str
  sample: process
sources:
  description: Where each setting comes from, C(environment) or C(command line).
  returned: when running
  type: dict
  sample: {"ETCD_NAME": "environment"}
container:
  description: >-
    The container its etcd runs in, started with C(docker run) or C(podman run) (from the process's
    cgroup), as its runtime's C(inspect) gives it; its command line and environment are then read from
    the container's config, and the paths in RV(settings) are where the host has them.
  returned: when its etcd runs in a container
  type: dict
  version_added: 1.0.0
  contains:
    runtime:
      description: C(podman) or C(docker).
      type: str
    id:
      description: The container's ID.
      type: str
    error:
      description: Why the container could not be read (the host has no such runtime, its inspect failed); the rest is missing then.
      type: str
    command:
      description: The runtime's program on the host.
      type: str
    name:
      description: The container's name.
      type: str
    image:
      description: Its image.
      type: str
    network:
      description: Its network mode (C(host), C(bridge), ...).
      type: str
    mounts:
      description: Its mounts - C(type) (C(bind), C(volume), C(tmpfs)), C(name) (of a volume), C(source) (on the host), C(destination).
      type: list
      elements: dict
    ports:
      description: Each container port (TCP) -> the host ports it is published at.
      type: dict
    restart:
      description: Its restart policy.
      type: str
    systemd_unit:
      description: The systemd unit that runs it (podman's C(PODMAN_SYSTEMD_UNIT) label); empty when none does.
      type: str
    paths:
      description: Each path setting (C(ETCD_*_DIR), C(ETCD_*_FILE)) as the container names it.
      type: dict
    inside_only:
      description: The path settings whose path is on no bind mount or volume, only inside the container.
      type: list
      elements: str
  sample: {"runtime": "podman", "name": "etcd", "image": "localhost/etcd:v3.5.1", "network": "host",
           "mounts": [{"type": "bind", "name": "", "source": "/var/lib/etcd-data", "destination": "/etcd-data"}],
           "ports": {}, "restart": "always", "paths": {"ETCD_DATA_DIR": "/etcd-data"}, "inside_only": []}
version:
  description: The release its etcd answers with; empty when it did not answer.
  returned: always
  type: str
  sample: 3.4.23
data_move:
  description: >-
    When O(data_dir) is not the running member's data dir - C(target) (O(data_dir)),
    C(same_filesystem) (the data dir and the nearest existing directory at or above the target are on
    one filesystem: a rename moves it), C(target_state) (C(absent), C(empty), C(link): a link to
    the data dir, a move that was prepared, or C(other): it holds something).
  returned: when running and O(data_dir) differs from its data dir
  type: dict
  sample: {"target": "/srv/etcd", "same_filesystem": true, "target_state": "absent"}
closed_parents:
  description: >-
    The directories above its data and WAL dirs that other users may not enter (no x bit for
    others): a member taken over from root needs them open to the collection's user.
  returned: when running
  type: list
  elements: str
  sample: ["/srv/etcd"]
closed_parent_owners:
  description: >-
    The owner of each of RV(closed_parents): a directory the collection's user owns is no obstacle
    (the collection gives the parent of a WAL kept apart to that user).
  returned: when running
  type: dict
  sample: {"/srv/etcd": "root"}
local:
  description: >-
    Its etcd's own answer at C(endpoint): C(status) (member_id, cluster_id, leader_id, ...),
    C(members) (the member list), C(alarms), on etcd 3.4 C(auth_enabled) (whether RBAC auth is on: the
    adoption refuses to upgrade such a cluster to 3.5), or C(error); with O(run_lock_prefix), C(run_lock).
  returned: when running
  type: dict
  contains:
    run_lock:
      description: >-
        The run lock C(key) - C(state) (C(free); C(held) by another run, with C(holder),
        C(acquired_at) and C(refusal), the role's own words for it with the command that releases it;
        C(dead), held by a run whose keeper saw it end without releasing it, C(dead) saying so; C(expired), its
        lease is gone; C(unread), with C(error)). A dead or expired lock is taken over by the role.
      returned: when O(run_lock_prefix) is given and the etcd answered
      type: dict
      sample: {"key": "/raftops/etcd/run", "state": "free"}
"""

import json
import os
import pwd
import shlex
import shutil
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.plan import adopt as etcd_adopt
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdClient, EtcdError
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import parse_environment
from ansible_collections.raftops.etcd.plugins.module_utils.host import container as etcd_container
from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_store import (
    IGNORED_CONTROLLER_SPEC, GatewayLockStore)
from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import Lock


def _read(path, mode="rb"):
    with open(path, mode) as handle:
        return handle.read()


def _etcd_pid():
    """The oldest process whose program is etcd (a server, not etcdctl or etcdutl)."""
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    for pid in pids:
        try:
            if _read("/proc/%d/comm" % pid, "r").strip() == "etcd":
                return pid
        except OSError:
            continue
    return None


def _unit_of(pid):
    for line in _read("/proc/%d/cgroup" % pid, "r").splitlines():
        for part in reversed(line.split(":", 2)[-1].split("/")):
            if part.endswith(".service"):
                return part
    return ""


def _unit_properties(unit):
    if not unit:
        return {}
    out = subprocess.run(["systemctl", "show", unit, "-p", "FragmentPath", "-p", "UnitFileState", "-p", "EnvironmentFiles",
                          "-p", "Environment"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False).stdout
    props = {}
    for line in out.splitlines():
        key, _sep, value = line.partition("=")
        props.setdefault(key, []).append(value)
    return props


def _environment(pid, props, env_files):
    """The running etcd's environment, and where it was read: from the process, or - where reading
    another user's process needs a capability root lacks (a container without CAP_SYS_PTRACE) - as
    its unit gives it (Environment=, then each EnvironmentFile=, which systemd lets override it)."""
    try:
        text = _read("/proc/%d/environ" % pid).decode(errors="replace")
        return dict(item.split("=", 1) for item in text.split("\0") if "=" in item), "process"
    except PermissionError:
        pass
    environ = dict(item.split("=", 1) for line in props.get("Environment") or [] for item in shlex.split(line)
                   if "=" in item)
    for path in env_files:
        try:
            environ.update(parse_environment(_read(path, "r")))
        except OSError:
            continue  # an optional file (EnvironmentFile=-PATH) that is not there
    return environ, "unit"


def _container(pid):
    """The container that runs ``pid`` (docker run, podman run), read with its runtime's inspect
    (container_reading, and command: the runtime's program); None when it runs in none, and only
    runtime, id and error when the container cannot be read (the host has no such runtime)."""
    found = etcd_container.container_of_cgroup(_read("/proc/%d/cgroup" % pid, "r"))
    if found is None:
        return None
    runtime, container_id = found
    command = shutil.which(runtime)
    if not command:
        return dict(runtime=runtime, id=container_id, error="the host has no %s command" % runtime)
    out = subprocess.run([command, "inspect", "--type", "container", container_id], capture_output=True, text=True,
                         check=False)
    try:
        inspect = json.loads(out.stdout)[0]
    except (ValueError, IndexError):
        return dict(runtime=runtime, id=container_id, error="%s inspect failed: %s" % (runtime, out.stderr.strip()))
    return dict(etcd_container.container_reading(inspect, runtime), command=command)


def _container_settings(box, argv):
    """What the etcd in the container ``box`` goes by, with its paths as the host has them (its
    command line and environment from the container's config; the process's command line where
    the container runs etcd through a wrapper, such as a shell)."""
    if os.path.basename(box["argv"][0]) == "etcd":
        argv = box["argv"]
    settings, sources = etcd_adopt.effective_settings(argv[1:], box["environ"])
    settings, box["paths"], box["inside_only"] = etcd_container.host_settings(settings, box["mounts"])
    return settings, sources


def _exe(pid, argv):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except PermissionError:
        return shutil.which(argv[0]) or argv[0]


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _user_of(pid):
    for line in _read("/proc/%d/status" % pid, "r").splitlines():
        if line.startswith("Uid:"):
            return _user_name(int(line.split()[1]))
    return ""


def _closed_parents(dirs):
    """{directory: owner} of the directories above ``dirs`` that only their owner and group may enter
    (no x bit for others): another user than their owner and the one running etcd now could not reach
    its data there."""
    closed = {}
    for path in dirs:
        parent = os.path.dirname(os.path.normpath(path))
        while parent not in ("/", "") and parent not in closed:
            try:
                st = os.stat(parent)
                if not st.st_mode & 0o001:
                    closed[parent] = _user_name(st.st_uid)
            except OSError:
                pass
            parent = os.path.dirname(parent)
    return closed


def _data_move(data_dir, target):
    """Whether the data in ``data_dir`` can be renamed to ``target`` (docs/adopt.md)."""
    existing = target
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if os.path.islink(target):
        state = "link" if os.path.realpath(target) == os.path.realpath(data_dir) else "other"
    elif not os.path.exists(target):
        state = "absent"
    else:
        state = "empty" if os.path.isdir(target) and not os.listdir(target) else "other"
    same = os.stat(data_dir).st_dev == os.stat(os.path.dirname(target) if state == "link" else existing).st_dev
    return dict(target=target, same_filesystem=same, target_state=state)


def _local_answer(settings, timeout, run_lock=None):
    """The running etcd's own answer at its first advertised client URL (it listens there), and the
    collection's run lock in it when ``run_lock`` (prefix) is given."""
    endpoint = etcd_adopt.member_reading(settings)["advertise_client_urls"][0]
    answer = dict(endpoint=endpoint)
    # Over TLS with the member's own pair, which its CA trusts.
    tls = dict(ca_cert=settings.get("ETCD_TRUSTED_CA_FILE"), client_cert=settings.get("ETCD_CERT_FILE"),
               client_key=settings.get("ETCD_KEY_FILE"))
    try:
        client = EtcdClient(endpoint, timeout=timeout, **tls)
        answer["version"] = client.version().get("etcdserver", "")
        answer["status"] = client.status()
        answer["members"] = client.member_list()
        answer["alarms"] = sorted({a["alarm"] for a in client.alarms() if a["alarm"] != "NONE"})
        # Only a cluster on 3.4 is upgraded by the adoption, which etcd does not support with auth on.
        if answer["version"].startswith("3.4."):
            answer["auth_enabled"] = client.auth_enabled()
    except (EtcdError, OSError, ValueError) as exc:
        answer["error"] = str(exc)
        return answer
    if run_lock is not None:
        answer["run_lock"] = read_run_lock(GatewayLockStore([client], dict(tls, endpoints=[endpoint])), run_lock)
    return answer


def read_run_lock(store, run_lock):
    """The collection's run lock as the role would find it (etcd_run_lock.Lock's rules, a run that
    asks for it and holds nothing): state (free, held, dead: a run whose keeper recorded its end,
    expired: its lease is), holder, and the role's own refusal words while it is held; or error."""
    lock = Lock(store, dict(name="run", prefix=run_lock["prefix"], holder="", ttl=1, wait_timeout=0), check_mode=True)
    try:
        state, info, left = lock.assess(store.get(lock.key))
    except store.Error as exc:
        return dict(key=lock.key, state="unread", error=str(exc))
    if info is None:
        return dict(key=lock.key, state=state)
    read = dict(key=lock.key, state=state, holder=info["holder"], acquired_at=info["acquired_at"])
    if state == "held":
        read["refusal"] = lock.refusal(info, left)
    elif state == "dead":
        read["dead"] = info["dead"]
    return read


def read_host(timeout, data_dir=None, run_lock=None):
    pid = _etcd_pid()
    result = dict(running=pid is not None, unit="", unit_path="", unit_file_state="", env_files=[], version="")
    if pid is None:
        return result
    argv = [a for a in _read("/proc/%d/cmdline" % pid).decode(errors="replace").split("\0") if a]
    unit = _unit_of(pid)
    props = _unit_properties(unit)
    env_files = [v.split(" (")[0] for v in props.get("EnvironmentFiles") or [] if v]
    environ, environment_from = _environment(pid, props, env_files)
    box = None if unit else _container(pid)
    if box and "error" not in box:
        settings, sources = _container_settings(box, argv)
        environment_from = "container"
    else:
        settings, sources = etcd_adopt.effective_settings(argv[1:], environ)
    local = _local_answer(settings, timeout, run_lock)
    closed = _closed_parents([settings[k] for k in ("ETCD_DATA_DIR", "ETCD_WAL_DIR") if settings.get(k)])
    result.update(
        pid=pid, exe=_exe(pid, argv), user=_user_of(pid), unit=unit,
        unit_path=(props.get("FragmentPath") or [""])[0], unit_file_state=(props.get("UnitFileState") or [""])[0],
        env_files=env_files, environment_from=environment_from,
        closed_parent_owners=closed, closed_parents=sorted(closed),
        settings=etcd_adopt.shown(settings), sources=sources, version=local.pop("version", ""), local=local)
    if box:
        # Its command line and environment are in settings, secrets hidden.
        box.pop("argv", None)
        box.pop("environ", None)
        result["container"] = box
    running_dir = settings.get("ETCD_DATA_DIR")
    if data_dir and running_dir and os.path.normpath(data_dir) != os.path.normpath(running_dir) and os.path.isdir(running_dir):
        result["data_move"] = _data_move(os.path.normpath(running_dir), os.path.normpath(data_dir))
    return result


def main():
    module = AnsibleModule(argument_spec=dict(
        timeout=dict(type="float", default=5), data_dir=dict(type="path"),
        run_lock_prefix=dict(type="str"),
        # Taken by the action plugin (made into run_lock_prefix); never sent here.
        run_lock_group=dict(type="str"),
        controller=IGNORED_CONTROLLER_SPEC),
        supports_check_mode=True)
    run_lock = None
    if module.params["run_lock_prefix"]:
        run_lock = dict(prefix=module.params["run_lock_prefix"])
    try:
        result = read_host(module.params["timeout"], module.params["data_dir"], run_lock)
    except OSError as exc:
        module.fail_json(msg="reading the running etcd failed: %s" % exc)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
