"""What the etcd_pki library tests share: two members, their parameters, and readers of the files."""

import os
import stat

from cryptography import x509

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params

MEMBERS = [
    {"name": "etcd-host0", "addresses": ["10.0.0.11"], "hostnames": ["host0.example.com"]},
    {"name": "etcd-host1", "addresses": ["10.0.0.12"], "hostnames": []},
]


def member_list():
    return [dict(m) for m in MEMBERS]


def params(path, **overrides):
    overrides.setdefault("members", member_list())
    return pki_params.default_params(path=path, **overrides)


def load(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def snapshot(directory):
    """Every file below ``directory`` with its bytes and mode (or None when it does not exist)."""
    if not os.path.exists(directory):
        return None
    state = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            state[path] = (read(path), stat.S_IMODE(os.stat(path).st_mode))
    return state


def reasons(result):
    return {os.path.basename(item["file"]): item["reason"] for item in result["issued"]}


def sans_of(cert):
    value = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(str(v) for v in value.get_values_for_type(x509.IPAddress)) + sorted(
        value.get_values_for_type(x509.DNSName)
    )


def ekus_of(cert):
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
