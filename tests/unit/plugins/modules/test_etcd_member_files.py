"""etcd_member_files on a temporary directory: writes only what differs, atomically, honours
check mode, and never shows a secret's content."""

import grp
import json
import os
import pwd
import stat

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.modules import etcd_member_files

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
KEY = "-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n"


def run(args, capsys, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_member_files.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def item(path, mode, content=None):
    entry = {"path": str(path), "owner": USER, "group": GROUP, "mode": mode}
    if content is not None:
        entry["content"] = content
    return entry


@pytest.fixture
def layout(tmp_path):
    conf = tmp_path / "etc" / "etcd"
    return {
        "directories": [item(conf, "0750"), item(tmp_path / "var" / "lib" / "etcd", "0700")],
        "files": [item(conf / "etcd.env", "0640", "ETCD_NAME=etcd-host0\n")],
        "private_files": [item(conf / "server-key.pem", "0600", KEY)],
    }, conf


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_everything_once_then_changes_nothing(layout, capsys):
    args, conf = layout
    code, out = run(args, capsys)
    assert code == 0 and out["changed"] is True
    assert out["changed_paths"] == [d["path"] for d in args["directories"]] + [str(conf / "etcd.env"), str(conf / "server-key.pem")]
    assert (conf / "etcd.env").read_text() == "ETCD_NAME=etcd-host0\n"
    assert (conf / "server-key.pem").read_text() == KEY
    assert mode_of(conf) == 0o750 and mode_of(conf / "etcd.env") == 0o640 and mode_of(conf / "server-key.pem") == 0o600
    assert [p for p in os.listdir(conf) if p.startswith(".")] == []  # no temporary file left

    code, out = run(args, capsys)
    assert code == 0 and out["changed"] is False and out["changed_paths"] == []


def test_only_what_differs_changes(layout, capsys):
    args, conf = layout
    run(args, capsys)
    os.chmod(conf / "server-key.pem", 0o644)
    (conf / "etcd.env").write_text("ETCD_NAME=old\n")
    inode = os.stat(conf / "etcd.env").st_ino
    code, out = run(args, capsys, diff=True)
    assert code == 0
    assert out["changed_paths"] == [str(conf / "etcd.env"), str(conf / "server-key.pem")]
    assert mode_of(conf / "server-key.pem") == 0o600 and (conf / "server-key.pem").read_text() == KEY
    # Replaced by a rename, not rewritten in place.
    assert os.stat(conf / "etcd.env").st_ino != inode and (conf / "etcd.env").read_text() == "ETCD_NAME=etcd-host0\n"
    assert out["diff"] == [{"before_header": str(conf / "etcd.env"), "after_header": str(conf / "etcd.env"),
                            "before": "ETCD_NAME=old\n", "after": "ETCD_NAME=etcd-host0\n"}]


def test_check_mode_reports_and_changes_nothing(layout, capsys):
    args, conf = layout
    code, out = run(args, capsys, check=True)
    assert code == 0 and out["changed"] is True and len(out["changed_paths"]) == 4
    assert not conf.exists()

    run(args, capsys)
    (conf / "etcd.env").write_text("ETCD_NAME=old\n")
    code, out = run(args, capsys, check=True)
    assert out["changed_paths"] == [str(conf / "etcd.env")]
    assert (conf / "etcd.env").read_text() == "ETCD_NAME=old\n"


def test_a_secret_never_shows(layout, capsys):
    args, conf = layout
    code, out = run(args, capsys, diff=True)
    assert code == 0
    text = json.dumps(out)
    assert "secret-bytes" not in text
    assert {"before_header": str(conf / "server-key.pem"), "after_header": str(conf / "server-key.pem"),
            "before": "", "after": "(private content changed)\n"} in out["diff"]


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_a_path_of_the_wrong_kind_is_refused_and_left_alone(tmp_path, capsys, kind):
    if kind == "directory":
        (tmp_path / "pki").write_text("not a directory")
        args = {"directories": [item(tmp_path / "pki", "0750")]}
    else:
        (tmp_path / "etcd.env").mkdir()
        args = {"files": [item(tmp_path / "etcd.env", "0640", "x\n")]}
    before = sorted(os.listdir(tmp_path))
    code, out = run(args, capsys)
    assert code == 1
    assert out["msg"] == "%s exists and is not a %s; nothing was changed there" % (
        tmp_path / ("pki" if kind == "directory" else "etcd.env"), "directory" if kind == "directory" else "regular file")
    assert sorted(os.listdir(tmp_path)) == before


def test_a_file_whose_directory_is_missing_is_refused(tmp_path, capsys):
    code, out = run({"files": [item(tmp_path / "missing" / "etcd.env", "0640", "x\n")]}, capsys)
    assert code == 1
    assert out["msg"] == "cannot write %s: its directory %s does not exist" % (tmp_path / "missing" / "etcd.env", tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


def test_stage_dir_keeps_the_file_in_use_until_activated(layout, tmp_path, capsys):
    args, conf = layout
    stage = tmp_path / "stage"
    run(dict(args, stage_dir=str(stage)), capsys)
    env = conf / "etcd.env"
    # a file that did not exist is written in place: nothing runs with it yet
    assert env.read_text() == "ETCD_NAME=etcd-host0\n"

    changed_env = dict(args, stage_dir=str(stage), files=[item(env, "0640", "ETCD_NAME=etcd-host0\nX=1\n")])
    code, result = run(changed_env, capsys)
    assert code == 0 and result["changed"]
    assert result["staged_paths"] == [str(env)] and str(env) not in result["changed_paths"]
    assert env.read_text() == "ETCD_NAME=etcd-host0\n"
    assert (stage / "etcd.env").read_text() == "ETCD_NAME=etcd-host0\nX=1\n"
    assert mode_of(stage) == 0o700 and mode_of(stage / "etcd.env") == 0o640

    # staged already: a re-run changes nothing but still reports the waiting copy
    code, result = run(changed_env, capsys)
    assert not result["changed"] and result["staged_paths"] == [str(env)]

    code, result = run(dict(changed_env, activate=[str(env)]), capsys)
    assert result["changed"] and result["changed_paths"] == [str(env)] and result["staged_paths"] == []
    assert env.read_text() == "ETCD_NAME=etcd-host0\nX=1\n" and not (stage / "etcd.env").exists()
    assert mode_of(env) == 0o640


def test_a_staged_copy_no_longer_wanted_is_removed(layout, tmp_path, capsys):
    args, conf = layout
    stage = tmp_path / "stage"
    run(dict(args, stage_dir=str(stage)), capsys)
    env = conf / "etcd.env"
    run(dict(args, stage_dir=str(stage), files=[item(env, "0640", "other\n")]), capsys)
    assert (stage / "etcd.env").exists()
    _code, result = run(dict(args, stage_dir=str(stage)), capsys)
    assert result["changed"] and result["staged_paths"] == [] and not (stage / "etcd.env").exists()
    assert env.read_text() == "ETCD_NAME=etcd-host0\n"


def test_staging_in_check_mode_writes_nothing(layout, tmp_path, capsys):
    args, conf = layout
    stage = tmp_path / "stage"
    run(dict(args, stage_dir=str(stage)), capsys)
    env = conf / "etcd.env"
    _code, result = run(dict(args, stage_dir=str(stage), files=[item(env, "0640", "new\n")]), capsys, check=True)
    assert result["changed"] and result["staged_paths"] == [str(env)]
    assert not (stage / "etcd.env").exists() and env.read_text() == "ETCD_NAME=etcd-host0\n"


def test_activate_without_a_staged_copy_changes_nothing(layout, tmp_path, capsys):
    args, conf = layout
    stage = tmp_path / "stage"
    run(dict(args, stage_dir=str(stage)), capsys)
    code, result = run(dict(args, stage_dir=str(stage), activate=[str(conf / "etcd.env")]), capsys)
    assert code == 0 and not result["changed"]


def test_stage_dir_needs_distinct_base_names(layout, tmp_path, capsys):
    args, conf = layout
    files = [item(conf / "a" / "etcd.env", "0640", "x"), item(conf / "b" / "etcd.env", "0640", "y")]
    code, result = run(dict(args, files=files, stage_dir=str(tmp_path / "stage")), capsys)
    assert code == 1 and "different base names" in result["msg"]
    assert not (tmp_path / "stage").exists()


def test_a_file_marked_not_to_stage_is_written_in_place(layout, tmp_path, capsys):
    args, conf = layout
    stage = tmp_path / "stage"
    run(dict(args, stage_dir=str(stage)), capsys)
    env = conf / "etcd.env"
    _code, result = run(dict(args, stage_dir=str(stage), files=[dict(item(env, "0640", "live\n"), stage=False)]), capsys)
    assert result["changed_paths"] == [str(env)] and result["staged_paths"] == []
    assert env.read_text() == "live\n" and not (stage / "etcd.env").exists()


def test_a_stage_dir_is_made_only_when_something_waits_there(layout, tmp_path, capsys):
    args, _conf = layout
    stage = tmp_path / "stage"
    run(args, capsys)
    _code, result = run(dict(args, stage_dir=str(stage)), capsys)
    assert not result["changed"] and not stage.exists()


def test_absent_removes_files_after_the_rest_and_only_once(layout, capsys):
    args, conf = layout
    run(args, capsys)
    note = conf / "restart-pending"
    note.write_text("restart\n")
    code, out = run(dict(args, absent=[str(note), str(conf / "never-there")]), capsys, check=True)
    assert (code, out["changed"], out["changed_paths"]) == (0, True, [str(note)])
    assert note.exists()  # check mode only reports

    code, out = run(dict(args, absent=[str(note), str(conf / "never-there")]), capsys)
    assert (code, out["changed"], out["changed_paths"]) == (0, True, [str(note)])
    assert not note.exists() and (conf / "etcd.env").exists()
    code, out = run(dict(args, absent=[str(note)]), capsys)
    assert (code, out["changed"], out["changed_paths"]) == (0, False, [])


@pytest.mark.parametrize("kind", ["directory", "link"])
def test_absent_refuses_what_is_not_a_regular_file_and_removes_nothing(tmp_path, capsys, kind):
    (tmp_path / "settings").write_text("x\n")
    if kind == "directory":
        (tmp_path / "odd").mkdir()
    else:
        (tmp_path / "odd").symlink_to(tmp_path / "settings")
    code, out = run({"absent": [str(tmp_path / "settings"), str(tmp_path / "odd")]}, capsys)
    assert code == 1
    assert out["msg"] == "%s exists and is not a regular file; nothing was changed there" % (tmp_path / "odd")
    assert sorted(os.listdir(tmp_path)) == ["odd", "settings"]


def test_restart_needed_for_a_file_that_restarts_the_service_not_for_one_read_on_each_use(layout, tmp_path, capsys):
    args, conf = layout
    crl = conf / "crl.pem"
    files = [*args["files"], dict(item(crl, "0644", "crl 1\n"), stage=False, restart=False)]
    _code, first = run(dict(args, files=files), capsys)
    assert first["restart_needed"] is True  # everything was new
    # Only a directory's mode changed: no restart.
    os.chmod(conf, 0o755)
    _code, result = run(dict(args, files=files), capsys)
    assert result["changed_paths"] == [str(conf)] and result["restart_needed"] is False
    # A new revocation list (restart: false), and a client key among the private files: no restart.
    private = [*args["private_files"], dict(item(conf / "client-key.pem", "0600", KEY), restart=False)]
    files[-1] = dict(files[-1], content="crl 2\n")
    _code, result = run(dict(args, files=files, private_files=private), capsys)
    assert result["changed_paths"] == [str(crl), str(conf / "client-key.pem")] and result["restart_needed"] is False
    # A setting written in place, or given another mode: a restart.
    os.chmod(conf / "server-key.pem", 0o644)
    _code, result = run(dict(args, files=files, private_files=private), capsys)
    assert result["changed_paths"] == [str(conf / "server-key.pem")] and result["restart_needed"] is True
    # Nothing changed: none.
    _code, result = run(dict(args, files=files, private_files=private), capsys)
    assert result["changed"] is False and result["restart_needed"] is False


def test_restart_needed_while_a_staged_copy_waits_and_when_it_is_put_in_place(layout, tmp_path, capsys):
    args, conf = layout
    stage = tmp_path / "stage"
    run(dict(args, stage_dir=str(stage)), capsys)
    env = conf / "etcd.env"
    changed_env = dict(args, stage_dir=str(stage), files=[item(env, "0640", "X=2\n")])
    _code, result = run(changed_env, capsys)
    assert result["staged_paths"] == [str(env)] and result["changed_paths"] == [] and result["restart_needed"] is True
    _code, result = run(changed_env, capsys)
    assert result["changed"] is False and result["restart_needed"] is True  # it still waits
    _code, result = run(dict(changed_env, activate=[str(env)]), capsys)
    assert result["changed_paths"] == [str(env)] and result["restart_needed"] is True
