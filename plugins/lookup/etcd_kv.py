# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
---
name: etcd_kv
short_description: Read one etcd key, or every key under a prefix
version_added: 1.0.0
author:
  - raftops developers (@raftops)
description:
  - Returns the value of each key named in the terms, or with O(prefix=true) a dict of every key
    under each prefix and its value, read through etcd's v3 HTTP/JSON gateway with the collection's
    client.
  - A key that does not exist returns null; a prefix with no keys, an empty dict.
  - Runs on the controller, so the endpoints and the TLS files are the controller's.
options:
  _terms:
    description: Keys, or with O(prefix=true) prefixes.
    type: list
    elements: str
    required: true
  prefix:
    description: Read every key that starts with each term (C(etcdctl get --prefix)).
    type: bool
    default: false
  value_encoding:
    description:
      - V(text) returns values as UTF-8 text; a value that is not text fails, naming the key.
      - V(base64) returns values in base64.
    type: str
    choices: [text, base64]
    default: text
extends_documentation_fragment: [raftops.etcd.connection]
notes:
  - The connection options are those of the modules (their C(module_defaults) do not reach lookups;
    pass them as keywords).
seealso:
  - module: raftops.etcd.etcd_kv
"""

EXAMPLES = r"""
- name: One key
  ansible.builtin.debug:
    msg: "{{ lookup('raftops.etcd.etcd_kv', 'config/feature-x', endpoints=['https://10.0.0.11:2379'],
             ca_cert='etcd-pki/ca.pem', client_cert='etcd-pki/admin.pem', client_key='etcd-pki/admin-key.pem') }}"

- name: Every key under config/, as a dict of key to value
  ansible.builtin.set_fact:
    settings: "{{ lookup('raftops.etcd.etcd_kv', 'config/', prefix=true, endpoints=etcd_endpoints,
                  ca_cert='etcd-pki/ca.pem', client_cert='etcd-pki/admin.pem', client_key='etcd-pki/admin-key.pem') }}"
"""

RETURN = r"""
_raw:
  description:
    - For each term, the value of the key (null when it does not exist), or with O(prefix=true) a dict
      of key to value.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.raftops.etcd.plugins.module_utils.client import kv as etcd_kv
from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    EtcdError,
    clients_from_params,
    connection_argument_spec,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        params = dict((name, self.get_option(name)) for name in connection_argument_spec())
        if params["discovery_srv"] and "endpoints" in kwargs:
            raise AnsibleLookupError("raftops.etcd.etcd_kv: parameters are mutually exclusive: endpoints|discovery_srv")
        if not params["endpoints"] and not params["discovery_srv"]:
            raise AnsibleLookupError("raftops.etcd.etcd_kv: endpoints must name at least one etcd client URL")
        try:
            clients = clients_from_params(params)
            return [etcd_kv.read(clients, str(term), self.get_option("prefix"), self.get_option("value_encoding"))
                    for term in terms]
        except (EtcdError, ValueError) as exc:
            raise AnsibleLookupError("raftops.etcd.etcd_kv: %s" % exc) from None
