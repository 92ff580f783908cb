"""plugin_utils/arguments.py: a task's arguments validated as its module would validate them."""

import pytest

from ansible_collections.raftops.etcd.plugins.plugin_utils.arguments import task_params

SPEC = dict(name=dict(type="str", required=True), count=dict(type="int", default=3))


@pytest.mark.parametrize("args, params", [
    (dict(name="a"), dict(name="a", count=3)),
    (dict(name="a", count="5"), dict(name="a", count=5)),
])
def test_valid_arguments_are_the_validated_parameters(args, params):
    result = dict(skipped=False)
    assert task_params(result, "raftops.etcd.x", SPEC, args) == params
    assert result == dict(skipped=False)


@pytest.mark.parametrize("args, msg", [
    (dict(), "raftops.etcd.x: missing required arguments: name"),
    (dict(name="a", other=1), "raftops.etcd.x: other. Supported parameters include: count, name."),
    (dict(other=1), "raftops.etcd.x: missing required arguments: name; other. Supported parameters include: count, name."),
])
def test_invalid_arguments_fail_the_task_naming_the_module_and_every_error(args, msg):
    result = dict(skipped=False)
    assert task_params(result, "raftops.etcd.x", SPEC, args) is None
    assert result == dict(skipped=False, failed=True, changed=False, msg=msg)
