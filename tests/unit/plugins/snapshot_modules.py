"""What the tests of etcd_snapshot, etcd_snapshot_info and etcd_snapshot_restore share: a sound
snapshot, one run of a module, and a fake etcdutl (its fixtures are in modules/conftest.py)."""

import json
import os
from contextlib import ExitStack
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.raftops.etcd.tests.unit.plugins.snapshot_builder import build_snapshot

SNAPSHOT = build_snapshot()


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def _exit_json(self, **result):
    raise ExitJson(result)


def _fail_json(self, **result):
    raise FailJson(result)


def run_module(module, args, check=False):
    """(result, failed) of one run of ``module``'s main()."""
    if check:
        args = dict(args, _ansible_check_mode=True)
    with ExitStack() as stack:
        stack.enter_context(patch_module_args(args))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json))
        stack.enter_context(mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json))
        info = stack.enter_context(pytest.raises((ExitJson, FailJson)))
        module.main()
    return info.value.args[0], isinstance(info.value, FailJson)


class FakePrivateEtcd:
    """The private etcd a restore drill starts, in place of subprocess.Popen: its command line,
    working directory and user, and whether it was stopped. A test module subclasses it with a
    ``started`` list of its own, and a ``serving`` log line when the code under test reads etcd's
    output for it."""

    started = None
    serving = None

    def __init__(self, argv, cwd=None, user=None, stdout=None, **_options):
        self.argv, self.cwd, self.user, self.stopped = argv, cwd, user, False
        if self.serving is not None:
            stdout.write((json.dumps(self.serving) + "\n").encode())
        self.started.append(self)

    def poll(self):
        return 0 if self.stopped else None

    def terminate(self):
        self.stopped = True

    def wait(self, timeout=None):
        return 0


def listing(path):
    return sorted(os.listdir(str(path)))


# A stand-in for etcdutl (or etcdctl, with FAKE_KIND) that logs each call to FAKE_LOG.
FAKE_TOOL = r'''#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
kind = os.environ.get("FAKE_KIND", "etcdutl")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "api": os.environ.get("ETCDCTL_API")}}) + "\n")
if args == ["version"]:
    print("%s version: %s\nAPI version: 3.5" % (kind, os.environ.get("FAKE_VERSION", "3.5.1")))
elif args[:2] == ["snapshot", "status"]:
    print(json.dumps({{"hash": 12345, "revision": int(os.environ.get("FAKE_REVISION", "7")), "totalKey": 7,
                      "totalSize": 28672}}))
elif args[:2] == ["snapshot", "restore"]:
    opts = dict(zip(args[3::2], args[4::2]))
    data_dir = opts["--data-dir"]
    if os.path.exists(data_dir):
        sys.exit("Error: data-dir %r exists" % data_dir)
    wal_dir = opts.get("--wal-dir", os.path.join(data_dir, "member", "wal"))
    if os.path.exists(wal_dir):
        sys.exit("Error: wal-dir %r exists" % wal_dir)
    os.makedirs(os.path.join(data_dir, "member", "snap"), 0o700)
    os.makedirs(wal_dir, 0o700, exist_ok=False)
    open(os.path.join(wal_dir, "0000000000000000-0000000000000000.wal"), "w").close()
    shutil.copy(args[2], os.path.join(data_dir, "member", "snap", "db"))
    if os.environ.get("FAKE_FAIL"):
        sys.exit("Error: failed to restore: fake failure")
else:
    sys.exit("unexpected arguments %r" % args)
'''
