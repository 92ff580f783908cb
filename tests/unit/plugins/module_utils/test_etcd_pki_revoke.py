"""etcd_pki_revoke: the CRL (crl.pem) and revoking the certificates of removed members and clients."""

import datetime
import os
import re
import shutil
import stat
import subprocess

import pytest
from cryptography import x509

from cryptography.hazmat.primitives import hashes, serialization

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_present as present
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_x509
from ansible_collections.raftops.etcd.plugins.module_utils.host.files import write_file_atomically
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_present
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_verified import verify
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import load, read, reasons, snapshot

DAY = datetime.timedelta(days=1)
HOSTS = ("etcd-host0", "etcd-host1", "etcd-host2")


def members(*names):
    return [{"name": name, "addresses": ["10.0.0.1%d" % HOSTS.index(name)]} for name in names]


ALL = members(*HOSTS)
KEPT = members("etcd-host0", "etcd-host1")


def params(path, **overrides):
    overrides.setdefault("members", members(*HOSTS))
    return pki_params.default_params(path=path, **overrides)


def load_crl(pki):
    with open(os.path.join(pki, "crl.pem"), "rb") as handle:
        return x509.load_pem_x509_crl(handle.read())


def serial_of(pki, filename):
    return load(os.path.join(pki, filename)).serial_number


def listed(pki):
    return {revoked.serial_number for revoked in load_crl(pki)}


def hexes(*serials):
    """The CRL's serials as the module returns them: sorted by value, in etcd's hex form."""
    return [pki_x509.serial_hex(s) for s in sorted(serials)]


def ca_of(pki):
    return load(os.path.join(pki, "ca.pem"))


# ------------------------------------------------------------------------------------------
# The CRL itself


def test_first_run_writes_an_empty_crl_signed_by_the_ca_until_its_end(pki):
    result = run_present(params(pki))
    crl = load_crl(pki)
    ca = ca_of(pki)
    assert len(crl) == 0
    assert pki_x509.crl_signed_by(crl, ca)
    assert pki_x509.crl_next_update(crl) == pki_x509.not_after(ca)
    assert pki_x509.crl_number(crl) == 1
    assert stat.S_IMODE(os.stat(os.path.join(pki, "crl.pem")).st_mode) == 0o644
    assert result["crl"] == {
        "path": os.path.join(pki, "crl.pem"),
        "changed": True,
        "reason": "missing",
        "revoked_serials": [],
        "dropped_serials": [],
        "next_update": pki_x509.iso(pki_x509.not_after(ca)),
    }
    assert result["revoked"] == []
    assert "crl.pem" not in reasons(result)  # the CRL is reported in crl, not in issued


def test_a_pki_from_before_the_crl_gets_one_once(pki):
    run_present(params(pki))
    os.unlink(os.path.join(pki, "crl.pem"))
    result = run_present(params(pki))
    assert result["changed"] is True and result["issued"] == []
    assert result["crl"]["reason"] == "missing"
    assert run_present(params(pki))["changed"] is False


