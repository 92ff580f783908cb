"""etcd_install on a temporary directory: unpacks a release only when it is incomplete, checks the
copy's SHA-256 first, refuses what is not a release, writes etcd last, and switches links atomically."""

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import pwd
import tarfile
import threading

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.modules import etcd_install

USER = pwd.getpwuid(os.getuid()).pw_name
TOP = "etcd-v3.5.1-linux-amd64/"
BINARIES = ["etcd", "etcdctl", "etcdutl"]


def build_tarball(path, entries):
    """A gzipped tarball of ``entries``: name -> bytes (a file), None (a directory) or ('link', target)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif isinstance(data, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, data[1]
                archive.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755 if "/etcd" in name else 0o644
                archive.addfile(info, io.BytesIO(data))
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


RELEASE = {TOP: None, TOP + "etcd": b"etcd-binary", TOP + "etcdctl": b"etcdctl-binary",
           TOP + "etcdutl": b"etcdutl-binary", TOP + "README.md": b"readme", TOP + "Documentation/": None,
           TOP + "Documentation/dev.md": b"docs"}


@pytest.fixture
def layout(tmp_path):
    tarball = tmp_path / "etcd-v3.5.1-linux-amd64.tar.gz"
    checksum = build_tarball(tarball, RELEASE)
    args = {"src": "/controller/cache/" + tarball.name, "checksum": checksum, "host_src": str(tarball),
            "release_dir": str(tmp_path / "opt" / "v3.5.1"), "bin_dir": str(tmp_path / "bin"),
            "make_bin_dir": True, "binaries": BINARIES}
    return args, tmp_path


def run(args, capsys, check=False):
    with patch_module_args(dict(args, _ansible_check_mode=check)), pytest.raises(SystemExit) as exit_info:
        etcd_install.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_unpacks_links_once_then_changes_nothing(layout, capsys):
    args, tmp = layout
    code, out = run(args, capsys)
    assert code == 0 and out["changed"] and out["unpacked"] and not out["account_made"]
    assert out["linked"] == [str(tmp / "bin" / name) for name in BINARIES]
    release = tmp / "opt" / "v3.5.1"
    assert (release / "etcd").read_bytes() == b"etcd-binary"
    assert (release / "Documentation" / "dev.md").read_bytes() == b"docs"
    assert os.stat(release / "etcd").st_mode & 0o777 == 0o755 and os.stat(release / "README.md").st_mode & 0o777 == 0o644
    assert os.readlink(tmp / "bin" / "etcdctl") == str(release / "etcdctl")
    assert sorted(p for p in os.listdir(release) if p.startswith(".")) == []

    code, out = run(dict(args, host_src=None), capsys)
    assert code == 0 and out == dict(out, changed=False, unpacked=False, linked=[], account_made=False)
    assert "needs_src" not in out


def test_asks_for_the_tarball_only_when_the_release_is_incomplete(layout, capsys):
    args, tmp = layout
    code, out = run(dict(args, host_src=None), capsys)
    assert code == 0 and out["needs_src"] is True and out["changed"] is False
    assert not (tmp / "opt").exists() and not (tmp / "bin").exists()


def test_check_mode_says_what_would_change_and_changes_nothing(layout, capsys):
    args, tmp = layout
    code, out = run(dict(args, host_src=None), capsys, check=True)
    assert code == 0 and out["changed"] and out["unpacked"] and len(out["linked"]) == 3 and "needs_src" not in out
    assert not (tmp / "opt").exists() and not (tmp / "bin").exists()


def test_a_damaged_copy_is_refused_before_anything_changes(layout, capsys):
    args, tmp = layout
    code, out = run(dict(args, checksum="0" * 64), capsys)
    assert code == 1 and "has SHA-256" in out["msg"] and "not " + "0" * 64 in out["msg"]
    assert "nothing was unpacked" in out["msg"] and not (tmp / "opt").exists() and not (tmp / "bin").exists()


@pytest.mark.parametrize("content, says", [
    (b"plain text, not gzip", "not gzip data"),
    (gzip.compress(b"x" * 1000)[:-8], "not gzip data"),  # cut short
    (gzip.compress(b"not a tar archive" * 100), "is not an etcd release tarball"),
])
def test_a_file_with_the_right_checksum_that_is_no_gzipped_tarball_is_refused(layout, capsys, content, says):
    args, tmp = layout
    with open(args["host_src"], "wb") as handle:
        handle.write(content)
    code, out = run(dict(args, checksum=hashlib.sha256(content).hexdigest()), capsys)
    assert code == 1 and says in out["msg"] and "is not an etcd release tarball" in out["msg"]
    assert not (tmp / "bin").exists() and os.listdir(args["release_dir"]) == []


@pytest.mark.parametrize("entries, says", [
    ({TOP + "etcd": b"x", TOP + "evil": ("link", "/etc/shadow")}, "unexpected entry %sevil (link)" % TOP),
    ({TOP + "etcd": b"x", TOP + "../../escape": b"x"}, "unexpected entry %s../../escape (path)" % TOP),
    ({TOP + "etcdctl": b"x"}, "no etcd binary in it"),
])
def test_what_is_not_a_release_is_refused_and_nothing_is_linked(layout, capsys, entries, says):
    args, tmp = layout
    checksum = build_tarball(args["host_src"], entries)
    code, out = run(dict(args, checksum=checksum), capsys)
    assert code == 1 and says in out["msg"] and "is not an etcd release tarball" in out["msg"]
    assert not (tmp / "opt" / "v3.5.1" / "etcd").exists() and not (tmp / "bin").exists()


def test_without_src_links_an_installed_release_and_refuses_a_missing_one(layout, capsys):
    args, tmp = layout
    run(dict(args, link=False), capsys)
    assert not (tmp / "bin").exists()
    link_only = {key: args[key] for key in ("release_dir", "bin_dir", "make_bin_dir", "binaries")}
    code, out = run(link_only, capsys)
    assert code == 0 and out["changed"] and out["linked"] == [str(tmp / "bin" / name) for name in BINARIES]
    code, out = run(dict(link_only, release_dir=str(tmp / "opt" / "v3.6.0")), capsys)
    assert code == 1 and "has no complete etcd release (no etcd binary)" in out["msg"]
    assert os.readlink(tmp / "bin" / "etcd") == str(tmp / "opt" / "v3.5.1" / "etcd")


def test_a_link_to_another_release_or_a_plain_file_is_replaced(layout, capsys):
    args, tmp = layout
    (tmp / "bin").mkdir()
    (tmp / "bin" / "etcd").write_text("an old copied binary")
    os.symlink("/opt/etcd/v3.4.27/etcdctl", tmp / "bin" / "etcdctl")
    code, out = run(args, capsys)
    assert code == 0 and out["linked"] == [str(tmp / "bin" / name) for name in BINARIES]
    assert os.readlink(tmp / "bin" / "etcd") == args["release_dir"] + "/etcd"
    assert os.readlink(tmp / "bin" / "etcdctl") == args["release_dir"] + "/etcdctl"


def test_an_existing_account_is_left_as_it_is(layout, capsys):
    args, tmp = layout
    code, out = run(dict(args, user=USER, home=str(tmp / "data")), capsys)
    assert code == 0 and out["account_made"] is False and not (tmp / "data").exists()
    assert etcd_install.missing_account("no-such-account-raftops") == (True, True)


@pytest.fixture
def served(tmp_path):
    """An HTTP server on the loopback serving ``tmp_path/www``; yields (base URL, directory)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1], www
    server.shutdown()
    server.server_close()


