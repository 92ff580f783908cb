"""The members' settings, unit, start script, bootstrap or join settings and certificates as the
action of raftops.etcd.etcd_member_files renders them (plugins/module_utils/host/member_config.py).

The expected files of a default TLS member are the files the role wrote on a test host before these
moved from Jinja in the role's variables to Python (only the host's name and address replaced): a
member deployed before must find them unchanged, or every member would restart.
"""

import subprocess

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.member_config import (
    MemberConfigError, env_content, initial_env_content, member_files, start_script_content, unit_content)

HEADER = "#\n# Ansible managed\n#"
ME = dict(name="etcd-host0", host="etcd-host0", peer_url="https://10.0.0.10:2380", client_url="https://10.0.0.10:2379")
SERVER = dict(
    me=ME, version=[3, 5, 1], env_path="/etc/etcd/etcd.env", unit_path="/etc/systemd/system/etcd.service",
    start_script="/etc/etcd/etcd-start", local_endpoint="https://127.0.0.1:2379", peer_identity="etcd-peer.invalid",
    data_dir="/var/lib/etcd", wal_dir="", bin_dir="/usr/local/bin", heartbeat_interval=100, election_timeout=1000,
    snapshot_count=10000, quota_backend_bytes=0, auto_compaction_mode="periodic", auto_compaction_retention="1",
    log_level="info", tls=True, auto_tls=False, tls_transition="none", metrics="loopback", metrics_port=2381,
    corruption_checks=True, feature_gates={}, extra_env={}, limit_nofile=20000, systemd_hardening=True,
)

ENV = """\
#
# Ansible managed
#
# etcd reads its settings from ETCD_* variables; initial-cluster settings live in
# etcd-initial.env only while a member bootstraps or joins.
ETCD_NAME=etcd-host0
ETCD_DATA_DIR=/var/lib/etcd
# Once the cluster exists a member only ever joins it: without data it must not make a cluster of
# its own (etcd-initial.env says "new" only while the cluster is bootstrapped).
ETCD_INITIAL_CLUSTER_STATE=existing
ETCD_LISTEN_PEER_URLS=https://10.0.0.10:2380
ETCD_LISTEN_CLIENT_URLS=https://10.0.0.10:2379,https://127.0.0.1:2379
ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.10:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.10:2380
ETCD_HEARTBEAT_INTERVAL=100
ETCD_ELECTION_TIMEOUT=1000
ETCD_SNAPSHOT_COUNT=10000
ETCD_QUOTA_BACKEND_BYTES=0
ETCD_AUTO_COMPACTION_MODE=periodic
ETCD_AUTO_COMPACTION_RETENTION=1
ETCD_LOGGER=zap
ETCD_LOG_LEVEL=info
ETCD_LOG_OUTPUTS=stderr
ETCD_TRUSTED_CA_FILE=/etc/etcd/pki/ca.pem
ETCD_CERT_FILE=/etc/etcd/pki/server.pem
ETCD_KEY_FILE=/etc/etcd/pki/server-key.pem
ETCD_CLIENT_CERT_AUTH=true
ETCD_PEER_TRUSTED_CA_FILE=/etc/etcd/pki/ca.pem
ETCD_PEER_CERT_FILE=/etc/etcd/pki/peer.pem
ETCD_PEER_KEY_FILE=/etc/etcd/pki/peer-key.pem
ETCD_PEER_CLIENT_CERT_AUTH=true
# Only the members' peer pairs carry this name: a client pair of the same CA is no peer (docs/pki.md).
ETCD_PEER_CERT_ALLOWED_HOSTNAME=etcd-peer.invalid
# Certificates of removed members: refused on both ports, read again for every new connection.
ETCD_CLIENT_CRL_FILE=/etc/etcd/pki/crl.pem
ETCD_PEER_CRL_FILE=/etc/etcd/pki/crl.pem
ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true
ETCD_LISTEN_METRICS_URLS=http://127.0.0.1:2381
"""

