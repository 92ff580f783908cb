"""etcd_download_on_hosts (molecule.yml): in the converge's first deploy each host fetched the
release from the mirror itself and checked it against the release's SHA256SUMS, the only file the
controller fetched into this scenario's release cache."""

import os

from etcdtest import EPHEMERAL, host

HOSTS = ["mnt-host0", "mnt-host1", "mnt-host2"]


def test_each_host_fetched_the_release_and_the_controller_only_its_checksums():
    assert sorted(os.listdir(os.path.join(EPHEMERAL, "releases", "v3.5.30"))) == ["SHA256SUMS"]
    for name in HOSTS:
        assert host(name).file("/opt/etcd/v3.5.30/etcd").is_file
        assert host(name).file("/usr/local/bin/etcd").linked_to == "/opt/etcd/v3.5.30/etcd"
