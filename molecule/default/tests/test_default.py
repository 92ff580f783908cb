"""A 3-member TLS cluster deployed by the raftops.etcd.etcd playbook, checked on the hosts and
from the controller; each playbook and each phase tag in check mode reports and changes nothing
(the scenario's check step ran the etcd playbook in check mode on the fresh hosts first); then
every refused input leaves every host as it was.

`make test` keeps the reads of the deployed hosts, the no-change re-run, the etcd playbook's check run
and one refused run (a malformed etcd_version); the file fixed on one member, the phase tags' and the
other playbooks' check runs, the profile's warnings and the other refusals (unit-tested where they are
decided: tests/unit, see tests/unit/plugins/module_utils/test_refusals_default.py) are marked full."""

import hashlib
import ipaddress
import json
import os
import re
import ssl
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from etcdtest import (PKI, Gateway, assert_unchanged, fingerprint, group_hosts, host, hosts_called, playbook,
                      task_output, why_failed)

NODE_NAMES = {"etcd-host0": "etcd-host0", "etcd-host1": "etcd-host1", "etcd-host2": "etcd-host2"}
ADDRESSES = {"etcd-host0": "10.250.0.10", "etcd-host1": "10.250.0.11", "etcd-host2": "10.250.0.12"}
URLS = ["https://%s:2379" % a for a in ADDRESSES.values()]


def assert_no_host_changed(out):
    """Every member is in the run's recap, and no host of it (the controller's play of the etcd
    playbook too, when a run's tags leave it any task) changed, failed or was unreachable."""
    assert_unchanged(out, list(NODE_NAMES))
    assert_unchanged(out)


def test_service_runs_as_the_etcd_user(host):
    assert host.service("etcd").is_running
    assert host.service("etcd").is_enabled
    pid = host.check_output("systemctl show -p MainPID --value etcd")
    assert host.check_output("ps -o user= -p %s" % pid).strip() == "etcd"


def test_unit_is_hardened_and_notify(host):
    unit = host.file("/etc/systemd/system/etcd.service").content_string
    for line in ("Type=notify", "User=etcd", "NoNewPrivileges=true", "ProtectSystem=strict", "LimitNOFILE="):
        assert line in unit


def test_files_owners_and_modes(host):
    expected = {
        "/var/lib/etcd": ("etcd", "etcd", 0o700),
        # etcd only reads its PKI files: root owns them, etcd reads them through its group.
        "/etc/etcd/pki": ("root", "etcd", 0o750),
        "/etc/etcd/pki/server-key.pem": ("root", "etcd", 0o640),
        "/etc/etcd/pki/peer-key.pem": ("root", "etcd", 0o640),
        "/etc/etcd/pki/server.pem": ("root", "etcd", 0o644),
        "/etc/etcd/etcd.env": ("root", "etcd", 0o640),
    }
    for path, (user, group, mode) in expected.items():
        f = host.file(path)
        assert (f.user, f.group, f.mode) == (user, group, mode), path
    assert host.file("/usr/local/bin/etcd").linked_to == "/opt/etcd/v3.5.1/etcd"
    assert not host.file("/etc/etcd/etcd-initial.env").exists


def test_no_ca_key_on_any_member(host):
    assert host.run("find / -xdev -name 'ca-key*'").stdout.strip() == ""
    etcd_keys = host.run("grep -rl -- '-----BEGIN .*PRIVATE KEY-----' /etc/etcd /var/lib/etcd").stdout.split()
    # root-key.pem: the timers' pair, CN root (docs/access.md); the CA key never.
    assert sorted(etcd_keys) == ["/etc/etcd/pki/peer-key.pem", "/etc/etcd/pki/root-key.pem", "/etc/etcd/pki/server-key.pem"]
    with open(os.path.join(PKI, "ca-key.pem")) as ca_key:
        ca_key_line = ca_key.read().strip().splitlines()[1]
    # The whole line: EC keys share their first bytes (the ASN.1 prefix), not the rest.
    assert host.run("grep -rqsF %s /etc /opt /var /root /tmp" % ca_key_line).rc == 1


def test_member_certificate_sans(host):
    # Parsed on the controller with cryptography: the test needs nothing on the host but the file.
    name = host.backend.get_hostname()
    cert = x509.load_pem_x509_certificate(host.file("/etc/etcd/pki/server.pem").content)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {ipaddress.ip_address(ADDRESSES[name]), ipaddress.ip_address("127.0.0.1")} <= set(
        sans.get_values_for_type(x509.IPAddress))
    assert {"localhost", name} <= set(sans.get_values_for_type(x509.DNSName))
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)


def test_no_plaintext_listener(host):
    listening = host.check_output("ss -Htln")
    assert ":2379" in listening and ":2380" in listening
    # http:// is refused on every listener, loopback included.
    for url in ("http://127.0.0.1:2379/health", "http://%s:2379/health" % ADDRESSES[host.backend.get_hostname()]):
        res = host.run("python3 -c \"import urllib.request as u; u.urlopen('%s', timeout=3)\"" % url)
        assert res.rc != 0


