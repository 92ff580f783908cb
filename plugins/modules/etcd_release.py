#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_release
short_description: Download an etcd release into the controller's cache and verify it against its SHA256SUMS
version_added: 1.0.0
description:
  - Fetches the release's C(SHA256SUMS) into O(cache_dir) once (a release never changes, so a re-run
    needs no network), then, with O(tarballs), the tarball of each architecture in O(architectures)
    whose cached copy is missing or differs from its checksum. A download is put in place only when
    whole and matching; a failed or corrupt one leaves nothing behind.
  - Fails, naming the URL it read, when the mirror cannot be reached, when C(SHA256SUMS) lists no
    tarball for the release and an architecture, or when a tarball does not match its checksum.
  - Reads C(https://), C(http://) and C(file://) mirrors.
  - The C(raftops.etcd.etcd) role calls it before any host receives the release; the hosts then check
    their copy against the same C(SHA256SUMS) (M(raftops.etcd.etcd_install)).
  - Runs on the controller (an action plugin), in the controller's own process; asks nothing of any host.
extends_documentation_fragment: [raftops.etcd.controller_action, raftops.etcd.common]
attributes:
  check_mode:
    support: none
    details: Downloads in check mode too (set C(check_mode=false) on the task to say so), since hosts check
      their copy against C(SHA256SUMS) in check mode as well.
options:
  url:
    description: Where the release is published, the directory of its C(SHA256SUMS) and tarballs (C(BASE/vX.Y.Z)).
    type: str
    required: true
  cache_dir:
    description: The controller's directory for this release's files; made when missing.
    type: path
    required: true
  version:
    description: The release, C(X.Y.Z); it names the tarballs (C(etcd-vX.Y.Z-linux-ARCH.tar.gz)).
    type: str
    required: true
  architectures:
    description:
      - The architectures whose tarballs are needed, as Ansible names them (C(ansible_architecture), V(x86_64),
        V(aarch64), ...) or as etcd does (V(amd64), V(arm64), ...); repeats count once.
      - One without etcd releases fails the task before anything is fetched, naming those with.
    type: list
    elements: str
    default: []
  tarballs:
    description: Whether to download the tarballs; false fetches only C(SHA256SUMS) (hosts that fetch their own tarball).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the mirror to answer a tarball's request (30 for C(SHA256SUMS)).
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Download etcd 3.5.16 for the play's architectures
  raftops.etcd.etcd_release:
    url: https://github.com/etcd-io/etcd/releases/download/v3.5.16
    cache_dir: ~/.cache/etcd/v3.5.16
    version: 3.5.16
    architectures: "{{ ansible_play_hosts_all | map('extract', hostvars, 'ansible_architecture') }}"
  run_once: true
  check_mode: false
"""

RETURN = r"""
fetched:
  description: The files downloaded by this run (C(SHA256SUMS) and tarball names); empty when the cache had them.
  returned: success
  type: list
  elements: str
  sample: [SHA256SUMS, etcd-v3.5.16-linux-amd64.tar.gz]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.raftops.etcd.plugins.module_utils.host.release import argument_spec


def main():
    # The action plugin of the same name does the work on the controller: nothing here runs on a host.
    module = AnsibleModule(argument_spec=argument_spec())
    module.fail_json(msg="raftops.etcd.etcd_release runs on the controller as an action plugin only")


if __name__ == "__main__":
    main()
