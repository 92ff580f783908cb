#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_install
short_description: Install an etcd release on a host in one call, the account and the binaries' links included
version_added: 1.0.0
description:
  - Makes the service account, unpacks the release tarball into its own directory and links the
    binaries to it, changing only what differs; each step on its own would cost a task and a round
    trip or more to the host, even when nothing changes.
  - The tarball is sent to the host (O(src)), or fetched by the host itself (O(url)), only when the
    release directory has no C(etcd) binary yet. Its SHA-256 is checked on the host before anything
    is unpacked, so a damaged copy changes nothing.
  - The release is unpacked without its top directory (C(etcd-vX.Y.Z-linux-ARCH/)), each file
    written whole and renamed into place, C(etcd) last, so a release directory with C(etcd) is a
    complete one.
  - A link is replaced atomically, so a service that starts meanwhile finds the old binary or the new one.
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  action:
    description: The action plugin sends the tarball from the controller, and only when the host needs it.
    support: full
  check_mode:
    details: The tarball is not sent in check mode; the result says whether the release would be unpacked.
options:
  src:
    description:
      - The release tarball on the controller, as published (C(etcd-vX.Y.Z-linux-ARCH.tar.gz)).
      - Omit to only link a release installed earlier; the module fails when it is not complete.
    type: path
  host_src:
    description:
      - The copy of O(src) on the host. The action plugin sets it when it has sent one; leave it unset.
    type: path
  url:
    description:
      - The release tarball's URL, which the host fetches itself (C(https://), C(http://) or C(file://)),
        instead of a copy of O(src) from the controller.
      - Fetched only when the release directory is incomplete, into the module's temporary directory,
        and checked against O(checksum) before anything is unpacked.
      - Mutually exclusive with O(src).
    type: str
  url_timeout:
    description: Seconds the host waits for the server of O(url) to answer.
    type: int
    default: 60
  checksum:
    description:
      - The tarball's SHA-256, in hex, as the release's C(SHA256SUMS) lists it.
      - Required with O(src) and O(url).
    type: str
  release:
    description:
      - Instead of O(src), O(url) and O(checksum), the release as M(raftops.etcd.etcd_release) cached it
        on the controller; the action plugin finds the tarball and its checksum there (in the cached
        C(SHA256SUMS)), and only when the host is asked.
    type: dict
    suboptions:
      from:
        description: Where the host takes the tarball from; V(none) for a host that needs none (it runs the release).
        type: str
        choices: [cache, url, none]
        required: true
      cache_dir:
        description: The controller's cache of the release (M(raftops.etcd.etcd_release)'s O(raftops.etcd.etcd_release#module:cache_dir)).
        type: path
        required: true
      url:
        description: Where the release is published (C(BASE/vX.Y.Z)); the host fetches from there with V(url).
        type: str
        required: true
      version:
        description: The release, C(X.Y.Z).
        type: str
        required: true
      architecture:
        description:
          - The host's architecture as Ansible names it (C(ansible_architecture), V(x86_64), V(aarch64), ...)
            or as etcd does (V(amd64), V(arm64), ...). One without etcd releases fails the task, naming those with.
        type: str
        required: true
  release_dir:
    description: The directory the release is unpacked into, owned by root, mode C(0755).
    type: path
    required: true
  bin_dir:
    description: The directory of the links.
    type: path
    required: true
  make_bin_dir:
    description:
      - Make O(bin_dir) (root, C(0755)) when it is missing. Leave V(false) for a system directory
        such as C(/usr/local/bin), which is left as it is.
    type: bool
    default: false
  binaries:
    description: The names in the release to link from O(bin_dir).
    type: list
    elements: str
    required: true
  link:
    description:
      - Point the links at this release. V(false) installs the release and leaves the links as they are
        (a member that switches release in its own roll step).
    type: bool
    default: true
  user:
    description:
      - The system account etcd runs as, with a group of the same name, made when missing. An existing
        account or group is left as it is.
      - Omit to make no account.
    type: str
  home:
    description: The home directory of an account this module makes; it is not created.
    type: path
    default: /nonexistent
  image:
    description:
      - A container image the host must have for etcd to run from (the role's C(etcd_runtime=container)),
        made after the release is installed when the storage of the host's container engine lacks it (Podman's,
        or Docker's where the host has Docker and no Podman, version 1.1.0 on).
    type: dict
    version_added: 1.0.0
    suboptions:
      name:
        description: The image's name.
        type: str
        required: true
      build:
        description:
          - V(true) builds it from the release in O(release_dir), which was checked before it was unpacked
            (C(podman import) or C(docker import) of its binaries, with the libraries a binary that is not static needs);
            V(false) pulls it (a site's image, named by its digest).
        type: bool
        default: true
  host_info:
    description:
      - What M(raftops.etcd.etcd_host_info) read of the host earlier, with O(raftops.etcd.etcd_host_info#module:account=)
        the account O(user), O(raftops.etcd.etcd_host_info#module:links=) the links of O(binaries) and
        O(raftops.etcd.etcd_host_info#module:paths=) the release's C(etcd) binary in O(release_dir).
      - When it shows everything in place, the action plugin returns without a call to the host. When it does not,
        or read less than that, the host is asked as without it.
    type: dict
seealso:
  - module: ansible.builtin.unarchive
    description: The general way to unpack an archive.
"""

EXAMPLES = r"""
- name: Install etcd 3.5.1
  raftops.etcd.etcd_install:
    src: /var/cache/etcd/v3.5.1/etcd-v3.5.1-linux-amd64.tar.gz
    checksum: "{{ sha256_from_the_release_SHA256SUMS }}"
    release_dir: /opt/etcd/v3.5.1
    bin_dir: /usr/local/bin
    binaries: [etcd, etcdctl, etcdutl]
    user: etcd
    home: /var/lib/etcd

- name: Install etcd 3.6.14, the host fetching the release itself
  raftops.etcd.etcd_install:
    url: https://github.com/etcd-io/etcd/releases/download/v3.6.14/etcd-v3.6.14-linux-amd64.tar.gz
    checksum: "{{ sha256_from_the_release_SHA256SUMS }}"
    release_dir: /opt/etcd/v3.6.14
    bin_dir: /usr/local/bin
    binaries: [etcd, etcdctl, etcdutl]
    user: etcd

- name: Switch the links to the release installed earlier
  raftops.etcd.etcd_install:
    release_dir: /opt/etcd/v3.5.1
    bin_dir: /usr/local/bin
    binaries: [etcd, etcdctl, etcdutl]
"""

RETURN = r"""
account_made:
  description: The account or its group was made (or would be, in check mode).
  returned: always
  type: bool
unpacked:
  description: The release was unpacked (or would be, in check mode).
  returned: always
  type: bool
image_made:
  description: The container image of O(image) was built or pulled (or would be, in check mode).
  returned: always
  type: bool
  version_added: 1.0.0
linked:
  description: The links that were made or pointed at this release (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/usr/local/bin/etcd, /usr/local/bin/etcdctl]
"""

import gzip
import io
import os
import posixpath
import shutil
import tarfile
import zlib

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import (IMAGE_BIN_DIR, host_engine, image_inspect,
                                                                                          image_tar, libraries)
from ansible_collections.raftops.etcd.plugins.module_utils.host.files import atomic_file, sha256_of
from ansible_collections.raftops.etcd.plugins.module_utils.host.install_plan import (
    COMPLETE_MARK, install_changes, missing_account, read_links)


class ReleaseError(Exception):
    """A tarball that is not the release it should be; nothing was unpacked."""


def fetch(url, dest, timeout):
    """Write what ``url`` serves to ``dest``; raises what open_url raises for an unreachable server, an
    error status or a bad certificate (URLError, HTTPError, ssl and socket errors)."""
    response = open_url(url, timeout=timeout, follow_redirects="safe")
    try:
        with open(dest, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    finally:
        response.close()


def release_members(archive):
    """(relative path, TarInfo) of each file and directory below the tarball's top directory, ``etcd``
    last; anything else (links, devices) or a path that leaves the directory is refused."""
    members = []
    for info in archive.getmembers():
        parts = [part for part in posixpath.normpath(info.name).split("/") if part not in ("", ".")]
        relative = "/".join(parts[1:])
        if not relative:
            continue
        if info.name.startswith("/") or ".." in parts or not (info.isfile() or info.isdir()):
            raise ReleaseError("unexpected entry %s (%s)" % (info.name, "link" if info.issym() or info.islnk() else "path"))
        members.append((relative, info))
    if COMPLETE_MARK not in [relative for relative, info in members if info.isfile()]:
        raise ReleaseError("no %s binary in it" % COMPLETE_MARK)
    return sorted(members, key=lambda member: member[0] == COMPLETE_MARK)


def unpack(path, release_dir):
    """Write the release's files into ``release_dir`` (root-owned), each whole, ``etcd`` last.

    The tarball is decompressed once, into memory (some 60 MB for a release): a tarfile on the
    compressed file decompresses again from the start for each member it seeks back to."""
    with open(path, "rb") as handle:
        try:
            data = gzip.decompress(handle.read())
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise ReleaseError("not gzip data (%s)" % exc) from exc
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = release_members(archive)
        for relative, info in members:
            target = os.path.join(release_dir, relative)
            if info.isdir():
                os.makedirs(target, 0o755, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            source = archive.extractfile(info)
            with atomic_file(target, mode=info.mode & 0o755) as out:
                shutil.copyfileobj(source, out.handle)
                os.chown(out.path, 0, 0)


def replace_link(path, target):
    """Point ``path`` at ``target`` in one rename, whatever non-directory was there."""
    if os.path.isdir(path) and not os.path.islink(path):
        raise OSError("%s is a directory" % path)
    temporary = "%s.%d.tmp" % (path, os.getpid())
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(target, temporary)
    os.replace(temporary, path)


def make_account(module, user, home, group_missing, user_missing):
    if group_missing:
        module.run_command([module.get_bin_path("groupadd", required=True), "--system", user], check_rc=True)
    if user_missing:
        module.run_command([module.get_bin_path("useradd", required=True), "--system", "--gid", user,
                            "--shell", "/usr/sbin/nologin", "--home-dir", home, "--no-create-home", user], check_rc=True)


def make_directory(path):
    os.makedirs(path, 0o755, exist_ok=True)
    os.chown(path, 0, 0)
    os.chmod(path, 0o755)


def image_present(module, engine, name):
    return engine is not None and module.run_command(image_inspect(engine, name))[0] == 0


def make_image(module, engine, image, release_dir, binaries):
    """Build the image from the release's binaries (and the libraries ldd names for each), or pull it,
    with the container ``engine`` (podman's or docker's program)."""
    if not image["build"]:
        module.run_command([engine, "pull", "--quiet", image["name"]], check_rc=True)
        return
    ldd = module.get_bin_path("ldd")
    files = {}
    for name in binaries:
        path = os.path.join(release_dir, name)
        with open(path, "rb") as binary:
            files[IMAGE_BIN_DIR + "/" + name] = (binary.read(), 0o755)
        # A static binary (the etcd project's builds) has no libraries: ldd exits non-zero.
        rc, out, _err = module.run_command([ldd, path]) if ldd else (1, "", "")
        for library in libraries(out) if rc == 0 else []:
            with open(library, "rb") as text:
                files.setdefault(library, (text.read(), 0o755))
    archive = image_tar([(path, content, mode) for path, (content, mode) in files.items()])
    module.run_command([engine, "import", "-", image["name"]], data=archive, binary_data=True, check_rc=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path"),
            checksum=dict(type="str"),
            release_dir=dict(type="path", required=True),
            bin_dir=dict(type="path", required=True),
            make_bin_dir=dict(type="bool", default=False),
            binaries=dict(type="list", elements="str", required=True),
            link=dict(type="bool", default=True),
            user=dict(type="str"),
            home=dict(type="path", default="/nonexistent"),
            host_src=dict(type="path"),
            url=dict(type="str"),
            url_timeout=dict(type="int", default=60),
            # Read by the action plugin, which does not pass them on.
            host_info=dict(type="dict"),
            image=dict(type="dict", options=dict(name=dict(type="str", required=True),
                                                 build=dict(type="bool", default=True))),
            release=dict(type="dict", options=dict(
                cache_dir=dict(type="path", required=True),
                url=dict(type="str", required=True),
                version=dict(type="str", required=True),
                architecture=dict(type="str", required=True),
                **{"from": dict(type="str", required=True, choices=["cache", "url", "none"])})),
        ),
        required_by={"src": "checksum", "url": "checksum"},
        mutually_exclusive=[("src", "url")],
        supports_check_mode=True,
    )
    params = module.params
    release_dir, bin_dir = params["release_dir"], params["bin_dir"]
    result = dict(changed=False, account_made=False, unpacked=False, linked=[], image_made=False)
    image = params["image"]
    name, engine = host_engine(module.get_bin_path)
    if image and engine is None and not module.check_mode:
        module.fail_json(msg="the host has no %s (%s), which etcd_runtime=container runs etcd with; nothing was installed"
                         % (name, image["name"]), **result)

    group_missing, user_missing = missing_account(params["user"]) if params["user"] else (False, False)
    state = dict(group_missing=group_missing, user_missing=user_missing,
                 complete=os.path.isfile(os.path.join(release_dir, COMPLETE_MARK)),
                 links=read_links([os.path.join(bin_dir, name) for name in params["binaries"]]),
                 image_present=bool(image) and image_present(module, engine, image["name"]))
    result.update(install_changes(state, release_dir, bin_dir, params["binaries"], params["link"], params["user"],
                                  image and image["name"]))
    if result["unpacked"] and params["src"] is None and params["url"] is None:
        module.fail_json(msg="%s has no complete etcd release (no %s binary), and no src or url was given to unpack"
                         % (release_dir, COMPLETE_MARK), **result)
    if result["unpacked"] and params["src"] is not None and params["host_src"] is None and not module.check_mode:
        # The action plugin asked first: it sends the tarball only when this says so.
        module.exit_json(changed=False, needs_src=True, account_made=False, unpacked=False, linked=[], image_made=False)
    result["changed"] = result["account_made"] or result["unpacked"] or bool(result["linked"]) or result["image_made"]
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)

    tarball, source = params["host_src"], params["src"]
    if result["unpacked"] and params["url"] is not None:
        tarball, source = os.path.join(module.tmpdir, posixpath.basename(params["url"]) or "release.tar.gz"), params["url"]
        try:
            fetch(params["url"], tarball, params["url_timeout"])
        except Exception as exc:  # open_url raises URLError, HTTPError, ssl and socket errors alike
            module.fail_json(msg="the host cannot fetch %s: %s; nothing was unpacked" % (params["url"], exc),
                             account_made=False, unpacked=False, linked=[])
    if result["unpacked"]:
        actual = sha256_of(tarball)
        if actual != params["checksum"].lower():
            module.fail_json(msg="the copy of %s on the host has SHA-256 %s, not %s; nothing was unpacked"
                             % (source, actual, params["checksum"]), account_made=False, unpacked=False, linked=[])
    make_account(module, params["user"], params["home"], group_missing, user_missing)
    try:
        if result["unpacked"]:
            make_directory(release_dir)
            unpack(tarball, release_dir)
        if result["linked"] and params["make_bin_dir"] and not os.path.isdir(bin_dir):
            make_directory(bin_dir)
        for path in result["linked"]:
            replace_link(path, os.path.join(release_dir, os.path.basename(path)))
        if result["image_made"]:
            make_image(module, engine, image, release_dir, params["binaries"])
    except (ReleaseError, tarfile.TarError) as exc:
        module.fail_json(msg="%s is not an etcd release tarball: %s; nothing was linked to %s"
                         % (source, exc, release_dir), **result)
    except OSError as exc:
        module.fail_json(msg="cannot install etcd in %s (links in %s): %s" % (release_dir, bin_dir, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
