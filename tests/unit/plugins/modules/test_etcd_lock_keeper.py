import base64
import json
import os
import re
import subprocess
import time

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.plugins.module_utils.lock.run_lock import PkiDirBusy, lock_pki_dir, process_lives
from ansible_collections.raftops.etcd.plugins.modules import etcd_lock_keeper
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER, Gateway
from ansible_collections.raftops.etcd.tests.unit.plugins.module_docs import assert_documented_options_match


def holder(pid):
    return "ansible-playbook (Deploy and converge etcd) on ctl-a by alice, pid %d, started 2026-11-22T09:58:00Z" % pid


def run_main(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        etcd_lock_keeper.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def pki_dir_free(path):
    try:
        os.close(lock_pki_dir(path, "probe"))
    except PkiDirBusy:
        return False
    return True


def test_the_keeper_holds_the_pki_dir_while_the_run_lives_and_ends_with_it(capsys, tmp_path):
    run = subprocess.Popen(["sleep", "60"])
    pki = str(tmp_path / "pki")
    try:
        code, out = run_main(capsys, {"pid": run.pid, "holder": holder(run.pid), "pki_dir": pki, "hold_pki_dir": True})
        assert code == 0, out
        assert out["msg"] == "%s held while pid %d runs" % (pki, run.pid)
        keeper = out["keeper_pid"]
        assert process_lives(keeper)
        # another run is refused, naming the one that holds it
        with pytest.raises(PkiDirBusy, match="is in use by %s" % holder(run.pid).replace("(", r"\(").replace(")", r"\)")):
            lock_pki_dir(pki, holder(os.getpid()))
        code, refused = run_main(capsys, {"pid": os.getpid(), "holder": holder(os.getpid()), "pki_dir": pki,
                                          "hold_pki_dir": True})
        assert code == 1 and refused["msg"] == (
            "etcd_pki_dir %s is in use by %s: wait for that run to finish; nothing was changed" % (pki, holder(run.pid)))
        # a later play of the same run finds it its own
        code, again = run_main(capsys, {"pid": run.pid, "holder": holder(run.pid), "pki_dir": pki, "hold_pki_dir": True})
        assert code == 0 and again["msg"] == "nothing to keep: this run holds %s already" % pki
    finally:
        run.kill()
        run.wait()
    # the run ends: the keeper within about a second, and with it the lock
    assert wait_until(lambda: not process_lives(keeper))
    assert pki_dir_free(pki)


def test_a_pki_dir_whose_parent_cannot_be_written_is_not_held(capsys, tmp_path):
    pki = str(tmp_path / "missing" / "etcd-pki")  # its parent does not exist: etcd_pki says what is wrong
    code, out = run_main(capsys, {"pid": os.getpid(), "holder": holder(os.getpid()), "pki_dir": pki, "hold_pki_dir": True})
    assert code == 0 and out["msg"] == "%s not held (No such file or directory)" % pki


def test_a_lease_that_cannot_be_renewed_from_the_controller_fails_at_once(capsys, tmp_path):
    code, out = run_main(capsys, {"pid": os.getpid(), "holder": holder(os.getpid()), "lease_id": "694d77aa9e38260f",
                                  "endpoints": ["http://127.0.0.1:9"], "tls": False, "timeout": 1})
    assert code == 1
    assert out["msg"].startswith("the run lock's lease 694d77aa9e38260f cannot be renewed from this controller through "
                                 "http://127.0.0.1:9: ")
    assert out["msg"].endswith("The controller must reach the members' client URLs to keep the run lock alive")


def test_a_pid_that_runs_nothing_is_refused(capsys):
    code, out = run_main(capsys, {"pid": 2 ** 22 + 1, "holder": "x"})
    assert code == 1 and out["msg"] == "pid 4194305 runs no process: give the pid of this ansible-playbook run"


@pytest.mark.parametrize("args, message", [
    ({"holder": "x"}, "pid and holder name the ansible-playbook run the keeper lives with: give both (the action fills "
                      "them on the controller)"),
    ({"pid": 1}, "pid and holder name the ansible-playbook run the keeper lives with: give both (the action fills "
                 "them on the controller)"),
])
def test_a_module_run_without_its_run_is_refused(capsys, args, message):
    code, out = run_main(capsys, args)
    assert code == 1 and out["msg"] == message


def test_with_neither_a_lease_nor_a_directory_to_hold_no_keeper_starts(capsys):
    code, out = run_main(capsys, {"pid": os.getpid(), "holder": holder(os.getpid())})
    assert code == 0 and out["msg"] == "nothing to keep: no lease_id, and no PKI directory to hold"
    assert "keeper_pid" not in out


def test_documented_options_match_the_argument_spec():
    assert_documented_options_match(etcd_lock_keeper)


def test_the_password_is_never_in_the_output(capsys):
    code, out = run_main(capsys, {"pid": os.getpid(), "holder": holder(os.getpid()), "lease_id": "694d77aa9e38260f",
                                  "endpoints": ["http://127.0.0.1:9"], "tls": False, "timeout": 1,
                                  "auth_user": "root", "auth_password": "s3cret-pw"})
    assert code == 1 and "s3cret-pw" not in json.dumps(out)


def test_a_pki_dir_without_the_pair_yet_defers_the_first_renewal_to_the_keeper(capsys, tmp_path):
    """A new or wrong etcd_pki_dir: the certificate step after the keeper makes the pair, or refuses
    the directory naming why; the keeper must not fail first with a message about files."""
    run = subprocess.Popen(["sleep", "60"])
    pki = tmp_path / "elsewhere"
    pki.mkdir()
    try:
        code, out = run_main(capsys, {"pid": run.pid, "holder": holder(run.pid), "pki_dir": str(pki), "lease_id": "694d77aa9e38260f",
                                      "endpoints": ["https://127.0.0.1:9"], "timeout": 1})
        assert code == 0, out
        assert out["renewal_deferred"] == "%s, %s, %s not there yet" % (pki / "ca.pem", pki / "admin.pem", pki / "admin-key.pem")
        assert "expires_in" not in out
        assert process_lives(out["keeper_pid"])
    finally:
        run.kill()
        run.wait()
    assert wait_until(lambda: not process_lives(out["keeper_pid"]))


def test_a_keeper_records_in_the_lock_that_its_run_ended_without_releasing_it(capsys):
    """A real keeper, detached, against a local gateway: the run (a process) is SIGKILLed while its
    lease holds the lock; the keeper sees it end within a second or two and writes the lock back, on
    the same lease and only if it did not change meanwhile, with ``ended`` saying so - what the next
    run takes over at once."""
    lease, key = 0x694D77AA9E38260F, "/raftops/etcd/run"
    value = json.dumps(dict(holder=holder(4242), acquired_at="2026-11-22T10:00:00Z", ttl=45))
    gateway = Gateway()
    b64 = base64.b64encode
    gateway.routes["/v3/lease/keepalive"] = ("stream", [{"result": {"ID": str(lease), "TTL": "45"}}])
    gateway.routes["/v3/kv/range"] = (200, dict(header=HEADER, count="1", kvs=[dict(
        key=b64(key.encode()).decode(), value=b64(value.encode()).decode(), lease=str(lease), mod_revision="7",
        create_revision="7", version="1")]))
    gateway.routes["/v3/kv/txn"] = (200, dict(header=HEADER, succeeded=True))
    run = subprocess.Popen(["sleep", "60"])
    try:
        code, out = run_main(capsys, {"pid": run.pid, "holder": holder(run.pid), "lease_id": "%016x" % lease,
                                      "lock_key": key, "endpoints": [gateway.client.endpoint], "tls": False,
                                      "interval": 1})
        assert code == 0 and out["expires_in"] == 45, out
        assert {p for p, _b in gateway.requests} == {"/v3/lease/keepalive"}  # nothing written while the run lives
        run.kill()
        run.wait()
        killed = time.monotonic()
        assert wait_until(lambda: any(p == "/v3/kv/txn" for p, _b in gateway.requests), seconds=10)
        assert time.monotonic() - killed < 5
        (_path, txn), = [(p, b) for p, b in gateway.requests if p == "/v3/kv/txn"]
        assert txn["compare"] == [{"key": b64(key.encode()).decode(), "target": "MOD", "result": "EQUAL",
                                   "mod_revision": "7"}]
        put = txn["success"][0]["request_put"]
        assert put["lease"] == str(lease)  # the same lease, which nothing renews any more
        written = json.loads(base64.b64decode(put["value"]))
        assert written["holder"] == holder(4242) and re.match(
            r"its keeper saw its ansible-playbook process \(pid %d\) end at \S+Z without releasing the lock, and renews "
            r"its lease no more$" % run.pid, written["ended"]), written
        assert wait_until(lambda: not process_lives(out["keeper_pid"]), seconds=5)
    finally:
        run.kill()
        run.wait()
        gateway.close()
