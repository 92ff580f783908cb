"""etcd_backup_key_file's default: one key file per cluster (etcd_backup_cluster), so that two clusters of
one inventory directory never share the key their backups are sealed to and signed with."""

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "etcd")


def defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def key_file(**inventory):
    # The role's defaults are templates Ansible trusts (the role's own files).
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in defaults().items()}
    variables = dict(trusted, **dict(dict(inventory_dir="/srv/inventory", playbook_dir="/srv/playbooks"), **inventory))
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template("{{ etcd_backup_key_file }}"))


def test_two_clusters_of_one_inventory_directory_have_a_key_file_each():
    main = key_file(etcd_group="etcd", etcd_instance="etcd")
    events = key_file(etcd_group="etcd_events", etcd_instance="etcd")
    assert main == "/srv/inventory/etcd+etcd-backup.key"
    assert events == "/srv/inventory/etcd_events+etcd-backup.key"
    # Two instances of one group, and a cluster named on purpose, each theirs.
    assert key_file(etcd_group="etcd", etcd_instance="etcd-events") == "/srv/inventory/etcd+etcd-events-backup.key"
    assert key_file(etcd_group="etcd", etcd_instance="etcd", etcd_backup_cluster="prod/eu/etcd") == (
        "/srv/inventory/prod+eu+etcd-backup.key")
    # Without an inventory directory, beside the playbook.
    assert key_file(etcd_group="etcd", etcd_instance="etcd", inventory_dir="") == "/srv/playbooks/etcd+etcd-backup.key"


def test_the_documented_default_is_the_defaults():
    with open(os.path.join(ROLE, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    documented = {spec["options"]["etcd_backup_key_file"]["default"] for spec in specs.values()
                  if "etcd_backup_key_file" in spec.get("options", {})}
    assert documented == {"{{ inventory_dir }}/{{ etcd_backup_cluster | replace('/', '+') }}-backup.key"}
    assert "etcd_backup_cluster | replace('/', '+')" in defaults()["etcd_backup_key_file"]
