"""etcd_pki CA rotation: the phase decision, the trust bundle, and a whole rotation on disk."""

import datetime
import hashlib
import os
import re
import shutil

import pytest
from cryptography import x509

from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_rotation as rotation
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_present import run_present
from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_x509 import PkiError, crl_serials, load_crl
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.pki_helpers import load, params, read, snapshot

# ------------------------------------------------------------------------------------------
# The phase decision (pure)


@pytest.mark.parametrize(
    "present, phase",
    [
        (set(), ("none", False)),
        ({"ca-next.pem", "ca-next-key.pem"}, ("trust", False)),
        ({"ca-previous.pem", "ca-previous-key.pem"}, ("reissue", False)),
        # The swap was cut short: the next call completes it.
        ({"ca-next.pem", "ca-next-key.pem", "ca-previous.pem"}, ("reissue", True)),
        ({"ca-retiring.pem", "ca-retiring-key.pem"}, ("drop", False)),
        ({"ca-retiring.pem", "ca-previous.pem"}, ("drop", True)),
    ],
)
def test_the_phase_is_read_from_the_files(present, phase):
    assert rotation.rotation_phase(present) == phase


@pytest.mark.parametrize(
    "phase, request_, expiring, after",
    [
        ("none", "keep", True, "none"),
        ("none", "auto", False, "none"),
        ("none", "auto", True, "trust"),
        ("none", "start", False, "trust"),
        ("trust", "start", False, "trust"),  # one in progress is not started again
        ("trust", "auto", True, "trust"),
        ("trust", "advance", False, "reissue"),
        ("reissue", "advance", False, "drop"),
        ("drop", "advance", False, "none"),
        ("none", "advance", False, "none"),
        ("drop", "keep", False, "drop"),
    ],
)
def test_next_phase(phase, request_, expiring, after):
    assert rotation.next_phase(phase, request_, expiring) == after


# The members' timers wait while their client pair comes from a CA some member does not trust yet:
# phase 1 of a CA whose key is not here (an adopted cluster's own), and only then.
@pytest.mark.parametrize(
    "files, request_, phase, wait",
    [
        ({"ca.pem", "ca-key.pem"}, "keep", "none", False),
        ({"ca.pem", "ca-key.pem"}, "start", "trust", False),
        ({"ca.pem", "ca-key.pem", "ca-next.pem", "ca-next-key.pem"}, "keep", "trust", False),
        ({"ca.pem"}, "start", "trust", True),
        ({"ca.pem", "ca-next.pem", "ca-next-key.pem"}, "keep", "trust", True),
        ({"ca.pem", "ca-next.pem", "ca-next-key.pem"}, "advance", "reissue", False),
        ({"ca.pem", "ca-previous.pem"}, "keep", "reissue", False),
        ({"ca.pem", "ca-retiring.pem"}, "keep", "drop", False),
        ({"ca.pem", "ca-retiring.pem"}, "advance", "none", False),
    ],
)
def test_the_timers_wait_only_in_phase_1_of_a_ca_without_its_key(tmp_path, files, request_, phase, wait):
    for name in files:
        (tmp_path / name).write_bytes(b"-----BEGIN CERTIFICATE-----\n" + name.encode())
    plan = rotation.plan_rotation(str(tmp_path), str(tmp_path / "ca.pem"), str(tmp_path / "ca-key.pem"), request_,
                                  False, [], datetime.datetime.now(datetime.timezone.utc))
    result = rotation.rotation_result(plan, check_mode=True)
    assert (result["phase"], result["timers_wait"]) == (phase, wait)


def test_an_unknown_request_is_refused():
    with pytest.raises(PkiError, match="ca_rotation must be one of keep, auto, start, advance"):
        rotation.next_phase("none", "now", False)


