"""The etcd_member_files action: a host whose etcd_host_info read shows every directory and file as
asked is not called; any other host is called, without host_files among the arguments."""

import hashlib
from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_member_files import NOTE_CONTENT, ActionModule

ENV = "ETCD_NAME=etcd-host0\n"
ARGS = dict(
    directories=[dict(path="/etc/etcd", owner="root", group="etcd", mode="0750")],
    files=[dict(path="/etc/etcd/etcd.env", owner="root", group="etcd", mode="0640", content=ENV)],
    private_files=[],
    stage_dir="/etc/etcd/staged",
)
READ = {
    "/etc/etcd": dict(kind="directory", owner="root", group="etcd", mode="0750"),
    "/etc/etcd/etcd.env": dict(kind="file", owner="root", group="etcd", mode="0640",
                               sha256=hashlib.sha256(ENV.encode()).hexdigest()),
    "/etc/etcd/staged/etcd.env": dict(kind="absent"),
}
CHANGED = {"changed": True, "changed_paths": ["/etc/etcd/etcd.env"], "staged_paths": []}


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.diff = False
    module.calls = []

    def execute_module(module_name, module_args, task_vars):
        module.calls.append((module_name, module_args))
        return dict(CHANGED)
    module._execute_module = execute_module
    return module


def run(action, **args):
    action._task.args = dict(ARGS, **args)
    return action.run(task_vars={})


def test_a_host_with_every_file_as_asked_is_not_called(action):
    assert run(action, host_files=READ) == dict(changed=False, changed_paths=[], staged_paths=[], restart_needed=False)
    assert action.calls == []


def test_in_diff_mode_an_unchanged_host_shows_an_empty_diff(action):
    action._task.diff = True
    assert run(action, host_files=READ)["diff"] == []
    assert action.calls == []


@pytest.mark.parametrize("read", [
    dict(READ, **{"/etc/etcd/etcd.env": dict(READ["/etc/etcd/etcd.env"], sha256="0" * 64)}),
    dict(READ, **{"/etc/etcd/staged/etcd.env": dict(READ["/etc/etcd/etcd.env"])}),
    {path: state for path, state in READ.items() if path != "/etc/etcd"},
    {},
    None,
])
def test_any_other_host_is_called_without_the_read(action, read):
    result = run(action, **({"host_files": read} if read is not None else {}))
    assert result == CHANGED
    assert action.calls == [("raftops.etcd.etcd_member_files", ARGS)]


def test_removing_files_always_calls_the_host(action):
    run(action, host_files=READ, absent=["/etc/etcd/etcd-initial.env"])
    assert action.calls == [("raftops.etcd.etcd_member_files", dict(ARGS, absent=["/etc/etcd/etcd-initial.env"]))]


JOIN = dict(header="#\n# Ansible managed\n#", config_dir="/etc/etcd", user="etcd",
            initial=dict(state="existing", cluster="m0=https://10.0.0.10:2380", token="etcd-abc"))


def test_the_member_option_is_rendered_here_and_never_sent(action):
    action._task.args = dict(member=JOIN)
    action.run(task_vars={})
    (name, args), = action.calls
    assert name == "raftops.etcd.etcd_member_files" and "member" not in args and args["files"] == []
    assert [(f["path"], f["mode"]) for f in args["private_files"]] == [("/etc/etcd/etcd-initial.env", "0640")]
    assert args["private_files"][0]["content"].endswith(
        "ETCD_INITIAL_CLUSTER=m0=https://10.0.0.10:2380\nETCD_INITIAL_CLUSTER_STATE=existing\nETCD_INITIAL_CLUSTER_TOKEN=etcd-abc\n")


@pytest.mark.parametrize("task_vars, first_lines", [
    ({}, "#\n# Ansible managed\n#\n"),
    ({"ansible_managed": "Managed by the platform team"}, "#\n# Managed by the platform team\n#\n"),
])
def test_without_a_header_the_files_begin_with_ansible_managed(action, task_vars, first_lines):
    action._templar.template = lambda value: value
    action._task.args = dict(member={key: value for key, value in JOIN.items() if key != "header"})
    action.run(task_vars=task_vars)
    (name, args), = action.calls
    assert name == "raftops.etcd.etcd_member_files" and args["private_files"][0]["content"].startswith(first_lines)


def test_a_member_it_cannot_render_fails_by_name_and_calls_nothing(action):
    action._task.args = dict(member=dict(JOIN, pki=dict(dir="/etc/etcd/pki", ca="/nonexistent/ca.pem", own={})))
    result = action.run(task_vars={})
    assert result["failed"] is True and action.calls == []
    assert result["msg"].startswith("raftops.etcd.etcd_member_files: member: ")
    action._task.args = dict(member=dict(JOIN, initial=dict(state="new")))
    result = action.run(task_vars={})
    assert result["failed"] is True and "'cluster' is missing or not of its type" in result["msg"] and action.calls == []


