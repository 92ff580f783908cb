# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: file_sha256
short_description: The SHA-256 of files on the controller
version_added: 1.0.0
description:
  - Reads each file on the controller and returns its SHA-256 in hex, or an empty string when the
    file does not exist.
options:
  _terms:
    description: Paths of files on the controller.
    type: list
    elements: path
    required: true
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Download the tarball unless the cached copy matches
  ansible.builtin.get_url:
    url: https://example.com/etcd-v3.5.1-linux-amd64.tar.gz
    dest: /var/cache/etcd/etcd-v3.5.1-linux-amd64.tar.gz
    checksum: "sha256:{{ expected }}"
    mode: "0644"
  when: lookup('raftops.etcd.file_sha256', '/var/cache/etcd/etcd-v3.5.1-linux-amd64.tar.gz') != expected
"""

RETURN = r"""
_raw:
  description: Per term, the file's SHA-256 in lower-case hex; an empty string when there is no such file.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.raftops.etcd.plugins.module_utils.host import release as etcd_release


def file_sha256(path):
    """The SHA-256 of the file at ``path`` in hex; '' when there is no file there."""
    try:
        return etcd_release.file_sha256(path)
    except OSError as exc:
        raise AnsibleLookupError("raftops.etcd.file_sha256: cannot read %s: %s" % (path, exc)) from None


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [file_sha256(os.path.expanduser(str(term))) for term in terms]
