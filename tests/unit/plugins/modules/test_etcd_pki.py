"""raftops.etcd.etcd_pki as Ansible runs it: parameters in, results, warnings and diffs out.

The PKI itself is tested in tests/unit/plugins/module_utils/test_etcd_pki_*.py, one file per
library module (params, x509, present, revoke, verified).
"""

import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.modules import etcd_pki

HOSTS = ("etcd-host0", "etcd-host1", "etcd-host2")


def members(*names):
    return [{"name": name, "addresses": ["10.0.0.1%d" % HOSTS.index(name)]} for name in names]


KEPT = members("etcd-host0", "etcd-host1")


@pytest.fixture
def pki(tmp_path):
    return str(tmp_path / "pki")


def run_main(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_pki.main()
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out), out


def test_main_issues_then_is_idempotent_and_honours_check_mode(pki, capsys):
    args = {"path": pki, "members": [{"name": "etcd-host0", "addresses": ["10.0.0.11"]}]}
    code, out, _raw = run_main(dict(args, _ansible_check_mode=True), capsys)
    assert code == 0 and out["changed"] is True and not os.path.exists(pki)

    code, out, _raw = run_main(args, capsys)
    assert code == 0 and out["changed"] is True
    assert {os.path.basename(i["file"]) for i in out["issued"]} >= {"ca.pem", "etcd-host0.pem", "admin.pem"}
    assert out["certificates"]["etcd-host0"]["sans"] == ["10.0.0.11", "127.0.0.1", "etcd-host0", "localhost"]

    code, out, _raw = run_main(args, capsys)
    assert code == 0 and out["changed"] is False and out["issued"] == []


def test_main_verifies_without_writing(pki, capsys):
    run_main({"path": pki, "members": KEPT}, capsys)
    code, out, _raw = run_main({"path": pki, "members": KEPT, "state": "verified"}, capsys)
    assert code == 0 and out["changed"] is False and set(out["certificates"]) == {"etcd-host0", "etcd-host1"}


def test_main_fails_with_a_clear_message(pki, capsys):
    code, out, _raw = run_main({"path": pki, "members": [{"name": "bad name"}]}, capsys)
    assert code == 1 and out["failed"] is True
    assert out["msg"].startswith("raftops.etcd.etcd_pki: members[0].name 'bad name' is not a valid name")
    assert not os.path.exists(pki)


def test_main_rejects_unknown_member_keys(pki, capsys):
    code, out, _raw = run_main({"path": pki, "members": [{"name": "a", "adresses": ["10.0.0.1"]}]}, capsys)
    assert code == 1 and "adresses" in out["msg"]


def test_main_revokes_with_diff_and_never_shows_a_key(pki, capsys):
    run_main({"path": pki, "members": members(*HOSTS)}, capsys)
    with open(os.path.join(pki, "etcd-host2-key.pem")) as handle:
        key_pem = handle.read()
    args = {"path": pki, "members": KEPT, "revoke": ["etcd-host2"], "_ansible_diff": True}

    code, out, raw = run_main(dict(args, _ansible_check_mode=True), capsys)
    assert code == 0 and out["changed"] is True and os.path.exists(os.path.join(pki, "etcd-host2.pem"))

    code, out, raw = run_main(args, capsys)
    assert code == 0 and out["changed"] is True
    assert out["revoked"][0]["name"] == "etcd-host2"
    crl_diff, files_diff = out["diff"]
    assert crl_diff["before"] == "" and crl_diff["after"].count("\n") == 2
    assert files_diff["before"].splitlines()[0] == os.path.join(pki, "etcd-host2.pem")
    assert "PRIVATE KEY" not in raw and key_pem.splitlines()[1] not in raw

    code, out, raw = run_main(args, capsys)
    assert code == 0 and out["changed"] is False and "diff" not in out


def test_main_without_diff_mode_returns_no_diff(pki, capsys):
    code, out, _raw = run_main({"path": pki, "members": KEPT}, capsys)
    assert code == 0 and "diff" not in out and out["crl"]["reason"] == "missing"


def test_main_refuses_a_name_in_both_lists(pki, capsys):
    code, out, _raw = run_main({"path": pki, "members": KEPT, "revoke": ["etcd-host1"]}, capsys)
    assert code == 1 and out["msg"].startswith("raftops.etcd.etcd_pki: revoke[0] 'etcd-host1' is also in members")


def test_main_keeps_application_pairs_and_revokes_one_left_out(pki, capsys):
    two = [{"name": "billing"}, {"name": "web", "user": "web-app"}]
    code, out, _raw = run_main({"path": pki, "members": KEPT, "applications": two}, capsys)
    assert code == 0 and {n: a["user"] for n, a in out["applications"].items()} == {"billing": "billing", "web": "web-app"}
    code, out, _raw = run_main({"path": pki, "members": KEPT, "applications": two}, capsys)
    assert code == 0 and out["changed"] is False

    code, out, _raw = run_main({"path": pki, "members": KEPT, "applications": two[1:]}, capsys)
    assert code == 0 and out["changed"] is True and [r["name"] for r in out["revoked"]] == ["billing"]
    assert out["crl"]["revoked_serials"] == out["revoked"][0]["serials"]


def test_main_refuses_duplicate_applications_naming_the_entry(pki, capsys):
    code, out, _raw = run_main({"path": pki, "applications": [{"name": "web"}, {"name": "web"}]}, capsys)
    assert code == 1 and out["msg"].startswith(
        "raftops.etcd.etcd_pki: applications[1]={'name': 'web', 'user': None}: name 'web' is also the name of "
        "applications[0]")
    assert out["problems"] and not os.path.exists(pki)


def test_main_rejects_unknown_application_keys(pki, capsys):
    code, out, _raw = run_main({"path": pki, "applications": [{"name": "web", "usr": "x"}]}, capsys)
    assert code == 1 and "usr" in out["msg"] and not os.path.exists(pki)
