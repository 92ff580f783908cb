"""The etcd_install action: a host whose etcd_host_info read shows the account, the release and the
links in place is not asked at all; any other host is asked, without host_info among the arguments."""

from unittest.mock import MagicMock

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_install import ActionModule

RELEASE = "/opt/etcd/v3.5.1"
BIN = "/usr/local/bin"
BINARIES = ["etcd", "etcdctl", "etcdutl"]
IN_PLACE = {"%s/%s" % (BIN, name): "%s/%s" % (RELEASE, name) for name in BINARIES}
READ = dict(account=["x", "998", "998", "", "/var/lib/etcd", "/usr/sbin/nologin"], account_name="etcd",
            account_group=True, present=[RELEASE + "/etcd"], links=IN_PLACE)
ARGS = dict(release_dir=RELEASE, bin_dir=BIN, binaries=BINARIES, link=True, user="etcd", home="/var/lib/etcd")


@pytest.fixture
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module.calls = []

    def execute_module(module_name, module_args, task_vars):
        module.calls.append(module_args)
        return {"changed": True, "account_made": False, "unpacked": False, "linked": ["/usr/local/bin/etcd"]}
    module._execute_module = execute_module
    return module


def run(action, **args):
    action._task.args = dict(ARGS, **args)
    return action.run(task_vars={})


def test_a_host_with_everything_in_place_is_not_asked(action):
    assert run(action, host_info=READ) == dict(changed=False, account_made=False, unpacked=False, linked=[])
    assert action.calls == []


@pytest.mark.parametrize("read", [
    dict(READ, links=dict(IN_PLACE, **{BIN + "/etcd": "/opt/etcd/v3.4.23/etcd"})),
    dict(READ, account=[]),
    dict(READ, present=[]),
    None,
])
def test_any_other_host_is_asked_without_the_read(action, read):
    result = run(action, **({"host_info": read} if read is not None else {}))
    assert result["changed"] is True and result["linked"] == ["/usr/local/bin/etcd"]
    assert action.calls == [ARGS]


def test_link_false_leaves_the_links_to_the_roll_and_asks_no_host_with_the_release(action):
    outdated = dict(READ, links={path: "/opt/etcd/v3.4.23/x" for path in IN_PLACE})
    assert run(action, host_info=outdated, link="False")["changed"] is False
    assert action.calls == []
