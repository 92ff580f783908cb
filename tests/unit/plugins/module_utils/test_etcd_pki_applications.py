"""etcd_pki's applications: a client pair per application in clients/, its common name the
application's etcd user, renewed like the others; an application no longer listed is revoked."""

import datetime
import os
import re
import shutil
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_x509
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_present
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_verified import verify
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import (
    ekus_of,
    load,
    params,
    read,
    reasons,
    snapshot,
)

DAY = datetime.timedelta(days=1)
TWO = [{"name": "billing"}, {"name": "web", "user": "web-app"}]


def apps(pki, applications=None, **overrides):
    return params(pki, applications=TWO if applications is None else applications, **overrides)


def path(pki, name, key=False):
    return os.path.join(pki, "clients", name + ("-key.pem" if key else ".pem"))


def common_names(cert):
    return [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def listed(pki):
    with open(os.path.join(pki, "crl.pem"), "rb") as handle:
        return {revoked.serial_number for revoked in x509.load_pem_x509_crl(handle.read())}


def stamp(now):
    return now.strftime("%Y%m%dT%H%M%SZ")


# ------------------------------------------------------------------------------------------
# Issuing and renewing


def test_each_application_gets_a_client_pair_whose_common_name_is_its_user(pki):
    result = run_present(apps(pki))

    ca = load(os.path.join(pki, "ca.pem"))
    for name, user in (("billing", "billing"), ("web", "web-app")):
        cert = load(path(pki, name))
        assert common_names(cert) == [user]
        assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName) == [name]
        assert ekus_of(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
        assert pki_x509.signed_by(cert, ca)
        assert pki_x509.key_matches(cert, pki_x509.load_key(path(pki, name, key=True), "key"))
        assert stat.S_IMODE(os.stat(path(pki, name, key=True)).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path(pki, name)).st_mode) == 0o644
        assert result["applications"][name] == {
            "cert": path(pki, name),
            "key": path(pki, name, key=True),
            "user": user,
            "not_after": pki_x509.iso(pki_x509.not_after(cert)),
        }
    assert stat.S_IMODE(os.stat(os.path.join(pki, "clients")).st_mode) == 0o700
    assert reasons(result)["web.pem"] == "missing"
    # The admin pair is as before: no common name.
    assert common_names(load(os.path.join(pki, "admin.pem"))) == []


def test_a_second_run_and_check_mode_change_nothing(pki):
    run_present(apps(pki))
    before = snapshot(pki)
    assert run_present(apps(pki), check_mode=True)["changed"] is False
    result = run_present(apps(pki))
    assert result["changed"] is False and result["issued"] == [] and result["revoked"] == []
    assert snapshot(pki) == before


def test_root_may_be_an_applications_user(pki):
    run_present(apps(pki, [{"name": "ops", "user": "root"}]))
    assert common_names(load(path(pki, "ops"))) == ["root"]


def test_without_applications_the_directory_is_left_as_it_is(pki):
    # Callers that do not manage applications (remove_member's revocation, the proxies) omit them.
    run_present(apps(pki))
    before = snapshot(pki)
    result = run_present(params(pki, members=[], clients=[], revoke=["etcd-host1"]))
    assert result["revoked"][0]["name"] == "etcd-host1"
    assert {p: v for p, v in snapshot(pki).items() if "/clients/" in p} == {
        p: v for p, v in before.items() if "/clients/" in p}
    assert result["applications"] == {}


def test_expiring_certificates_are_renewed_with_the_same_key(pki):
    now = pki_x509.utcnow()
    run_present(apps(pki), now=now)
    key = read(path(pki, "web", key=True))
    serial = load(path(pki, "web")).serial_number

    result = run_present(apps(pki), now=now + 710 * DAY)  # within the 30 days before day 730

    assert reasons(result)["web.pem"] == "expiring" and "web-key.pem" not in reasons(result)
    assert read(path(pki, "web", key=True)) == key
    renewed = load(path(pki, "web"))
    assert renewed.serial_number != serial and common_names(renewed) == ["web-app"]
    assert result["revoked"] == []  # a renewal keeps the holder and the user


def test_a_new_key_type_reissues_the_applications_keys(pki):
    run_present(apps(pki))
    result = run_present(apps(pki, key_type="rsa", rsa_key_size=2048))
    assert reasons(result)["web-key.pem"] == "key type changed" and reasons(result)["web.pem"] == "new key"
    assert pki_x509.describe_key(pki_x509.load_key(path(pki, "web", key=True), "key")) == "rsa:2048"


def test_validity_follows_validity_days(pki):
    now = pki_x509.utcnow().replace(microsecond=0)
    run_present(apps(pki, validity_days=90), now=now)
    assert pki_x509.not_after(load(path(pki, "billing"))) - now == 90 * DAY


# ------------------------------------------------------------------------------------------
# Revoking applications that are no longer listed


