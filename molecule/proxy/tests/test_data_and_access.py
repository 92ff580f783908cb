"""Data and access as code (docs/access.md) on the proxy scenario's cluster, before its proxy tests:
keys, a lease, a lock two plays contend for, users, roles and auth, through the collection's
modules and lookup from a playbook (data_and_access.yml, one tag per test); then auth as role
variables through the main playbook, and the backup, status, a member restart and the members'
timers with auth on, and a cluster whose auth was turned on outside the role, refused without the
root password, with a wrong one and while another run holds the run lock (each at -vvv, with no host
changed and no secret shown), and adopted with it.
Auth is disabled again at the end, so the proxy tests run as on any cluster; billing's client pair
stays issued for test_proxy.py, which revokes it.

`make test` (-m "not full") keeps the keys, the lease and the lock (the collection's data modules, walked
nowhere else, from a playbook on the controller). Auth, through the modules and as role variables
(walked in molecule/membership), and its refusals (decided in the plan's unit tests) are marked full,
with the tests that need auth on; nothing kept depends on them.
"""

import json
import os
import re
import subprocess
import time

import pytest
from conftest import FIGURES
from etcdtest import (BACKUPS, EPHEMERAL, INVENTORY, PKI, ROOT, Gateway, UserGateway, Writer, ansible_env, copy_to,
                      fingerprint, hold_run_lock, host, inventory_secrets, playbook, private_key_secrets, recap,
                      refused, snapshots, where_leaked, why_failed)

HERE = os.path.dirname(os.path.abspath(__file__))
URL = "https://10.250.0.100:2379"


def play(tag, *args):
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(HERE, "data_and_access.yml"), "--tags", tag, *args]
    return subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(proc):
    out = proc.communicate(timeout=300)[0]
    return proc.returncode, out


def test_keys_and_prefixes_are_put_read_guarded_and_deleted():
    rc, out = finished(play("kv"))
    assert rc == 0, why_failed(out)
    assert Gateway(URL).get("config/a") is None


def test_a_key_on_a_lease_is_gone_when_the_lease_expires():
    rc, out = finished(play("lease"))
    assert rc == 0, why_failed(out)
    assert Gateway(URL).get("leased/a") == "here"
    deadline = time.monotonic() + 20
    while Gateway(URL).get("leased/a") is not None:
        assert time.monotonic() < deadline, "leased/a outlived its 5 s lease by 15 s"
        time.sleep(1)


def test_two_plays_contending_for_one_lock_never_hold_it_together():
    logs = [os.path.join(EPHEMERAL, "lock-%d.log" % i) for i in (1, 2)]
    for log in logs:
        if os.path.exists(log):
            os.remove(log)
    procs = [play("lock", "-e", "holder=play-%d log=%s" % (i, log)) for i, log in enumerate(logs, 1)]
    for proc in procs:
        rc, out = finished(proc)
        assert rc == 0, why_failed(out)
    held = []
    for log in logs:
        with open(log) as times:
            held.append([float(x) for x in times.read().split()])
    (start1, end1), (start2, end2) = held
    assert end1 <= start2 or end2 <= start1, ((start1, end1), (start2, end2))


@pytest.mark.full
def test_an_application_role_reads_and_writes_its_prefixes_only():
    rc, out = finished(play("auth"))
    assert rc == 0, why_failed(out)
    gateway = Gateway(URL)
    assert gateway.get("app/x") == "by-app" and gateway.get("other/z") is None


# --- auth as role variables (docs/access.md): the main playbook turns auth on, and everything the
# collection does keeps working with it on; the scenario's later tests run with auth off again.

AUTH_VARS = {
    "etcd_auth_enabled": True,
    "etcd_auth_root_password": "root-secret",
    "etcd_roles": [{"name": "app", "permissions": [{"prefix": "app/", "permission": "readwrite"},
                                                   {"prefix": "shared/", "permission": "read"}]}],
    "etcd_users": [{"name": "web", "password": "web-secret", "roles": ["app"]},
                   {"name": "billing", "roles": ["app"]},
                   {"name": "app", "state": "absent"}],
    "etcd_pki_clients": [{"name": "billing"}],
}
MEMBERS = ["prx-host0", "prx-host1", "prx-host2"]
URLS = ["https://10.250.0.%d:2379" % (100 + i) for i in range(3)]


