"""etcd_pki_params: bad input gets a clear error naming the option and value, and nothing is written."""

import datetime
import os
import re
import shutil

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_x509
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_present
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import (
    load,
    member_list,
    params,
    snapshot,
)

DAY = datetime.timedelta(days=1)


# ------------------------------------------------------------------------------------------
# Bad input: a clear error and nothing written


def assert_refused(pki, match, check_mode=False, **overrides):
    before = snapshot(pki)
    with pytest.raises(pki_x509.PkiError, match=match):
        run_present(params(pki, **overrides), check_mode=check_mode)
    assert snapshot(pki) == before


def test_directory_not_writable_is_named(pki, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(pki_params.os, "access", lambda p, mode: False if p == os.path.dirname(pki) else real_access(p, mode))
    assert_refused(
        pki, re.escape("cannot create the PKI directory %s: %s is not writable" % (pki, os.path.dirname(pki)))
    )
    assert not os.path.exists(pki)


def test_existing_directory_not_writable_is_named(pki, monkeypatch):
    run_present(params(pki))
    os.unlink(os.path.join(pki, "admin.pem"))
    monkeypatch.setattr(pki_params.os, "access", lambda p, mode: p != pki)
    assert_refused(pki, re.escape("the PKI directory %s is not writable" % pki))
    assert_refused(pki, "is not writable", check_mode=True)


def test_path_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "pki"
    path.write_text("x")
    assert_refused(str(path), "exists and is not a directory")


@pytest.mark.parametrize("name", ["-lead", "has space", "", "ünï", "a/b", ".hidden"])
def test_invalid_member_names_are_refused(pki, name):
    assert_refused(pki, r"members\[0\]\.name .* is not a valid name", members=[{"name": name, "addresses": []}])


def test_duplicate_member_names_are_refused(pki):
    assert_refused(
        pki,
        r"member name 'etcd-host0' appears twice \(members\[0\] and members\[1\]\)",
        members=[{"name": "etcd-host0"}, {"name": "etcd-host0"}],
    )


@pytest.mark.parametrize("value", ["https://10.0.0.11:2379", "10.0.0.11:2379", "bad name", "a..b"])
def test_invalid_addresses_are_refused(pki, value):
    assert_refused(
        pki, r"members\[0\]\.addresses\[0\] of member n0: .* neither", members=[{"name": "n0", "addresses": [value]}]
    )


def test_invalid_extra_san_is_refused(pki):
    assert_refused(pki, r"extra_sans\[1\]", extra_sans=["ok.example.com", "not ok"])


def test_file_name_collisions_are_refused(pki):
    assert_refused(
        pki,
        "the peer certificate of member a and the server certificate of member a-peer",
        members=[{"name": "a"}, {"name": "a-peer"}],
    )
    assert_refused(pki, "the CA certificate and the server certificate of member ca", members=[{"name": "ca"}])
    assert_refused(pki, "client name 'etcd-host0' is also a member name", clients=["admin", "etcd-host0"])
    assert_refused(pki, r"clients\[0\]\.name", clients=["bad name"])


def test_per_member_paths_only_with_verified(pki):
    members = member_list()
    members[0]["cert"] = "/etc/somewhere.pem"
    assert_refused(pki, r"members\[0\]\.cert \(member etcd-host0\) is only used with state=verified", members=members)


def test_validity_must_exceed_renewal_window(pki):
    assert_refused(pki, r"validity_days \(20\) must be greater than renew_before_days \(30\)", validity_days=20)


def test_expired_ca_fails_naming_file_date_and_remedy(pki):
    run_present(params(pki, ca_validity_days=100), now=pki_x509.utcnow() - 200 * DAY)
    expires = pki_x509.iso(pki_x509.not_after(load(os.path.join(pki, "ca.pem"))))
    os.unlink(os.path.join(pki, "admin.pem"))
    ca = os.path.join(pki, "ca.pem")
    for check_mode in (False, True):
        assert_refused(
            pki,
            "%s.*move %s"
            % (
                re.escape("the CA certificate %s expired on %s" % (ca, expires)),
                re.escape("%s and %s" % (ca, os.path.join(pki, "ca-key.pem"))),
            ),
            check_mode=check_mode,
        )


def test_ca_key_not_matching_ca_certificate_is_refused(pki, tmp_path):
    run_present(params(pki))
    other = str(tmp_path / "other")
    run_present(params(other, members=[]))
    shutil.copy(os.path.join(other, "ca-key.pem"), os.path.join(pki, "ca-key.pem"))
    assert_refused(pki, "the CA key .*ca-key.pem does not match the CA certificate .*ca.pem")


def test_missing_ca_key_only_matters_when_something_must_be_signed(pki):
    run_present(params(pki))
    os.unlink(os.path.join(pki, "ca-key.pem"))
    assert run_present(params(pki))["issued"] == []
    os.unlink(os.path.join(pki, "admin.pem"))
    assert_refused(pki, "the CA key .*ca-key.pem is missing, so .*admin.pem cannot be issued")


def test_unreadable_key_is_refused_not_overwritten(pki):
    run_present(params(pki))
    with open(os.path.join(pki, "etcd-host0-key.pem"), "w") as handle:
        handle.write("garbage")
    assert_refused(pki, "etcd-host0-key.pem is not a readable PEM private key")