def test_an_application_left_out_is_revoked_and_its_files_moved(pki):
    now = pki_x509.utcnow().replace(microsecond=0)
    run_present(apps(pki), now=now)
    serial = load(path(pki, "billing")).serial_number
    key = read(path(pki, "billing", key=True))
    web = {p: read(p) for p in (path(pki, "web"), path(pki, "web", key=True))}

    result = run_present(apps(pki, [{"name": "web", "user": "web-app"}]), now=now)

    assert result["changed"] is True and result["issued"] == []
    assert listed(pki) == {serial}
    assert result["crl"]["reason"] == "revoked"
    revoked = os.path.join(pki, "revoked")
    assert result["revoked"] == [
        {
            "name": "billing",
            "serials": [pki_x509.serial_hex(serial)],
            "files": [
                {"file": path(pki, "billing"), "moved_to": os.path.join(revoked, "%s-clients-billing.pem" % stamp(now))},
                {"file": path(pki, "billing", key=True),
                 "moved_to": os.path.join(revoked, "%s-clients-billing-key.pem" % stamp(now))},
            ],
        }
    ]
    assert sorted(os.listdir(os.path.join(pki, "clients"))) == ["web-key.pem", "web.pem"]
    moved_key = os.path.join(revoked, "%s-clients-billing-key.pem" % stamp(now))
    assert read(moved_key) == key and stat.S_IMODE(os.stat(moved_key).st_mode) == 0o600
    assert {p: read(p) for p in web} == web  # the application that stays is untouched
    assert set(result["applications"]) == {"web"}

    before = snapshot(pki)
    again = run_present(apps(pki, [{"name": "web", "user": "web-app"}]), now=now)
    assert again["changed"] is False and again["revoked"] == []
    assert snapshot(pki) == before


def test_an_empty_list_revokes_every_application(pki):
    run_present(apps(pki))
    serials = {load(path(pki, n)).serial_number for n in ("billing", "web")}
    result = run_present(apps(pki, []))
    assert [r["name"] for r in result["revoked"]] == ["billing", "web"]
    assert listed(pki) == serials
    assert os.listdir(os.path.join(pki, "clients")) == []


def test_check_mode_reports_the_revocation_and_writes_nothing(pki):
    run_present(apps(pki))
    before = snapshot(pki)
    result = run_present(apps(pki, [{"name": "web", "user": "web-app"}]), check_mode=True)
    assert result["changed"] is True and result["crl"]["reason"] == "revoked"
    assert [r["name"] for r in result["revoked"]] == ["billing"]
    assert snapshot(pki) == before


def test_an_application_listed_again_gets_a_new_key_and_serial(pki):
    run_present(apps(pki))
    old_key, old_serial = read(path(pki, "billing", key=True)), load(path(pki, "billing")).serial_number
    run_present(apps(pki, [{"name": "web", "user": "web-app"}]))
    result = run_present(apps(pki))
    assert reasons(result) == {"billing-key.pem": "missing", "billing.pem": "missing"}
    assert read(path(pki, "billing", key=True)) != old_key
    assert load(path(pki, "billing")).serial_number not in listed(pki) | {old_serial}


def test_a_changed_user_revokes_the_certificate_of_the_previous_one(pki):
    now = pki_x509.utcnow().replace(microsecond=0)
    run_present(apps(pki), now=now)
    key = read(path(pki, "web", key=True))
    old = load(path(pki, "web")).serial_number

    result = run_present(apps(pki, [{"name": "billing"}, {"name": "web", "user": "storefront"}]), now=now)

    assert reasons(result) == {"web.pem": "profile changed"}
    assert common_names(load(path(pki, "web"))) == ["storefront"]
    assert read(path(pki, "web", key=True)) == key
    assert listed(pki) == {old}
    assert result["revoked"] == [
        {
            "name": "web",
            "serials": [pki_x509.serial_hex(old)],
            "files": [{"file": path(pki, "web"),
                       "moved_to": os.path.join(pki, "revoked", "%s-clients-web.pem" % stamp(now))}],
        }
    ]
    assert run_present(apps(pki, [{"name": "billing"}, {"name": "web", "user": "storefront"}]))["changed"] is False


def test_a_key_left_without_its_certificate_is_moved_aside(pki):
    # A run that stopped between moving a revoked certificate and its key.
    run_present(apps(pki))
    os.unlink(path(pki, "billing"))
    result = run_present(apps(pki, [{"name": "web", "user": "web-app"}]))
    assert result["revoked"][0]["serials"] == []
    assert [f["file"] for f in result["revoked"][0]["files"]] == [path(pki, "billing", key=True)]
    assert sorted(os.listdir(os.path.join(pki, "clients"))) == ["web-key.pem", "web.pem"]