def auth_vars(name="auth-vars", **changes):
    """-e @file with AUTH_VARS (and ``changes``): lists and secrets, as an operator's group_vars hold them."""
    path = os.path.join(EPHEMERAL, name + ".json")
    with open(path, "w") as out:
        json.dump(dict(AUTH_VARS, **changes), out)
    return ["-e", "@" + path]


def billing_etcdctl(args):
    """etcdctl on prx-host0 over gRPC with billing's certificate (CN billing): a certificate-only user."""
    return host("prx-host0").run("etcdctl --endpoints=%s --cacert=/root/billing/ca.pem --cert=/root/billing/billing.pem "
                                 "--key=/root/billing/billing-key.pem --dial-timeout=2s --command-timeout=5s %s"
                                 % (URLS[0], args))


@pytest.mark.full
def test_the_main_playbook_turns_auth_on_with_the_users_and_roles_it_lists():
    gateway = Gateway(URLS[0])
    for i in range(50):
        gateway.put("before-auth/%02d" % i, "v%d" % i)
    started = time.monotonic()
    rc, out = playbook("etcd", *auth_vars())
    assert rc == 0, why_failed(out)
    assert "root-secret" not in out and "web-secret" not in out
    web = UserGateway(URLS[1], "web", "web-secret")
    web.put("app/from-web", "1")
    assert web.get("shared/y") == "for-everyone"
    assert "permission denied" in refused(lambda: web.put("other/z", "1"))
    # the certificate alone is no user through the gateway
    assert refused(lambda: Gateway(URLS[0]).get("app/from-web")) is not None
    # user app was listed as absent: it is gone
    assert "authentication failed" in refused(lambda: UserGateway(URLS[0], "app", "app-secret").status())
    # billing, a certificate-only user, over gRPC with etcdctl
    copy_to("prx-host0", "/root/billing", {dest: os.path.join(PKI, src) for src, dest in (
        ("ca.pem", "ca.pem"), ("clients/billing.pem", "billing.pem"), ("clients/billing-key.pem", "billing-key.pem"))})
    assert billing_etcdctl("put app/from-billing 2").rc == 0
    assert billing_etcdctl("get shared/y --print-value-only").stdout.strip() == "for-everyone"
    denied = billing_etcdctl("put other/z 2")
    assert denied.rc != 0 and "permission denied" in denied.stderr
    with open(FIGURES, "a") as figures:
        figures.write("auth on through the main playbook: %.0f s\n" % (time.monotonic() - started))


def started(h, unit):
    """Start a oneshot service and wait for it; (its Result, what this run of it logged)."""
    h.run("systemctl start %s" % unit)
    invocation = h.run("systemctl show -p InvocationID --value %s" % unit).stdout.strip()
    log = h.run("journalctl -q --no-pager -o cat _SYSTEMD_INVOCATION_ID=%s" % invocation).stdout
    return h.run("systemctl show -p Result --value %s" % unit).stdout.strip(), log


@pytest.mark.full
def test_with_auth_on_the_scheduled_snapshot_and_defragmentation_run():
    # The timers' etcdctl goes over gRPC, where etcd takes a certificate's CN for the user: the
    # members' root pair (CN root), not their server pair (CN the member name, no etcd user).
    h = host("prx-host1")
    before = set(h.run("ls /var/backups/etcd").stdout.split())
    result, log = started(h, "etcd-snapshot.service")
    assert result == "success", log
    assert len(set(h.run("ls /var/backups/etcd").stdout.split()) - before) == 1, log
    # etcd_defrag_rule is always in this scenario: the run takes the run lock and defragments.
    result, log = started(h, "etcd-maintenance.service")
    assert result == "success" and "defragmented proxied-1" in log, log