UNIT = """\
#
# Ansible managed
#
[Unit]
Description=etcd distributed key-value store (member etcd-host0)
Documentation=https://etcd.io/docs/
After=network-online.target time-sync.target
Wants=network-online.target

[Service]
Type=notify
User=etcd
Group=etcd
EnvironmentFile=/etc/etcd/etcd.env
EnvironmentFile=-/etc/etcd/etcd-initial.env
# The start script refuses (exit 78) to start a member without data unless it bootstraps or joins,
# then runs etcd in its place.
ExecStart=/etc/etcd/etcd-start
# A removed member exits 0 ("the member has been permanently removed"): restarting it then
# would loop on a dead data dir, so restart only on failure; a refused start is not retried.
Restart=on-failure
RestartPreventExitStatus=78
RestartSec=5s
TimeoutStartSec=120s
LimitNOFILE=20000
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths=/var/lib/etcd
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
RestrictNamespaces=true
LockPersonality=true
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""

START = """\
#!/bin/sh
#
# Ansible managed
#
# Starts etcd member etcd-host0, unless that would make it a cluster of its own: a member
# without data starts only while the role bootstraps or joins it (/etc/etcd/etcd-initial.env).
if [ ! -f /etc/etcd/etcd-initial.env ] && [ -z "$(ls -A /var/lib/etcd/member/wal 2>/dev/null)" ]; then
  echo "etcd member etcd-host0 will not start: /var/lib/etcd/member/wal holds no data (lost, wiped or a new disk)," \\
    "and starting without data would make it a new, empty cluster of its own beside the real one." \\
    "To bring the member back, run the etcd playbook from the controller (it removes the old member entry" \\
    "and joins this host again as a learner): ansible-playbook raftops.etcd.etcd -i INVENTORY," \\
    "or ansible-playbook raftops.etcd.replace_member -i INVENTORY -e etcd_replace=etcd-host0" >&2
  exit 78
