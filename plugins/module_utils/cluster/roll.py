# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""What a roll (tasks/roll.yml) says when it stops at a member: ``roll_stop_refusal``, from the
failed step's result as Ansible gives it to the rescue. Pure functions on plain data."""

# What Ansible says when it could not read a module's answer: the host went away under the module
# (a reboot empties /tmp, where the module's package was), so no answer came back.
DESERIALIZATION_FAILED = "Module result deserialization failed"


def host_lost(failure):
    """Whether a step's failed result is its host gone in mid-call rather than an answer of its module."""
    failure = failure or {}
    return bool(failure.get("unreachable")) or DESERIALIZATION_FAILED in str(failure.get("msg") or "")


def roll_stop_refusal(host, member, failure, note_path, step=""):
    """The message a roll stops with at ``host`` (member ``member``): why (the failed step's own
    message, or the host gone during the call of ``step``) and what the next run does."""
    failure = failure or {}
    if host_lost(failure):
        why = ("the host %s went away during the call of %s (a reboot or a lost connection: no answer came "
               "back), so whether that step finished is not known; once the host is back, run again to finish the "
               "roll" % (host, "'%s'" % step if step else "a step"))
    else:
        why = str(failure.get("msg") or "unknown error")
    return ("the roll stopped at %s (member %s): %s. No further member was restarted. Members that still need a "
            "restart keep %s, so the next run restarts them once the cluster is healthy; see "
            "docs/upgrade.md." % (host, member, why, note_path))
