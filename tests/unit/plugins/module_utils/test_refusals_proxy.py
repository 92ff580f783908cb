"""Refusals of the proxy scenario (molecule/proxy) that `make test` no longer runs on hosts (their tests
are marked full), checked here where they are decided, with the message the scenario asserts:

- a proxy mode the collection does not run (etcd_proxy_mode=l4): the argument spec of the etcd_proxy
  role's entry point, which Ansible validates when the role starts, before its preflight (test_proxy.py's
  test_bad_input_is_refused_before_any_proxy_host_changes[l4]).

The other refusals of that test and of test_data_and_access.py are checked where they are decided:
tests/unit/plugins/filter/test_proxy.py (the namespace, the empty group, a member's port),
tests/unit/plugins/filter/test_settings_problems.py (etcd_users, etcd_roles, the root user),
tests/unit/plugins/module_utils/test_etcd_host_checks.py (auth turned on outside the role, a wrong root
password) and tests/unit/plugins/modules/test_etcd_lock.py (a run lock another run holds).
"""

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "etcd_proxy")


def errors(arguments):
    """The errors of the etcd_proxy role's main entry point on ``arguments``."""
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    return ArgumentSpecValidator(options).validate(arguments).error_messages


def test_a_proxy_mode_the_collection_does_not_run_is_refused_naming_the_modes_it_runs():
    assert errors(dict(etcd_proxy_mode="l4")) == ["value of etcd_proxy_mode must be one of: grpc, gateway, got: l4"]


@pytest.mark.parametrize("mode", ["grpc", "gateway"])
def test_the_modes_the_collection_runs_pass(mode):
    assert errors(dict(etcd_proxy_mode=mode)) == []