# openssl is a system package of `make deps`: a machine without it fails here instead of skipping.
def test_openssl_verifies_the_crl_and_sees_the_revoked_serials(pki):
    run_present(params(pki))
    serial = serial_of(pki, "etcd-host2.pem")
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    out = subprocess.run(
        [
            "openssl",
            "crl",
            "-in",
            os.path.join(pki, "crl.pem"),
            "-CAfile",
            os.path.join(pki, "ca.pem"),
            "-noout",
            "-text",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "verify OK" in out.stdout + out.stderr
    assert ("%X" % serial) in out.stdout.replace(":", "")
    assert "Cessation Of Operation" in out.stdout


def test_crl_survives_later_runs_unchanged(pki):
    run_present(params(pki))
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    before = read(os.path.join(pki, "crl.pem"))
    result = run_present(params(pki, members=KEPT))
    assert result["changed"] is False and result["crl"]["changed"] is False
    assert len(result["crl"]["revoked_serials"]) == 2
    assert read(os.path.join(pki, "crl.pem")) == before


def test_a_new_ca_signs_the_crl_again_and_keeps_its_entries(pki):
    run_present(params(pki))
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    entries = listed(pki)
    old_ca = ca_of(pki)
    os.unlink(os.path.join(pki, "ca.pem"))
    os.unlink(os.path.join(pki, "ca-key.pem"))
    result = run_present(params(pki, members=KEPT))
    crl = load_crl(pki)
    new_ca = ca_of(pki)
    assert result["crl"]["reason"] == "ca changed"
    assert pki_x509.crl_signed_by(crl, new_ca) and not pki_x509.crl_signed_by(crl, old_ca)
    assert pki_x509.crl_next_update(crl) == pki_x509.not_after(new_ca)
    # Until every member trusts the new CA alone, the old CA's revoked certificates stay refused.
    assert listed(pki) == entries
    assert run_present(params(pki, members=KEPT))["changed"] is False


def test_a_crl_signed_by_another_ca_is_signed_again(pki, tmp_path):
    run_present(params(pki))
    other = str(tmp_path / "other")
    run_present(params(other))
    shutil.copy(os.path.join(other, "crl.pem"), os.path.join(pki, "crl.pem"))
    result = run_present(params(pki))
    assert result["crl"]["reason"] == "ca changed" and result["issued"] == []
    assert pki_x509.crl_signed_by(load_crl(pki), ca_of(pki))


def test_a_crl_whose_next_update_is_not_the_ca_end_is_signed_again(pki):
    run_present(params(pki))
    ca = ca_of(pki)
    ca_key = pki_x509.load_key(os.path.join(pki, "ca-key.pem"), "k")
    now = pki_x509.utcnow()
    short = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - DAY)
        .next_update(now + 7 * DAY)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(4242).revocation_date(now - DAY).build()
        )
        .add_extension(x509.CRLNumber(7), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_file_atomically(os.path.join(pki, "crl.pem"), pki_x509.crl_pem(short), 0o644)
    result = run_present(params(pki))
    crl = load_crl(pki)
    assert result["crl"]["reason"] == "next update changed"
    assert pki_x509.crl_next_update(crl) == pki_x509.not_after(ca)
    assert listed(pki) == {4242}
    assert pki_x509.crl_number(crl) == 8
    assert pki_x509.revocation_date(next(iter(crl))) == (now - DAY).replace(microsecond=0)


def test_an_unreadable_crl_is_refused_and_nothing_is_written(pki):
    run_present(params(pki))
    with open(os.path.join(pki, "crl.pem"), "wb") as handle:
        handle.write(b"-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n")
    os.unlink(os.path.join(pki, "admin.pem"))
    before = snapshot(pki)
    with pytest.raises(pki_x509.PkiError, match=r"crl\.pem is not a readable PEM or DER CRL.*Restore it from a backup"):
        run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    assert snapshot(pki) == before


def test_missing_ca_key_is_refused_when_the_crl_must_be_signed(pki):
    run_present(params(pki))
    os.unlink(os.path.join(pki, "ca-key.pem"))
    before = snapshot(pki)
    with pytest.raises(
        pki_x509.PkiError, match=r"the CA key .*ca-key\.pem is missing, so the CRL .*crl\.pem cannot be signed"
    ):
        run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    assert snapshot(pki) == before
    assert run_present(params(pki))["changed"] is False  # nothing to sign: fine without the key


# ------------------------------------------------------------------------------------------
# Revoking


def test_revoking_a_member_lists_both_serials_and_moves_its_files(pki):
    now = pki_x509.utcnow().replace(microsecond=0)
    run_present(params(pki), now=now)
    server, peer = serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")
    keys = {n: read(os.path.join(pki, n)) for n in ("etcd-host2-key.pem", "etcd-host2-peer-key.pem")}

    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]), now=now)

    assert result["changed"] is True and result["issued"] == []
    assert listed(pki) == {server, peer}
    assert pki_x509.crl_signed_by(load_crl(pki), ca_of(pki))
    assert result["crl"]["changed"] is True and result["crl"]["reason"] == "revoked"
    assert result["crl"]["revoked_serials"] == hexes(server, peer)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    revoked = os.path.join(pki, "revoked")
    assert result["revoked"] == [
        {
            "name": "etcd-host2",
            "serials": [pki_x509.serial_hex(server), pki_x509.serial_hex(peer)],
            "files": [
                {"file": os.path.join(pki, f), "moved_to": os.path.join(revoked, "%s-%s" % (stamp, f))}
                for f in ("etcd-host2.pem", "etcd-host2-key.pem", "etcd-host2-peer.pem", "etcd-host2-peer-key.pem")
            ],
        }
    ]
    assert not any(n.startswith("etcd-host2") for n in os.listdir(pki))
    assert stat.S_IMODE(os.stat(revoked).st_mode) == 0o700
    for name in os.listdir(revoked):
        mode = stat.S_IMODE(os.stat(os.path.join(revoked, name)).st_mode)
        assert mode == (0o600 if name.endswith("-key.pem") else 0o644), name
    assert read(os.path.join(revoked, "%s-etcd-host2-key.pem" % stamp)) == keys["etcd-host2-key.pem"]
    # The entries carry the revocation time and why.
    entry = load_crl(pki).get_revoked_certificate_by_serial_number(server)
    assert pki_x509.revocation_date(entry) == now
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.cessation_of_operation
    )
    # The other members are untouched.
    assert os.path.exists(os.path.join(pki, "etcd-host1-peer.pem"))


