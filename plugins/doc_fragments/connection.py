# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)


class ModuleDocFragment:
    """Connection and TLS options shared by every raftops.etcd module."""

    DOCUMENTATION = r"""
options:
  endpoints:
    description:
      - Client URLs of etcd members to talk to, tried in order until one answers.
      - Use C(https://) URLs for a cluster with TLS (the default of the role).
      - Modules run on the host they are delegated to, so C(https://127.0.0.1:2379) reaches the
        member on that host.
    type: list
    elements: str
    default: ['https://127.0.0.1:2379']
  ca_cert:
    description:
      - PEM file of the CA that signed the members' server certificates.
      - When omitted with C(https://) endpoints, the system trust store is used.
    type: path
  client_cert:
    description:
      - PEM client certificate presented to etcd, required when members run with client
        certificate authentication (the role's default).
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
    type: path
  tls_verify:
    description:
      - Verify the members' server certificates (with O(ca_cert) or the system trust store).
      - V(false) only for a cluster that runs etcd's auto-TLS (C(--auto-tls), the role's
        C(etcd_auto_tls)), whose self-signed certificates no CA vouches for. The traffic is still
        encrypted, but the server is not authenticated. Never set it for any other cluster.
      - V(false) cannot be combined with O(ca_cert).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for any one request. A member that has not joined a cluster with quorum
        accepts connections but never answers, so this bounds every call.
    type: float
    default: 10
  auth_user:
    description:
      - etcd user to authenticate as when RBAC auth is enabled (etcd's password authentication),
        with O(auth_password). The token it gets is sent with every request.
      - Needed once auth is on, because through etcd's HTTP/JSON gateway a client certificate's
        common name is no etcd user (with auth on, the gateway refuses certificates that have one).
      - While auth is off the modules work without a token, so a play can set these before it
        enables auth.
    type: str
  auth_password:
    description:
      - Password of O(auth_user).
    type: str
notes:
  - The modules speak to etcd's v3 HTTP/JSON gateway with the Python standard library only; the
    managed host needs nothing but python3.
"""
