"""etcd run from an image (plugins/module_utils/host/container_runtime.py): the image's name, what goes into
the image a host builds from the release, and which runtime a unit runs."""

import io
import tarfile

from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import (
    container_image, image_tar, libraries, runtime_of_unit)

LDD_DYNAMIC = """\
\tlinux-vdso.so.1 (0x00007ffd5b9f2000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5410579000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f5410779000)
"""


def test_the_image_is_the_site_s_or_the_one_built_of_the_release():
    assert container_image("", "3.5.30") == "localhost/raftops-etcd:v3.5.30"
    site = "registry.example.com/etcd@sha256:" + "ab" * 32
    assert container_image(site, "3.5.30") == site


def test_a_distribution_s_build_brings_its_c_library_and_a_static_build_nothing():
    # The vDSO is the kernel's, no file: it stays out.
    assert libraries(LDD_DYNAMIC) == ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    assert libraries("\tnot a dynamic executable\n") == []


def test_the_image_archive_holds_each_file_with_its_directories_the_same_each_time():
    files = [("/usr/local/bin/etcd", b"ELF", 0o755), ("/lib64/ld-linux-x86-64.so.2", b"LD", 0o755)]
    archive = image_tar(files)
    assert archive == image_tar(list(reversed(files)))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["lib64", "lib64/ld-linux-x86-64.so.2", "usr", "usr/local", "usr/local/bin",
                                   "usr/local/bin/etcd"]
        assert members["usr/local/bin"].isdir() and members["usr/local/bin/etcd"].mode == 0o755
        assert tar.extractfile("usr/local/bin/etcd").read() == b"ELF"
        assert {m.uid for m in members.values()} == {0} and {m.mtime for m in members.values()} == {0}


def test_the_runtime_a_unit_runs():
    assert runtime_of_unit(None) is None
    assert runtime_of_unit("[Service]\nExecStart=/etc/etcd/etcd-start\n") == "host"
    assert runtime_of_unit("ExecStop=/usr/bin/podman stop --ignore --time=15 etcd\n") == "container"
