# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""etcd run from an image under systemd (etcd_runtime: container): the engine that runs it on a host
(Podman, or Docker where the host has Docker and no Podman), the image's name, how a host builds it
from the verified release, the ``podman run`` or ``docker run`` the start script ends in, and which
runtime a unit the host has runs. Standard library only (the modules import it on the host).

Under Podman, the member's unit runs ``podman run --detach --sdnotify=container`` as a Podman Quadlet
unit would (conmon becomes the main process and passes etcd's own readiness on, so ``Type=notify``
keeps its meaning). ``docker run`` has no such notification: the unit runs it attached (the docker
command is the main process, etcd's logs go to the unit's journal) and is started once the member
answers on its client port, which etcd serves only from the moment it would notify. Either at the path
of the binary's unit: a move between runtimes is then a changed unit and start script, which the roll
puts in place and restarts one member at a time, like any other change.
"""

import io
import re
import shlex
import tarfile

RUNTIMES = ("host", "container")
PODMAN = "/usr/bin/podman"
DOCKER = "/usr/bin/docker"
# The engine's program, by the engine's name.
ENGINES = {"podman": PODMAN, "docker": DOCKER}
# A site's own image, named by its digest: a tag can be moved to another image, a digest cannot.
PINNED_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}")
# The image a host builds from the release it verified (the role's release directory).
BUILT_IMAGE = "localhost/raftops-etcd:v%s"
# Where the binaries are in the image: where the etcd project's own images have them.
IMAGE_BIN_DIR = "/usr/local/bin"
# What a line of ldd names: the interpreter (/lib64/ld-linux-x86-64.so.2 (0x...)) or a library (x => /path (0x...)).
LDD_PATH = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


def container_engine(has_podman, has_docker):
    """The engine that runs etcd's image on a host: Docker where the host has Docker and no Podman,
    else Podman (which the role installs on a host that has neither)."""
    return "docker" if has_docker and not has_podman else "podman"


def host_engine(which):
    """(name, program) of the engine that runs etcd's image on the host whose commands ``which(name)``
    finds (their path, or None); the program is None when the host lacks that engine."""
    found = {name: which(name) for name in ENGINES}
    name = container_engine(found["podman"] is not None, found["docker"] is not None)
    return name, found[name]


def image_inspect(program, image):
    """The engine's command (``program``, podman or docker) that succeeds when the host has ``image``."""
    return [program, "image", "inspect", "--format", "{{.Id}}", image]


def container_image(site_image, version):
    """The image members run: the site's (etcd_container_image) or the one each host builds of ``version``."""
    return site_image or BUILT_IMAGE % version


def libraries(ldd_output):
    """The shared libraries and the interpreter ``ldd`` lists for a binary; none for a static one (the
    etcd project's builds), the C library for a distribution's build."""
    return [match.group(1) for match in map(LDD_PATH.match, ldd_output.splitlines()) if match]


def image_tar(files):
    """A tar archive (bytes) for ``podman import``: each ``files`` item (path in the image, content,
    mode) with its directories, root's, dated 0, so that the same release gives the same layer."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        made = set()
        for path, content, mode in sorted(files):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    made.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mode = len(content), mode
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def image_volumes(data_dir, wal_parent_dir, wal_dir, pki_dir):
    """--volume arguments: the directories etcd writes at the same paths as on the host, the PKI
    directory read-only (root's files, which etcd only reads)."""
    writable = [data_dir] + [path for path in (wal_parent_dir, wal_dir) if path]
    return ["--volume=%s:%s" % (path, path) for path in writable] + (
        ["--volume=%s:%s:ro" % (pki_dir, pki_dir)] if pki_dir else [])


# Before ``docker run``: the ETCD_* settings the unit's environment holds, handed to the container by
# name (docker's --env takes no pattern, unlike podman's), one argument each.
DOCKER_ENV = """set --
for name in $(env | sed -n 's/^\\(ETCD_[A-Za-z0-9_]*\\)=.*/\\1/p'); do set -- "$@" --env="$name"; done
"""


def container_run(engine, c):
    """The command the start script ends in (after DOCKER_ENV under Docker): etcd of image ``c["image"]``
    as user ``c["user"]`` (the shell reads its ids on the host), on the host's network, its settings
    from the unit's environment (ETCD_*), its logs to the unit's journal; ``c["hardening"]``: a
    read-only root, no capabilities, no new privileges (the container's form of the binary unit's
    sandbox). Podman's detaches and hands etcd's readiness to systemd; Docker's stays attached (the
    docker command is the unit's main process, with etcd's output and exit status) and keeps no logs
    of its own."""
    user = shlex.quote(c["user"])
    if engine == "docker":
        args, environment = [DOCKER + " run", "--name=%s" % c["name"], "--rm", "--log-driver=none"], '"$@"'
    else:
        args, environment = [PODMAN + " run", "--name=%s" % c["name"], "--replace", "--rm", "--detach", "--cgroups=split",
                             "--sdnotify=container", "--log-driver=passthrough"], "--env='ETCD_*'"
    args += ["--pull=never", "--network=host", '--user="$(id -u %s):$(id -g %s)"' % (user, user),
             "--ulimit=nofile=%s:%s" % (c["limit_nofile"], c["limit_nofile"]), "--stop-timeout=%d" % c["stop_timeout"],
             environment]
    if c["hardening"]:
        args += ["--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"]
    args += c["volumes"] + [shlex.quote(c["image"]), IMAGE_BIN_DIR + "/etcd"]
    return " \\\n  ".join(args)


def ready_wait(check):
    """The unit's wait, under Docker, until the member answers ``check`` (an etcdctl command line on
    its local client endpoint), which etcd serves only once it is ready; it ends as soon as the unit's
    main process does (a container that failed to start), as a start of Type=notify would."""
    return ('while kill -0 "$$MAINPID" 2>/dev/null; do %s >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1'
            % " ".join(shlex.quote(arg) for arg in check))


def runtime_of_unit(unit_text):
    """The runtime of the member unit a host has: container when it runs podman or docker, host for the
    binary's, None without a unit."""
    if unit_text is None:
        return None
    return "container" if PODMAN in unit_text or DOCKER in unit_text else "host"