def test_member_names_are_the_node_names():
    members = Gateway(URLS[0]).members()
    assert sorted(m["name"] for m in members) == sorted(NODE_NAMES.values())
    assert all(m["peerURLs"][0].startswith("https://") for m in members)
    assert not any(m.get("isLearner") for m in members)


def test_health_over_every_client_url():
    ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.pem"))
    ctx.load_cert_chain(os.path.join(PKI, "admin.pem"), os.path.join(PKI, "admin-key.pem"))
    for url in URLS:
        with urllib.request.urlopen(url + "/health", context=ctx, timeout=5) as resp:
            assert json.load(resp)["health"] == "true"


def test_https_without_a_client_certificate_is_refused():
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionResetError)):
        Gateway(URLS[0], cert=False).members()


def test_a_key_written_through_one_member_is_read_from_another():
    Gateway(URLS[0]).put("/verify/cross-member", "written-via-host0")
    assert Gateway(URLS[2]).get("/verify/cross-member") == "written-via-host0"


def test_a_re_run_calls_no_host_for_files_in_place_and_shows_preflight_read_as_the_status():
    rc, out = playbook("etcd", "-vvv")
    assert rc == 0, why_failed(out)
    assert_no_host_changed(out)
    # Every member's files are as asked: the files call answers on the controller, no host is sent
    # anything, and the cluster, unchanged, is read once, in preflight.
    written = task_output(out, "Write the certificates, the member configuration and the systemd unit")
    assert hosts_called(written) == [] and written.count("ok: [") == 3, written
    assert "skipping" in task_output(out, "Read the cluster status")
    assert "CLIENT-URL" in task_output(out, "Show the cluster status")


@pytest.mark.full
def test_a_file_not_as_asked_on_one_member_is_fixed_calling_that_member_alone():
    # A file that is not as asked (its mode) on one member: that member alone is called, and fixed.
    host("etcd-host1").run_expect([0], "chmod 0600 /etc/etcd/pki/root.pem")
    rc, out = playbook("etcd", "-vvv")
    assert rc == 0, why_failed(out)
    written = task_output(out, "Write the certificates, the member configuration and the systemd unit")
    assert "changed: [etcd-host1]" in written and hosts_called(written) == [ADDRESSES["etcd-host1"]], written
    assert host("etcd-host1").file("/etc/etcd/pki/root.pem").mode == 0o644


def controller_pki():
    """Every file in etcd_pki_dir and its content: a check run must not issue, revoke or move any."""
    found = {}
    for directory, _subdirs, files in os.walk(PKI):
        for name in files:
            with open(os.path.join(directory, name), "rb") as f:
                found[os.path.relpath(os.path.join(directory, name), PKI)] = hashlib.sha256(f.read()).hexdigest()
    return found


# Every tag of the role but always (roles/etcd/README.md, Tags).
PHASE_TAGS = ["etcd_preflight", "etcd_install", "etcd_configure", "etcd_pki", "etcd_cluster", "etcd_auth", "etcd_backup",
              "etcd_status"]
CHECK_RUNS = [("etcd", [])] + [("etcd", ["--tags", tag]) for tag in PHASE_TAGS] + [
    ("backup", []),
    ("upgrade", []),
    ("remove_member", ["-e", "etcd_remove=etcd-host2"]),
    ("replace_member", ["-e", "etcd_replace=etcd-host2"]),
    ("restore", ["-e", "etcd_restore_snapshot={backup}"]),
]
# `make test` runs the etcd playbook's whole check run (and the scenario's check step ran it on the
# fresh hosts); each phase tag and every other playbook in check mode is a second walk: full.
CHECK_RUNS_KEPT = {("etcd", ())}


@pytest.mark.parametrize("name, args", [
    pytest.param(n, a, id=" ".join([n, *a[1:2]]), marks=() if (n, tuple(a)) in CHECK_RUNS_KEPT else pytest.mark.full)
    for n, a in CHECK_RUNS])
def test_check_mode_reports_and_changes_nothing(name, args, request):
    # The backup is taken (a real run) only for the runs that restore it.
    backup = request.getfixturevalue("first_cluster_backup") if any("{backup}" in a for a in args) else None
    before, pki, members = fingerprint(group_hosts()), controller_pki(), Gateway(URLS[0]).members()
    rc, out = playbook(name, *[a.replace("{backup}", backup) if backup else a for a in args], check=True)
    assert rc == 0, why_failed(out)
    if name == "etcd":
        assert_no_host_changed(out)
    assert fingerprint(group_hosts()) == before
    assert controller_pki() == pki
    assert Gateway(URLS[0]).members() == members