def test_the_bundle_is_old_then_new_and_the_checksums_cover_every_state():
    old, new = b"-----OLD-----\n", b"-----NEW-----\n"
    assert rotation.bundle_pem(old, new) == old + new
    assert rotation.bundle_pem(old) == old
    sha = [hashlib.sha256(x).hexdigest() for x in (old, old + new, new)]
    assert rotation.accepted_checksums(old, new) == sha
    assert rotation.accepted_checksums(old) == sha[:1]


# ------------------------------------------------------------------------------------------
# A whole rotation with the module's state=present


def run(pki, ca_rotation, **overrides):
    # The clients the etcd role keeps: admin, and root (CN root) for the members' timers.
    return run_present(params(pki, ca_rotation=ca_rotation, applications=[{"name": "web"}],
                              clients=["admin", {"name": "root", "user": "root"}], **overrides))


def pems(path):
    return [x509.load_pem_x509_certificate(b"-----BEGIN" + part) for part in read(path).split(b"-----BEGIN")[1:]]


def test_a_whole_rotation_phase_by_phase(pki):
    run(pki, "keep", revoke=[])
    run_present(params(pki, applications=[]))  # web is revoked: its serial must stay in the CRL
    first = run(pki, "keep")
    old_ca = load(os.path.join(pki, "ca.pem"))
    revoked = crl_serials(load_crl(os.path.join(pki, "crl.pem")))
    assert revoked and first["rotation"]["phase"] == "none" and first["rotation"]["bundle"] is None
    assert first["ca"]["trusted_path"] == os.path.join(pki, "ca.pem")
    old_admin = load(os.path.join(pki, "admin.pem"))

    # Phase 1: a new CA beside the old one, both in the bundle; nothing re-issued.
    one = run(pki, "start")
    assert one["changed"] and one["issued"] == []
    assert one["rotation"] == dict(one["rotation"], phase="trust", phase_before="none", step=1, changed=True,
                                   timers_wait=False)
    new_ca = load(os.path.join(pki, "ca-next.pem"))
    assert new_ca.subject != old_ca.subject
    bundle = os.path.join(pki, "ca-bundle.pem")
    assert one["ca"]["trusted_path"] == bundle
    assert pems(bundle) == [old_ca, new_ca]
    assert load(os.path.join(pki, "ca.pem")) == old_ca
    # A run in between changes nothing and keeps the phase.
    assert run(pki, "auto")["changed"] is False
    assert run(pki, "start")["changed"] is False

    # Phase 2: the new CA signs; every certificate re-issued with its key; the CRL keeps its entries.
    bundle_bytes = read(bundle)
    two = run(pki, "advance")
    assert two["rotation"]["phase"] == "reissue"
    assert load(os.path.join(pki, "ca.pem")) == new_ca
    assert load(os.path.join(pki, "ca-previous.pem")) == old_ca
    assert not os.path.exists(os.path.join(pki, "ca-next.pem"))
    assert read(bundle) == bundle_bytes
    reasons = {os.path.relpath(i["file"], pki): i["reason"] for i in two["issued"]}
    assert reasons == {name: "ca changed" for name in (
        "etcd-host0.pem", "etcd-host0-peer.pem", "etcd-host1.pem", "etcd-host1-peer.pem", "admin.pem", "root.pem",
        os.path.join("clients", "web.pem"))}
    admin = load(os.path.join(pki, "admin.pem"))
    assert admin.issuer == new_ca.subject and admin.public_key() == old_admin.public_key()
    root = load(os.path.join(pki, "root.pem"))
    assert root.issuer == new_ca.subject and [a.value for a in root.subject] == ["root"]
    crl = load_crl(os.path.join(pki, "crl.pem"))
    assert crl.issuer == new_ca.subject and crl_serials(crl) == revoked
    assert run(pki, "auto")["changed"] is False

    # Phase 3: members trust the new CA only.
    three = run(pki, "advance")
    assert three["rotation"]["phase"] == "drop" and three["issued"] == []
    assert pems(bundle) == [new_ca]
    assert three["ca"]["trusted_path"] == bundle
    assert os.path.exists(os.path.join(pki, "ca-retiring.pem"))
    assert run(pki, "auto")["changed"] is False

    # The end: the old CA goes to retired/, and a run after it changes nothing.
    done = run(pki, "advance")
    assert done["rotation"]["phase"] == "none" and done["rotation"]["bundle"] == bundle
    assert done["ca"]["trusted_path"] == os.path.join(pki, "ca.pem")
    retired = sorted(os.listdir(os.path.join(pki, "retired")))
    assert [name.split("-", 1)[1] for name in retired] == ["ca-key.pem", "ca.pem"]
    assert not any(name.startswith(("ca-next", "ca-previous", "ca-retiring")) for name in os.listdir(pki))
    before = snapshot(pki)
    assert run(pki, "auto")["changed"] is False and run(pki, "advance")["changed"] is False
    assert snapshot(pki) == before