def test_serials_are_printed_the_way_etcd_logs_them():
    # etcd: fmt.Errorf("transport: certificate serial %x revoked", serial.Bytes())
    assert pki_x509.serial_hex(0x0A1B2C) == "0a1b2c"
    assert pki_x509.serial_hex(0xF9BB) == "f9bb"
    assert pki_x509.serial_hex(1) == "01"


def test_revoking_a_client(pki):
    run_present(params(pki, clients=["admin", "backup"]))
    serial = serial_of(pki, "backup.pem")
    result = run_present(params(pki, clients=["admin"], revoke=["backup"]))
    assert result["revoked"][0]["serials"] == [pki_x509.serial_hex(serial)]
    assert [os.path.basename(f["file"]) for f in result["revoked"][0]["files"]] == ["backup.pem", "backup-key.pem"]
    assert listed(pki) == {serial}
    assert not os.path.exists(os.path.join(pki, "backup.pem"))


def host_pairs(*names):
    """The role's clients: each member's own root pair (common name root) and login pair (no common name)."""
    return [client for name in names for client in ({"name": name + "-root", "user": "root"}, name + "-client")]


def test_revoking_a_member_revokes_its_own_client_pairs_and_leaves_the_others_working(pki):
    run_present(params(pki, clients=["admin", *host_pairs(*HOSTS)]))
    gone = {f: serial_of(pki, f)
            for f in ("etcd-host2.pem", "etcd-host2-peer.pem", "etcd-host2-root.pem", "etcd-host2-client.pem")}
    assert load(os.path.join(pki, "etcd-host2-root.pem")).subject.rfc4514_string() == "CN=root"
    kept = {f: read(os.path.join(pki, f)) for f in ("etcd-host1-root.pem", "etcd-host1-client.pem", "admin.pem")}

    result = run_present(params(pki, members=KEPT, clients=["admin", *host_pairs("etcd-host0", "etcd-host1")],
                                revoke=["etcd-host2"]))

    assert listed(pki) == set(gone.values())
    moved = [os.path.basename(f["file"]) for f in result["revoked"][0]["files"]]
    assert moved == ["etcd-host2.pem", "etcd-host2-key.pem", "etcd-host2-peer.pem", "etcd-host2-peer-key.pem",
                     "etcd-host2-root.pem", "etcd-host2-root-key.pem", "etcd-host2-client.pem",
                     "etcd-host2-client-key.pem"]
    assert {f: read(os.path.join(pki, f)) for f in kept} == kept
    assert result["warnings"] == []


def test_the_pairs_every_member_shared_are_revoked_once_and_admin_issued_anew(pki):
    # roles/etcd/tasks/pki_issue.yml: a PKI of an earlier release (one root pair, admin copied to
    # every member) gets revoke: [root, admin] while root.pem is there, then the usual call.
    run_present(params(pki, clients=["admin", {"name": "root", "user": "root"}]))
    shared = {serial_of(pki, "root.pem"), serial_of(pki, "admin.pem")}
    old_admin_key = read(os.path.join(pki, "admin-key.pem"))
    run_present(params(pki, members=[], clients=[], revoke=["root", "admin"]))
    result = run_present(params(pki, clients=["admin", *host_pairs(*HOSTS)]))
    assert listed(pki) == shared
    assert not os.path.exists(os.path.join(pki, "root.pem"))  # the next run does not revoke again
    assert reasons(result)["admin.pem"] == "missing" and read(os.path.join(pki, "admin-key.pem")) != old_admin_key
    assert not {serial_of(pki, "admin.pem"), serial_of(pki, "etcd-host0-root.pem")} & shared