fi
exec /usr/local/bin/etcd
"""


def server(**changes):
    return dict(dict(SERVER, header=HEADER, config_dir="/etc/etcd", user="etcd", pki_dir="/etc/etcd/pki", crl=True), **changes)


def settings_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_a_default_tls_member_gets_the_files_a_deployed_member_has():
    assert env_content(server()) == ENV
    assert unit_content(server()) == UNIT
    assert start_script_content(server()) == START


@pytest.mark.parametrize("changes, present, absent", [
    # Each setting's own lines, and what it leaves out.
    (dict(wal_dir="/var/lib/etcd-wal/wal"), ["ETCD_WAL_DIR=/var/lib/etcd-wal/wal"], []),
    (dict(me=dict(ME, listen_peer_url="https://0.0.0.0:2380")),
     ["ETCD_LISTEN_PEER_URLS=https://0.0.0.0:2380", "ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.10:2380"], []),
    # A plaintext cluster on its way to TLS: both schemes on both listeners, no client certificates asked yet.
    (dict(tls_transition="both", me=dict(ME, client_url="http://10.0.0.10:2379")),
     ["ETCD_LISTEN_CLIENT_URLS=http://10.0.0.10:2379,https://10.0.0.10:2379,https://127.0.0.1:2379,http://127.0.0.1:2379",
      "ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.10:2379", "ETCD_CLIENT_CERT_AUTH=false"], ["ETCD_CLIENT_CERT_AUTH=true"]),
    (dict(peer_identity=""), [], ["ETCD_PEER_CERT_ALLOWED_HOSTNAME=etcd-peer.invalid"]),
    (dict(crl=False), [], ["ETCD_CLIENT_CRL_FILE=/etc/etcd/pki/crl.pem", "ETCD_PEER_CRL_FILE=/etc/etcd/pki/crl.pem"]),
    (dict(tls=False, local_endpoint="http://127.0.0.1:2379", me=dict(ME, client_url="http://10.0.0.10:2379")),
     ["ETCD_LISTEN_CLIENT_URLS=http://10.0.0.10:2379,http://127.0.0.1:2379"],
     ["ETCD_TRUSTED_CA_FILE=/etc/etcd/pki/ca.pem", "ETCD_PEER_CLIENT_CERT_AUTH=true", "ETCD_AUTO_TLS=true",
      "ETCD_CLIENT_CRL_FILE=/etc/etcd/pki/crl.pem"]),
    (dict(tls="false", auto_tls="yes"), ["ETCD_AUTO_TLS=true", "ETCD_PEER_AUTO_TLS=true"], ["ETCD_CERT_FILE=/etc/etcd/pki/server.pem"]),
    # Compaction off, in either form: nothing written, etcd's default.
    (dict(auto_compaction_mode=""), [], ["ETCD_AUTO_COMPACTION_MODE=periodic"]),
    (dict(auto_compaction_retention="0h"), [], ["ETCD_AUTO_COMPACTION_MODE=periodic", "ETCD_AUTO_COMPACTION_RETENTION=0h"]),
    (dict(auto_compaction_mode="revision", auto_compaction_retention=1000),
     ["ETCD_AUTO_COMPACTION_MODE=revision", "ETCD_AUTO_COMPACTION_RETENTION=1000"], []),
    # The release decides the flags' form (plugins/module_utils/host/member_config.py, server_env).
    (dict(version=[3, 6, 1], feature_gates={"StopGRPCServiceOnDefrag": "yes"}),
     ["ETCD_FEATURE_GATES=CompactHashCheck=true,InitialCorruptCheck=true,StopGRPCServiceOnDefrag=true", "ETCD_TLS_MIN_VERSION=TLS1.2"],
     ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true"]),
    (dict(metrics="off"), [], ["ETCD_LISTEN_METRICS_URLS=http://127.0.0.1:2381"]),
    (dict(metrics="address", metrics_port="9379"), ["ETCD_LISTEN_METRICS_URLS=https://10.0.0.10:9379,http://127.0.0.1:9379"], []),
    (dict(corruption_checks="no"), [], ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true"]),
])
def test_each_setting_writes_its_lines(changes, present, absent):
    lines = settings_lines(env_content(server(**changes)))
    assert [line for line in present if line not in lines] == []
    assert [line for line in absent if line in lines] == []


def test_the_operator_s_variables_come_last_sorted_by_name():
    lines = settings_lines(env_content(server(extra_env={"ETCD_MAX_TXN_OPS": 256, "ETCD_CIPHER_SUITES": "X"})))
    assert lines[-2:] == ["ETCD_CIPHER_SUITES=X", "ETCD_MAX_TXN_OPS=256"]
    # and the release's settings before them, sorted too
    assert lines[-4:-2] == ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true", "ETCD_LISTEN_METRICS_URLS=http://127.0.0.1:2381"]


def test_a_bad_metrics_mode_or_release_is_refused_by_name():
    with pytest.raises(MemberConfigError, match="etcd_metrics must be one of loopback, address, off, not 'everywhere'"):
        env_content(server(metrics="everywhere"))
    with pytest.raises(MemberConfigError, match=r"the release must be \[major, minor, patch\]"):
        env_content(server(version="3.5"))


def test_the_unit_without_hardening_and_with_a_wal_dir():
    unit = unit_content(server(systemd_hardening="false"))
    assert "ProtectSystem=strict" not in unit and "LimitNOFILE=20000\n\n[Install]\n" in unit
    # etcd makes a new WAL beside the WAL dir and renames it into place: the parent is writable.
    assert "ReadWritePaths=/var/lib/etcd /var/lib/etcd-wal\n" in unit_content(server(wal_dir="/var/lib/etcd-wal/wal"))
    assert "ReadWritePaths=/var/lib/etcd\n" in unit_content(server(wal_dir="/var/lib/etcd/wal"))


def test_the_start_script_looks_for_data_in_the_wal_dir_and_quotes_paths():
    script = start_script_content(server(wal_dir="/srv/etcd wal", bin_dir="/opt/etcd bin"))
    assert "[ -z \"$(ls -A '/srv/etcd wal' 2>/dev/null)\" ]" in script
    assert script.endswith("exec '/opt/etcd bin/etcd'\n")


CONTAINER = dict(runtime="container", image="localhost/raftops-etcd:v3.5.1", stop_timeout=15)

# What a container member's unit has instead of the binary's sandbox.
CONTAINER_SERVICE = """\
# etcd runs from the image localhost/raftops-etcd:v3.5.1 (etcd_runtime: container): the start script ends in podman run,
# whose conmon becomes the main process and passes etcd's readiness on, as a Quadlet unit's does.
NotifyAccess=all
Environment=PODMAN_SYSTEMD_UNIT=etcd.service
ExecStop=/usr/bin/podman stop --ignore --time=15 etcd
ExecStopPost=-/usr/bin/podman rm --force --ignore etcd
# The container's processes live in a cgroup below the unit's (podman --cgroups=split).
KillMode=mixed
Delegate=yes
"""

CONTAINER_RUN = """\
exec /usr/bin/podman run \\
  --name=etcd \\
  --replace \\
  --rm \\
  --detach \\
  --cgroups=split \\
  --sdnotify=container \\
  --log-driver=passthrough \\
  --pull=never \\
  --network=host \\
  --user="$(id -u etcd):$(id -g etcd)" \\
  --ulimit=nofile=20000:20000 \\
  --stop-timeout=15 \\
  --env='ETCD_*' \\
  --read-only \\
  --cap-drop=all \\
  --security-opt=no-new-privileges \\
  --volume=/var/lib/etcd:/var/lib/etcd \\
  --volume=/etc/etcd/pki:/etc/etcd/pki:ro \\
  localhost/raftops-etcd:v3.5.1 \\
  /usr/local/bin/etcd
