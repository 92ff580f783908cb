"""Backup, drill and restore with etcd's auth on (issue 16), on the cluster test_restore.py restored.

The main playbook turns auth on with a root password, a role and a user; a backup is taken, more is
written, the drill restores the backup on its private etcd, and the restore brings the cluster back
to the snapshot with auth still on, the role and the user kept, the revision bumped past what the
old cluster reached (read as root). Last, auth is turned off again: Molecule's idempotence step
converges without the root password.
"""

import functools
import json
import re

from etcdtest import Gateway, UserGateway, host, playbook, refused
from test_restore import DATA_DIRS, SMALL_FS, SURVIVOR, URLS, read_prefix

ROOT_PASSWORD = "restore-root-secret"
AUTH = {
    "etcd_auth_enabled": True,
    "etcd_auth_root_password": ROOT_PASSWORD,
    "etcd_roles": [{"name": "app", "permissions": [{"prefix": "/app/", "permission": "readwrite"}]}],
    "etcd_users": [{"name": "web", "password": "web-secret", "roles": ["app"]}],
}
Root = functools.partial(UserGateway, user="root", password=ROOT_PASSWORD)
Web = functools.partial(UserGateway, user="web", password="web-secret")
SNAPSHOT_KEYS = {"/app/%02d" % i: "in-the-snapshot-%d" % i for i in range(30)}

state = {}


def with_auth(**more):
    return ["-e", json.dumps(dict(AUTH, **more))]


def test_auth_is_turned_on_and_a_backup_taken():
    rc, out = playbook("etcd", *with_auth())
    assert rc == 0, out[-3000:]
    assert ROOT_PASSWORD not in out and "web-secret" not in out
    assert refused(lambda: Gateway(URLS[0]).put("/app/no-user", "x")) is not None
    web = Web(URLS[0])
    for key, value in SNAPSHOT_KEYS.items():
        web.put(key, value)
    rc, out = playbook("backup", *with_auth())
    assert rc == 0, out[-3000:]
    state["snapshot"] = re.search(r'"snapshot: (\S+)"', out).group(1)
    state["revision"] = int(re.search(r'"revision: (\d+), keys: \d+"', out).group(1))
    # After the backup: lost with the old cluster.
    for i in range(20):
        web.put("/app/after-backup-%02d" % i, "not in the snapshot")
    state["old_revision"] = int(Root(URLS[1]).status()["header"]["revision"])


def test_with_auth_on_the_drill_restores_the_backup():
    rc, out = playbook("restore_drill", *with_auth(etcd_restore_snapshot=state["snapshot"]))
    assert rc == 0, out[-3000:]
    assert "drill passed: snapshot %s" % state["snapshot"] in out, out
    assert re.search(r"hash: hash \d+ equals the backup's", out), out


def test_with_auth_on_the_restore_keeps_auth_the_users_and_the_data_as_of_the_snapshot():
    # Each earlier restore of the scenario kept rst-host0's old data dir beside the new one, on its
    # small tmpfs (prepare.yml), WAL preallocation included: what is left free then varies around
    # what a restore needs. An operator deletes them once satisfied; so does this test, first.
    survivor = host(SURVIVOR)
    survivor.check_output("rm -rf %s.before-restore-*" % DATA_DIRS[SURVIVOR])
    assert int(survivor.check_output("df -B1 --output=avail %s | tail -1" % SMALL_FS)) > 256 << 20
    rc, out = playbook("restore", *with_auth(etcd_restore_snapshot=state["snapshot"]))
    assert rc == 0, out[-3000:]
    assert ROOT_PASSWORD not in out
    # The bump step read, as root, how far the old cluster got.
    bumped = re.search(r"restored %s: revision %d, \d+ keys, cluster token \S+; revision bumped by \d+, marked "
                       r"compacted \(the old cluster reached revision (\d+), " % (re.escape(state["snapshot"]),
                                                                                  state["revision"]),
                       " ".join(out.split()))
    assert bumped and int(bumped.group(1)) >= state["old_revision"], out
    for url in URLS:
        # Auth is on: the admin pair alone is no user.
        assert refused(lambda url=url: Gateway(url).get("/app/00")) is not None, url
        assert read_prefix(Root(url), "/app/") == SNAPSHOT_KEYS
    web = Web(URLS[2])
    web.put("/app/after-restore", "ok")
    assert "permission denied" in refused(lambda: web.put("/other/key", "x"))
    assert Root(URLS[0]).call("/v3/auth/user/get", {"name": "web"})["roles"] == ["app"]
    assert int(Root(URLS[0]).status()["header"]["revision"]) > state["old_revision"]


def test_auth_is_turned_off_for_the_idempotence_step():
    rc, out = playbook("etcd", *with_auth(etcd_auth_enabled=False), "--tags", "etcd_auth")
    assert rc == 0, out[-3000:]
    assert Gateway(URLS[0]).get("/app/after-restore") == "ok"