def test_a_host_pair_of_another_name_is_left_alone(pki):
    # etcd-host2-root.pem holding etcd-host0's server certificate is not etcd-host2's root pair.
    run_present(params(pki))
    shutil.copy(os.path.join(pki, "etcd-host0.pem"), os.path.join(pki, "etcd-host2-root.pem"))
    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    assert os.path.exists(os.path.join(pki, "etcd-host2-root.pem"))
    assert listed(pki) == {serial_of(pki, "revoked/" + n) for n in os.listdir(os.path.join(pki, "revoked"))
                           if not n.endswith("-key.pem")}
    assert any("etcd-host2-root.pem is not a certificate of etcd-host2-root" in w for w in result["warnings"])


def test_a_returning_member_gets_new_keys_and_serials(pki):
    run_present(params(pki))
    old_serials = {serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")}
    old_key = read(os.path.join(pki, "etcd-host2-key.pem"))
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    crl_before = read(os.path.join(pki, "crl.pem"))

    result = run_present(params(pki))

    assert reasons(result) == {
        "etcd-host2.pem": "missing",
        "etcd-host2-key.pem": "missing",
        "etcd-host2-peer.pem": "missing",
        "etcd-host2-peer-key.pem": "missing",
    }
    new_serials = {serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")}
    assert not new_serials & old_serials
    assert not new_serials & listed(pki)
    assert read(os.path.join(pki, "etcd-host2-key.pem")) != old_key
    assert read(os.path.join(pki, "crl.pem")) == crl_before and result["crl"]["changed"] is False


def test_revoking_again_is_a_no_op(pki):
    run_present(params(pki))
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    before = snapshot(pki)
    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    assert result["changed"] is False
    assert result["revoked"] == [] and result["crl"]["changed"] is False
    assert snapshot(pki) == before
    check = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]), check_mode=True)
    assert check["changed"] is False


def test_revoking_a_name_without_certificates_is_a_no_op(pki):
    run_present(params(pki))
    before = snapshot(pki)
    result = run_present(params(pki, revoke=["never-existed", "never-existed"]))
    assert result["changed"] is False and result["revoked"] == []
    assert snapshot(pki) == before


def test_revocations_accumulate(pki):
    run_present(params(pki))
    first = {serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")}
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    first_date = pki_x509.revocation_date(load_crl(pki).get_revoked_certificate_by_serial_number(min(first)))
    second = {serial_of(pki, "etcd-host1.pem"), serial_of(pki, "etcd-host1-peer.pem")}
    result = run_present(params(pki, members=members("etcd-host0"), revoke=["etcd-host1"]))
    crl = load_crl(pki)
    assert listed(pki) == first | second
    assert result["crl"]["revoked_serials"] == hexes(*(first | second))
    assert pki_x509.crl_number(crl) == 3
    assert pki_x509.revocation_date(crl.get_revoked_certificate_by_serial_number(min(first))) == first_date


def test_several_names_in_one_run_and_no_clash_in_revoked(pki):
    now = pki_x509.utcnow()
    run_present(params(pki, clients=["admin", "ops"]), now=now)
    run_present(params(pki, members=KEPT, clients=["admin", "ops"], revoke=["etcd-host2"]), now=now)
    run_present(params(pki, clients=["admin", "ops"]), now=now)  # etcd-host2 comes back
    result = run_present(
        params(pki, members=members("etcd-host0"), clients=["admin"], revoke=["etcd-host2", "etcd-host1", "ops"]),
        now=now,
    )
    assert [r["name"] for r in result["revoked"]] == ["etcd-host2", "etcd-host1", "ops"]
    assert len(listed(pki)) == 2 + 2 + 2 + 1
    moved = os.listdir(os.path.join(pki, "revoked"))
    assert len(moved) == 4 + 4 + 4 + 2
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    assert "%s.1-etcd-host2.pem" % stamp in moved and "%s-etcd-host2.pem" % stamp in moved


def test_expired_entries_are_dropped_when_the_crl_is_signed_again(pki):
    start = pki_x509.utcnow()
    run_present(params(pki), now=start)
    old = {serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")}
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]), now=start)
    later = start + 740 * DAY  # etcd-host2's certificates ended on day 730
    assert run_present(params(pki, members=KEPT), now=later)["crl"]["changed"] is False  # kept until re-signed anyway
    assert listed(pki) == old
    host1 = {serial_of(pki, "etcd-host1.pem"), serial_of(pki, "etcd-host1-peer.pem")}
    result = run_present(params(pki, members=members("etcd-host0"), revoke=["etcd-host1"]), now=later)
    assert listed(pki) == host1
    assert result["crl"]["dropped_serials"] == hexes(*old)


