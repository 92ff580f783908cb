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
      - Mutually exclusive with O(discovery_srv).
    type: list
    elements: str
    default: ['https://127.0.0.1:2379']
  discovery_srv:
    description:
      - Find the members by DNS SRV instead of O(endpoints), as etcd's clients do with
        C(--discovery-srv) (the domain of a cluster bootstrapped with the role's C(etcd_bootstrap=dns_srv)).
      - The module asks for C(_etcd-client-ssl._tcp.DOMAIN) (https endpoints) and
        C(_etcd-client._tcp.DOMAIN) (http endpoints) and uses every record it gets, https first, each
        sorted by priority and then weight (the heaviest first). It fails, naming the records and
        the nameservers, when neither has a record.
      - The host the module runs on resolves them itself, with the nameservers of its
        C(/etc/resolv.conf) (its C(timeout) and C(attempts) options apply) over UDP, and over TCP
        when the answer is truncated. Nothing but python3 is needed.
      - The endpoints are the records' targets, so the members' certificates must name them (the
        role's do in C(dns_srv) mode).
      - Mutually exclusive with O(endpoints).
    type: str
  discovery_srv_name:
    description:
      - With O(discovery_srv), the suffix of the service names, as etcd's C(--discovery-srv-name).
        V(prod) makes them C(_etcd-client-ssl-prod._tcp.DOMAIN) and C(_etcd-client-prod._tcp.DOMAIN).
    type: str
    default: ''
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
  client_cert_content:
    description:
      - The PEM client certificate itself, instead of a file on the host the module runs on, for a
        pair that is not there (yet). The etcd role's preflight presents its client pair for a root
        login so, before it has changed any host.
      - The module writes it, with O(client_key_content), into a new private (0700) directory, under
        C(/dev/shm) when it may, loads the pair and removes the directory at once, also on a failure.
      - Mutually exclusive with O(client_cert).
    type: str
  client_key_content:
    description:
      - The PEM private key of O(client_cert_content) (or of O(client_cert)) itself, instead of a file;
        never shown in any output.
      - Mutually exclusive with O(client_key).
    type: str
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
  - "The examples do not repeat the TLS files in each task. Give them once, for every module that talks to
    etcd, in the C(module_defaults) of a play or a block through the action group C(raftops.etcd.etcd), for
    example C(group/raftops.etcd.etcd: {ca_cert: /etc/etcd/pki/ca.pem, client_cert: /etc/etcd/pki/admin.pem,
    client_key: /etc/etcd/pki/admin-key.pem}) (and O(auth_user) and O(auth_password) once auth is on)."
"""
