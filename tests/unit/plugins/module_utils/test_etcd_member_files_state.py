"""What etcd_host_info reads of a member's paths, and the decision that spares etcd_member_files its
call: it says "unchanged" exactly when the module, run on the same files, changes nothing."""

import grp
import json
import os
import pwd

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.host.member_files_state import (
    path_state, restarts, service_enabled, timers_to_start, unchanged)
from ansible_collections.raftops.etcd.plugins.modules import etcd_member_files

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
ENV = "ETCD_NAME=etcd-host0\n"
KEY = "-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n"


def item(path, mode, content=None, **extra):
    entry = dict(path=str(path), owner=USER, group=GROUP, mode=mode, **extra)
    if content is not None:
        entry["content"] = content
    return entry


@pytest.fixture
def module_run(capsys):
    """The module's result for ``args``, in check mode unless ``check=False``."""
    def run(args, check=True):
        with patch_module_args(dict(args, _ansible_check_mode=check)), pytest.raises(SystemExit):
            etcd_member_files.main()
        return json.loads(capsys.readouterr().out)
    return run


@pytest.fixture
def member(tmp_path, module_run):
    """A member whose files the module wrote, the options it wrote them with, and every path a read covers."""
    conf = tmp_path / "etc"
    args = dict(directories=[item(conf, "0750")], files=[item(conf / "etcd.env", "0640", ENV)],
                private_files=[item(conf / "server-key.pem", "0600", KEY)], stage_dir=str(tmp_path / "staged"))
    assert module_run(args, check=False)["changed"] is True
    paths = [str(conf), str(conf / "etcd.env"), str(conf / "server-key.pem"), str(tmp_path / "staged" / "etcd.env")]
    return args, paths


def read(paths):
    return {path: path_state(path) for path in paths}


def decided(args, paths):
    return unchanged(read(paths), args["directories"], args["files"], args["private_files"], args.get("stage_dir"))


def test_path_state_of_a_file_a_directory_a_link_and_nothing(tmp_path):
    (tmp_path / "f").write_text("x")
    os.chmod(tmp_path / "f", 0o640)
    (tmp_path / "link").symlink_to(tmp_path / "f")
    assert path_state(str(tmp_path / "f")) == dict(
        kind="file", owner=USER, group=GROUP, mode="0640",
        sha256="2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")
    assert path_state(str(tmp_path)) == dict(kind="directory", owner=USER, group=GROUP,
                                             mode="%04o" % (os.stat(tmp_path).st_mode & 0o7777))
    assert path_state(str(tmp_path / "link"))["kind"] == "other"
    assert path_state(str(tmp_path / "missing")) == dict(kind="absent")


def test_files_as_asked_are_unchanged_as_the_module_finds_them(member, module_run):
    args, paths = member
    assert decided(args, paths) is True
    assert module_run(args)["changed"] is False


@pytest.mark.parametrize("change", [
    "content", "mode", "private content", "directory mode", "staged copy left", "file removed", "directory removed",
])
def test_anything_not_as_asked_is_a_change_as_the_module_finds_it(member, module_run, change):
    args, paths = member
    conf, env, key, staged = paths
    if change == "content":
        with open(env, "a") as handle:
            handle.write("ETCD_DEBUG=true\n")
    elif change == "mode":
        os.chmod(env, 0o644)
    elif change == "private content":
        with open(key, "w") as handle:
            handle.write("other key")
    elif change == "directory mode":
        os.chmod(conf, 0o755)
    elif change == "staged copy left":
        os.makedirs(os.path.dirname(staged))
        with open(staged, "w") as handle:
            handle.write(ENV)
    elif change == "file removed":
        os.unlink(env)
    elif change == "directory removed":
        for path in (env, key):
            os.unlink(path)
        os.rmdir(conf)
    assert decided(args, paths) is False
    assert module_run(args)["changed"] is True


def test_a_path_the_read_did_not_cover_is_left_to_the_module(member):
    args, paths = member
    for left_out in paths:
        assert decided(args, [path for path in paths if path != left_out]) is False


@pytest.mark.parametrize("options", [
    dict(activate=["/etc/etcd/etcd.env"]),
    dict(absent=["/etc/etcd/etcd-initial.env"]),
])
def test_moving_or_removing_files_is_left_to_the_module(member, options):
    args, paths = member
    assert unchanged(read(paths), args["directories"], args["files"], args["private_files"], args["stage_dir"],
                     **options) is False


@pytest.mark.parametrize("mode, expected", [("0640", True), ("640", True), (0o640, True), ("u=rw,g=r", False)])
def test_modes_are_compared_as_octal_and_a_symbolic_one_is_left_to_the_module(member, mode, expected):
    args, paths = member
    files = [dict(args["files"][0], mode=mode)]
    assert unchanged(read(paths), args["directories"], files, args["private_files"], args["stage_dir"]) is expected


