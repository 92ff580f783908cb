"""Dead hosts never hang a run (issue 58): the playbooks meant for dead hosts reach each host first with
raftops.etcd.etcd_reach, bounded by etcd_first_contact_timeout, whatever the SSH settings.

The shape: each playbook's first task on the group's hosts is that contact (remove_member's and
replace_member's is their first read, which reaches each host the same way and keeps a dead one in the
play as unreachable). The behaviour: each playbook
run against a host whose SSH client waits for ever, as one does that goes through a ControlPersist master
whose host died (the master waits on TCP; ConnectTimeout and the client's keepalive do not apply), with
an operator's SSH settings (ControlPersist, no ServerAliveInterval, a long ConnectTimeout): it ends
within seconds naming the host and the bound, and the waiting client is ended. Before the contact
existed, each of these runs waited for ever at its first task.
"""

import os
import signal
import stat
import subprocess
import sys
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
ROLE_TASKS = os.path.join(ROOT, "roles", "etcd", "tasks")
CONTACT = "raftops.etcd.etcd_reach"
READ = "raftops.etcd.etcd_host_info"
# The playbooks meant for dead hosts, with what each needs to get as far as its first task.
DEAD_HOST_PLAYBOOKS = {
    "recover_quorum": [],
    "remove_member": ["-e", "etcd_remove=etcd-dead"],
    "replace_member": ["-e", "etcd_replace=etcd-dead"],
    "restore": ["-e", "etcd_restore_snapshot=/nonexistent/snapshot.db"],
    "status": [],
}
INCLUDES = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")
IMPORTS = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks", "import_tasks", "include_tasks")


def _load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def _first_task(tasks):
    """The first task that runs of a task list: into blocks and the task files they import."""
    task = tasks[0]
    if "block" in task:
        return _first_task(task["block"])
    for key in IMPORTS:
        if key in task:
            return _first_task(_load(os.path.join(ROLE_TASKS, task[key])))
    return task


def first_task_of(playbook):
    """The first task a playbook runs on its first play's hosts: its own, or its role entry point's."""
    play = _load(os.path.join(ROOT, "playbooks", playbook + ".yml"))[0]
    task = play["tasks"][0]
    for key in INCLUDES:
        if key in task:
            return _first_task(_load(os.path.join(ROLE_TASKS, task[key].get("tasks_from", "main") + ".yml")))
    return task


# remove_member and replace_member keep a dead host in the play as unreachable (their plan reads which
# read was unreachable, and removing a dead member succeeds): their first read reaches each host so.
KEPT_IN_PLAY = ("remove_member", "replace_member")


@pytest.mark.parametrize("playbook", sorted(DEAD_HOST_PLAYBOOKS))
def test_each_playbook_for_dead_hosts_first_reaches_its_hosts_within_the_bound(playbook):
    play = _load(os.path.join(ROOT, "playbooks", playbook + ".yml"))[0]
    assert play.get("gather_facts") is False, "fact gathering would contact the hosts unbounded first"
    task = first_task_of(playbook)
    if playbook in KEPT_IN_PLAY:
        assert task[READ]["contact_timeout"] == "{{ etcd_first_contact_timeout }}"
        assert task.get("ignore_unreachable") is True
        return
    assert task.get(CONTACT) == {"timeout": "{{ etcd_first_contact_timeout }}", "setting": "etcd_first_contact_timeout"}
    # A host that does not answer drops out; the entry point's plan names it (restore's play is any_errors_fatal).
    assert task.get("any_errors_fatal") is False
    assert not task.get("ignore_unreachable"), "a host kept in the play would be contacted again, unbounded"


FAKE_SSH = """#!/bin/sh
# An SSH client waiting for a session its ControlPersist master never gets: the master's host died.
trap 'kill $child 2>/dev/null; exit 143' TERM
sleep 300 &
child=$!
wait $child
"""

ANSIBLE_CFG = """[defaults]
host_key_checking = False
timeout = 300
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=3600s
"""


@pytest.fixture(scope="module")
def stuck_ssh(tmp_path_factory):
    directory = tmp_path_factory.mktemp("first-contact")
    ssh = directory / "ssh"
    ssh.write_text(FAKE_SSH)
    ssh.chmod(ssh.stat().st_mode | stat.S_IXUSR)
    (directory / "ansible.cfg").write_text(ANSIBLE_CFG)
    # The README's inventory: hosts by address with a NODE_NAME, no etcd_address; loopback only.
    (directory / "hosts.yml").write_text(yaml.safe_dump({"etcd": {"hosts": {"127.0.0.1": {
        "NODE_NAME": "etcd-dead", "ansible_ssh_executable": str(ssh), "ansible_user": "root",
        "etcd_first_contact_timeout": 3, "etcd_pki_dir": str(directory / "pki"),
        "etcd_backup_dir": str(directory / "backups")}}}}))
    return directory


def _running(mentioning):
    """The pids of the processes whose command line mentions ``mentioning`` (the runs, their workers and
    the fake SSH clients all name a path of the test's directory)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if str(mentioning).encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_no_playbook_for_dead_hosts_waits_on_a_stuck_ssh_connection(stuck_ssh):
    env = dict(os.environ, ANSIBLE_CONFIG=str(stuck_ssh / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
               ANSIBLE_LOCALHOST_WARNING="false")
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    started = time.monotonic()
    # All at once: each waits on its own stuck client, and the suite waits once.
    runs = {name: subprocess.Popen([binary, "-i", str(stuck_ssh / "hosts.yml"),
                                    os.path.join(ROOT, "playbooks", name + ".yml"), *args],
                                   cwd=str(stuck_ssh), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
            for name, args in DEAD_HOST_PLAYBOOKS.items()}
    outputs, hung = {}, []
    for name, run in runs.items():
        try:
            outputs[name] = run.communicate(timeout=max(1, 120 - (time.monotonic() - started)))[0]
        except subprocess.TimeoutExpired:
            hung.append(name)
    for pid in _running(stuck_ssh) if hung else []:  # workers leave the run's process group
        os.kill(pid, signal.SIGKILL)
    for name in hung:
        outputs[name] = runs[name].communicate()[0]
    assert hung == [], "still waiting after 120 s: %s\n%s" % (hung, outputs[hung[0]][-3000:])
    for name, out in outputs.items():
        said = " ".join(out.split())
        # Unreachable (4); remove_member and replace_member keep the host as unreachable, and their plan
        # refuses a removal with no member left to act through (2).
        assert runs[name].returncode == (2 if name in KEPT_IN_PLAY else 4), (name, out[-3000:])
        assert "fatal: [127.0.0.1]: UNREACHABLE!" in out, (name, out[-3000:])
        assert "host 127.0.0.1 did not answer within 3 s (etcd_first_contact_timeout)" in said, (name, out[-3000:])
    assert _running(stuck_ssh / "ssh") == [], "the SSH clients left waiting are ended"
