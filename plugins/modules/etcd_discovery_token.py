#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_discovery_token
short_description: Create or delete a token of etcd's discovery service on a discovery cluster
version_added: 1.0.0
description:
  - Prepares the bootstrap of a new etcd cluster through etcd's discovery service. It creates the
    token with its size (the number of members that will register) on an existing etcd cluster,
    the discovery cluster.
  - With O(url), the v2 protocol that etcd 3.4 and 3.5 members speak (C(--discovery URL)). The token is
    a directory of the v2 keys API, by convention C(/v2/keys/_etcd/registry/TOKEN), and its size is
    C(_config/size) in it. The discovery cluster must serve the v2 API - etcd 3.4 does by default,
    etcd 3.5 only when started with C(--enable-v2), etcd 3.6 not at all.
  - With O(token) and O(endpoints), the v3 protocol of etcd 3.6 members (C(--discovery-endpoints),
    C(--discovery-token)), with the keys C(/_etcd/registry/TOKEN/_config/size) and
    C(/_etcd/registry/TOKEN/members/ID) in the discovery cluster's v3 store. This follows etcd
    3.6's source and is unit-tested only; no etcd 3.6 has run against it.
  - A token bootstraps exactly one cluster. O(state=present) refuses a token that has members
    registered or another size, and changes nothing when the token exists with the size and no
    member.
  - O(state=absent) deletes the token and everything under it, for the clean-up after a failed
    bootstrap or once the cluster runs.
  - Runs wherever the discovery cluster is reachable, usually on the controller.
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  check_mode:
    details: Reads the token and reports what would be created or deleted.
options:
  url:
    description:
      - The v2 discovery URL of the token, as the members get it with C(--discovery).
      - Exactly one of O(url) and O(token) is required.
    type: str
  token:
    description: The v3 discovery token (etcd 3.6), as the members get it with C(--discovery-token).
    type: str
  endpoints:
    description: With O(token), the discovery cluster's client URLs, tried in order.
    type: list
    elements: str
    default: []
  size:
    description: The number of members that bootstrap through the token; required with O(state=present).
    type: int
  state:
    description: V(present) creates the token, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  ca_cert:
    description: PEM file of the CA of the discovery cluster's server certificates (the system store when omitted).
    type: path
  client_cert:
    description: PEM client certificate for the discovery cluster.
    type: path
  client_key:
    description: PEM private key of O(client_cert).
    type: path
  timeout:
    description: Seconds to wait for any one request.
    type: float
    default: 10
seealso:
  - module: raftops.etcd.etcd_member
"""

EXAMPLES = r"""
- name: Create the token the members of a new 3.5 cluster register under
  raftops.etcd.etcd_discovery_token:
    url: https://disco.example.com:2379/v2/keys/_etcd/registry/6c007a14875d53d9bf0ef5a6fc0257c8
    size: 3
  delegate_to: localhost
  run_once: true

- name: Delete it after a failed bootstrap
  raftops.etcd.etcd_discovery_token:
    url: https://disco.example.com:2379/v2/keys/_etcd/registry/6c007a14875d53d9bf0ef5a6fc0257c8
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
token:
  description: The token, as its URL (v2) or its name and the endpoints (v3).
  returned: always
  type: str
size:
  description: The token's size (before deletion with O(state=absent)); null when there was no token.
  returned: always
  type: int
members:
  description: What the registered members wrote (C(name=peer URLs)), before deletion with O(state=absent).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import EtcdConfigError
from ansible_collections.raftops.etcd.plugins.module_utils.client.discovery import (
    DiscoveryError,
    V2Registry,
    V3Registry,
    ensure,
    remove,
)


def argument_spec():
    return dict(
        # Whoever knows the token can register members under it before the cluster's own do: a secret.
        url=dict(type="str", no_log=True),
        token=dict(type="str", no_log=True),
        endpoints=dict(type="list", elements="str", default=[]),
        size=dict(type="int"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        timeout=dict(type="float", default=10.0),
    )


def registry(params):
    tls = dict(ca_cert=params["ca_cert"], client_cert=params["client_cert"], client_key=params["client_key"],
               timeout=params["timeout"])
    if params["url"]:
        return V2Registry(params["url"], **tls)
    return V3Registry(params["endpoints"], params["token"], **tls)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("url", "token"), ("url", "endpoints")],
        required_one_of=[("url", "token")],
        required_by={"token": "endpoints"},
        required_if=[("state", "present", ("size",))],
        supports_check_mode=True,
    )
    params = module.params
    try:
        token = registry(params)
        if params["state"] == "present":
            changed, state = ensure(token, params["size"], module.check_mode)
        else:
            changed, state = remove(token, module.check_mode)
    except (DiscoveryError, EtcdConfigError) as exc:
        module.fail_json(msg="raftops.etcd.etcd_discovery_token: %s" % exc)
    state = state or {}
    module.exit_json(changed=changed, token=token.name, size=state.get("size"), members=state.get("members", []))


if __name__ == "__main__":
    main()