def test_options_the_module_would_refuse_are_left_to_it(member):
    args, paths = member
    states = read(paths)
    same_name = [args["files"][0], dict(args["files"][0], path=args["files"][0]["path"] + "/../etcd.env")]
    assert unchanged(states, args["directories"], same_name, [], args["stage_dir"]) is False
    assert unchanged(states, ["not a dict"], args["files"], [], args["stage_dir"]) is False
    assert unchanged(states, args["directories"], [dict(args["files"][0], owner=None)], [], None) is False


def test_an_unstaged_file_needs_no_staged_copy_read(member):
    args, paths = member
    files = [dict(args["files"][0], stage="false")]
    assert unchanged(read(paths[:3]), args["directories"], files, args["private_files"], args["stage_dir"]) is True


WANTS = "/etc/systemd/system/multi-user.target.wants/etcd.service"


@pytest.mark.parametrize("service, enabled", [
    (dict(name="etcd", enabled=True), True),
    (dict(name="etcd", enabled=False, enabled_path=WANTS, found=[WANTS]), False),  # enabled, when given, decides
    # the link among the paths the host's read found present, its path cleaned first
    (dict(name="etcd", enabled_path=WANTS, found=["/etc/etcd", WANTS]), True),
    (dict(name="etcd", enabled_path="/etc/systemd//system/multi-user.target.wants/etcd.service", found=[WANTS]), True),
    (dict(name="etcd", enabled_path=WANTS, found=[]), False),
    (dict(name="etcd", enabled_path=WANTS), False),  # no read
])
def test_service_enabled(service, enabled):
    assert service_enabled(service) is enabled


SNAPSHOT = dict(name="etcd-snapshot", paths=["/etc/systemd/system/etcd-snapshot.timer", "/usr/local/sbin/etcd-snapshot"])
DEFRAG = dict(name="etcd-maintenance", paths=["/etc/systemd/system/etcd-maintenance.timer"])


@pytest.mark.parametrize("running, changed_paths, check_mode, wanted", [
    # running and its files as asked: left as it runs (a no-change run)
    (True, [], False, []),
    (True, ["/etc/etcd/etcd.env"], False, []),
    # not running or not enabled: started, without a reload
    (False, [], False, [dict(name="etcd-snapshot", state="started", daemon_reload=False)]),
    (False, [], True, [dict(name="etcd-snapshot", state="started", daemon_reload=False)]),
    # any of its files changed: restarted, with the units read again, running or not
    (True, ["/usr/local/sbin/etcd-snapshot"], False, [dict(name="etcd-snapshot", state="restarted", daemon_reload=True)]),
    (False, ["/etc/systemd/system/etcd-snapshot.timer"], False,
     [dict(name="etcd-snapshot", state="restarted", daemon_reload=True)]),
    # in check mode files that would change are not there for systemd: nothing
    (True, ["/usr/local/sbin/etcd-snapshot"], True, []),
    (False, ["/usr/local/sbin/etcd-snapshot"], True, []),
])
def test_timers_to_start(running, changed_paths, check_mode, wanted):
    timers = [dict(SNAPSHOT, running=running), dict(DEFRAG, running=True)]
    assert timers_to_start(timers, changed_paths, check_mode) == wanted


def test_timers_to_start_decides_each_timer_on_its_own_files():
    timers = [dict(SNAPSHOT, running=False), dict(DEFRAG, running=True)]
    assert timers_to_start(timers, ["/etc/systemd/system/etcd-maintenance.timer"], False) == [
        dict(name="etcd-snapshot", state="started", daemon_reload=False),
        dict(name="etcd-maintenance", state="restarted", daemon_reload=True)]
    assert timers_to_start([], ["/etc/systemd/system/etcd-maintenance.timer"], False) == []


NOTE = "/etc/etcd/restart-pending"


@pytest.mark.parametrize("note, changed_paths, present, wanted", [
    # Noted by this call (in check mode, would be).
    (NOTE, [NOTE], [], True),
    # Noted by an earlier run, which the host's read found.
    (NOTE, [], ["/etc/etcd/etcd.env", NOTE], True),
    # Both.
    (NOTE, [NOTE], [NOTE], True),
    # Neither: no note, or none that counts (a CA rotation's round passes no present paths).
    (NOTE, [], [], False),
    (NOTE, ["/etc/etcd/etcd.env"], ["/etc/etcd/etcd.env"], False),
    # A role variable joined with two slashes names the same note the read lists with one.
    ("/etc/etcd//restart-pending", [], [NOTE], True),
    (NOTE, ["/etc//etcd/restart-pending"], [], True),
    # Another note's path does not count.
    (NOTE, ["/etc/etcd2/restart-pending"], ["/etc/etcd/restart-pending.old"], False),
])
def test_restarts(note, changed_paths, present, wanted):
    assert restarts(note, changed_paths, present) is wanted
