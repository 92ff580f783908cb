"""etcd run from an image (plugins/module_utils/host/container_runtime.py): the engine, the image's name,
what goes into the image a host builds from the release, the unit's wait under Docker, and which runtime a
unit runs."""

import io
import tarfile

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import (
    container_engine, container_image, host_engine, image_tar, libraries, ready_wait, runtime_of_unit)

LDD_DYNAMIC = """\
\tlinux-vdso.so.1 (0x00007ffd5b9f2000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5410579000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f5410779000)
"""


@pytest.mark.parametrize("has_podman, has_docker, engine", [
    (True, False, "podman"), (True, True, "podman"), (False, True, "docker"),
    # Neither: the role installs Podman.
    (False, False, "podman"),
])
def test_docker_runs_the_image_only_where_the_host_has_docker_and_no_podman(has_podman, has_docker, engine):
    assert container_engine(has_podman, has_docker) == engine


def test_the_host_s_engine_and_its_program_none_where_the_host_lacks_it():
    assert host_engine({"docker": "/usr/bin/docker"}.get) == ("docker", "/usr/bin/docker")
    assert host_engine({"docker": "/usr/bin/docker", "podman": "/usr/bin/podman"}.get) == ("podman", "/usr/bin/podman")
    assert host_engine({}.get) == ("podman", None)


def test_the_wait_under_docker_ends_with_the_member_s_answer_or_the_unit_s_main_process():
    wait = ready_wait(["/usr/local/bin/etcdctl", "--endpoints=https://127.0.0.1:2379", "--key=/etc/etcd pki/k.pem",
                       "endpoint", "status"])
    # $$ is systemd's $: the shell reads the MAINPID systemd gives ExecStartPost=.
    assert wait == ('while kill -0 "$$MAINPID" 2>/dev/null; do /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 '
                    "'--key=/etc/etcd pki/k.pem' endpoint status >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1")


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
    assert runtime_of_unit("ExecStop=/usr/bin/docker stop --time=15 etcd\n") == "container"
