"""The PKI directory of the etcd_pki library tests: not there until a run makes it."""

import pytest


@pytest.fixture
def pki(tmp_path):
    return str(tmp_path / "pki")
