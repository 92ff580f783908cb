import os
import sys

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared", "tests"))

import pytest
from etcdtest import BACKUPS, playbook, snapshots, why_failed


@pytest.fixture(scope="session")
def first_cluster_backup():
    """A real backup of the first cluster, taken once, for the restores in check mode of both test
    files (a backup in check mode takes none)."""
    rc, out = playbook("backup")
    assert rc == 0, why_failed(out)
    return os.path.join(BACKUPS, snapshots()[-1])