def test_a_file_in_clients_that_is_no_certificate_is_moved_aside_with_a_warning(pki):
    run_present(apps(pki))
    with open(path(pki, "stray"), "w") as handle:
        handle.write("not a certificate\n")
    with open(os.path.join(pki, "clients", "README"), "w") as handle:
        handle.write("notes\n")
    result = run_present(apps(pki))
    assert [r["name"] for r in result["revoked"]] == ["stray"] and result["crl"]["changed"] is False
    assert any("holds no PEM certificate" in w and "moved aside without a CRL entry" in w for w in result["warnings"])
    assert sorted(os.listdir(os.path.join(pki, "clients"))) == [
        "README", "billing-key.pem", "billing.pem", "web-key.pem", "web.pem"]


def test_an_application_certificate_of_another_ca_is_moved_without_crl_entry(pki, tmp_path):
    run_present(apps(pki, [{"name": "web", "user": "web-app"}]))
    other = str(tmp_path / "other")
    run_present(apps(other))
    for key in (False, True):
        shutil.copy(path(other, "billing", key), path(pki, "billing", key))
    result = run_present(apps(pki, [{"name": "web", "user": "web-app"}]))
    assert result["revoked"][0]["serials"] == [] and listed(pki) == set()
    assert any("is not signed by the current CA" in w for w in result["warnings"])


# ------------------------------------------------------------------------------------------
# Bad input: a clear message naming the entry, and nothing written


BAD = [
    ("duplicate name", [{"name": "web"}, {"name": "web", "user": "other"}],
     "applications[1]={'name': 'web', 'user': 'other'}: name 'web' is also the name of applications[0]"),
    ("duplicate ignoring case", [{"name": "web"}, {"name": "Web"}], "name 'Web' is also the name of applications[0]"),
    ("unsafe file name", [{"name": "../web"}], "applications[0]={'name': '../web'}: name must be 1 to 64 letters"),
    ("hidden file name", [{"name": ".web"}], "name must be 1 to 64 letters"),
    ("empty name", [{"name": ""}], "name must be 1 to 64 letters"),
    ("name too long", [{"name": "a" * 65}], "name must be 1 to 64 letters"),
    ("name like a key file", [{"name": "web-key"}], "name 'web-key' ends in -key"),
    ("name that is the peer identity", [{"name": "Etcd-Peer.invalid"}],
     "applications[0]={'name': 'Etcd-Peer.invalid'}: name 'Etcd-Peer.invalid': etcd-peer.invalid is the name only "
     "the members' peer certificates carry (the members' peer port admits no other certificate); a client pair "
     "must not carry it (its pair carries its name)"),
    ("empty user", [{"name": "web", "user": ""}], "applications[0]={'name': 'web', 'user': ''}: user must be"),
    ("user with spaces around", [{"name": "web", "user": " web"}], "user must be an etcd user name"),
    ("user with a newline", [{"name": "web", "user": "web\n"}], "user must be an etcd user name"),
    ("user too long", [{"name": "web", "user": "u" * 65}], "user must be an etcd user name of 1 to 64"),
    ("user not text", [{"name": "web", "user": 7}], "user must be"),
    ("unknown key", [{"name": "web", "usr": "web-app"}], "unknown keys usr; an application takes name"),
    ("not a dict", ["web"], "applications[0]='web': an application is a dict with name"),
    ("not a list", "web", "applications='web': must be a list of applications"),
]


@pytest.mark.parametrize("case, applications, message", BAD, ids=[c[0] for c in BAD])
def test_bad_applications_are_refused_before_anything_is_written(pki, case, applications, message):
    run_present(apps(pki))
    before = snapshot(pki)
    with pytest.raises(pki_x509.PkiError, match=re.escape(message)):
        run_present(apps(pki, applications))
    with pytest.raises(pki_x509.PkiError, match=re.escape(message)):
        run_present(apps(pki, applications), check_mode=True)
    assert snapshot(pki) == before


def test_every_bad_entry_is_named_at_once(pki):
    with pytest.raises(pki_x509.PkiError) as error:
        run_present(apps(pki, [{"name": "a b"}, {"name": "ok"}, {"name": "ok"}]))
    assert [p.split("=")[0] for p in error.value.problems] == ["applications[0]", "applications[2]"]
    assert not os.path.exists(pki)


def test_applications_with_state_verified_are_refused(pki):
    run_present(params(pki))
    with pytest.raises(pki_x509.PkiError, match="applications needs state=present"):
        verify(params(pki, state="verified", applications=[{"name": "web"}]))


def test_problems_name_the_variable_they_are_given():
    assert pki_params.application_problems([{"name": "web"}, {"name": "web"}], "etcd_pki_clients") == [
        ("etcd_pki_clients[1]", {"name": "web"},
         "name 'web' is also the name of etcd_pki_clients[0] (compared ignoring case, as the file names may be); "
         "each application needs its own name"),
    ]
    assert pki_params.application_problems([], "etcd_pki_clients") == []
    assert pki_params.application_problems([{"name": "root-access", "user": "root"}], "x") == []
