# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
name: backup_recipient
short_description: The public key the members seal their off-host backups to, and the keys they sign them with
version_added: 1.0.0
description:
  - Reads the backup key file on the controller (C(etcd_backup_key_file)) and returns its X25519 public key and
    key id. A member that pushes its scheduled snapshots off-host (C(etcd_backup_push)) holds this public key
    only; the backups it seals open with the key file alone.
  - With O(member), also that member's own Ed25519 signing seed (derived from the key file for it alone; a secret,
    for its push settings only, never to be shown), its signer name, and the public keys of every signer of the
    cluster (the controller and O(members)), with which the member verifies the headers of a target's objects
    before its push prunes it.
  - The key file is made (mode 0600, base64 of 32 random bytes) when it does not exist, as the backup playbook
    makes it; one that group or others may read, or that does not hold 32 bytes, is refused, naming it.
options:
  _terms:
    description: Path of the key file on the controller.
    type: list
    elements: path
    required: true
  member:
    description: The member (its etcd name) whose signing seed to return; none when omitted.
    type: str
  members:
    description: The names of the cluster's members, whose public signing keys are returned with the controller's.
    type: list
    elements: str
    default: []
author: raftops developers (@raftops)
"""

EXAMPLES = r"""
- name: Show the key id members seal to
  ansible.builtin.debug:
    msg: "{{ lookup('raftops.etcd.backup_recipient', inventory_dir ~ '/etcd-backup.key').key_id }}"
"""

RETURN = r"""
_raw:
  description:
    - Per term, C(public_key) (base64 of 32 bytes) and C(key_id) (hex, as written in every backup), and
      C(signers) (signer name to base64 public key, for C(controller) and C(member:<name>) of each of O(members)).
    - With O(member), C(signer) (C(member:<name>)) and C(signing_seed) (base64 of 32 bytes, a secret).
  type: list
  elements: dict
"""

import base64
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.raftops.etcd.plugins.module_utils.backup import backup_crypto as crypto


def recipient_of(path, member=None, members=()):
    """{public_key, key_id, signers} of the key file at ``path``, made first when it does not exist, and
    with ``member`` its signer name and signing seed."""
    try:
        try:
            key = crypto.load_key(path, create=True)[0]
        except crypto.BackupCryptoError:
            if not os.path.exists(path):
                raise
            key = crypto.read_key(path)  # another host's lookup of this run made it just now
    except crypto.BackupCryptoError as exc:
        raise AnsibleLookupError("raftops.etcd.backup_recipient: %s" % exc) from None
    public_key, kid = crypto.recipient(key)
    found = dict(public_key=base64.b64encode(public_key).decode(), key_id=kid,
                 signers=crypto.encoded_signers(crypto.cluster_signers(key, members)))
    if member:
        own = crypto.signer(key, crypto.member_signer(member))
        found.update(signer=own.name, signing_seed=base64.b64encode(own.seed).decode())
    return found


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not crypto.HAS_CRYPTOGRAPHY:
            raise AnsibleLookupError("raftops.etcd.backup_recipient needs the Python package cryptography on the "
                                     "controller: %s" % crypto.CRYPTOGRAPHY_IMPORT_ERROR)
        member = kwargs.get("member")
        members = [str(m) for m in kwargs.get("members") or []]
        return [recipient_of(os.path.expanduser(str(term)), member, members) for term in terms]
