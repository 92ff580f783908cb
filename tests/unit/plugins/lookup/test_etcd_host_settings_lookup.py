"""The etcd_host_settings lookup: the settings etcd_host_info's action returns, from the variables
the lookup sees (each templated), where no read of the host ran."""

from unittest.mock import MagicMock

from ansible_collections.raftops.etcd.plugins.lookup.etcd_host_settings import LookupModule
from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import host_settings
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_host_settings import DEFAULTS


def test_the_settings_of_the_templated_variables():
    lookup = LookupModule()
    lookup._templar = MagicMock()
    # Each variable is templated: here a template stands for the value it renders to.
    variables = dict({k: "T:%s" % v if k == "etcd_config_dir" else v for k, v in DEFAULTS.items()}, role_path="/r")
    lookup._templar.template = lambda value: value[2:] if isinstance(value, str) and value.startswith("T:") else value
    (settings,) = lookup.run([], variables=variables)
    assert settings == host_settings(DEFAULTS, "/r")
    assert settings["env_path"] == "/etc/etcd/etcd.env"