@pytest.mark.full
def test_with_auth_on_a_stopped_member_is_started_a_backup_taken_and_the_status_shown():
    host("prx-host1").run("systemctl stop etcd")
    rc, out = playbook("etcd", *auth_vars())
    assert rc == 0, why_failed(out)
    assert host("prx-host1").service("etcd").is_running
    before = set(snapshots()) if os.path.isdir(BACKUPS) else set()
    rc, out = playbook("backup", *auth_vars())
    assert rc == 0, why_failed(out)
    assert len(set(snapshots()) - before) == 1
    rc, out = playbook("status", *auth_vars())
    assert rc == 0, why_failed(out)
    assert [len(re.findall(r"\b%s\s+https://\S+\s.*\shealthy\b" % n, out)) > 0
            for n in ("proxied-0", "proxied-1", "proxied-2")] == [True] * 3, out[-3000:]
    # etcd 3.5.1's gRPC proxy answers its /health true with auth on; later releases may refuse its read (yes:auth-on)
    assert re.search(r"prx-host3\s+grpc\s+127\.0\.0\.1:23790\s+yes(:auth-on)?\"", out), out[-3000:]
    assert re.search(r"prx-host4\s+gateway\s+127\.0\.0\.1:23790\s+yes", out), out[-3000:]
    root = UserGateway(URLS[2], "root", "root-secret")
    assert [root.get("before-auth/%02d" % i) for i in range(50)] == ["v%d" % i for i in range(50)]
    assert root.get("app/from-web") == "1" and root.get("app/from-billing") == "2"


def main_started(name):
    """When etcd on a member last started, on the kernel's monotonic clock the hosts share."""
    return int(host(name).run("systemctl show etcd -p ExecMainStartTimestampMonotonic --value").stdout)


@pytest.mark.full
def test_with_auth_on_a_changed_setting_rolls_the_members_one_at_a_time_the_leader_last():
    # The roll's calls (health, leader hand-off) log in as root; the application writes as web meanwhile.
    root = {name: UserGateway(url, "root", "root-secret") for name, url in zip(MEMBERS, URLS)}
    ids = {root[name].status()["header"]["member_id"]: name for name in MEMBERS}
    leader = ids[root[MEMBERS[0]].status()["leader"]]
    before = {name: main_started(name) for name in MEMBERS}
    writer = Writer(URLS, prefix="app/roll/", login=("web", "web-secret"))
    writer.start()
    try:
        rc, out = playbook("etcd", *auth_vars("auth-roll", etcd_heartbeat_interval=120))
    finally:
        writer.stop()
    assert rc == 0, why_failed(out)
    after = {name: main_started(name) for name in MEMBERS}
    assert all(after[name] > before[name] for name in MEMBERS), (before, after)
    assert sorted(MEMBERS, key=after.get)[-1] == leader, (leader, after)
    assert all("ETCD_HEARTBEAT_INTERVAL=120\n" in host(name).run("cat /etc/etcd/etcd.env").stdout for name in MEMBERS)
    assert len(writer.acked) > 0 and writer.lost(root[MEMBERS[0]]) == []
    assert [f for f in writer.failed if f[1] == "every URL"] == [], writer.failed
    # Back to the inventory's setting for the tests after this one: a second roll with auth on.
    rc, out = playbook("etcd", *auth_vars())
    assert rc == 0, why_failed(out)


@pytest.mark.full
def test_with_auth_on_the_maintenance_playbook_defragments_every_member():
    # etcd_defrag_rule is always in this scenario: every member, one at a time, the leader last.
    rc, out = playbook("maintenance", *auth_vars())
    assert rc == 0, why_failed(out)
    defragmented = re.findall(r"^TASK \[raftops\.etcd\.etcd : Defragment (\S+)\]", out, re.M)
    assert sorted(defragmented) == ["proxied-0", "proxied-1", "proxied-2"], out[-3000:]
    assert UserGateway(URLS[0], "root", "root-secret").get("app/from-web") == "1"


