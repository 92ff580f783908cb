"""etcd_roll: the message a roll stops with, in the collection's words, whatever the failed step was."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.roll import host_lost, roll_stop_refusal

NOTE = "/etc/etcd/restart-pending"
# What the rescue gets when the member's host rebooted while etcd_health ran there.
GONE = dict(changed=False, msg="Module result deserialization failed",
            module_stderr="Traceback (most recent call last):\n  File ... FileNotFoundError: [Errno 2] No such file or "
                          "directory: '/tmp/ansible_raftops.etcd.etcd_health_payload_t_2/ansible_raftops.etcd."
                          "etcd_health_payload.zip'\n")
TAIL = (". No further member was restarted. Members that still need a restart keep /etc/etcd/restart-pending, so the "
        "next run restarts them once the cluster is healthy; see docs/upgrade.md.")


@pytest.mark.parametrize("failure, lost", [
    (GONE, True),
    (dict(unreachable=True, msg="Failed to connect to the host via ssh"), True),
    (dict(msg="etcd cluster not healthy after 15s"), False),
    ({}, False),
    (None, False),
])
def test_a_host_is_lost_when_ansible_could_not_read_the_module_s_answer(failure, lost):
    assert host_lost(failure) is lost


def test_a_step_that_failed_stops_the_roll_with_its_own_message():
    failure = dict(msg="etcd cluster not healthy after 15s (...): h1 (https://10.0.0.11:2379): unreachable")
    assert roll_stop_refusal("h1", "etcd-1", failure, NOTE, "Wait until the cluster is healthy") == (
        "the roll stopped at h1 (member etcd-1): etcd cluster not healthy after 15s (...): h1 "
        "(https://10.0.0.11:2379): unreachable" + TAIL)


def test_a_host_gone_during_the_call_is_said_in_the_collection_s_words():
    message = roll_stop_refusal("h1", "etcd-1", GONE, NOTE, "Wait until the cluster is healthy and caught up with h1")
    assert message == (
        "the roll stopped at h1 (member etcd-1): the host h1 went away during the call of 'Wait until the cluster is "
        "healthy and caught up with h1' (a reboot or a lost connection: no answer came back), so whether that step "
        "finished is not known; once the host is back, run again to finish the roll" + TAIL)
    # Nothing of Ansible's own wording or of the traceback is passed on.
    assert "deserialization" not in message and "Traceback" not in message


def test_a_failure_without_a_message_or_a_step_is_still_worded():
    assert roll_stop_refusal("h1", "etcd-1", {}, NOTE) == "the roll stopped at h1 (member etcd-1): unknown error" + TAIL
    assert "during the call of a step " in roll_stop_refusal("h1", "etcd-1", GONE, NOTE)
