"""The etcd_kv lookup on fake_etcd_kv.FakeKVCluster, its options read from its documentation (with the
connection fragment) as Ansible's loader registers them."""

import base64

import pytest

from ansible import constants as C
from ansible.errors import AnsibleLookupError

from ansible_collections.raftops.etcd.plugins.lookup import etcd_kv as lookup_module
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_etcd_kv import FakeKVCluster
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import documented_options

URL = "http://10.0.0.1:2379"
NAME = "raftops.etcd.etcd_kv"
C.config.initialize_plugin_configuration_definitions("lookup", NAME, documented_options(lookup_module))


@pytest.fixture
def cluster(monkeypatch):
    cluster = FakeKVCluster()
    for key, value in (("config/a", "1"), ("config/b", "2"), ("configs", "x"), ("blob", b"\xff")):
        cluster.put(key, value)
    seen = []

    def clients(params):
        seen.append(params)
        return [cluster.client(u) for u in params["endpoints"]]

    monkeypatch.setattr(lookup_module, "clients_from_params", clients)
    cluster.params_seen = seen
    return cluster


def lookup(*terms, **kwargs):
    plugin = lookup_module.LookupModule()
    plugin._load_name = NAME
    return plugin.run(list(terms), variables={}, **dict(dict(endpoints=[URL]), **kwargs))


def test_keys_and_a_missing_key(cluster):
    assert lookup("config/a", "nope") == ["1", None]


def test_a_prefix_is_a_dict_of_its_keys(cluster):
    assert lookup("config/", prefix=True) == [{"config/a": "1", "config/b": "2"}]
    assert lookup("zzz/", prefix=True) == [{}]


def test_values_that_are_not_text(cluster):
    assert lookup("blob", value_encoding="base64") == [base64.b64encode(b"\xff").decode()]
    with pytest.raises(AnsibleLookupError, match="the value of key blob is not UTF-8 text: read it with "
                                                 "value_encoding=base64"):
        lookup("blob")


def test_the_connection_options_are_the_modules(cluster):
    lookup("config/a", ca_cert="/pki/ca.pem", auth_user="root", auth_password="pw", timeout=3)
    params = cluster.params_seen[-1]
    assert params["ca_cert"] == "/pki/ca.pem" and params["auth_user"] == "root" and params["timeout"] == 3


def test_errors_name_the_plugin(cluster):
    cluster.down.add(cluster.members[0]["id"])
    with pytest.raises(AnsibleLookupError, match=r"raftops\.etcd\.etcd_kv: no endpoint answered"):
        lookup("config/a")
    with pytest.raises(AnsibleLookupError, match="key must not be empty"):
        lookup("", prefix=True)