BAD_AUTH = [
    (dict(etcd_users=[{"name": "web", "password": "web-secret", "roles": ["ap"]}]),
     "host prx-host0: etcd_users[0]={'name': 'web', 'password': '<hidden>', 'roles': ['ap']}: user web: role(s) ap "
     "not defined (present) in etcd_roles"),
    (dict(etcd_users=[{"name": "web", "roles": ["app"]}]),
     "host prx-host0: etcd_users[0]={'name': 'web', 'roles': ['app']}: user web has neither a password nor a certificate"),
    (dict(etcd_roles=[{"name": "root", "permissions": [{"prefix": "", "permission": "read"}]}], etcd_users=[]),
     "etcd_roles[0]={'name': 'root', 'permissions': [{'prefix': '', 'permission': 'read'}]}: the role root is etcd's own"),
    (dict(etcd_auth_root_password=""), "host prx-host0: etcd_auth_enabled=True: there is no root user"),
    # auth is on (as if turned on with etcdctl), and the inventory neither turns it on nor has a root login
    (dict(etcd_auth_enabled=None, etcd_auth_root_password="", etcd_users=[], etcd_roles=[]),
     "auth is enabled on the cluster (turned on outside this role?): set etcd_auth_root_password (in a vault) "
     "to the password of etcd"),
]


BAD_AUTH_IDS = ["unknown-role", "no-password-no-certificate", "root-role", "no-root-user", "auth-on-no-root-login"]


@pytest.fixture(scope="module")
def bad_auth_runs():
    """The four refused runs at once (each stops in preflight): (fingerprint before, outputs by id)."""
    before = fingerprint(MEMBERS)
    procs = {}
    for name, (changes, _says) in zip(BAD_AUTH_IDS, BAD_AUTH):
        cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "etcd.yml"),
               *auth_vars("auth-vars-" + name, **changes)]
        procs[name] = subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return before, {name: finished(proc) for name, proc in procs.items()}


@pytest.mark.full
@pytest.mark.parametrize("name, says", [(n, s) for n, (_c, s) in zip(BAD_AUTH_IDS, BAD_AUTH)], ids=BAD_AUTH_IDS)
def test_bad_auth_input_is_refused_naming_it_before_any_host_changes(bad_auth_runs, name, says):
    before, runs = bad_auth_runs
    rc, out = runs[name]
    assert rc != 0 and says in " ".join(out.split()), out[-3000:]
    assert "web-secret" not in out
    assert fingerprint(MEMBERS) == before


OTHER_RUN = "ansible-playbook (Deploy and converge etcd) on ops-1 by alice, pid 4242, started 2026-01-01T00:00:00Z"
CLIENT_PAIR = ["/etc/etcd/pki/client.pem", "/etc/etcd/pki/client-key.pem"]


def client_pair_files():
    """The members' files of the client pair for a root login."""
    return sorted("%s:%s" % (name, path) for name in MEMBERS for path in CLIENT_PAIR if host(name).file(path).exists)


