# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_pki
short_description: Manage the CA and the member and client certificates of an etcd cluster
version_added: 1.0.0
description:
  - Keeps a PKI directory on the Ansible controller for a TLS etcd cluster, with the Python
    C(cryptography) library. Run it on the controller (C(delegate_to=localhost), C(run_once=true)).
    There, with a local connection and without C(become), its action runs the module's code within
    C(ansible-playbook)'s own process rather than starting a module; anywhere else it runs as a module.
  - With O(state=present) it creates a CA when none exists (C(ca.pem), C(ca-key.pem)), and for each
    member C(NAME) a server pair C(NAME.pem)/C(NAME-key.pem) and a peer pair
    C(NAME-peer.pem)/C(NAME-peer-key.pem), plus a pair C(CLIENT.pem)/C(CLIENT-key.pem) for each
    client. The CA key never leaves this directory.
  - Server certificates allow both TLS server and client authentication, because etcd's HTTP/JSON
    gateway connects to its own gRPC port presenting the server certificate as a client
    certificate. Peer certificates allow both as well. Their subject is C(CN=NAME) and their
    subject alternative names are the member's O(members[].addresses) and
    O(members[].hostnames), the member name, C(127.0.0.1), C(localhost) and O(extra_sans). A peer
    certificate also carries C(DNS:etcd-peer.invalid), the name no other certificate of the CA may
    carry (RV(peer_identity)). Members that ask for it (C(--peer-cert-allowed-hostname)) take no
    client pair of the same CA for a peer, even one used from a member's address.
  - Client certificates allow client authentication only and have an empty subject (no common
    name, unless O(clients) gives a C(user)) with the single subject alternative name C(DNS:CLIENT).
    etcd's gateway rejects client certificates with a common name once RBAC auth is enabled, so
    clients authenticate to RBAC with a user and password (token) instead.
  - The module is idempotent. A file is only (re)issued when it is missing, a key does not match
    its certificate or has another type than O(key_type), the certificate is not signed by the
    current CA, its subject alternative names or profile differ from the wanted ones, it
    expires within O(renew_before_days), or the CRL lists it. Renewal keeps the existing key. Every (re)issued file is
    reported with its reason in RV(issued).
  - Certificates never outlive the CA. An expired CA is an error; nothing is written and the
    message explains how to rotate it.
  - With O(applications), each application gets a client pair C(clients/NAME.pem)/C(clients/NAME-key.pem)
    whose common name is its etcd user; an application no longer listed is revoked.
  - With O(state=present) the directory also holds C(crl.pem) (see O(crl)), a certificate
    revocation list signed by the CA, empty at first. Give it to etcd as C(--client-crl-file) and
    C(--peer-crl-file). O(revoke) adds the serial numbers of a removed member's or client's
    certificates to it, and moves those files into C(revoked/) in O(path), so that a member that
    comes back under the same name gets new certificates with new serial numbers.
  - etcd reads the CRL file again for every new TLS connection, so copying a new C(crl.pem) to the
    members takes effect without a restart. etcd compares serial numbers only. It checks neither
    the CRL's signature nor its dates, and it refuses every connection when the file is missing
    or cannot be parsed. So the CRL's next update is set to the end of the CA, and the module
    always writes the file whole (atomically).
  - Bad input is reported before anything is written.
  - With O(state=verified) nothing is ever written. The module checks certificates the operator
    provides ("bring your own PKI"). It reports every problem at once, each with the file name.
requirements:
  - cryptography >= 3.1 on the controller
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  check_mode:
    details: Reports what would be issued and why, what would be revoked and moved, and how the CRL
      would change, and writes nothing.
  diff_mode:
    support: partial
    details: Shows the serial numbers the CRL lists before and after, and where the files of
      revoked names go. Nothing is shown for certificates; see RV(issued).
