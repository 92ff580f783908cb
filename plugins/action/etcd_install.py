# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_install: the release tarball goes to the host only when it needs it.

The module runs once; a host whose release directory is complete (every run after the first) needs
nothing else, not even a temporary directory. A host without the release says so, and only then
is the tarball sent and the module run again with the copy; with url the host fetches the release
itself, in that one call. With host_info, what etcd_host_info read of the host earlier, a host
that has everything in place is not asked at all, and one known to lack the release gets the
tarball with the first call. With release (the role's way), where the tarball comes from and its
checksum are found here, from the controller's cache that raftops.etcd.etcd_release filled.
"""

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.raftops.etcd.plugins.module_utils.host.install_plan import changes_from_host_info, state_from_host_info
from ansible_collections.raftops.etcd.plugins.module_utils.host.release import release_source
from ansible_collections.raftops.etcd.plugins.plugin_utils.host_read import HostReadAction


def _with_release(args):
    """``args`` with ``release`` resolved to src or url and checksum (a host that runs the release gets
    neither); the cached SHA256SUMS is read only then."""
    release = args.pop("release", None)
    if not release or release.get("from", "none") == "none":
        return args
    sums_path = os.path.join(os.path.expanduser(to_text(release["cache_dir"])), "SHA256SUMS")
    try:
        with open(sums_path, encoding="utf-8") as source:
            return dict(args, **release_source(release, source.read()))
    except (OSError, KeyError, ValueError) as exc:
        raise AnsibleActionFail("the release's tarball and checksum are unknown, nothing was installed: %s" % exc) from None


def _image(args):
    return (args.get("image") or {}).get("name")


def _state(read, args):
    return state_from_host_info(read, args["release_dir"], args["bin_dir"], args["binaries"], args.get("user"), _image(args))


class ActionModule(HostReadAction):
    # The temporary directory is made only when the tarball is sent (call_host() below).
    MODULE = "raftops.etcd.etcd_install"
    READ_OPTION = "host_info"

    def answer(self, read, args):
        changes = changes_from_host_info(read, args["release_dir"], args["bin_dir"], args["binaries"],
                                         boolean(args.get("link", True)), args.get("user"), _image(args))
        return None if changes is None or any(changes.values()) else dict(changed=False, **changes)

    def call_host(self, args, read, task_vars):
        args = _with_release(args)
        state = read and _state(read, args)
        # A host known to lack the release gets the tarball at once; in check mode nothing is sent.
        # With url the host fetches the tarball itself: one call, nothing to send.
        lacks_release = bool(state) and not state["complete"] and bool(args.get("src")) and not self._task.check_mode
        if args.get("url") or not lacks_release:
            answer = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
            if not answer.pop("needs_src", False):
                return answer
        src = os.path.expanduser(to_text(args["src"]))
        if not os.path.isfile(src):
            raise AnsibleActionFail("the release tarball %s is not on the controller" % src)
        try:
            self._make_tmp_path()
            host_src = self._connection._shell.join_path(self._connection._shell.tmpdir, os.path.basename(src))
            self._transfer_file(src, host_src)
            self._fixup_perms2((self._connection._shell.tmpdir, host_src))
            return self._execute_module(module_name=self.MODULE, module_args=dict(args, host_src=host_src),
                                        task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