"""


def test_a_container_member_s_unit_runs_podman_as_root_with_the_same_settings_and_readiness():
    # No User= (podman runs as root, etcd as the user) and no systemd sandbox (podman could not make the
    # container): podman's directives in its place; the rest as the binary's.
    sandbox = UNIT[UNIT.index("NoNewPrivileges=true\n"):UNIT.index("\n[Install]")]
    expected = UNIT.replace("User=etcd\nGroup=etcd\n", "").replace(sandbox, CONTAINER_SERVICE)
    assert unit_content(server(**CONTAINER)) == expected


def test_a_container_member_s_start_script_checks_the_data_then_runs_the_image():
    script = start_script_content(server(**CONTAINER))
    # The same refusal of a member without data as the binary's, then podman in etcd's place.
    check, exec_word, command = script.partition("exec ")
    assert check == START.partition("exec ")[0]
    assert exec_word + command == CONTAINER_RUN


def test_a_container_without_hardening_or_tls_and_with_a_wal_dir_apart():
    script = start_script_content(server(systemd_hardening=False, pki_dir=None, wal_dir="/srv/wal/member", **CONTAINER))
    assert "--read-only" not in script and "--cap-drop=all" not in script and ":ro" not in script
    # The WAL dir and its parent, where etcd makes a new WAL before it renames it into place.
    assert "--volume=/var/lib/etcd:/var/lib/etcd \\\n  --volume=/srv/wal:/srv/wal \\\n  --volume=/srv/wal/member:/srv/wal/member" in script
    # The container's hardening never becomes systemd's: podman needs mounts and capabilities.
    assert "ProtectSystem" not in unit_content(server(**CONTAINER))


READY_CHECK = ["/usr/local/bin/etcdctl", "--endpoints=https://127.0.0.1:2379", "endpoint", "status"]
DOCKER = dict(CONTAINER, engine="docker", ready_check=READY_CHECK)

DOCKER_SERVICE = """\
# etcd runs from the image localhost/raftops-etcd:v3.5.1 (etcd_runtime: container): the start script ends in docker run, attached,
# which cannot pass etcd's readiness on: the unit is started once the member answers on its client
# port, which etcd serves only from the moment it is ready.
ExecStartPre=-/usr/bin/docker rm --force etcd
ExecStartPost=/bin/sh -c "while kill -0 \\"$$MAINPID\\" 2>/dev/null; do /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 \
endpoint status >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1"
ExecStop=/usr/bin/docker stop --time=15 etcd
ExecStopPost=-/usr/bin/docker rm --force etcd
# etcd stopped by docker stop exits on SIGTERM, which the docker command reports as 143.
SuccessExitStatus=143
"""

DOCKER_RUN = """\
set --
for name in $(env | sed -n 's/^\\(ETCD_[A-Za-z0-9_]*\\)=.*/\\1/p'); do set -- "$@" --env="$name"; done
exec /usr/bin/docker run \\
  --name=etcd \\
  --rm \\
  --log-driver=none \\
  --pull=never \\
  --network=host \\
  --user="$(id -u etcd):$(id -g etcd)" \\
  --ulimit=nofile=20000:20000 \\
  --stop-timeout=15 \\
  "$@" \\
  --read-only \\
  --cap-drop=all \\
  --security-opt=no-new-privileges \\
  --volume=/var/lib/etcd:/var/lib/etcd \\
  --volume=/etc/etcd/pki:/etc/etcd/pki:ro \\
  localhost/raftops-etcd:v3.5.1 \\
  /usr/local/bin/etcd
