"""adopt_plan, the lookup raftops.etcd.etcd_adopt_plan's: the play's settings, with the files of
etcd_pki_dir on the controller, and the inventory lines to keep."""

import pytest
from ansible import constants as C
from ansible.errors import AnsibleError

from ansible_collections.raftops.etcd.plugins.lookup import etcd_adopt_plan as lookup_module
from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import documented_options
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_adopt import MEMBERS, ROLE_DEFAULTS, reads, tls_reads

NAME = "raftops.etcd.etcd_adopt_plan"
C.config.initialize_plugin_configuration_definitions("lookup", NAME, documented_options(lookup_module))


def lookup(**kwargs):
    plugin = lookup_module.LookupModule()
    plugin._load_name = NAME
    return plugin.run([], variables={}, **kwargs)


def test_a_ca_key_in_etcd_pki_dir_means_the_collection_s_ca_signs_no_rotation(tmp_path):
    (tmp_path / "retired").mkdir()
    (tmp_path / "ca.pem").write_text("x")
    settings = dict(etcd_instance="etcd", etcd_pki_dir=str(tmp_path))
    assert adopt_plan(MEMBERS, tls_reads(), settings)["rotate_ca"] is True
    (tmp_path / "ca-key.pem").write_text("x")
    assert adopt_plan(MEMBERS, tls_reads(), settings)["rotate_ca"] is False


def test_an_etcd_pki_dir_not_there_yet_holds_nothing(tmp_path):
    plan = adopt_plan(MEMBERS, tls_reads(), dict(etcd_instance="etcd", etcd_pki_dir=str(tmp_path / "none")))
    assert plan["refusal"] == "" and plan["rotate_ca"] is True


def test_reads_that_are_no_dict_are_refused():
    with pytest.raises(ValueError, match="reads must be a dict"):
        adopt_plan(MEMBERS, [], {})


@pytest.mark.parametrize("settings, expected", [
    # etcd_pki_managed unset: the role's default (true), as in the defaults: no line of it.
    (dict(etcd_group="etcd", etcd_pki_managed=None, etcd_pki_dir="/inv/etcd-pki"),
     ["[etcd:vars]", "etcd_version=3.5.16", "etcd_data_dir=/var/lib/etcd/default", "[etcd]",
      "h0 NODE_NAME=m0", "h1 NODE_NAME=m1", "h2 NODE_NAME=m2"]),
    (dict(etcd_group="main", etcd_pki_managed=False, etcd_pki_dir="/inv/etcd-pki"),
     ["[main:vars]", "etcd_version=3.5.16", "etcd_data_dir=/var/lib/etcd/default", "etcd_pki_managed=false", "[main]",
      "h0 NODE_NAME=m0", "h1 NODE_NAME=m1", "h2 NODE_NAME=m2"]),
])
def test_the_plan_holds_the_inventory_lines_of_the_group_as_the_play_has_it(settings, expected):
    plan = lookup(members=MEMBERS, reads=reads(), settings=dict(settings, etcd_instance="etcd"), defaults=ROLE_DEFAULTS)[0]
    assert plan["refusal"] == "" and plan["inventory_lines"] == expected


@pytest.mark.parametrize("given", [dict(reads=None), dict(reads=["h0"])])
def test_the_lookup_refuses_reads_that_are_no_dict_naming_them(given):
    with pytest.raises(AnsibleError, match="'reads'"):
        lookup(members=MEMBERS, **given)
