"""The etcd_host_info action: with role_settings, the read's arguments come from the host's derived
settings (the task's own win), and the settings come back beside the read, with the timers' files
the read found; without it, the module runs with the task's arguments alone."""

import pytest

from ansible_collections.raftops.etcd.plugins.action.etcd_host_info import ActionModule
from ansible_collections.raftops.etcd.tests.unit.plugins.action.in_process import controller_action
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_host_settings import DEFAULTS

TASK_VARS = dict(DEFAULTS, role_path="/roles/etcd", etcd_maintenance_schedule="weekly")


@pytest.fixture
def action(monkeypatch):
    action = controller_action(ActionModule, monkeypatch)
    action._templar.template = lambda value: value
    return action


def run(action, task_vars=None, **args):
    action._task.args = args
    return action.run(task_vars=dict(task_vars or TASK_VARS))


def test_the_read_asks_for_the_derived_paths_and_returns_the_settings(action):
    result = run(action, role_settings=True, ask_etcd=True, timeout=5)
    (module, args), = action.calls
    settings = result["host_settings"]
    assert module == "raftops.etcd.etcd_host_info"
    assert args == dict({k: v for k, v in settings["read"].items() if k != "wal_dir"}, ask_etcd=True, timeout=5, facts=True)
    assert "calendars" not in args and "role_settings" not in args
    assert settings["unit_path"] == "/etc/systemd/system/etcd.service" and result["from"] == "module"


def test_the_tasks_own_arguments_win_and_calendars_only_when_asked(action):
    run(action, role_settings=True, role_calendars=True, paths=["/x"], wal_dir="/w")
    (_module, args), = action.calls
    assert (args["paths"], args["wal_dir"]) == (["/x"], "/w")
    assert args["calendars"] == {"etcd_maintenance_schedule": "weekly"}


def test_role_units_reads_etcd_s_unit_and_every_timer_s(action):
    result = run(action, role_settings=True)
    assert action.calls[0][1]["units"] == result["host_settings"]["scheduled_timer_units"]
    result = run(action, role_settings=True, role_units=True)
    settings = result["host_settings"]
    assert action.calls[1][1]["units"] == [settings["unit"]] + [timer["unit"] for timer in settings["timers"]]
    assert "etcd.service" in action.calls[1][1]["units"][0] and len(settings["timers"]) > 1
    assert "role_units" not in action.calls[1][1]


@pytest.mark.parametrize("gathered, facts", [
    ({}, True),
    (dict(default_ipv4={}, architecture="x86_64"), True),
    (dict(default_ipv4={}, architecture="x86_64", service_mgr="systemd"), False),
])
def test_the_facts_the_role_uses_are_read_unless_gathered(action, gathered, facts):
    run(action, task_vars=dict(TASK_VARS, ansible_facts=gathered), role_settings=True)
    assert action.calls[0][1]["facts"] is facts


def test_the_timers_files_the_read_found(action):
    found = "/opt/etcd/lib/etcd_maintenance.py"
    action._execute_module = lambda module_name, module_args, task_vars: dict(
        changed=False, files={found: dict(kind="file"), "/opt/etcd/lib/etcd_s3.py": dict(kind="absent")})
    assert run(action, role_settings=True)["host_settings"]["timer_paths_found"] == [found]


def test_the_client_pair_the_read_found(action):
    action._execute_module = lambda module_name, module_args, task_vars: dict(
        changed=False, present=[module_args["paths"][0]], files={})
    settings = run(action, role_settings=True)["host_settings"]
    assert settings["client_pair_found"] is True and settings["pki_settings"]["pair_key"] == settings["paths_read"][0]


def test_without_role_settings_the_module_has_the_tasks_arguments(action):
    result = run(action, data_dir="/var/lib/etcd", role_calendars=True)
    assert action.calls == [("raftops.etcd.etcd_host_info", dict(data_dir="/var/lib/etcd"))]
    assert "host_settings" not in result


def test_a_missing_setting_fails_before_any_read(action):
    task_vars = {k: v for k, v in TASK_VARS.items() if k != "etcd_config_dir"}
    result = run(action, task_vars=task_vars, role_settings=True)
    assert result["failed"] and "etcd_config_dir" in result["msg"] and action.calls == []


def test_every_setting_is_checked_for_meaning_first_and_a_problem_stops_the_read(action):
    task_vars = dict(TASK_VARS, inventory_hostname="etcd-1", groups=dict(all=["etcd-1"]),
                     etcd_data_dir="/var/lib", etcd_heartbeat_interval="fast")
    result = run(action, task_vars=task_vars, role_settings=True)
    assert result["failed"] and action.calls == [] and "host_settings" not in result
    # Every problem at once, in the rules' order.
    assert result["msg"].startswith("host etcd-1: etcd_heartbeat_interval='fast': a whole number of milliseconds")
    assert "; host etcd-1: etcd_data_dir='/var/lib': is a system or shared directory" in result["msg"]
    assert result["msg"].endswith("; nothing was changed")


def test_a_secret_setting_s_value_is_never_in_the_message(action):
    task_vars = dict(TASK_VARS, etcd_auth_root_password="hunter2", etcd_auth_enabled="maybe")
    result = run(action, task_vars=task_vars, role_settings=True)
    assert result["failed"] and "hunter2" not in result["msg"] and action.calls == []


def test_without_role_settings_nothing_is_checked(action):
    run(action, task_vars=dict(TASK_VARS, etcd_data_dir="/var/lib"), data_dir="/var/lib")
    assert len(action.calls) == 1


def test_each_setting_is_templated_once_for_the_check_and_the_settings(action):
    templated = []
    action._templar.template = lambda value: templated.append(value) or value
    run(action, role_settings=True)
    etcd_values = [v for k, v in TASK_VARS.items() if k.startswith("etcd_")]
    assert len(templated) == len(etcd_values)


# contact_timeout (remove_member and replace_member): the host is reached first within the bound, whatever
# the SSH settings; one that does not answer is unreachable, named with the bound, with nothing read.
def test_with_contact_timeout_a_host_that_does_not_answer_is_unreachable_with_nothing_read(action):
    import time
    action._low_level_execute_command = lambda cmd, sudoable=True, **_kw: time.sleep(30)
    started = time.monotonic()
    result = run(action, task_vars=dict(TASK_VARS, inventory_hostname="10.0.0.13"), role_settings=True,
                 contact_timeout=1)
    assert time.monotonic() - started < 5
    assert result["unreachable"] is True and action.calls == []
    assert result["msg"].startswith("host 10.0.0.13 did not answer within 1 s (etcd_first_contact_timeout): ")


def test_with_contact_timeout_a_host_that_answers_is_read_as_without_it(action):
    commands = []
    action._low_level_execute_command = lambda cmd, sudoable=True, **_kw: commands.append((cmd, sudoable)) or dict(rc=0)
    result = run(action, role_settings=True, contact_timeout=20)
    (_module, args), = action.calls
    assert commands == [("true", False)] and "contact_timeout" not in args
    assert not result.get("unreachable") and result["from"] == "module"


def test_a_contact_timeout_that_bounds_nothing_is_refused_before_the_host_is_reached(action):
    action._low_level_execute_command = lambda *a, **kw: pytest.fail("the host was reached")
    result = run(action, task_vars=dict(TASK_VARS, inventory_hostname="h1"), role_settings=True, contact_timeout=0)
    assert result["failed"] is True and action.calls == []
    assert result["msg"] == "host h1: etcd_first_contact_timeout=0: a whole number of seconds from 1 to 600; no host was reached"