"""


def test_under_docker_the_unit_runs_docker_attached_and_is_started_once_the_member_answers():
    # Type=exec in notify's place (docker run cannot pass etcd's readiness on), the wait for the
    # member's answer after the start, docker's stop; the rest as the binary's, without its sandbox.
    sandbox = UNIT[UNIT.index("NoNewPrivileges=true\n"):UNIT.index("\n[Install]")]
    expected = UNIT.replace("User=etcd\nGroup=etcd\n", "").replace(sandbox, DOCKER_SERVICE).replace("Type=notify", "Type=exec")
    assert unit_content(server(**DOCKER)) == expected


def test_under_docker_the_start_script_checks_the_data_then_hands_docker_each_etcd_setting_by_name():
    script = start_script_content(server(**DOCKER))
    check, _sep, command = script.partition("set --\n")
    assert check == START.partition("exec ")[0]
    assert "set --\n" + command == DOCKER_RUN


def test_the_start_script_under_docker_passes_the_unit_s_etcd_settings_and_no_other(tmp_path):
    # The script's own lines before docker run, run by sh with a docker that prints its arguments.
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\nprintf '%s\\n' \"$@\"\n")
    fake.chmod(0o755)
    script = DOCKER_RUN.replace("/usr/bin/docker", str(fake))
    environ = dict(PATH="/usr/bin:/bin", ETCD_NAME="m0", ETCD_INITIAL_CLUSTER="a=b,c=d", OTHER="x")
    out = subprocess.run(["sh", "-c", script], env=environ, capture_output=True, text=True, check=True).stdout
    passed = [line for line in out.splitlines() if line.startswith("--env")]
    assert sorted(passed) == ["--env=ETCD_INITIAL_CLUSTER", "--env=ETCD_NAME"]


INITIAL = dict(state="new", cluster="m0=https://10.0.0.10:2380,m1=https://10.0.0.11:2380", token="etcd-abc",
               bootstrap="static", discovery_srv="example.com", discovery_srv_name="", discovery_endpoints=["https://d:2379"],
               discovery_token="", discovery_url="https://discovery.example/abc")


@pytest.mark.parametrize("changes, lines", [
    (dict(), ["ETCD_INITIAL_CLUSTER=m0=https://10.0.0.10:2380,m1=https://10.0.0.11:2380"]),
    (dict(bootstrap="dns_srv"), ["ETCD_DISCOVERY_SRV=example.com"]),
    (dict(bootstrap="dns_srv", discovery_srv_name="prod"), ["ETCD_DISCOVERY_SRV=example.com", "ETCD_DISCOVERY_SRV_NAME=prod"]),
    (dict(bootstrap="discovery"), ["ETCD_DISCOVERY=https://discovery.example/abc"]),
    (dict(bootstrap="discovery", discovery_token="t0k"), ["ETCD_DISCOVERY_ENDPOINTS=https://d:2379", "ETCD_DISCOVERY_TOKEN=t0k"]),
    # A join names the cluster whatever the bootstrap was.
    (dict(state="existing", bootstrap="dns_srv"), ["ETCD_INITIAL_CLUSTER=m0=https://10.0.0.10:2380,m1=https://10.0.0.11:2380"]),
])
def test_the_bootstrap_or_join_settings(changes, lines):
    initial = dict(INITIAL, **changes)
    text = initial_env_content(HEADER, initial)
    assert text.startswith(HEADER + "\n# Used only while this member bootstraps or joins;")
    assert settings_lines(text) == [*lines, "ETCD_INITIAL_CLUSTER_STATE=%s" % initial["state"], "ETCD_INITIAL_CLUSTER_TOKEN=etcd-abc"]


@pytest.mark.parametrize("version, checks, gates, lines", [
    ([3, 5, 30], True, {}, ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=false"]),
    # 3.6: the whole gate list as etcd.env has it, the initial check's gate off, the compaction's hash check on.
    ([3, 6, 0], True, {"LeaseCheckpoint": True},
     ["ETCD_FEATURE_GATES=CompactHashCheck=true,InitialCorruptCheck=false,LeaseCheckpoint=true,StopGRPCServiceOnDefrag=true"]),
    # Nothing to turn off.
    ([3, 5, 30], False, {}, []),
], ids=["3.5", "3.6-gates", "checks-off"])
def test_a_restored_member_starts_once_without_the_initial_corruption_check(version, checks, gates, lines):
    text = initial_env_content(HEADER, dict(state="restored", version=version, corruption_checks=checks, feature_gates=gates))
    assert text.startswith(HEADER + "\n# Used only for the first start of this restored member;")
    assert settings_lines(text) == lines


@pytest.fixture
def pki(tmp_path):
    for name in ("ca", "m0", "m0-key", "m0-peer", "m0-peer-key", "crl", "admin", "admin-key", "m0-root", "m0-root-key"):
        (tmp_path / (name + ".pem")).write_text("%s\n" % name)

    def source(name):
        return str(tmp_path / (name + ".pem"))
    return dict(dir="/etc/etcd/pki", ca=source("ca"), crl=source("crl"),
                own=dict(cert=source("m0"), key=source("m0-key"), peer_cert=source("m0-peer"), peer_key=source("m0-peer-key")),
                login=dict(cert=source("admin"), key=source("admin-key")), root=dict(cert=source("m0-root"), key=source("m0-root-key")))


def member(**parts):
    return dict(dict(header=HEADER, config_dir="/etc/etcd", user="etcd", server=SERVER), **parts)


def test_the_member_s_directories_and_files_in_order(pki):
    directories, files, private = member_files(member(pki=pki, initial=INITIAL))
    assert [(d["path"], d["owner"], d["group"], d["mode"]) for d in directories] == [
        ("/etc/etcd", "root", "etcd", "0750"), ("/var/lib/etcd", "etcd", "etcd", "0700"), ("/etc/etcd/pki", "root", "etcd", "0750")]
    assert [(f["path"], f["owner"], f["group"], f["mode"], f.get("stage", True), f.get("restart", True)) for f in files] == [
        ("/etc/etcd/etcd.env", "root", "etcd", "0640", True, True),
        ("/etc/systemd/system/etcd.service", "root", "root", "0644", True, True),
        ("/etc/etcd/etcd-start", "root", "etcd", "0750", True, True),
        ("/etc/etcd/pki/ca.pem", "root", "etcd", "0644", False, True),
        ("/etc/etcd/pki/server.pem", "root", "etcd", "0644", False, True),
        ("/etc/etcd/pki/peer.pem", "root", "etcd", "0644", False, True),
        # read anew on each use: never a restart
        ("/etc/etcd/pki/crl.pem", "root", "etcd", "0644", False, False),
        ("/etc/etcd/pki/client.pem", "root", "root", "0644", False, False),
        ("/etc/etcd/pki/root.pem", "root", "root", "0644", False, False),
    ]
    assert files[0]["content"] == ENV and files[3]["content"] == "ca\n" and files[4]["content"] == "m0\n"
    # Never shown: the bootstrap settings (a discovery token) and the keys.
    assert [(f["path"], f["group"], f["mode"], f.get("restart", True)) for f in private] == [
        ("/etc/etcd/etcd-initial.env", "etcd", "0640", True),
        ("/etc/etcd/pki/server-key.pem", "etcd", "0640", True),
        ("/etc/etcd/pki/peer-key.pem", "etcd", "0640", True),
        ("/etc/etcd/pki/client-key.pem", "root", "0600", False),
        ("/etc/etcd/pki/root-key.pem", "root", "0600", False),
    ]
    assert private[1]["content"] == "m0-key\n" and private[0]["content"].endswith("ETCD_INITIAL_CLUSTER_TOKEN=etcd-abc\n")


def test_without_tls_crl_or_pairs_only_what_is_asked(pki):
    directories, files, private = member_files(member(server=dict(SERVER, wal_dir="/srv/etcd-wal/wal")))
    # The WAL's parent is etcd's too: a new member's etcd makes its WAL there before renaming it into place.
    assert [(d["path"], d["owner"], d["mode"]) for d in directories] == [
        ("/etc/etcd", "root", "0750"), ("/var/lib/etcd", "etcd", "0700"), ("/srv/etcd-wal", "etcd", "0700"),
        ("/srv/etcd-wal/wal", "etcd", "0700")]
    assert [f["path"] for f in files] == ["/etc/etcd/etcd.env", "/etc/systemd/system/etcd.service", "/etc/etcd/etcd-start"]
    assert private == []
    directories, files, private = member_files(member(pki=dict(pki, crl="", login=None, root=None)))
    assert [f["path"].rsplit("/", 1)[1] for f in files][3:] == ["ca.pem", "server.pem", "peer.pem"]
    assert [f["path"].rsplit("/", 1)[1] for f in private] == ["server-key.pem", "peer-key.pem"]
    # No revocation list: the settings do not name one.
    assert "ETCD_CLIENT_CRL_FILE" not in files[0]["content"]


def test_a_join_writes_only_its_settings():
    assert member_files(dict(header=HEADER, config_dir="/etc/etcd", user="etcd", initial=dict(INITIAL, state="existing"))) == (
        [], [], [dict(path="/etc/etcd/etcd-initial.env", content=initial_env_content(HEADER, dict(INITIAL, state="existing")),
                      owner="root", group="etcd", mode="0640", stage=False)])


def test_a_missing_certificate_is_named_unless_check_mode_may_miss_it(pki):
    missing = dict(pki, own=dict(pki["own"], cert="/nonexistent/m0.pem"))
    with pytest.raises(MemberConfigError, match=r"could not read /nonexistent/m0\.pem on the controller: No such file"):
        member_files(member(pki=missing))
    files = member_files(member(pki=missing), missing_ok=True)[1]
    assert [f["content"] for f in files if f["path"].endswith("/server.pem")] == [""]
