"""Refusals of the hardening scenario (molecule/hardening) that `make test` no longer runs on hosts (their
tests are marked full), checked here where they are decided, as the scenario's runs ask for them:

- identity changes of running members, each batch of one run named at once by the deploy's plan
  (module_utils/plan/plan.py member_plan): the data dir, the ports and the WAL dir of one member with
  NODE_NAMEs swapped between two live members; a move to http with a renamed member
  (test_hardening.py's test_identity_changes_of_running_members_are_refused);
- the bad values of each of the scenario's three batches, every variable named with its host and what it
  takes (plugins/module_utils/plan/settings.py settings_problems; test_bad_values_are_refused_before_any_host_changes);
- fewer forks than hosts, warned of with the forks to set (count_warnings; test_fewer_forks_than_hosts_are_warned_of).

The others are checked where they are decided: a schedule systemd cannot read (test_etcd_preflight_checks.py's
test_each_schedule_systemd_cannot_read_is_refused_with_its_host_setting_and_reason), each identity change
alone (test_etcd_plan.py's test_identity_changes_of_a_running_member_are_refused_with_old_and_new); the run
lock another run holds (modules/test_etcd_lock.py's test_a_held_lock_is_refused_naming_the_holder_and_how_to_release_it
and test_the_lock_of_a_run_that_may_live_is_refused_naming_it, test_etcd_run_lock.py's
test_a_lock_held_by_another_is_refused_naming_it_and_the_release_command and
test_the_pki_dir_lock_refuses_a_second_run_naming_the_first, a waiting run's
test_wait_then_acquire_when_the_holders_lease_expires, the maintenance's lock:
test_etcd_operation_plan.py's test_every_host_answered_the_maintenance_holds_the_lock_and_defragments_in_the_read_order),
a skipped minor version (filter/test_etcd_filters.py's test_upgrade_problem_refuses_a_skipped_minor_naming_the_step),
and a CA rotation with --limit (filter/test_etcd_filters.py's
test_a_host_left_out_by_limit_without_address_is_named_with_what_to_do, test_etcd_pki_rotation.py's
test_members_left_out_by_limit_refuse_a_rotation_naming_them_and_write_nothing).
"""

import ast
import os

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings
from ansible_collections.raftops.etcd.plugins.module_utils.plan.plan import count_warnings, member_plan
from ansible_collections.raftops.etcd.tests.unit.plugins.filter.test_settings_problems import BASE
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_plan import (
    facts,
    installed,
    record,
    running,
)

# --- Identity changes of running members -----------------------------------------------------------


def test_paths_ports_and_swapped_names_of_running_members_are_named_at_once():
    members = [record(0, peer=2480, client=2479), record(1, name="m2"), record(2, name="m1")]
    wanted = {0: dict(data_dir="/srv/etcd", wal_dir="/srv/etcd-wal/wal")}
    plan = member_plan(members, facts({i: installed(i) for i in range(3)}, running(0, 1, 2), wanted))
    problems = plan["problems"]
    for expected in (
            "host h0: etcd_data_dir is /srv/etcd, but the member runs with its data in /var/lib/etcd; the role does "
            "not move a live member's data",
            "host h0: etcd_peer_port is 2480, but the member runs with peer URL https://10.0.0.10:2380",
            "host h0: etcd_client_port is 2479, but the member serves clients at https://10.0.0.10:2379",
            "host h0: etcd_wal_dir is /srv/etcd-wal/wal, but the member runs with its WAL in its data dir",
            # Node names swapped between live members.
            "host h1: NODE_NAME is m2, but the member there runs as m1",
            "host h2: NODE_NAME is m1, but the member there runs as m2"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert len(problems) == 6, problems


def test_a_move_to_http_and_a_renamed_member_are_named_at_once():
    members = [record(0, scheme="http", name="renamed-0"), record(1), record(2)]
    plan = member_plan(members, facts({i: installed(i) for i in range(3)}, running(0, 1, 2)))
    problems = plan["problems"]
    for expected in ("host h0: etcd_tls asks for http, but the member runs with https peer URL https://10.0.0.10:2380",
                     "host h0: NODE_NAME is renamed-0, but the member there runs as m0; a member's name cannot "
                     "change in place"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert len(problems) == 2, problems


# --- Bad values, the scenario's batches ------------------------------------------------------------

# (variable, value, what the message says): molecule/hardening/tests/test_hardening.py's BAD_VALUES, read
# from that file (a literal: the scenario's module needs its hosts to be imported), one table for both.
SCENARIO = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "molecule", "hardening", "tests",
                        "test_hardening.py")


def scenario_table(name):
    with open(SCENARIO, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name])


BAD_VALUES = scenario_table("BAD_VALUES")
assert len(BAD_VALUES) == 3  # the test reads the scenario's three batches


@pytest.mark.parametrize("batch", BAD_VALUES, ids=lambda batch: "+".join(v for v, _x, _t in batch))
def test_each_bad_value_of_a_batch_is_named_with_its_host_at_once(batch):
    found = settings.settings_problems(dict(BASE, **{variable: value for variable, value, _text in batch}), "hard-host0")
    text = " ".join(" ".join(found).split())
    for variable, _value, fragments in batch:
        assert "host hard-host0: %s" % variable in text, (variable, found)
        for fragment in [fragments] if isinstance(fragments, str) else fragments:
            assert fragment in text, (variable, fragment, found)


# --- Fewer forks than hosts ------------------------------------------------------------------------


def test_two_forks_for_three_hosts_are_warned_of_with_the_forks_to_set():
    assert count_warnings(3, 2, 3) == [
        "WARNING: forks=2 is fewer than the 3 hosts of this play: Ansible runs each task on 2 hosts at a time, so "
        "every task waits for its hosts in 2 turns; set forks to 3 or more (ansible-playbook -f 3, or forks in "
        "ansible.cfg [defaults])."]
