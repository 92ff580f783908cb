"""etcd_discovery_token against a fake discovery cluster over real HTTP: v2 (3.4/3.5) and v3 (3.6, unit-tested only)."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.modules import etcd_discovery_token
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_discovery import DiscoveryServer
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match

TOKEN_DIR = "/_etcd/registry/6c007a14"


@pytest.fixture
def disco():
    server = DiscoveryServer()
    yield server
    server.close()


def run(capsys, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        etcd_discovery_token.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result


def v2(disco, **more):
    return dict({"url": disco.base + "/v2/keys" + TOKEN_DIR}, **more)


def test_v2_creates_the_token_with_its_size_once(disco, capsys):
    result = run(capsys, v2(disco, size=3))
    assert result["changed"] is True and result["size"] == 3 and result["members"] == []
    assert disco.keys == {TOKEN_DIR + "/_config/size": "3"}
    assert ("PUT", "/v2/keys" + TOKEN_DIR + "/_config/size?prevExist=false") in disco.requests
    again = run(capsys, v2(disco, size=3))
    assert again["changed"] is False and again["size"] == 3


def test_v2_check_mode_writes_nothing(disco, capsys):
    result = run(capsys, v2(disco, size=3), check_mode=True)
    assert result["changed"] is True and disco.keys == {}


def test_v2_refuses_a_used_token(disco, capsys):
    disco.keys.update({TOKEN_DIR + "/_config/size": "3", TOKEN_DIR + "/8e9e05c52164694d": "etcd-a=https://10.0.0.11:2380"})
    result = run(capsys, v2(disco, size=3))
    assert result["rc"] == 1
    # The token is a secret: the message says what is wrong without it (the operator passed it).
    assert result["msg"] == (
        "raftops.etcd.etcd_discovery_token: discovery token ******** is already used: 1 member(s) registered "
        "(etcd-a=https://10.0.0.11:2380); a token bootstraps one cluster only, use a new token")
    assert TOKEN_DIR.rsplit("/", 1)[-1] not in json.dumps(result)
    assert len(disco.keys) == 2


def test_v2_refuses_a_token_of_another_size(disco, capsys):
    disco.keys[TOKEN_DIR + "/_config/size"] = "5"
    result = run(capsys, v2(disco, size=3))
    assert result["rc"] == 1
    assert result["msg"].endswith("has size 5, not 3: use a new token (or delete this one with state=absent)")


def test_v2_deletes_the_token_and_its_members(disco, capsys):
    disco.keys.update({TOKEN_DIR + "/_config/size": "3", TOKEN_DIR + "/a1": "etcd-a=https://10.0.0.11:2380",
                       "/_etcd/registry/other/_config/size": "3"})
    result = run(capsys, v2(disco, state="absent"))
    assert result["changed"] is True and result["members"] == ["etcd-a=https://10.0.0.11:2380"]
    assert disco.keys == {"/_etcd/registry/other/_config/size": "3"}
    assert run(capsys, v2(disco, state="absent"))["changed"] is False


def test_v2_names_a_cluster_without_the_v2_api(capsys):
    server = DiscoveryServer(v2=False)
    try:
        result = run(capsys, v2(server, size=3))
    finally:
        server.close()
    assert result["rc"] == 1
    assert "must serve etcd's v2 API (etcd 3.5 needs --enable-v2; 3.6 has none)" in result["msg"]


def test_v2_names_a_cluster_that_does_not_answer(capsys):
    result = run(capsys, {"url": "http://127.0.0.1:9/v2/keys/_etcd/registry/t", "size": 3, "timeout": 2})
    assert result["rc"] == 1 and "does not answer" in result["msg"]


@pytest.mark.parametrize("url", ["http://d:2379/_etcd/registry/t", "http://d:2379/v2/keys/", "ftp://d/v2/keys/t"])
def test_v2_refuses_a_url_that_is_no_token(url, capsys):
    result = run(capsys, {"url": url, "size": 3})
    assert result["rc"] == 1 and "is not a v2 discovery URL" in result["msg"]


def test_v3_creates_refuses_and_deletes_under_the_registry_prefix(disco, capsys):
    args = {"token": "t1", "endpoints": ["http://127.0.0.1:9", disco.base], "size": 3, "timeout": 2}
    assert run(capsys, args)["changed"] is True
    assert disco.keys == {"/_etcd/registry/t1/_config/size": "3"}
    assert run(capsys, args)["changed"] is False
    disco.keys["/_etcd/registry/t1/members/8e9e05c52164694d"] = "etcd-a=https://10.0.0.11:2380"
    disco.keys["/_etcd/registry/t10/_config/size"] = "3"  # another token that shares the prefix t1
    refused = run(capsys, args)
    assert refused["rc"] == 1 and "is already used: 1 member(s) registered" in refused["msg"]
    gone = run(capsys, dict(args, state="absent"))
    assert gone["changed"] is True and gone["size"] == 3
    assert disco.keys == {"/_etcd/registry/t10/_config/size": "3"}


def test_v3_needs_endpoints(capsys):
    result = run(capsys, {"token": "t1", "size": 3})
    assert result["rc"] == 1 and "endpoints must name" in result["msg"]


def test_present_needs_a_size_and_one_protocol(capsys):
    assert "size" in run(capsys, {"url": "http://d:2379/v2/keys/t"})["msg"]
    assert "mutually exclusive" in run(capsys, {"url": "http://d:2379/v2/keys/tok-1", "token": "tok-1", "size": 3})["msg"]


def test_documentation_matches_the_argument_spec():
    assert_documented_options_match(etcd_discovery_token)