SERVER = dict(unit_path="/etc/systemd/system/etcd.service")


def enable_calls(action):
    return [args for name, args in action.calls if name == "ansible.builtin.systemd_service"]


@pytest.mark.parametrize("changed_paths, enabled, check_mode, wanted", [
    # Nothing changed, enabled: no call at all (a no-change run).
    ([], True, False, []),
    # Not enabled (the host read found no link): enabled, no reload.
    ([], False, False, [dict(name="etcd", enabled=True, daemon_reload=False)]),
    # The unit changed: reloaded and enabled, whatever the read found.
    (["/etc/systemd/system/etcd.service"], True, False, [dict(name="etcd", enabled=True, daemon_reload=True)]),
    # In check mode a unit that would be written is not there for systemd to load.
    (["/etc/systemd/system/etcd.service"], False, True, []),
    ([], False, True, [dict(name="etcd", enabled=True, daemon_reload=False)]),
])
def test_the_service_is_enabled_and_reloaded_when_needed(action, monkeypatch, changed_paths, enabled, check_mode, wanted):
    from ansible_collections.raftops.etcd.plugins.action import etcd_member_files
    monkeypatch.setattr(etcd_member_files, "member_files", lambda member, missing_ok: ([], [], []))
    action._play_context.check_mode = check_mode

    def execute_module(self, module_name, module_args, task_vars):
        self.calls.append((module_name, module_args))
        return dict(changed=module_name != "raftops.etcd.etcd_member_files" or bool(changed_paths),
                    changed_paths=changed_paths, staged_paths=[])
    monkeypatch.setattr(ActionModule, "_execute_module", execute_module)
    del action._execute_module
    # The unit's path is the member's (a staged unit is not in changed_paths: loaded by its roll step).
    action._task.args = dict(ARGS, member=dict(JOIN, server=SERVER), service=dict(name="etcd", enabled=enabled))
    result = action.run(task_vars={})
    assert enable_calls(action) == wanted
    assert result["changed"] is bool(changed_paths or wanted)
    # Only a unit check mode would write is missing for systemd (the role then neither starts nor stops it).
    assert result["unit_unwritten"] is (check_mode and bool(changed_paths))
    # The same from the link the host's read found present, or did not (the role's way).
    action.calls.clear()
    wants = "/etc/systemd/system/multi-user.target.wants/etcd.service"
    action._task.args = dict(ARGS, member=dict(JOIN, server=SERVER),
                             service=dict(name="etcd", enabled_path=wants, found=[wants] if enabled else ["/etc/etcd"]))
    assert action.run(task_vars={})["changed"] is bool(changed_paths or wanted)
    assert enable_calls(action) == wanted


def test_a_failed_enable_fails_the_task_naming_the_service(action, monkeypatch):
    action._play_context.check_mode = False
    monkeypatch.setattr(ActionModule, "_execute_module", lambda self, module_name, module_args, task_vars: (
        dict(failed=True, msg="Could not find the requested service etcd") if module_name == "ansible.builtin.systemd_service"
        else dict(changed=False, changed_paths=[])))
    del action._execute_module
    action._task.args = dict(ARGS, service=dict(name="etcd", enabled=False))
    result = action.run(task_vars={})
    assert result["failed"] is True and result["msg"] == "enabling etcd: Could not find the requested service etcd"


TIMERS = [dict(name="etcd-snapshot", paths=["/etc/etcd/etcd.env"], running=True),
          dict(name="etcd-maintenance", paths=["/etc/systemd/system/etcd-maintenance.timer"], running="false")]


def started(*timers):
    return [("ansible.builtin.systemd_service", dict(name="%s.timer" % name, state=state, enabled=True, daemon_reload=reload))
            for name, state, reload in timers]


def test_the_timers_to_start_are_started_after_the_files_and_come_with_the_result(action):
    action._play_context.check_mode = False
    result = run(action, timers=TIMERS)
    assert result["timers_to_start"] == [dict(name="etcd-snapshot", state="restarted", daemon_reload=True),
                                         dict(name="etcd-maintenance", state="started", daemon_reload=False)]
    assert action.calls == [("raftops.etcd.etcd_member_files", ARGS),
                            *started(("etcd-snapshot", "restarted", True), ("etcd-maintenance", "started", False))]
    # A host whose files are all as asked is not sent the files: only the timers not running start.
    action.calls.clear()
    assert run(action, host_files=READ, timers=TIMERS)["timers_to_start"] == [
        dict(name="etcd-maintenance", state="started", daemon_reload=False)]
    assert action.calls == started(("etcd-maintenance", "started", False))
    # Nothing to start and nothing to write: no call at all.
    action.calls.clear()
    result = run(action, host_files=READ, timers=[dict(TIMERS[1], running=True)])
    assert result["timers_to_start"] == [] and result["changed"] is False and action.calls == []
    # In check mode a timer whose files would be written is left out.
    action._play_context.check_mode = True
    assert run(action, timers=TIMERS)["timers_to_start"] == [dict(name="etcd-maintenance", state="started", daemon_reload=False)]
    # Without the option, nothing is said of timers.
    assert "timers_to_start" not in run(action)


