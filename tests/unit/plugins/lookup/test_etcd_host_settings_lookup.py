"""The etcd_host_settings lookup: the settings etcd_host_info's action returns, from the variables
the lookup sees (each templated), where no read of the host ran; and, by term, what the backup push's
tasks need that no task's output may show (module_utils/backup/push_targets.py)."""

import base64
from unittest.mock import MagicMock

import pytest
from ansible import constants as C
from ansible.errors import AnsibleLookupError

from ansible_collections.raftops.etcd.plugins.lookup import etcd_host_settings as lookup_module
from ansible_collections.raftops.etcd.plugins.module_utils.host.host_settings import PUSH_RECEIVE, host_settings
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import documented_options
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_host_settings import DEFAULTS

NAME = "raftops.etcd.etcd_host_settings"
C.config.initialize_plugin_configuration_definitions("lookup", NAME, documented_options(lookup_module))

TARGETS = [dict(name="o", bucket="b", access_key="a", secret_key="s"), dict(name="v", type="ssh", host="backup1", path="/srv/b")]
HOSTVARS = {"a": {"NODE_NAME": "etcd-a"}, "b": {"etcd_member_name": "etcd-b"}, "c": {}, "backup1": {"ansible_host": "10.0.0.9"}}


def lookup(*terms, **kwargs):
    plugin = lookup_module.LookupModule()
    plugin._load_name = NAME
    plugin._templar = MagicMock()
    # Each variable is templated: here a template stands for the value it renders to.
    plugin._templar.template = lambda value: value[2:] if isinstance(value, str) and value.startswith("T:") else value
    variables = dict({k: "T:%s" % v if k == "etcd_config_dir" else v for k, v in DEFAULTS.items()}, role_path="/r",
                     etcd_backup_targets=TARGETS, etcd_backup_cluster="T:prod/etcd", hostvars=HOSTVARS,
                     groups={"etcd": ["a", "b", "c"], "other": ["backup1"]})
    return plugin.run(list(terms), variables=variables, **kwargs)


def test_the_settings_of_the_templated_variables_with_the_groups_member_names():
    (settings,) = lookup()
    expected = host_settings(dict(DEFAULTS, etcd_backup_targets=TARGETS, etcd_backup_cluster="prod/etcd"), "/r")
    assert settings == dict(expected, backup_members=["etcd-a", "etcd-b", "c"])
    assert settings["env_path"] == "/etc/etcd/etcd.env"
    # The targets' credentials are in no host setting: a task's output may show those.
    assert "'s'" not in repr(settings["backup_push"]) and settings["backup_push"]["hosts"] == ["backup1"]


def test_the_push_targets_with_their_credentials_and_each_ssh_hosts_address():
    (targets,) = lookup("backup_push_targets")
    assert [(t["name"], t.get("secret_key"), t.get("address"), t.get("prefix")) for t in targets] == [
        ("o", "s", None, "prod/etcd/"), ("v", None, "10.0.0.9", None)]


def test_the_authorized_keys_changes_of_the_members_push_key():
    key = base64.b64encode(b"ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a\n").decode()
    (changes,) = lookup("backup_push_authorized", public_key=key, address="10.0.0.11")
    assert [(c["host"], c["path"], c["state"]) for c in changes] == [
        ("backup1", PUSH_RECEIVE["authorized_keys"], "present"), ("backup1", "/root/.ssh/authorized_keys2", "absent")]
    assert changes[0]["line"].startswith('command="python3 -I %s /srv/b",restrict,from="10.0.0.11" ' % PUSH_RECEIVE["script"])
    # Check mode before the key is made: nothing to authorize.
    assert lookup("backup_push_authorized", address="10.0.0.11") == [[]]
    with pytest.raises(AnsibleLookupError, match=r"^backup_push_authorized: the member's public SSH key cannot be read$"):
        lookup("backup_push_authorized", public_key=base64.b64encode(b"not a key").decode(), address="10.0.0.11")


def test_the_lines_a_push_turned_off_withdraws():
    reads = [{"content": base64.b64encode(b'{"targets": [{"type": "ssh", "host": "b1"}]}').decode()},
             {"content": base64.b64encode(b"ssh-ed25519 AAAAC3Nza+/x etcd backup push etcd-a\n").decode()}]
    (withdrawn,) = lookup("backup_push_withdrawn", reads=reads)
    assert [(w["host"], w["path"]) for w in withdrawn] == [("b1", PUSH_RECEIVE["authorized_keys"]), ("b1", "/root/.ssh/authorized_keys2")]
    assert lookup("backup_push_withdrawn") == [[]]


@pytest.mark.parametrize("terms", [["backup_members"], ["backup_push_targets", "backup_push_hosts"]])
def test_an_unknown_term_is_refused_naming_the_terms(terms):
    says = r"^etcd_host_settings: one term of backup_push_targets, backup_push_authorized, backup_push_withdrawn, or none, got "
    with pytest.raises(AnsibleLookupError, match=says):
        lookup(*terms)
