"""Who the members' peer port takes for a peer: a request to another member's port 2380 made from a
member host (so from that host's address) with a certificate of the cluster's CA.

etcd's peer listener checks that a certificate chains to the CA it trusts for peers and that it
names the address it connects from; the role also makes it ask for the name only peer pairs carry
(etcd-peer.invalid, --peer-cert-allowed-hostname). The client pairs tried here are those of the
collection, as it issues them when a client connects from a member host: the Prometheus pair made
for a scraper on that host (etcd_metrics: address), an application's pair, the admin and the root
pair, each naming the host's address, signed by the cluster's CA like the role's own.
"""

import base64
import datetime
import ipaddress
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from etcdtest import PKI, host

PROBE_DIR = "/root/peer-probe"
# From a member host to another member's peer port, with the CA the members trust; prints the HTTP
# status of GET /members, or the error that ended the exchange.
PROBE = r"""
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile="/etc/etcd/pki/ca.pem")
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
try:
    c = http.client.HTTPSConnection(sys.argv[1], 2380, context=ctx, timeout=5)
    c.request("GET", "/members")
    print(c.getresponse().status)
except Exception as e:
    print("refused: %s: %s" % (type(e).__name__, e))
"""


def _pem(cert, key):
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def client_pair(common_name, dns_name, address):
    """A client pair of the cluster's CA as etcd_pki makes one (clientAuth only; a common name only
    for a user), naming ``address`` too: (certificate PEM, key PEM)."""
    with open(os.path.join(PKI, "ca.pem"), "rb") as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(PKI, "ca-key.pem"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    sans = [x509.DNSName(dns_name), x509.IPAddress(ipaddress.ip_address(address))]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=not common_name)
            .sign(ca_key, hashes.SHA256()))
    return _pem(cert, key)


def client_pairs(address):
    """name -> (certificate PEM, key PEM): every kind of client pair, each naming ``address``."""
    return {
        "prometheus pair (scraper on the host)": client_pair(None, "prometheus", address),
        "application pair (user billing)": client_pair("billing", "billing", address),
        "admin pair": client_pair(None, "admin", address),
        "root pair (user root)": client_pair("root", "root", address),
    }


def peer_port_answers(from_host, to_address, pairs):
    """name -> what ``to_address``:2380 answered each pair of ``pairs`` (name -> PEMs, or the path
    of a pair already on ``from_host``), asked from ``from_host``."""
    h = host(from_host)
    files = {}
    for index, (name, pair) in enumerate(sorted(pairs.items())):
        if isinstance(pair[0], bytes):
            paths = ("%s/%d.pem" % (PROBE_DIR, index), "%s/%d-key.pem" % (PROBE_DIR, index))
            for path, pem in zip(paths, pair):
                h.check_output("mkdir -p -m 0700 %s && echo %s | base64 -d > %s" % (
                    PROBE_DIR, base64.b64encode(pem).decode(), path))
            files[name] = paths
        else:
            files[name] = pair
    script = base64.b64encode(PROBE.encode()).decode()
    result = {}
    for name, (cert, key) in files.items():
        result[name] = h.check_output("echo %s | base64 -d | python3 - %s %s %s" % (script, to_address, cert, key))
    h.run("rm -rf %s" % PROBE_DIR)
    return result


def member_pairs():
    """The member's own pairs on its host: its server pair and its peer pair."""
    return {"member's server pair": ("/etc/etcd/pki/server.pem", "/etc/etcd/pki/server-key.pem"),
            "member's peer pair": ("/etc/etcd/pki/peer.pem", "/etc/etcd/pki/peer-key.pem")}


def show(title, result):
    print("\n%s:\n%s" % (title, json.dumps(result, indent=2, sort_keys=True)))
