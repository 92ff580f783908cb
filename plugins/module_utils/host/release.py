# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The release a run installs, as the controller's download (the etcd_release action) sees it: the
tarball of each architecture, its SHA-256 in the release's own SHA256SUMS, and which tarballs the
controller's cache still lacks. Plain functions on plain data; the action does the fetching."""

import hashlib
import os
import re

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")

# The architectures etcd publishes Linux releases for: Ansible's name (ansible_architecture) -> etcd's,
# the one in the tarball's name.
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}


def argument_spec():
    """The options of raftops.etcd.etcd_release (its action plugin and its documentation's module)."""
    return dict(
        url=dict(type="str", required=True),
        cache_dir=dict(type="path", required=True),
        version=dict(type="str", required=True),
        architectures=dict(type="list", elements="str", default=[]),
        tarballs=dict(type="bool", default=True),
        timeout=dict(type="int", default=60),
    )


def architecture_problem(architecture, supported=None):
    """Why etcd has no release for ``architecture`` as Ansible names it (ansible_architecture; '?'
    for a fact not gathered), among ``supported`` (default: ARCHITECTURES); '' when it has one."""
    supported = list(ARCHITECTURES if supported is None else supported)
    if architecture in supported:
        return ""
    return "unsupported architecture %s; etcd releases exist for %s" % (architecture, ", ".join(str(a) for a in supported))


def release_architecture(architecture):
    """etcd's name (amd64, arm64, ...) for ``architecture``, named as Ansible does (x86_64, aarch64,
    ...) or already as etcd does; ValueError when etcd has no release for it."""
    if architecture in ARCHITECTURES.values():
        return architecture
    problem = architecture_problem(architecture)
    if problem:
        raise ValueError(problem)
    return ARCHITECTURES[architecture]


def tarball_name(version, arch):
    """The release tarball of etcd ``version`` for the etcd architecture ``arch`` (amd64, arm64, ...)."""
    return "etcd-v%s-linux-%s.tar.gz" % (version, arch)


def release_checksum(sums_text, filename, url=""):
    """The SHA-256 of ``filename`` from the text of a release's SHA256SUMS file (``sha256sum``'s
    lines, the binary marker allowed), in lower case; ValueError, naming ``url``, when it is not listed."""
    for line in str(sums_text).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == filename and SHA256_PATTERN.match(parts[0].lower()):
            return parts[0].lower()
    raise ValueError("%s lists no SHA-256 for %s" % (url or "SHA256SUMS", filename))


def file_sha256(path):
    """The SHA-256 of the file at ``path`` in hex; '' when there is no file there (OSError when it
    cannot be read)."""
    if not os.path.isfile(path):
        return ""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tarball_names(version, architectures):
    """The tarballs of ``version`` for ``architectures`` (each as release_architecture reads it), one
    per distinct etcd architecture, in their order; ValueError for one without releases."""
    return list(dict.fromkeys(tarball_name(version, release_architecture(arch)) for arch in architectures))


def tarballs_needed(names, sums_text, sums_url, cached_sums):
    """The tarballs of ``names`` (tarball_names) the cache must fetch, as dicts of ``name`` and
    ``sha256`` (from ``sums_text``, read from ``sums_url``), leaving out those whose cached copy's
    SHA-256 (``cached_sums``: name -> hex, '' for none) already matches. A release missing from
    SHA256SUMS is a ValueError naming it."""
    needed = []
    for name in names:
        sha256 = release_checksum(sums_text, name, sums_url)
        if cached_sums.get(name) != sha256:
            needed.append(dict(name=name, sha256=sha256))
    return needed


def release_source(release, sums_text):
    """What raftops.etcd.etcd_install's ``release`` option resolves to: the tarball's path in the
    controller's cache (``src``) or its URL (``url``), as ``release["from"]`` says (``cache`` or
    ``url``), with its ``checksum`` from the text of the cached SHA256SUMS; nothing when it is
    ``none`` (the host runs the release and needs no tarball)."""
    if release["from"] == "none":
        return {}
    name = tarball_name(release["version"], release_architecture(release["architecture"]))
    url = release["url"].rstrip("/")
    where = dict(src="%s/%s" % (release["cache_dir"], name)) if release["from"] == "cache" else dict(url="%s/%s" % (url, name))
    return dict(where, checksum=release_checksum(sums_text, name, url + "/SHA256SUMS"))