def fetching(layout, url):
    args, _tmp = layout
    args = {key: value for key, value in args.items() if key not in ("src", "host_src")}
    return dict(args, url=url)


def test_with_url_the_host_fetches_checks_and_unpacks_the_release(layout, served, capsys):
    base, www = served
    _args, tmp = layout
    (www / "etcd-v3.5.1-linux-amd64.tar.gz").write_bytes((tmp / "etcd-v3.5.1-linux-amd64.tar.gz").read_bytes())
    code, result = run(fetching(layout, base + "/etcd-v3.5.1-linux-amd64.tar.gz"), capsys)
    assert code == 0, result
    assert (result["changed"], result["unpacked"]) == (True, True)
    assert (tmp / "opt" / "v3.5.1" / "etcd").read_bytes() == b"etcd-binary"
    assert os.readlink(tmp / "bin" / "etcd") == str(tmp / "opt" / "v3.5.1" / "etcd")


def test_with_url_a_host_with_the_release_fetches_nothing(layout, capsys):
    args, _tmp = layout
    assert run(args, capsys)[0] == 0
    # nothing listens there: a fetch would fail
    code, result = run(fetching(layout, "http://127.0.0.1:9/etcd-v3.5.1-linux-amd64.tar.gz"), capsys)
    assert (code, result["changed"], result["unpacked"]) == (0, False, False)


def test_with_url_a_download_that_differs_from_the_checksum_changes_nothing(layout, served, capsys):
    base, www = served
    args, tmp = layout
    (www / "etcd-v3.5.1-linux-amd64.tar.gz").write_bytes(b"not the release")
    url = base + "/etcd-v3.5.1-linux-amd64.tar.gz"
    code, result = run(fetching(layout, url), capsys)
    assert code == 1
    assert result["msg"] == "the copy of %s on the host has SHA-256 %s, not %s; nothing was unpacked" % (
        url, hashlib.sha256(b"not the release").hexdigest(), args["checksum"])
    assert not (tmp / "opt").exists() and not (tmp / "bin").exists()


def test_with_url_a_missing_release_is_named_and_changes_nothing(layout, served, capsys):
    base, _www = served
    _args, tmp = layout
    url = base + "/v9.9.9/etcd-v9.9.9-linux-amd64.tar.gz"
    code, result = run(fetching(layout, url), capsys)
    assert code == 1
    assert result["msg"].startswith("the host cannot fetch %s: HTTP Error 404" % url)
    assert result["msg"].endswith("; nothing was unpacked")
    assert not (tmp / "opt").exists() and not (tmp / "bin").exists()


def test_src_and_url_are_mutually_exclusive(layout, capsys):
    args, tmp = layout
    code, result = run(dict(args, url="http://127.0.0.1:9/x.tar.gz"), capsys)
    assert code == 1 and result["msg"] == "parameters are mutually exclusive: src|url"
    assert not (tmp / "opt").exists()


def test_url_needs_the_checksum(layout, capsys):
    _args, tmp = layout
    url_args = fetching(layout, "http://127.0.0.1:9/x.tar.gz")
    del url_args["checksum"]
    code, result = run(url_args, capsys)
    assert code == 1 and result["msg"] == "missing parameter(s) required by 'url': checksum"
    assert not (tmp / "opt").exists()


def test_with_a_file_url_the_host_reads_its_own_copy(layout, capsys):
    _args, tmp = layout
    code, result = run(fetching(layout, "file://" + str(tmp / "etcd-v3.5.1-linux-amd64.tar.gz")), capsys)
    assert (code, result["unpacked"]) == (0, True), result
    assert (tmp / "opt" / "v3.5.1" / "etcdctl").read_bytes() == b"etcdctl-binary"