def test_check_mode_writes_nothing(pki):
    run(pki, "keep")
    before = snapshot(pki)
    result = run_present(params(pki, ca_rotation="start"), check_mode=True)
    assert result["changed"] is True and result["rotation"]["phase"] == "trust"
    assert snapshot(pki) == before


def test_a_cut_short_swap_is_completed_and_refused_with_keep(pki):
    run(pki, "keep")
    run(pki, "start")
    old_ca, old_key = read(os.path.join(pki, "ca.pem")), read(os.path.join(pki, "ca-key.pem"))
    new_ca = read(os.path.join(pki, "ca-next.pem"))
    # Cut short after the old CA was kept and the new key written, before the new certificate.
    with open(os.path.join(pki, "ca-previous.pem"), "wb") as handle:
        handle.write(old_ca)
    with open(os.path.join(pki, "ca-key.pem"), "wb") as handle:
        handle.write(read(os.path.join(pki, "ca-next-key.pem")))
    with pytest.raises(PkiError, match="was cut short; run the etcd playbook to finish it"):
        run(pki, "keep")
    result = run(pki, "auto")
    assert result["rotation"]["phase"] == "reissue"
    assert read(os.path.join(pki, "ca.pem")) == new_ca and read(os.path.join(pki, "ca-previous.pem")) == old_ca
    assert old_key != read(os.path.join(pki, "ca-key.pem"))
    assert load(os.path.join(pki, "admin.pem")).issuer == load(os.path.join(pki, "ca.pem")).subject


def test_members_down_refuse_a_rotation_and_write_nothing(pki):
    run(pki, "keep")
    before = snapshot(pki)
    with pytest.raises(PkiError, match=re.escape("a CA rotation needs every member up and healthy, and member etcd-host1 "
                                                 "on host host1 is not: start it and run again. Nothing was written.")):
        run(pki, "start", ca_rotation_blockers=["member etcd-host1 on host host1"])
    # Nothing in progress, nothing asked: a member down does not matter here.
    run(pki, "auto", ca_rotation_blockers=["etcd-host1 (host host1)"])
    run(pki, "start")
    with pytest.raises(PkiError, match=r"the CA rotation in progress \(phase 1 of 3\) needs every member"):
        run(pki, "auto", ca_rotation_blockers=["a", "b"])
    assert snapshot(pki) != before


def test_members_left_out_by_limit_refuse_a_rotation_naming_them_and_write_nothing(pki):
    run(pki, "keep")
    before = snapshot(pki)
    with pytest.raises(PkiError, match=re.escape(
            "a CA rotation must reach every member, and this run leaves out member etcd-host2 on host host2 "
            "(--limit): run it again without --limit, or with a --limit that includes every member. "
            "Nothing was written.")):
        run(pki, "start", ca_rotation_left_out=["member etcd-host2 on host host2"])
    assert snapshot(pki) == before
    # The automatic rotation of a CA that expires follows the same rule.
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3630)
    with pytest.raises(PkiError, match="a CA rotation must reach every member"):
        run_present(params(pki, ca_rotation="auto", ca_rotation_left_out=["x"]), now=later)
    assert snapshot(pki) == before
    # Nothing to rotate: a run with --limit goes on.
    run(pki, "auto", ca_rotation_left_out=["member etcd-host2 on host host2"])
    # A rotation in progress is not advanced by a run that leaves members out.
    run(pki, "start")
    with pytest.raises(PkiError, match=r"the CA rotation in progress \(phase 1 of 3\) must reach every member"):
        run(pki, "advance", ca_rotation_left_out=["x"])


