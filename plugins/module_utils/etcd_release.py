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


def tarballs_needed(version, architectures, sums_text, sums_url, cached_sums):
    """The tarballs the cache must fetch: one per distinct etcd architecture in ``architectures`` (in
    their order), as dicts of ``name`` and ``sha256`` (from ``sums_text``, read from ``sums_url``),
    leaving out those whose cached copy's SHA-256 (``cached_sums``: name -> hex, '' for none) already
    matches. A release missing from SHA256SUMS is a ValueError naming it."""
    needed = []
    for arch in dict.fromkeys(architectures):
        name = tarball_name(version, arch)
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
    name = tarball_name(release["version"], release["architecture"])
    url = release["url"].rstrip("/")
    where = dict(src="%s/%s" % (release["cache_dir"], name)) if release["from"] == "cache" else dict(url="%s/%s" % (url, name))
    return dict(where, checksum=release_checksum(sums_text, name, url + "/SHA256SUMS"))