def test_a_revoked_pair_put_back_is_reissued_with_a_new_key(pki):
    run_present(params(pki))
    key = read(os.path.join(pki, "etcd-host2-key.pem"))
    serial = serial_of(pki, "etcd-host2.pem")
    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    for move in result["revoked"][0]["files"]:  # someone restores a backup
        shutil.copy(move["moved_to"], move["file"])
    result = run_present(params(pki))
    assert reasons(result) == {
        "etcd-host2.pem": "revoked",
        "etcd-host2-key.pem": "revoked",
        "etcd-host2-peer.pem": "revoked",
        "etcd-host2-peer-key.pem": "revoked",
    }
    assert serial_of(pki, "etcd-host2.pem") != serial
    assert read(os.path.join(pki, "etcd-host2-key.pem")) != key
    assert run_present(params(pki))["changed"] is False


def test_a_file_of_another_name_is_left_alone(pki):
    # etcd-host0-peer.pem is etcd-host0's peer certificate, not a pair of a client "etcd-host0-peer".
    run_present(params(pki))
    before = snapshot(pki)
    result = run_present(params(pki, members=[], clients=[], revoke=["etcd-host0-peer"]))
    assert result["changed"] is False and result["revoked"] == []
    assert snapshot(pki) == before
    assert any("etcd-host0-peer.pem is not a certificate of etcd-host0-peer" in w for w in result["warnings"])


def test_a_certificate_of_another_ca_is_moved_without_crl_entry(pki, tmp_path):
    run_present(params(pki, members=KEPT))
    other = str(tmp_path / "other")
    run_present(params(other))
    for suffix in (".pem", "-key.pem"):
        shutil.copy(os.path.join(other, "etcd-host2" + suffix), os.path.join(pki, "etcd-host2" + suffix))
    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    assert result["revoked"][0]["serials"] == [] and len(result["revoked"][0]["files"]) == 2
    assert result["crl"]["changed"] is False and listed(pki) == set()
    assert any("is not signed by the current CA" in w for w in result["warnings"])
    assert not os.path.exists(os.path.join(pki, "etcd-host2.pem"))