def test_a_timer_that_fails_to_start_fails_the_call_naming_it_and_the_next_is_not_started(action, monkeypatch):
    calls = []

    def execute_module(self, module_name, module_args, task_vars):
        calls.append(module_args.get("name"))
        if module_name == "ansible.builtin.systemd_service":
            return dict(failed=True, msg="Unit etcd-snapshot.timer not found.")
        return dict(changed=True, changed_paths=["/etc/etcd/etcd.env"])
    monkeypatch.setattr(ActionModule, "_execute_module", execute_module)
    del action._execute_module
    action._play_context.check_mode = False
    action._task.args = dict(ARGS, timers=TIMERS)
    result = action.run(task_vars={})
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"] == "starting etcd-snapshot.timer: Unit etcd-snapshot.timer not found."
    assert calls == [None, "etcd-snapshot.timer"]


@pytest.mark.parametrize("timers, message", [
    ([dict(name="etcd-snapshot", running=True)], "missing required arguments: paths found in timers"),
    ([dict(name="etcd-snapshot", paths=[], running="maybe")], "running"),
    ("etcd-snapshot", "timers"),
])
def test_timers_it_cannot_read_fail_by_name_and_call_nothing(action, timers, message):
    result = run(action, timers=timers)
    assert result["failed"] is True and result["changed"] is False and action.calls == []
    assert result["msg"].startswith("raftops.etcd.etcd_member_files: ") and message in result["msg"]
    assert result["msg"].endswith("; nothing was changed")


def test_a_failed_write_says_nothing_of_the_timers(action, monkeypatch):
    monkeypatch.setattr(ActionModule, "_execute_module", lambda self, module_name, module_args, task_vars: dict(
        failed=True, msg="cannot write"))
    del action._execute_module
    result = run(action, timers=TIMERS)
    assert result["failed"] is True and "timers_to_start" not in result


NOTE = "/etc/etcd/restart-pending"
NOTHING = dict(directories=[], files=[], stage_dir=None)


def test_a_restart_due_is_noted_and_the_result_says_whether_the_member_restarts(action):
    action._execute_module = MagicMock(return_value=dict(changed=True, changed_paths=[NOTE], staged_paths=[],
                                                         restart_needed=False))
    # Due: the note is written (a file of its own, no reason for a restart_needed), the option never sent.
    assert run(action, restart_note=dict(path=NOTE, due=True), **NOTHING)["restart"] is True
    sent = action._execute_module.call_args.kwargs["module_args"]
    assert "restart_note" not in sent and sent["files"] == [dict(
        path=NOTE, content=NOTE_CONTENT, owner="root", group="root", mode="0644", restart=False)]
    # Not due: the host is not called for nothing, and only a note found before the run counts.
    action._execute_module.reset_mock()
    assert run(action, restart_note=dict(path=NOTE), **NOTHING)["restart"] is False
    assert run(action, restart_note=dict(path=NOTE, due="false", present=[NOTE]), **NOTHING)["restart"] is True
    assert action._execute_module.call_count == 0
    # With other files, the note comes after them.
    action._execute_module.return_value = dict(CHANGED)
    result = run(action, restart_note=dict(path=NOTE, due=True))
    assert result["restart"] is False
    assert [f["path"] for f in action._execute_module.call_args.kwargs["module_args"]["files"]] == [
        "/etc/etcd/etcd.env", NOTE]
    # Without the option, nothing is said of a restart.
    assert "restart" not in run(action, **NOTHING)


@pytest.mark.parametrize("note, message", [
    (dict(present=[]), "missing required arguments: path found in restart_note"),
    (dict(path=NOTE, due="maybe"), "due"),
    (NOTE, "restart_note"),
])
def test_a_restart_note_it_cannot_read_fails_by_name_and_calls_nothing(action, note, message):
    result = run(action, restart_note=note)
    assert result["failed"] is True and result["changed"] is False and action.calls == []
    assert result["msg"].startswith("raftops.etcd.etcd_member_files: ") and message in result["msg"]
    assert result["msg"].endswith("; nothing was changed")


def test_a_failed_write_says_nothing_of_a_restart(action):
    action._execute_module = MagicMock(return_value=dict(failed=True, msg="cannot write"))
    result = run(action, restart_note=dict(path=NOTE, due=True, present=[NOTE]), **NOTHING)
    assert result["failed"] is True and "restart" not in result
