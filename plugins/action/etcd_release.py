# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_release: the release's SHA256SUMS and tarballs into the controller's
cache, each tarball checked against the SHA256SUMS, in the controller's own process (no module run).
What it needs is decided in plugins/module_utils/host/release.py; it asks nothing of any host."""

import hashlib
import os
import tempfile

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase
from ansible_collections.raftops.etcd.plugins.module_utils.host import release as etcd_release
from ansible_collections.raftops.etcd.plugins.plugin_utils.arguments import task_params

MODULE = "raftops.etcd.etcd_release"


class ReleaseError(Exception):
    """What failed, with the URL read when there is one."""

    def __init__(self, msg, url=None):
        super().__init__(msg)
        self.url = url


def fetch(url, dest, timeout, sha256=None):
    """``url`` (http(s) or file://) into the file ``dest``, in its place only once whole and, with
    ``sha256``, only when it has that SHA-256: a failed or corrupt download leaves nothing behind."""
    fd, part = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".part-")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                response = open_url(url, timeout=timeout)
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
            except Exception as exc:  # urllib's errors, sockets', TLS': all a failed fetch
                raise ReleaseError("cannot fetch it: %s" % to_native(exc), url) from None
        if sha256 and digest.hexdigest() != sha256:
            # get_url's words, which operators know.
            raise ReleaseError("The checksum for %s did not match %s; it was %s." % (dest, sha256, digest.hexdigest()), url)
        os.chmod(part, 0o644)
        os.replace(part, dest)
    finally:
        if os.path.exists(part):
            os.unlink(part)


def download(params):
    """Fill the cache; the names of the files fetched. A release never changes, so its SHA256SUMS is
    fetched once and a re-run needs no network; a cached tarball is checked against it on every run."""
    url, cache_dir, timeout = params["url"].rstrip("/"), params["cache_dir"], params["timeout"]
    sums_url, sums_path = url + "/SHA256SUMS", os.path.join(cache_dir, "SHA256SUMS")
    try:
        # An architecture without releases is refused before anything is fetched.
        names = etcd_release.tarball_names(params["version"], params["architectures"])
    except ValueError as exc:
        raise ReleaseError(str(exc)) from None
    fetched = []
    if not os.path.isfile(sums_path):
        os.makedirs(cache_dir, mode=0o755, exist_ok=True)
        fetch(sums_url, sums_path, 30)
        fetched.append("SHA256SUMS")
    if not params["tarballs"]:
        return fetched
    with open(sums_path, encoding="utf-8") as source:
        sums = source.read()
    cached = {name: etcd_release.file_sha256(os.path.join(cache_dir, name)) for name in names}
    try:
        needed = etcd_release.tarballs_needed(names, sums, sums_url, cached)
    except ValueError as exc:
        raise ReleaseError(str(exc)) from None
    for tarball in needed:
        fetch("%s/%s" % (url, tarball["name"]), os.path.join(cache_dir, tarball["name"]), timeout, tarball["sha256"])
        fetched.append(tarball["name"])
    return fetched


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        params = task_params(result, MODULE, etcd_release.argument_spec(), self._task.args)
        if params is None:
            return result
        try:
            fetched = download(params)
        except (ReleaseError, OSError) as exc:
            reason = "%s [%s]" % (exc, exc.url) if getattr(exc, "url", None) else str(exc)
            msg = "etcd %s could not be downloaded and verified from %s/ (no host was changed): %s" % (
                params["version"], params["url"].rstrip("/"), reason)
            result.update(failed=True, changed=False, msg=msg)
            return result
        result.update(changed=bool(fetched), fetched=fetched)
        return result
