# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""etcd run from an image under systemd (etcd_runtime: container): the image's name, how a host builds
it from the verified release, the ``podman run`` the start script ends in, and which runtime a unit
the host has runs. Standard library only (the modules import it on the host).

The member's unit runs ``podman run --detach --sdnotify=container`` as a Podman Quadlet unit would
(conmon becomes the main process and passes etcd's own readiness on, so ``Type=notify`` keeps its
meaning), at the path of the binary's unit: a move between runtimes is then a changed unit and start
script, which the roll puts in place and restarts one member at a time, like any other change.
"""

import io
import re
import shlex
import tarfile

RUNTIMES = ("host", "container")
PODMAN = "/usr/bin/podman"
# A site's own image, named by its digest: a tag can be moved to another image, a digest cannot.
PINNED_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}")
# The image a host builds from the release it verified (the role's release directory).
BUILT_IMAGE = "localhost/raftops-etcd:v%s"
# Where the binaries are in the image: where the etcd project's own images have them.
IMAGE_BIN_DIR = "/usr/local/bin"
# What a line of ldd names: the interpreter (/lib64/ld-linux-x86-64.so.2 (0x...)) or a library (x => /path (0x...)).
LDD_PATH = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


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


def podman_run(c):
    """The command the start script ends in: etcd of image ``c["image"]`` as user ``c["user"]`` (the
    shell reads its ids on the host), on the host's network, its settings from the unit's environment
    (ETCD_*), its logs to the unit's journal; ``c["hardening"]``: a read-only root, no capabilities, no
    new privileges (the container's form of the binary unit's sandbox)."""
    user = shlex.quote(c["user"])
    args = [PODMAN + " run", "--name=%s" % c["name"], "--replace", "--rm", "--detach",
            "--cgroups=split", "--sdnotify=container", "--log-driver=passthrough", "--pull=never",
            "--network=host", '--user="$(id -u %s):$(id -g %s)"' % (user, user),
            "--ulimit=nofile=%s:%s" % (c["limit_nofile"], c["limit_nofile"]),
            "--stop-timeout=%d" % c["stop_timeout"], "--env='ETCD_*'"]
    if c["hardening"]:
        args += ["--read-only", "--cap-drop=all", "--security-opt=no-new-privileges"]
    args += c["volumes"] + [shlex.quote(c["image"]), IMAGE_BIN_DIR + "/etcd"]
    return " \\\n  ".join(args)


def runtime_of_unit(unit_text):
    """The runtime of the member unit a host has: container when it runs podman, host for the binary's,
    None without a unit."""
    if unit_text is None:
        return None
    return "container" if PODMAN in unit_text else "host"