def test_an_expiring_ca_starts_a_rotation_with_auto(pki):
    run(pki, "keep")
    # 3630 days on, the 10-year CA ends within the 30 days of renew_before_days.
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3630)
    kept = run_present(params(pki, ca_rotation="keep"), check_mode=True, now=later)
    assert kept["rotation"]["phase"] == "none"
    assert any("Rotate it without downtime" in w for w in kept["warnings"])
    assert run_present(params(pki, ca_rotation="auto"), check_mode=True)["rotation"]["phase"] == "none"
    result = run_present(params(pki, ca_rotation="auto"), now=later)
    assert result["rotation"]["phase"] == "trust"
    assert not any("Rotate it without downtime" in w for w in result["warnings"])


def test_no_ca_yet_nothing_to_rotate(pki):
    result = run(pki, "start")
    assert result["rotation"]["phase"] == "none"
    assert not os.path.exists(os.path.join(pki, "ca-next.pem"))


# ------------------------------------------------------------------------------------------
# A CA whose key is not here (an adopted cluster's own): the same three phases


MEMBER_FILES = [name + suffix for name in ("etcd-host0", "etcd-host1")
                for suffix in (".pem", "-key.pem", "-peer.pem", "-peer-key.pem")]


def foreign(tmp_path):
    """A PKI directory as the adopt playbook fills it: the cluster's CA certificate (its key stays
    elsewhere) and each member's own pairs."""
    own, pki = str(tmp_path / "own"), str(tmp_path / "pki")
    run_present(params(own))
    os.makedirs(pki)
    for name in ["ca.pem", *MEMBER_FILES]:
        with open(os.path.join(pki, name), "wb") as handle:
            handle.write(read(os.path.join(own, name)))
    return own, pki


