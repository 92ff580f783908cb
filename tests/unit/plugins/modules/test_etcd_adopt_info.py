"""etcd_adopt_info's read of a running etcd's environment: from the process, or, where root may not
read another user's process (a container without CAP_SYS_PTRACE), as its unit gives it."""

from ansible_collections.raftops.etcd.plugins.modules import etcd_adopt_info


def test_the_environment_comes_from_the_process_where_it_may_be_read(monkeypatch):
    monkeypatch.setattr(etcd_adopt_info, "_read", lambda path, mode="rb": b"ETCD_NAME=a\0HOME=/\0")
    assert etcd_adopt_info._environment(7, {}, []) == ({"ETCD_NAME": "a", "HOME": "/"}, "process")


def test_else_from_the_unit_its_files_overriding_its_environment(monkeypatch, tmp_path):
    defaults = tmp_path / "etcd"
    defaults.write_text("# package settings\nETCD_NAME=host0\nETCD_DATA_DIR=\"/var/lib/etcd/default\"\n")

    def read(path, mode="rb"):
        if path.startswith("/proc/"):
            raise PermissionError(13, "Permission denied", path)
        with open(path, mode) as handle:
            return handle.read()

    monkeypatch.setattr(etcd_adopt_info, "_read", read)
    props = {"Environment": ["DAEMON_ARGS= ETCD_NAME=box 'ETCD_X=a b'"]}
    environ, source = etcd_adopt_info._environment(7, props, [str(defaults), str(tmp_path / "missing")])
    assert source == "unit"
    assert environ == {"DAEMON_ARGS": "", "ETCD_NAME": "host0", "ETCD_X": "a b", "ETCD_DATA_DIR": "/var/lib/etcd/default"}