@pytest.mark.full
def test_a_cluster_whose_auth_was_turned_on_outside_the_role_is_adopted_with_the_root_password():
    # As after `etcdctl auth enable`: no client pair for a root login on the members, and an
    # inventory that leaves auth as it is (etcd_auth_enabled null).
    for name in MEMBERS:
        host(name).run("rm -f " + " ".join(CLIENT_PAIR))
    before = fingerprint(MEMBERS)
    # At -vvv, while another run holds the run lock: refused for the lock, and for a wrong root
    # password, each before any host changes, the client pair included (preflight presents it as
    # text), and with no secret in the output: the passwords, the keys of etcd_pki_dir.
    lease = hold_run_lock(URLS[0], OTHER_RUN, login=("root", "root-secret"))
    try:
        runs = {}
        for name, changes in (("locked", {}), ("wrong-password", {"etcd_auth_root_password": "not-the-root-pw"})):
            cmd = ["ansible-playbook", "-vvv", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "etcd.yml"),
                   *auth_vars("auth-adopt-" + name, etcd_auth_enabled=None, **changes)]
            runs[name] = subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        runs = {name: finished(proc) for name, proc in runs.items()}
    finally:
        UserGateway(URLS[0], "root", "root-secret").call("/v3/lease/revoke", {"ID": lease})
    secrets = {**inventory_secrets(AUTH_VARS),
               "wrong root password": "not-the-root-pw", **private_key_secrets(PKI)}
    rc, out = runs["locked"]
    assert rc != 0 and "is held by %s" % OTHER_RUN in " ".join(out.split()), out[-3000:]
    assert where_leaked(out, secrets) == "", "the run refused for the lock at -vvv prints " + where_leaked(out, secrets)
    rc, out = runs["wrong-password"]
    says = " ".join(out.split())
    assert rc != 0 and "etcd refused the role's root login on prx-host0" in says, out[-3000:]
    assert "etcd_auth_root_password must be the password of etcd's user root. No host was changed." in says, out[-3000:]
    assert where_leaked(out, secrets) == "", "the wrong root password's refusal at -vvv prints " + where_leaked(out, secrets)
    assert client_pair_files() == [] and fingerprint(MEMBERS) == before
    # With the lock free and the right password, at -vvv too: the run adopts the cluster.
    rc, out = playbook("etcd", "-vvv", *auth_vars("auth-adopt", etcd_auth_enabled=None))
    assert rc == 0, why_failed(out)
    assert where_leaked(out, secrets) == "", "the adoption at -vvv prints " + where_leaked(out, secrets)
    # Only the client pair was put back, once per member: with auth on, users, roles and client
    # pairs in place, a re-run changes nothing else (this scenario's only re-run with auth on).
    counts = recap(out)
    assert set(MEMBERS) <= set(counts) and not any(c["failed"] or c.get("unreachable") for c in counts.values()), counts
    assert {h: c["changed"] for h, c in counts.items()} == {h: int(h in MEMBERS) for h in counts}, out[-3000:]
    assert len(client_pair_files()) == 2 * len(MEMBERS)
    assert all(host(name).file("/etc/etcd/pki/client-key.pem").mode == 0o600 for name in MEMBERS)
    # auth stays on: the certificate alone is no user
    assert refused(lambda: Gateway(URLS[0]).get("app/from-web")) is not None
    assert UserGateway(URLS[0], "root", "root-secret").get("app/from-web") == "1"


def controller_pki():
    """The CA and pairs on the controller (etcd_pki_dir), by name: what a CA rotation would change first."""
    files = {}
    for name in sorted(os.listdir(PKI)):
        if os.path.isfile(os.path.join(PKI, name)):
            with open(os.path.join(PKI, name), "rb") as f:
                files[name] = f.read()
    return files


@pytest.mark.full
def test_a_password_for_a_certificate_only_user_is_refused_before_a_ca_rotation_changes_anything():
    # The operator's case: billing was made certificate-only (no password in etcd_users), and a later
    # run gives it one and asks for a CA rotation. etcd keeps such a user password-less, so the run is
    # refused, in preflight: no certificate made, no member rolled.
    users = [AUTH_VARS["etcd_users"][0], {"name": "billing", "password": "billing-secret", "roles": ["app"]},
             AUTH_VARS["etcd_users"][2]]
    before, pki = fingerprint(MEMBERS), controller_pki()
    rc, out = playbook("etcd", "-vvv", *auth_vars("auth-cert-only", etcd_users=users, etcd_pki_rotate_ca=True))
    assert rc != 0 and "user billing was made with no_password=true" in " ".join(out.split()), out[-3000:]
    assert "Check that the users' passwords can be set" in out
    for secret in ("billing-secret", "web-secret", "root-secret"):
        assert secret not in out
    assert fingerprint(MEMBERS) == before
    assert controller_pki() == pki


@pytest.mark.full
def test_the_main_playbook_turns_auth_off_again():
    rc, out = playbook("etcd", "--tags", "etcd_auth", *auth_vars(etcd_auth_enabled=False))
    assert rc == 0, why_failed(out)
    assert Gateway(URLS[0]).get("app/from-web") == "1"