def test_a_ca_without_its_key_is_replaced_in_three_phases_members_keeping_their_pairs_until_phase_2(tmp_path):
    own, pki = foreign(tmp_path)
    old_ca = load(os.path.join(pki, "ca.pem"))
    members = {name: read(os.path.join(pki, name)) for name in MEMBER_FILES}

    # Without a rotation asked for, nothing can be issued without the key (as before).
    with pytest.raises(PkiError, match=r"the CA key .*ca-key.pem is missing, so .*admin.pem cannot be issued"):
        run(pki, "auto")

    # --check: what phase 1 would do, nothing written.
    before = snapshot(pki)
    checked = run_present(params(pki, ca_rotation="start", clients=["admin"]), check_mode=True)
    assert checked["changed"] and checked["rotation"]["phase"] == "trust" and snapshot(pki) == before

    # Phase 1: the new CA signs the client pairs and the CRL; the members keep the old CA's pairs
    # and do not ask their peers for the peer name, which those pairs lack.
    one = run(pki, "start")
    assert one["rotation"]["phase"] == "trust" and one["rotation"]["members_kept"] is True
    # The timers' client pair is the new CA's, which members not yet restarted refuse: they wait.
    assert one["rotation"]["timers_wait"] is True
    new_ca = load(os.path.join(pki, "ca-next.pem"))
    assert pems(os.path.join(pki, "ca-bundle.pem")) == [old_ca, new_ca]
    assert {name: read(os.path.join(pki, name)) for name in MEMBER_FILES} == members
    assert sorted(os.path.relpath(i["file"], pki) for i in one["issued"]) == sorted(
        ["admin.pem", "admin-key.pem", "root.pem", "root-key.pem", os.path.join("clients", "web.pem"),
         os.path.join("clients", "web-key.pem")])
    assert load(os.path.join(pki, "admin.pem")).issuer == new_ca.subject
    assert load_crl(os.path.join(pki, "crl.pem")).issuer == new_ca.subject
    assert load(os.path.join(pki, "ca.pem")) == old_ca and not os.path.exists(os.path.join(pki, "ca-key.pem"))
    assert one["peer_identity"] is None
    assert run(pki, "auto")["changed"] is False and run(pki, "start")["changed"] is False

    # Phase 2: the new CA is the CA; every member's pair re-issued from it; no old key to keep.
    two = run(pki, "advance")
    assert two["rotation"]["phase"] == "reissue" and two["peer_identity"] is None
    assert two["rotation"]["members_kept"] is False and two["rotation"]["timers_wait"] is False
    assert load(os.path.join(pki, "ca.pem")) == new_ca and load(os.path.join(pki, "ca-previous.pem")) == old_ca
    assert not os.path.exists(os.path.join(pki, "ca-previous-key.pem"))
    assert {os.path.basename(i["file"]) for i in two["issued"] if i["reason"] == "ca changed"} >= {
        "etcd-host0.pem", "etcd-host0-peer.pem", "etcd-host1.pem", "etcd-host1-peer.pem"}
    assert all(load(os.path.join(pki, n)).issuer == new_ca.subject for n in MEMBER_FILES if not n.endswith("key.pem"))
    assert run(pki, "auto")["changed"] is False

    # Phase 3: the new CA alone, and the peer name asked for (every peer holds a pair with it).
    three = run(pki, "advance")
    assert three["rotation"]["phase"] == "drop" and three["peer_identity"] == "etcd-peer.invalid"
    assert pems(os.path.join(pki, "ca-bundle.pem")) == [new_ca]
    assert not os.path.exists(os.path.join(pki, "ca-retiring-key.pem"))

    done = run(pki, "advance")
    assert done["rotation"]["phase"] == "none"
    assert [name.split("-", 1)[1] for name in os.listdir(os.path.join(pki, "retired"))] == ["ca.pem"]
    before = snapshot(pki)
    assert run(pki, "auto")["changed"] is False and snapshot(pki) == before
    # The old CA's key never came here.
    assert read(os.path.join(own, "ca-key.pem")) not in [v[0] for v in before.values()]


@pytest.mark.parametrize("change, problem", [
    (lambda pki: os.remove(os.path.join(pki, "etcd-host1-peer.pem")), "is missing"),
    (lambda pki: shutil.copy(os.path.join(pki, "etcd-host0-key.pem"), os.path.join(pki, "etcd-host1-key.pem")),
     "does not match its key"),
])
def test_a_member_without_its_own_pair_refuses_the_start_and_nothing_is_written(tmp_path, change, problem):
    pki = foreign(tmp_path)[1]
    change(pki)
    before = snapshot(pki)
    with pytest.raises(PkiError, match=re.escape(problem) + r" \(.*\): the key of the CA .*ca.pem is not in the PKI "
                       r"directory, so the member keeps a pair of that CA until phase 2 of its rotation re-issues it; "
                       r"put the member's own pair there \(the adopt playbook copies it from the member\). "
                       r"Nothing was written."):
        run(pki, "start")
    assert snapshot(pki) == before


def test_a_member_pair_of_another_ca_refuses_the_start(tmp_path):
    pki = foreign(tmp_path)[1]
    other = str(tmp_path / "other")
    run_present(params(other))
    for name in ("etcd-host1.pem", "etcd-host1-key.pem"):
        with open(os.path.join(pki, name), "wb") as handle:
            handle.write(read(os.path.join(other, name)))
    with pytest.raises(PkiError, match=r"member etcd-host1 server is not signed by the CA .*ca.pem"):
        run(pki, "start")
