# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""A container that runs etcd (started with `docker run` or `podman run`), as the adoption reads it
(plugins/modules/etcd_adopt_info.py): which container a process runs in, from its cgroup; what the
container holds, from its runtime's `inspect` (its command line, environment, mounts, network and
published ports); and where the paths of its settings are on the host.

Pure functions on plain data: the module runs the runtime's command, these read its output.
"""

import posixpath
import re

# A container's processes sit in a cgroup that names its runtime and ID: podman's libpod-ID(.scope),
# docker's docker-ID.scope (systemd's cgroup driver) or docker/ID (cgroupfs). podman's conmon sits in
# libpod-conmon-ID, which is no etcd.
CONTAINER_CGROUP = re.compile(r"(?:^|/)(libpod|docker)[-/]([0-9a-f]{64})(?:\.scope)?(?:/|$)")
RUNTIMES = {"libpod": "podman", "docker": "docker"}
# The mounts that keep what is written below them on the host (a tmpfs is gone with the container).
HOST_MOUNTS = ("bind", "volume")
# The label podman gives a container that a systemd unit runs (podman generate systemd --new, Quadlet).
SYSTEMD_UNIT_LABEL = "PODMAN_SYSTEMD_UNIT"


def container_of_cgroup(text):
    """(runtime, container ID) of the process whose /proc/PID/cgroup is ``text``; None when it runs
    in no container."""
    for line in text.splitlines():
        found = CONTAINER_CGROUP.search(line.split(":", 2)[-1])
        if found:
            return RUNTIMES[found.group(1)], found.group(2)
    return None


def container_reading(inspect, runtime):
    """The container ``inspect`` describes (one object of `podman inspect` or `docker inspect`):
    runtime, id, name, image, argv (its process's command line: Path, then Args), environ (its
    environment, the image's and the run's), network (host, bridge, ...), mounts (type, name of a
    volume, source on the host, destination in the container), ports (container port, as text, as
    JSON keeps it -> the host ports it is published at, TCP), restart (its restart policy) and systemd_unit (the unit that
    runs it, podman's label; '' when none does)."""
    config, host_config = inspect.get("Config") or {}, inspect.get("HostConfig") or {}
    ports = {}
    for port, bindings in (host_config.get("PortBindings") or {}).items():
        number, _sep, protocol = str(port).partition("/")
        if protocol in ("", "tcp"):
            ports[number] = sorted({int(b["HostPort"]) for b in bindings or [] if str(b.get("HostPort") or "").isdigit()})
    return dict(
        runtime=runtime,
        id=inspect.get("Id") or "",
        name=(inspect.get("Name") or "").lstrip("/"),  # docker's begins with a slash
        image=config.get("Image") or inspect.get("ImageName") or "",
        argv=[inspect.get("Path") or ""] + [str(arg) for arg in inspect.get("Args") or []],
        environ=dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item),
        network=host_config.get("NetworkMode") or "",
        mounts=[dict(type=m.get("Type") or "", name=m.get("Name") or "", source=m.get("Source") or "",
                     destination=m.get("Destination") or "") for m in inspect.get("Mounts") or []],
        ports=ports,
        restart=(host_config.get("RestartPolicy") or {}).get("Name") or "",
        systemd_unit=(config.get("Labels") or {}).get(SYSTEMD_UNIT_LABEL) or "",
    )


def mount_of(path, mounts):
    """The mount that keeps the container's ``path`` on the host (the deepest bind mount or volume
    holding it), or None when only the container has it."""
    path = posixpath.normpath(path)
    holding = [m for m in mounts if m["type"] in HOST_MOUNTS and m["source"] and (
        path == posixpath.normpath(m["destination"]) or path.startswith(posixpath.normpath(m["destination"]).rstrip("/") + "/"))]
    return max(holding, key=lambda m: len(posixpath.normpath(m["destination"])), default=None)


def host_path(path, mounts):
    """Where the container's ``path`` is on the host ('' when only the container has it)."""
    mount = mount_of(path, mounts)
    if mount is None:
        return ""
    below = posixpath.relpath(posixpath.normpath(path), posixpath.normpath(mount["destination"]))
    return posixpath.normpath(posixpath.join(mount["source"], below))


def is_path_setting(key):
    """Whether an ETCD_* setting names a path: etcd's dirs and files (ETCD_DATA_DIR, ETCD_WAL_DIR,
    ETCD_CERT_FILE, ETCD_PEER_TRUSTED_CA_FILE, ...)."""
    return key.startswith("ETCD_") and key.endswith(("_DIR", "_FILE"))


def host_settings(settings, mounts):
    """``settings`` (what the container's etcd goes by) with their paths as the host sees them.
    Returns (settings, paths: key -> the path in the container of each path setting, inside_only:
    the keys whose path only the container has, kept as they are)."""
    mapped, paths, inside_only = dict(settings), {}, []
    for key, value in settings.items():
        if not is_path_setting(key) or not value:
            continue
        paths[key] = value
        on_host = host_path(value, mounts)
        if on_host:
            mapped[key] = on_host
        else:
            inside_only.append(key)
    return mapped, paths, sorted(inside_only)
