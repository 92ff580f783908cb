"""Fixtures of the library tests: the PKI directory of the etcd_pki tests (not there until a run makes
it), and a local server answering as etcd's gateway does for EtcdClient's tests."""

import pytest

from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import Gateway


@pytest.fixture
def pki(tmp_path):
    return str(tmp_path / "pki")


@pytest.fixture
def gateway():
    gw = Gateway()
    yield gw
    gw.close()