def test_a_crash_between_crl_and_move_is_finished_by_the_next_run(pki, monkeypatch):
    run_present(params(pki))
    serials = {serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")}

    def crash(_revocations):
        raise OSError("power cut")

    monkeypatch.setattr(present, "move_revoked", crash)
    with pytest.raises(OSError):
        run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    monkeypatch.undo()
    assert listed(pki) == serials  # the CRL is written first
    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    assert result["changed"] is True and result["crl"]["changed"] is False
    assert len(result["revoked"][0]["files"]) == 4
    assert not os.path.exists(os.path.join(pki, "etcd-host2.pem"))


# ------------------------------------------------------------------------------------------
# Check mode and refusals


def test_check_mode_reports_the_revocation_and_writes_nothing(pki):
    run_present(params(pki))
    serials = {serial_of(pki, "etcd-host2.pem"), serial_of(pki, "etcd-host2-peer.pem")}
    before = snapshot(pki)
    result = run_present(params(pki, members=KEPT, revoke=["etcd-host2"]), check_mode=True)
    assert result["changed"] is True
    assert result["crl"]["changed"] is True and result["crl"]["reason"] == "revoked"
    assert result["crl"]["revoked_serials"] == hexes(*serials)
    assert result["crl"]["next_update"] == pki_x509.iso(pki_x509.not_after(ca_of(pki)))
    assert [os.path.basename(f["file"]) for f in result["revoked"][0]["files"]] == [
        "etcd-host2.pem",
        "etcd-host2-key.pem",
        "etcd-host2-peer.pem",
        "etcd-host2-peer-key.pem",
    ]
    assert snapshot(pki) == before


def test_check_mode_on_an_empty_directory_plans_the_crl(pki):
    result = run_present(params(pki), check_mode=True)
    assert result["crl"]["changed"] is True and result["crl"]["reason"] == "missing"
    assert result["crl"]["next_update"] is None
    assert not os.path.exists(pki)


def assert_refused(pki, match, **overrides):
    before = snapshot(pki)
    with pytest.raises(pki_x509.PkiError, match=match):
        run_present(params(pki, **overrides))
    assert snapshot(pki) == before


def test_a_name_in_members_and_revoke_is_refused(pki):
    run_present(params(pki))
    assert_refused(
        pki,
        re.escape("revoke[0] 'etcd-host2' is also in members: revoke moves its certificates aside"),
        revoke=["etcd-host2"],
    )


def test_a_name_in_clients_and_revoke_is_refused(pki):
    assert_refused(pki, re.escape("revoke[1] 'admin' is also in clients"), revoke=["etcd-host9", "admin"])


@pytest.mark.parametrize("name", ["ca", "crl"])
def test_revoking_the_ca_or_crl_files_is_refused(pki, name):
    run_present(params(pki))
    assert_refused(pki, r"revoke\[0\] '%s' would move .*%s\.pem, which is the C" % (name, name), revoke=[name])


def test_revoke_names_are_validated(pki):
    assert_refused(pki, r"revoke\[0\] '\.\./x' is not a valid name", revoke=["../x"])


def test_a_member_named_crl_is_refused(pki):
    assert_refused(
        pki,
        r"the CRL and the server certificate of member crl would both be written to",
        members=[{"name": "crl"}],
    )


def test_revoke_with_state_verified_is_refused(pki):
    run_present(params(pki))
    with pytest.raises(pki_x509.PkiError, match=r"revoke\[0\]: revoke needs state=present"):
        verify(pki_params.default_params(path=pki, state="verified", members=KEPT, revoke=["etcd-host2"]))


def test_an_unwritable_directory_is_refused_before_revoking(pki, monkeypatch):
    run_present(params(pki))
    monkeypatch.setattr(pki_params.os, "access", lambda p, mode: p != pki)
    assert_refused(pki, re.escape("the PKI directory %s is not writable" % pki), members=KEPT, revoke=["etcd-host2"])


# ------------------------------------------------------------------------------------------
# state=verified: the operator's CRL


def verified(pki, **overrides):
    overrides.setdefault("members", KEPT)
    return pki_params.default_params(path=pki, state="verified", **overrides)


def test_verified_returns_the_operators_crl(pki):
    run_present(params(pki))
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    before = snapshot(pki)
    result = verify(verified(pki))
    assert result["changed"] is False
    assert result["crl"]["path"] == os.path.join(pki, "crl.pem")
    assert result["crl"]["changed"] is False
    assert len(result["crl"]["revoked_serials"]) == 2
    assert snapshot(pki) == before


def test_verified_without_a_crl_is_fine(pki):
    run_present(params(pki))
    os.unlink(os.path.join(pki, "crl.pem"))
    result = verify(verified(pki))
    assert result["crl"]["path"] is None and result["crl"]["revoked_serials"] == []


def test_verified_refuses_a_crl_of_another_ca(pki, tmp_path):
    run_present(params(pki))
    other = str(tmp_path / "other")
    run_present(params(other))
    shutil.copy(os.path.join(other, "crl.pem"), os.path.join(pki, "crl.pem"))
    with pytest.raises(pki_x509.PkiError) as info:
        verify(verified(pki))
    assert info.value.problems == [
        "the CRL %s is not signed by the CA in %s (issuer CN=raftops etcd CA)"
        % (os.path.join(pki, "crl.pem"), os.path.join(pki, "ca.pem"))
    ]


def test_verified_refuses_a_certificate_the_crl_lists(pki):
    run_present(params(pki))
    run_present(params(pki, members=KEPT, revoke=["etcd-host2"]))
    revoked = os.path.join(pki, "revoked")
    for name in os.listdir(revoked):  # the operator puts the revoked pair back
        shutil.copy(os.path.join(revoked, name), os.path.join(pki, name.split("-", 1)[1]))
    with pytest.raises(pki_x509.PkiError) as info:
        verify(verified(pki, members=members(*HOSTS)))
    text = "\n".join(info.value.problems)
    assert (
        "%s is revoked in the CRL %s (serial " % (os.path.join(pki, "etcd-host2.pem"), os.path.join(pki, "crl.pem"))
        in text
    )
    assert len(info.value.problems) == 2


def test_verified_with_an_explicit_crl_path_requires_the_file(pki, tmp_path):
    run_present(params(pki))
    with pytest.raises(pki_x509.PkiError, match=r"cannot read the CRL .*missing\.pem"):
        verify(verified(pki, crl=str(tmp_path / "missing.pem")))


def test_verified_accepts_a_der_crl(pki, tmp_path):
    run_present(params(pki))
    der = tmp_path / "crl.der"
    der.write_bytes(load_crl(pki).public_bytes(serialization.Encoding.DER))
    result = verify(verified(pki, crl=str(der)))
    assert result["crl"]["path"] == str(der)