REFUSED = [
    ("duplicate NODE_NAME", ["-e", "NODE_NAME=etcd-same"], "both use the member name 'etcd-same'"),
    ("invalid NODE_NAME", ["-e", "NODE_NAME=-bad"], "member name '-bad' (NODE_NAME) is invalid"),
    ("empty group", ["-e", "etcd_group=etcd_nothing_here"], "the etcd group is empty or missing"),
    ("member without an address", ["-e", '{"ansible_default_ipv4": {}}'], "host etcd-host0: no address: set etcd_address"),
    ("malformed etcd_version", ["-e", "etcd_version=3.5"], "host etcd-host0: etcd_version='3.5': a release version X.Y.Z, 3.4.0 or later, like 3.6.14 (no v, no spaces); "
     "nothing was changed"),
    ("release URL unreachable", ["-e", "etcd_release_base_url=http://10.250.0.1:8099", "-e", "etcd_download_cache_dir={tmp}"],
     "etcd 3.5.1 could not be downloaded and verified from http://10.250.0.1:8099/v3.5.1/ (no host was changed)"),
    ("etcd_pki_dir without the cluster's CA", ["-e", "etcd_pki_dir={tmp}/elsewhere"],
     "(managed by the role): it holds no ca.pem yet, but etcd-host0, etcd-host1, etcd-host2 run with another CA; "),
    ("hosts short of the profile, strict", ["-e", "etcd_profile=xlarge", "-e", "etcd_preflight_strict=true",
                                            "-e", "etcd_preflight_hardware=all"], "profile xlarge wants 16 vCPUs"),
    ("unknown profile", ["-e", "etcd_profile=huge"],
     "host etcd-host0: etcd_profile='huge': not a sizing profile; use one of small, medium, large, xlarge"),
    ("checksum mismatch", ["-e", "etcd_release_base_url=http://10.250.0.1:8080/corrupt",
                           "-e", "etcd_download_cache_dir={tmp}"],
     "etcd 3.5.1 could not be downloaded and verified from http://10.250.0.1:8080/corrupt/v3.5.1/ (no host was changed)"),
    ("checksum mismatch, fetched by the host", ["-e", "etcd_release_base_url=http://10.250.0.1:8080/corrupt",
                                                "-e", "etcd_download_on_hosts=true", "-e", "etcd_download_cache_dir={tmp}"],
     "the copy of http://10.250.0.1:8080/corrupt/v3.5.1/etcd-v3.5.1-linux-amd64.tar.gz on the host has SHA-256 "),
]


@pytest.mark.full
def test_hosts_short_of_the_profile_are_named_with_their_figures_and_the_run_goes_on():
    rc, out = playbook("etcd", "-e", "etcd_profile=xlarge", "-e", "etcd_preflight_hardware=all", "--tags", "etcd_preflight")
    assert rc == 0, why_failed(out)
    text = " ".join(out.split())
    for name in NODE_NAMES:
        assert re.search(r"host %s: [0-9]+ CPUs usable; profile xlarge wants 16 vCPUs" % name, text), out
        assert re.search(r"host %s: memory [0-9.]+ GiB; profile xlarge wants 60 GiB" % name, text), out


# A run downloads the release only when a host lacks it: for these, etcd-host0 seems to, its link gone;
# a host fetches it only when its release directory lacks etcd too.
NEEDS_DOWNLOAD = {"release URL unreachable", "checksum mismatch", "checksum mismatch, fetched by the host"}
ASIDE = {"checksum mismatch, fetched by the host": ["/usr/local/bin/etcd", "/opt/etcd/v3.5.1/etcd"]}


# `make test` keeps one refused run of the etcd playbook (the plumbing: refused in the first task, every
# host as before); the other refusals are decided where their unit tests check them (tests/unit, see
# tests/unit/plugins/module_utils/test_refusals_default.py): full.
REFUSAL_KEPT = "malformed etcd_version"


@pytest.mark.parametrize("case, extra, message", [
    pytest.param(*c, id=c[0], marks=() if c[0] == REFUSAL_KEPT else pytest.mark.full) for c in REFUSED])
def test_bad_input_is_refused_before_any_host_changes(case, extra, message, tmp_path):
    aside = ASIDE.get(case, ["/usr/local/bin/etcd"]) if case in NEEDS_DOWNLOAD else []
    for path in aside:
        host("etcd-host0").run_expect([0], "mv %s %s.aside" % (path, path))
    try:
        before = fingerprint(group_hosts())
        rc, out = playbook("etcd", *[a.replace("{tmp}", str(tmp_path)) for a in extra])
        after = fingerprint(group_hosts())
    finally:
        for path in aside:
            host("etcd-host0").run_expect([0], "mv %s.aside %s" % (path, path))
    assert rc != 0, out
    assert message in " ".join(out.split()), out
    if case == "checksum mismatch":
        # get_url names the expected and the actual sum.
        assert "did not match" in out and "it was" in out, out
    if case == "checksum mismatch, fetched by the host":
        # the sum it found and the release's, then that nothing was unpacked; the controller fetched no tarball
        assert re.search(r"has SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}; nothing was unpacked", " ".join(out.split())), out
        assert sorted(os.listdir(tmp_path / "v3.5.1")) == ["SHA256SUMS"]
    assert after == before
