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


def test_a_data_dir_move_reads_the_target_as_absent_empty_a_link_to_the_data_or_taken(tmp_path):
    data = tmp_path / "data"
    (data / "member").mkdir(parents=True)
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "new" / "etcd")) == dict(
        target=str(tmp_path / "new" / "etcd"), same_filesystem=True, target_state="absent")
    (tmp_path / "empty").mkdir()
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "empty"))["target_state"] == "empty"
    (tmp_path / "link").symlink_to(data)
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "link"))["target_state"] == "link"
    (tmp_path / "elsewhere").symlink_to(tmp_path / "empty")
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "elsewhere"))["target_state"] == "other"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert etcd_adopt_info._data_move(str(data), str(tmp_path / "full"))["target_state"] == "other"


def test_a_target_on_another_filesystem_is_no_rename(tmp_path, monkeypatch):
    data, target = tmp_path / "data", tmp_path / "mnt" / "etcd"
    data.mkdir()
    (tmp_path / "mnt").mkdir()
    real_stat = etcd_adopt_info.os.stat

    class Mounted:
        """The stat of a mount point: a device of its own."""
        st_dev = 99

        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(etcd_adopt_info.os, "stat", lambda path, **kw: Mounted(real_stat(path, **kw))
                        if str(path) == str(tmp_path / "mnt") else real_stat(path, **kw))
    assert etcd_adopt_info._data_move(str(data), str(target)) == dict(
        target=str(target), same_filesystem=False, target_state="absent")