options:
  path:
    description:
      - The PKI directory on the controller. It is created with mode V(0700) when missing.
      - Keys are written with mode V(0600) and certificates with mode V(0644), each atomically
        (a temporary file in the same directory, then a rename).
      - An existing key that group or others can read is changed to mode V(0600) (see
        RV(modes_fixed)).
    type: path
    required: true
  state:
    description:
      - V(present) creates missing files and re-issues files that need it.
      - V(verified) only checks existing files and fails listing every problem. It checks that each
        certificate matches its key, is signed by the CA in O(ca_cert), is currently valid, covers
        the member's O(members[].addresses) and O(members[].hostnames), and has the extended key
        usages etcd needs. For clients it checks the key match, the CA, validity and client
        authentication.
    type: str
    choices: [present, verified]
    default: present
  members:
    description:
      - The etcd members, one certificate pair for the server and one for the peer port each.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The member's etcd C(--name). It must match C(^[A-Za-z0-9][A-Za-z0-9._-]*$) and be unique.
          - It names the files and is the certificate's common name and one of its DNS names.
        type: str
        required: true
      addresses:
        description:
          - Addresses the member is reached at, usually its C(etcd_address). IP addresses become
            IP subject alternative names, anything else a DNS name.
          - With O(state=verified) the certificates must cover each of them.
        type: list
        elements: str
        default: []
      hostnames:
        description:
          - Host names of the member, added like O(members[].addresses).
        type: list
        elements: str
        default: []
      cert:
        description:
          - Only with O(state=verified). The member's server certificate.
          - Default C(NAME.pem) in O(path).
        type: path
      key:
        description:
          - Only with O(state=verified). The member's server key.
          - Default C(NAME-key.pem) in O(path).
        type: path
      peer_cert:
        description:
          - Only with O(state=verified). The member's peer certificate.
          - Default C(NAME-peer.pem) in O(path).
        type: path
      peer_key:
        description:
          - Only with O(state=verified). The member's peer key.
          - Default C(NAME-peer-key.pem) in O(path).
        type: path
  extra_sans:
    description:
      - More subject alternative names for every member certificate, for example a load
        balancer's address or a DNS name shared by all members.
      - IP addresses become IP names, the rest DNS names (C(*.example.com) is allowed).
    type: list
    elements: str
    default: []
  peer_identity:
    description:
      - Whether the peer certificates of O(members) carry C(DNS:etcd-peer.invalid) (RV(peer_identity)).
      - The etcd_proxy role sets V(false), as its proxies get a server pair made as for a member, and
        their unused peer pair must not pass the members' peer port.
    type: bool
    default: true
  clients:
    description:
      - Client certificates to keep in O(path), each C(NAME.pem)/C(NAME-key.pem).
      - Each entry is a name, or a dict with C(name) and optionally C(sans) (the IP addresses or DNS
        names the client connects from, which etcd's https metrics listener checks a client
        certificate's SANs against), C(user) and, for O(state=verified), C(cert) and C(key) paths.
      - Without C(user) the certificate has no common name (see above). With C(user) its common name
        is that etcd user, which etcd takes as the user on its gRPC port (C(etcdctl)) once RBAC auth is
        enabled, like an application's (O(applications)); the gateway refuses such a certificate while
        auth is on. The etcd role keeps a pair V(root) with user V(root) for the members' scheduled
        snapshots and defragmentation. With O(state=verified) the common name must be the user.
      - The default V(admin) pair is what the collection's modules and an operator's C(etcdctl)
        use.
      - Client names follow the rules for member names and must differ from them. A client named
        V(etcd-peer.invalid), or with it in C(sans), is refused, because only peer certificates carry it.
    type: list
    elements: raw
    default: [admin]
  ca_cert:
    description:
      - The CA certificate. Default C(ca.pem) in O(path).
      - With O(state=verified) it may hold several certificates (a bundle); a certificate signed
        by any of them passes.
    type: path
  ca_key:
    description:
      - The CA private key. Default C(ca-key.pem) in O(path). Not used with O(state=verified).
      - When the CA certificate exists but its key does not, certificates that are still good are
        kept, and anything that would need signing is an error.
    type: path
  ca_common_name:
    description:
      - The common name of a CA this module creates. It does not affect an existing CA.
    type: str
    default: raftops etcd CA
  validity_days:
    description:
      - How long member and client certificates are valid, in days. They never outlive the CA.
      - The default of two years keeps a yearly maintenance run well inside the validity, and stays
        below the 825-day limit some TLS clients (Apple platforms) enforce on server certificates.
      - It must be greater than O(renew_before_days).
    type: int
    default: 730
  ca_validity_days:
    description:
      - How long a CA this module creates is valid, in days.
    type: int
    default: 3650
  renew_before_days:
    description:
      - Member and client certificates that expire within this many days are re-issued with O(state=present),
        and reported as a warning with O(state=verified).
      - etcd reads its certificate files again for new connections, so renewed certificates take
        effect without a restart once they are on the member.
    type: int
    default: 30
  key_type:
    description:
      - V(ec) makes ECDSA P-256 keys, V(rsa) makes RSA keys of O(rsa_key_size) bits.
      - Changing it re-issues every member and client key (not the CA's).
    type: str
    choices: [ec, rsa]
    default: ec
  rsa_key_size:
    description:
      - The size of RSA keys when O(key_type=rsa).
    type: int
    choices: [2048, 3072, 4096]
    default: 3072
  revoke:
    description:
      - Names of members or clients whose certificates must stop working, for example members that
        were removed or are being replaced. Only with O(state=present).
      - For each name, the certificates in O(path) that belong to it are revoked. These are the
        server (or client) certificate C(NAME.pem), the peer certificate C(NAME-peer.pem), and the
        client pairs the host holds of its own, C(NAME-root.pem) and C(NAME-client.pem) (the role
        issues them per member and per proxy, so that revoking one host's copies leaves the others
        working).
        A certificate belongs to its file when its common name is the file's name (C(NAME) for
        C(NAME.pem) and C(NAME-peer.pem)), or when it has that name as a DNS name (a client, whose
        common name, if any, is its etcd user).
        Their serial numbers are added to the CRL. Then these files and their keys are moved to
        C(revoked/STAMP-FILE) in O(path) (directory V(0700), keys V(0600)). C(STAMP) is the UTC
        time, for example C(20250501T120000Z).
      - A later run that lists the name in O(members) or O(clients) again issues new keys and
        certificates with new serial numbers.
      - A name that has no certificates in O(path) is skipped, so running the same O(revoke) list
        again changes nothing.
      - A name cannot be in O(revoke) and in O(members) or O(clients) in the same call.
      - O(revoke) names the files at the top of O(path); applications are revoked by leaving them out
        of O(applications).
      - A certificate that the current CA did not sign is moved aside without a CRL entry, with a
        warning, because the members do not trust it anyway.
    type: list
    elements: str
    default: []
  applications:
    description:
      - Client pairs for applications, kept in C(clients/) in O(path) as C(clients/NAME.pem) and
        C(clients/NAME-key.pem) (directory V(0700), keys V(0600)). Only with O(state=present).
      - Each certificate allows client authentication only. Its common name is the application's etcd
        user, which etcd takes as the user on its gRPC port (C(etcdctl), Go clients) once RBAC auth is
        enabled; its single subject alternative name is C(DNS:NAME). etcd's HTTP/JSON gateway refuses
        certificates with a common name while auth is enabled, so an application that uses the gateway
        needs a password instead.
      - They are issued and renewed like the other pairs (O(key_type), O(validity_days),
        O(renew_before_days)).
      - The list is the whole set. An application whose files are in C(clients/) but that is not listed
        is revoked as with O(revoke) (its serial added to the CRL, its files moved to
        C(revoked/STAMP-clients-NAME.pem) and C(revoked/STAMP-clients-NAME-key.pem)); V([]) revokes
        every application. When the user of a listed application changes, its previous certificate is
        revoked the same way and a new one issued with the same key.
      - When omitted, C(clients/) is left as it is.
      - Names must be unique (ignoring case), 1 to 64 letters, digits, C(.), C(_) and C(-), starting
        with a letter or digit, not end in C(-key) and not be V(etcd-peer.invalid) (the peer
        certificates' name, RV(peer_identity)). Bad entries are refused, each named, before anything is
        written.
    type: list
    elements: dict
    suboptions:
      name:
        description: The application's name, which names its files.
        type: str
        required: true
      user:
        description:
          - The etcd user the application acts as, the certificate's common name. Default O(applications[].name).
          - 1 to 64 characters, no control characters or leading or trailing spaces. V(root) is allowed.
        type: str
  running_members:
    description:
      - The members of a running cluster that this directory's certificates are for, each with what it
        trusts. The module fails, naming them, before anything is written (with O(state=present)) when
        one of them trusts another CA than the directory's (certificates of a new CA would cut the
        members off from each other), or asks its peers for the peer name while a peer certificate of
        the directory lacks it (a member given one would be shut out by the others).
      - During a CA rotation (O(ca_rotation)) each CA file the step leaves the members trusting is
        accepted (RV(ca.trusted_checksums)).
      - The role C(raftops.etcd.etcd) gives the members that hold data, read from their hosts.
    type: list
    elements: dict
    default: []
    version_added: 1.1.0
    suboptions:
      name:
        description: The member's name in the message.
        type: str
        required: true
      ca_sha256:
        description: The SHA-256 of the CA file the member trusts (its C(ca.pem)). V('') checks no CA, as when
          the CA is replaced on purpose.
        type: str
        default: ''
      peer_name:
        description: Whether the member asks its peers for the peer name (C(--peer-cert-allowed-hostname)).
        type: bool
        default: false
  crl:
    description:
      - The certificate revocation list. Default C(crl.pem) in O(path).
      - With O(state=present) it is always kept. It is created empty and signed by the CA. It is
        signed again when the CA changes (it keeps its entries), when its next update is not the
        CA's end, or when O(revoke) adds serial numbers. Entries whose certificate in C(revoked/)
        has expired are dropped whenever the CRL is signed again.
      - An existing CRL that cannot be read is an error and nothing is written, because replacing
        it would let the certificates it revokes work again.
      - A current member or client certificate that the CRL lists is re-issued with a new key
        (reason V(revoked)). This happens, for example, when a backup of revoked files is put back.
      - With O(state=verified), a CRL at this path is optional. When it exists, it must be readable
        and signed by a CA in O(ca_cert), and no checked certificate may be in it. If you set this
        option, the file must exist.
    type: path
  ca_rotation:
    description:
      - Replaces the CA without downtime, in three phases that each need a one-at-a-time restart of the
        members in between (etcd reads its trusted CA only when it starts). Only with O(state=present).
      - Phase 1 (C(trust)) makes a new CA C(ca-next.pem)/C(ca-next-key.pem) and the bundle
        C(ca-bundle.pem) (the old CA, then the new one) that members and applications trust; certificates
        still come from the old CA. Phase 2 (C(reissue)) makes the new CA C(ca.pem) (the old one is kept as
        C(ca-previous.pem)), which re-issues every member, admin and application certificate with its key and
        signs the CRL again with its entries. Phase 3 (C(drop)) writes C(ca-bundle.pem) with the new CA only,
        keeping the old one as C(ca-retiring.pem) until the next step moves it to C(retired/STAMP-ca.pem).
      - The phase is which of these files exist, so every step is resumed by the next call; a step cut
        short is completed by the next call with V(auto) or V(advance).
      - V(keep) never starts or advances a rotation (one in progress stays where it is); V(auto) starts one when
        the CA expires within O(renew_before_days); V(start) starts one now (nothing happens while one is in
        progress); V(advance) moves one phase on (the caller has restarted every member since the last step).
      - See RV(rotation) and RV(ca.trusted_path).
    type: str
    choices: [keep, auto, start, advance]
    default: keep
  ca_rotation_blockers:
    description:
      - Members that are not up and healthy, as the caller names them. While the list is not empty, a
        rotation is neither started nor advanced, and one in progress is refused, naming them; nothing is
        written.
    type: list
    elements: str
    default: []
  ca_rotation_left_out:
    description:
      - Members the caller's run does not reach (left out by C(--limit)), as the caller names them. While
        the list is not empty, a rotation that would start (also V(auto) with the CA expiring) or one in
        progress is refused, naming them and saying to run without C(--limit); nothing is written.
    type: list
    elements: str
    default: []
seealso:
  - name: etcd transport security model
    description: How etcd uses client, server and peer certificates.
    link: https://etcd.io/docs/v3.5/op-guide/security/
"""

EXAMPLES = r"""
- name: Keep the cluster's CA and certificates on the controller
  raftops.etcd.etcd_pki:
    path: "{{ inventory_dir }}/etcd-pki"
    members:
      - name: etcd-host0
        addresses: [10.0.0.11]
        hostnames: [host0.example.com]
      - name: etcd-host1
        addresses: [10.0.0.12]
      - name: etcd-host2
        addresses: [10.0.0.13]
    extra_sans: [etcd.example.com]
  delegate_to: localhost
  run_once: true
  register: etcd_pki

- name: Show what was (re)issued and why
  ansible.builtin.debug:
    msg: "{{ item.file }}: {{ item.reason }}"
  loop: "{{ etcd_pki.issued }}"

- name: RSA keys, renewal six weeks ahead, and a second client pair for backups
  raftops.etcd.etcd_pki:
    path: /srv/etcd-pki
    key_type: rsa
    renew_before_days: 42
    members: "{{ etcd_pki_members }}"  # a list of {name, addresses} built elsewhere
    clients: [admin, backup]
  delegate_to: localhost
  run_once: true

- name: Revoke the certificates of a removed member (its name is no longer in members)
  raftops.etcd.etcd_pki:
    path: "{{ inventory_dir }}/etcd-pki"
    members: "{{ etcd_pki_members }}"
    revoke: [etcd-host2]
  delegate_to: localhost
  run_once: true
  register: etcd_pki

- name: Give every member the new CRL; etcd reads it on each new connection, no restart
  ansible.builtin.copy:
    src: "{{ etcd_pki.crl.path }}"
    dest: /etc/etcd/pki/crl.pem
    owner: root
    group: etcd
    mode: "0644"
  when: etcd_pki.crl.changed

- name: Client pairs for two applications; any other application in clients/ is revoked
  raftops.etcd.etcd_pki:
    path: "{{ inventory_dir }}/etcd-pki"
    members: "{{ etcd_pki_members }}"
    applications:
      - name: billing            # clients/billing.pem, CN=billing
      - name: web
        user: web-app            # clients/web.pem, CN=web-app
  delegate_to: localhost
  run_once: true

- name: Check certificates the operator brings, without writing anything
  raftops.etcd.etcd_pki:
    path: /etc/company-pki/etcd
    state: verified
    ca_cert: /etc/company-pki/root-ca.pem
    members:
      - name: etcd-host0
        addresses: [10.0.0.11]
        cert: /etc/company-pki/etcd/host0-server.crt
        key: /etc/company-pki/etcd/host0-server.key
        peer_cert: /etc/company-pki/etcd/host0-peer.crt
        peer_key: /etc/company-pki/etcd/host0-peer.key
    clients:
      - name: admin
        cert: /etc/company-pki/etcd/admin.crt
        key: /etc/company-pki/etcd/admin.key
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
issued:
  description:
    - Every file written (or that would be written in check mode), with why.
    - "Reasons: V(missing); V(key mismatch) (the key does not match the certificate, both are replaced);
      V(key type changed) (the key is not of O(key_type)); V(new key) (a certificate re-issued because its key
      is new); V(ca changed) (not signed by the current CA); V(sans changed); V(profile changed)
      (extended key usages or subject differ from what the module issues); V(expiring) (within
      O(renew_before_days)); V(expired); V(revoked) (the CRL lists the certificate, so key and certificate
      are both new)."
    - The CRL is reported in RV(crl), and the files of revoked names in RV(revoked); neither is listed here.
    - Always empty with O(state=verified).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: Absolute path of the file.
      type: str
      sample: /srv/etcd-pki/etcd-host0.pem
    reason:
      description: Why it was (re)issued.
      type: str
      sample: sans changed
  sample:
    - file: /srv/etcd-pki/etcd-host0.pem
      reason: sans changed
modes_fixed:
  description: Existing keys that group or others could read and that were changed to mode V(0600).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: Absolute path of the key.
      type: str
    mode_was:
      description: Its previous mode, in octal.
      type: str
      sample: "0644"
    mode:
      description: The new mode.
      type: str
      sample: "0600"
ca:
  description: The CA certificate.
  returned: always
  type: dict
  contains:
    path:
      description: Absolute path of the CA certificate, the file to give etcd as C(--trusted-ca-file).
      type: str
      sample: /srv/etcd-pki/ca.pem
    not_after:
      description:
        - End of validity, ISO 8601 UTC.
        - V(null) in check mode when the CA would be created.
      type: str
      sample: "2036-05-01T12:00:00Z"
    fingerprint:
      description:
        - SHA-256 fingerprint of the certificate, colon-separated hex.
        - V(null) in check mode when the CA would be created.
      type: str
      sample: "3A:1F:...:9C"
    trusted_path:
      description:
        - The file whose content members trust as C(--trusted-ca-file) and C(--peer-trusted-ca-file), that is
          C(ca-bundle.pem) while a CA rotation is in progress (see O(ca_rotation)), else the CA certificate.
      type: str
      sample: /srv/etcd-pki/ca.pem
    trusted_checksums:
      description:
        - SHA-256 (hex) of each trusted CA file a member of this PKI may hold; during a rotation the old CA,
          the bundle and the new CA. Empty when there is no CA yet.
      type: list
      elements: str
rotation:
  description: The CA rotation (O(ca_rotation)) after this call.
  returned: always
  type: dict
  sample:
    phase: trust
    phase_before: none
    step: 1
    changed: true
    description: members trust the old and the new CA, certificates come from the old one
    bundle: /srv/etcd-pki/ca-bundle.pem
  contains:
    phase:
      description: V(none), V(trust), V(reissue) or V(drop).
      type: str
    phase_before:
      description: The phase before this call.
      type: str
    step:
      description: The phase's number, 0 to 3.
      type: int
    changed:
      description: Whether this call wrote (or, in check mode, would write) a file of the rotation.
      type: bool
    description:
      description: What members trust in this phase, and which CA signs.
      type: str
    bundle:
      description: The path of C(ca-bundle.pem), the CAs to trust now; V(null) when no rotation ever ran.
      type: str
    members_kept:
      description: >-
        Whether the members keep pairs of the old CA, whose key is not in O(path) (phase 1 of the
        rotation of an adopted cluster's own CA): the client pairs come from the new CA already,
        which the members trust only once they restarted in this phase.
      type: bool
    timers_wait:
      description: >-
        Whether the members' timers (scheduled snapshots, defragmentation, backup drill) must wait: their
        client pair comes from the new CA, which members not yet restarted in phase 1 of the rotation of an
        adopted cluster's own CA refuse. The role installs them once the rotation left that phase.
      type: bool
certificates:
  description: The member certificates by member name.
  returned: always
  type: dict
  sample:
    etcd-host0:
      cert: /srv/etcd-pki/etcd-host0.pem
      key: /srv/etcd-pki/etcd-host0-key.pem
      peer_cert: /srv/etcd-pki/etcd-host0-peer.pem
      peer_key: /srv/etcd-pki/etcd-host0-peer-key.pem
      not_after: "2028-05-01T12:00:00Z"
      sans: [10.0.0.11, 127.0.0.1, etcd-host0, localhost]
  contains:
    cert:
      description: Server certificate (C(--cert-file)).
      type: str
    key:
      description: Server key (C(--key-file)).
      type: str
    peer_cert:
      description: Peer certificate (C(--peer-cert-file)).
      type: str
    peer_key:
      description: Peer key (C(--peer-key-file)).
      type: str
    not_after:
      description:
        - The earlier end of validity of the two certificates, ISO 8601 UTC.
        - V(null) in check mode when a certificate would be (re)issued.
      type: str
    sans:
      description:
        - The subject alternative names, IP addresses first.
        - With O(state=present) the wanted set; with O(state=verified) those of the server
          certificate.
      type: list
      elements: str
peer_identity:
  description:
    - The DNS name every peer certificate carries and no client certificate may, for the members'
      C(--peer-cert-allowed-hostname).
  returned: always; V(null) with O(peer_identity=false), and with O(state=verified) unless every peer certificate carries it
  type: str
  sample: etcd-peer.invalid
clients:
  description: The client certificates by client name.
  returned: always
  type: dict
  sample:
    admin:
      cert: /srv/etcd-pki/admin.pem
      key: /srv/etcd-pki/admin-key.pem
      not_after: "2028-05-01T12:00:00Z"
  contains: &client_pair
    cert:
      description: Client certificate.
      type: str
    key:
      description: Client key.
      type: str
    not_after:
      description: End of validity, ISO 8601 UTC; V(null) in check mode when it would be (re)issued.
      type: str
applications:
  description: The application client pairs by application name; empty when O(applications) is omitted.
  returned: always
  type: dict
  sample:
    web:
      cert: /srv/etcd-pki/clients/web.pem
      key: /srv/etcd-pki/clients/web-key.pem
      user: web-app
      not_after: "2028-05-01T12:00:00Z"
  contains:
    <<: *client_pair
    user:
      description: The etcd user, the certificate's common name.
      type: str
crl:
  description: The certificate revocation list.
  returned: always
  type: dict
  sample:
    path: /srv/etcd-pki/crl.pem
    changed: true
    reason: revoked
    revoked_serials: [0a3e5f9c2b7d41e8a5c6b0f3d2e1c4a5b6c7d8e9, 5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d]
    dropped_serials: []
    next_update: "2035-05-01T12:00:00Z"
  contains:
    path:
      description:
        - Absolute path of the CRL, the file to give etcd as C(--client-crl-file) and
          C(--peer-crl-file).
        - With O(state=verified), V(null) when there is no CRL.
      type: str
    changed:
      description: Whether the CRL was (or, in check mode, would be) written.
      type: bool
    reason:
      description:
        - Why it was written. The reasons are V(missing), V(ca changed) (it was not signed by the
          current CA), V(next update changed) (its next update was not the CA's end), and
          V(revoked) (new serial numbers). The value is V(null) when the CRL did not change.
      type: str
    revoked_serials:
      description:
        - "The serial numbers the CRL lists afterwards, sorted, as lowercase hex of the serial's
          bytes. This is the form etcd logs when it rejects a certificate
          (C(transport: certificate serial ... revoked))."
      type: list
      elements: str
    dropped_serials:
      description: Entries dropped because their certificate (found in C(revoked/)) has expired.
      type: list
      elements: str
    next_update:
      description:
        - The CRL's next update, ISO 8601 UTC. It is the CA's end.
        - V(null) in check mode when the CA would be created, and with O(state=verified) when
          there is no CRL.
      type: str
revoked:
  description:
    - The names whose certificates were (or, in check mode, would be) revoked in this run - from
      O(revoke), applications no longer in O(applications), and applications whose user changed
      (their previous certificate). Names that had no certificates are not listed.
  returned: always
  type: list
  elements: dict
  sample:
    - name: etcd-host2
      serials: [0a3e5f9c2b7d41e8a5c6b0f3d2e1c4a5b6c7d8e9, 5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d]
      files:
        - file: /srv/etcd-pki/etcd-host2.pem
          moved_to: /srv/etcd-pki/revoked/20250501T120000Z-etcd-host2.pem
        - file: /srv/etcd-pki/etcd-host2-key.pem
          moved_to: /srv/etcd-pki/revoked/20250501T120000Z-etcd-host2-key.pem
  contains:
    name:
      description: The member, client or application name.
      type: str
    serials:
      description: The serial numbers added to the CRL, in the form of RV(crl.revoked_serials).
      type: list
      elements: str
    files:
      description: The certificate and key files moved out of the way.
      type: list
      elements: dict
      contains:
        file:
          description: Where the file was.
          type: str
        moved_to:
          description: Where it is now, in C(revoked/).
          type: str
problems:
  description: With O(state=verified), every problem found, each naming its file.
  returned: failure
  type: list
  elements: str
  sample:
    - /srv/etcd-pki/etcd-host0.pem does not cover 10.0.0.11 in its subject alternative names
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import argument_spec
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_pki
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    PkiError,
)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(CRYPTOGRAPHY_IMPORT_ERROR))
    try:
        result = run_pki(module.params, check_mode=module.check_mode)
    except PkiError as exc:
        module.fail_json(msg="raftops.etcd.etcd_pki: %s" % exc, problems=exc.problems, changed=False)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff", [])
    if module._diff and diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
