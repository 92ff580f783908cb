"""The etcd_install action: a host whose etcd_host_info read shows the account, the release and the
links in place is not asked at all; any other host is asked, without host_info among the arguments."""

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.raftops.etcd.plugins.action.etcd_install import ActionModule

RELEASE = "/opt/etcd/v3.5.1"
BIN = "/usr/local/bin"
BINARIES = ["etcd", "etcdctl", "etcdutl"]
IN_PLACE = {"%s/%s" % (BIN, name): "%s/%s" % (RELEASE, name) for name in BINARIES}
READ = dict(account=["x", "998", "998", "", "/var/lib/etcd", "/usr/sbin/nologin"], account_name="etcd",
            account_group=True, present=[RELEASE + "/etcd"], absent=[], links=IN_PLACE)
ARGS = dict(release_dir=RELEASE, bin_dir=BIN, binaries=BINARIES, link=True, user="etcd", home="/var/lib/etcd")


@pytest.fixture
def action(monkeypatch, tmp_path):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    module = ActionModule(MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    module._task.check_mode = False
    module.calls, module.sent = [], []
    module._make_tmp_path = lambda: None
    module._connection._shell.tmpdir = "/tmp/ansible-tmp"
    module._connection._shell.join_path = lambda *parts: "/".join(parts)
    module._transfer_file = lambda src, dest: module.sent.append((src, dest))
    module._fixup_perms2 = lambda paths: None
    module._remove_tmp_path = lambda path: None
    module.tarball = tmp_path / "etcd-v3.5.1-linux-amd64.tar.gz"
    module.tarball.write_bytes(b"release")

    def execute_module(module_name, module_args, task_vars):
        module.calls.append(module_args)
        return {"changed": True, "account_made": False, "unpacked": False, "linked": ["/usr/local/bin/etcd"]}
    module._execute_module = execute_module
    return module


def run(action, **args):
    action._task.args = dict(ARGS, **args)
    return action.run(task_vars={})


def test_a_host_with_everything_in_place_is_not_asked(action):
    assert run(action, host_info=READ) == dict(changed=False, account_made=False, unpacked=False, linked=[], image_made=False)
    assert action.calls == []


@pytest.mark.parametrize("read", [
    dict(READ, links=dict(IN_PLACE, **{BIN + "/etcd": "/opt/etcd/v3.4.23/etcd"})),
    dict(READ, account=[]),
    # The release's etcd was not asked about.
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


def test_a_host_known_to_lack_the_release_gets_the_tarball_with_the_first_call(action):
    lacking = dict(READ, present=[], absent=[RELEASE + "/etcd"], links=dict.fromkeys(IN_PLACE))
    run(action, host_info=lacking, src=str(action.tarball), checksum="0" * 64)
    assert action.sent == [(str(action.tarball), "/tmp/ansible-tmp/" + action.tarball.name)]
    assert [call.get("host_src") for call in action.calls] == ["/tmp/ansible-tmp/" + action.tarball.name]


def test_in_check_mode_a_host_lacking_the_release_is_asked_and_sent_nothing(action):
    action._task.check_mode = True
    lacking = dict(READ, present=[], absent=[RELEASE + "/etcd"], links=dict.fromkeys(IN_PLACE))
    run(action, host_info=lacking, src=str(action.tarball), checksum="0" * 64)
    assert action.sent == [] and [call.get("host_src") for call in action.calls] == [None]


def test_a_host_that_fetches_the_release_itself_is_asked_once_and_sent_nothing(action):
    lacking = dict(READ, present=[], absent=[RELEASE + "/etcd"], links=dict.fromkeys(IN_PLACE))
    url = "https://mirror.example/v3.5.1/etcd-v3.5.1-linux-amd64.tar.gz"
    run(action, host_info=lacking, url=url, checksum="0" * 64)
    assert action.sent == []
    assert [(call.get("url"), call.get("host_src")) for call in action.calls] == [(url, None)]


def test_with_release_the_tarball_and_its_checksum_come_from_the_cache_only_when_the_host_is_asked(action, tmp_path):
    (tmp_path / "SHA256SUMS").write_text("%s  %s\n" % ("ab" * 32, action.tarball.name))
    release = {"from": "cache", "cache_dir": str(tmp_path), "url": "http://m/v3.5.1", "version": "3.5.1", "architecture": "amd64"}
    assert run(action, host_info=READ, release=release)["changed"] is False and action.calls == []
    lacking = dict(READ, present=[], absent=[RELEASE + "/etcd"], links=dict.fromkeys(IN_PLACE))
    run(action, host_info=lacking, release=release)
    assert action.sent == [(str(action.tarball), "/tmp/ansible-tmp/" + action.tarball.name)]
    assert [(c.get("checksum"), "release" in c) for c in action.calls] == [("ab" * 32, False)]
    action.calls.clear()
    run(action, host_info=lacking, release=dict(release, **{"from": "url"}))
    assert [(c.get("url"), c.get("src")) for c in action.calls] == [("http://m/v3.5.1/" + action.tarball.name, None)]
    action.calls.clear()
    run(action, release=dict(release, **{"from": "none"}))
    assert action.calls == [ARGS]


def test_with_release_the_host_architecture_as_ansible_names_it_picks_etcds_tarball(action, tmp_path):
    (tmp_path / "SHA256SUMS").write_text("%s  %s\n" % ("ab" * 32, action.tarball.name))
    release = {"from": "url", "cache_dir": str(tmp_path), "url": "http://m/v3.5.1", "version": "3.5.1", "architecture": "x86_64"}
    run(action, release=release)
    assert [c.get("url") for c in action.calls] == ["http://m/v3.5.1/etcd-v3.5.1-linux-amd64.tar.gz"]
    action.calls.clear()
    with pytest.raises(AnsibleActionFail, match=r"^the release's tarball and checksum are unknown, nothing was installed: "
                                                r"unsupported architecture armv7l; etcd releases exist for x86_64, "):
        run(action, release=dict(release, architecture="armv7l"))
    assert action.calls == []


def test_with_release_a_cache_without_the_sums_fails_before_the_host_is_asked(action, tmp_path):
    release = {"from": "cache", "cache_dir": str(tmp_path / "none"), "url": "http://m/v3.5.1", "version": "3.5.1",
               "architecture": "amd64"}
    with pytest.raises(AnsibleActionFail, match="the release's tarball and checksum are unknown, nothing was installed: "):
        run(action, release=release)
    assert action.calls == []
