"""How playbooks/adopt.yml carries the adoption's plan out (module_utils/plan/adopt.py, carrying_out):
the hosts each later play runs on, the take-over's etcd_tls_transition, and what the playbook does on
each member beside the role: its drop-in and the cluster's own certificates."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.plan.adopt import adopt_plan
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_adopt import MEMBERS, read, tls_reads

HOSTS = ["h0", "h1", "h2"]
NO_STEPS = dict(drop_in="", move={}, pki_fetch=[], pki_keys=[], pki_place="", pki_copies=[])


def package_reads(**change):
    """The package cluster (Debian 13's, 3.5.16: it can serve TLS beside plaintext)."""
    return {host: read(i, **change) for i, host in enumerate(HOSTS)}


def plays(**hosts):
    return dict(dict(plain_take_over=[], upgrade=[], take_over=[], tls_move=[], retire=[]), **hosts)


def plan(reads, tmp_path, **settings):
    """The plan with etcd_pki_dir in tmp_path, holding the files there (the stage adoption lists them)."""
    return adopt_plan(MEMBERS, reads, dict(dict(etcd_instance="etcd", etcd_pki_dir=str(tmp_path), etcd_pki_managed=False),
                                           **settings), dict(etcd_version="3.5.30"),
                      [path.name for path in tmp_path.iterdir() if path.is_file()])


@pytest.mark.parametrize("reads, plays, transition", [
    # A plaintext cluster: taken over serving TLS beside plaintext, then moved to TLS.
    (package_reads(), plays(take_over=HOSTS, tls_move=HOSTS, retire=HOSTS), "both"),
    # A TLS cluster keeps its certificates: taken over in one roll.
    (tls_reads(), plays(take_over=HOSTS, retire=HOSTS), "none"),
    # Every member the collection's already (a run stopped between the rolls): the move only.
    (package_reads(env_files=["/etc/etcd/etcd.env"], ETCD_CERT_FILE="/etc/etcd/pki/server.pem"),
     plays(tls_move=HOSTS, retire=HOSTS), "none"),
    # Debian 12's package cluster, on 3.4: taken over and upgraded to 3.5 in plaintext first.
    (package_reads(version="3.4.23"), plays(plain_take_over=HOSTS, upgrade=HOSTS, take_over=HOSTS, tls_move=HOSTS,
                                            retire=HOSTS), "both"),
    # ... a run stopped in its upgrade: the upgrade goes on, then the move to TLS.
    ({**package_reads(version="3.4.23", env_files=["/etc/etcd/etcd.env"]),
      "h1": read(1, version="3.5.30", env_files=["/etc/etcd/etcd.env"])},
     plays(upgrade=HOSTS, take_over=HOSTS, tls_move=HOSTS, retire=HOSTS), "both"),
    # ... stopped once upgraded: the move to TLS only.
    (package_reads(version="3.5.30", env_files=["/etc/etcd/etcd.env"]), plays(take_over=HOSTS, tls_move=HOSTS, retire=HOSTS),
     "both"),
])
def test_the_plan_names_the_hosts_of_each_later_play(reads, plays, transition, tmp_path):
    carried_out = plan(reads, tmp_path, etcd_adopt_plan_only=False)
    assert carried_out["refusal"] == "" and carried_out["plan_only"] is False
    assert carried_out["plays"] == plays and carried_out["tls_transition"] == transition


@pytest.mark.parametrize("reads, only", [
    (package_reads(), True),  # only the plan asked for (--check, or etcd_adopt_plan_only)
    (package_reads(), "yes"),
    (package_reads(version="3.4.23"), True),  # on 3.4 too
    ({host: read(i, running=False) for i, host in enumerate(HOSTS)}, False),  # refused: no etcd runs
])
def test_a_plan_not_carried_out_has_no_host_in_the_later_plays_and_no_step(reads, only, tmp_path):
    carried_out = plan(reads, tmp_path, etcd_adopt_plan_only=only)
    assert carried_out["plan_only"] is bool(only is not False)
    assert only is not False or carried_out["refusal"]
    assert carried_out["plays"] == plays()
    assert carried_out["steps"] == {host: NO_STEPS for host in HOSTS}


def test_a_member_run_as_root_by_another_unit_gets_a_drop_in_that_stops_it_and_gives_its_data_over(tmp_path):
    carried_out = plan(tls_reads(), tmp_path, etcd_instance="main", etcd_config_dir="/etc/main")
    assert carried_out["drop_in_path"] == "/etc/systemd/system/main.service.d/adopt.conf"
    assert carried_out["steps"]["h1"]["drop_in"] == (
        "# raftops.etcd adopt playbook: the take-over of this member (removed when the adoption ends).\n"
        "[Unit]\nConflicts=etcd-main.service\nAfter=etcd-main.service\n"
        "[Service]\nExecStartPre=+/bin/chown -R main:main /var/lib/etcd/default /srv/etcd-wal/wal\n")


def test_a_data_dir_that_moves_is_renamed_by_the_drop_in_under_the_collection_s_settings_only(tmp_path):
    reads = package_reads(user="root")
    reads["h1"]["data_move"] = dict(target="/srv/my etcd", same_filesystem=True, target_state="empty")
    steps = plan(reads, tmp_path)["steps"]["h1"]
    assert steps["move"] == dict(source="/var/lib/etcd/default", target="/srv/my etcd", empty=True)
    assert steps["drop_in"] == (
        "# raftops.etcd adopt playbook: the take-over of this member (removed when the adoption ends).\n"
        "[Service]\n"
        "ExecStartPre=+/usr/bin/nsenter -t 1 -m -- /bin/sh -c \\\n"
        "  \"if [ -L '/srv/my etcd' ] && grep -qx 'ETCD_DATA_DIR=/srv/my etcd' /etc/etcd/etcd.env; "
        "then rm '/srv/my etcd' && mv /var/lib/etcd/default '/srv/my etcd'; fi\"\n"
        "ExecStartPre=+/bin/chown -R etcd:etcd '/srv/my etcd'\n")


def test_a_package_member_needs_no_drop_in_and_no_certificates(tmp_path):
    assert plan(package_reads(), tmp_path)["steps"]["h0"] == NO_STEPS


def test_the_cluster_s_own_certificates_are_fetched_where_etcd_pki_dir_has_none_the_ca_from_the_first_member(tmp_path):
    (tmp_path / "m2.pem").write_text("x")
    steps = plan(tls_reads(), tmp_path)["steps"]
    pki = str(tmp_path)
    assert steps["h0"]["pki_fetch"] == [
        dict(src="/etc/tls/ca.crt", dest=pki + "/ca.pem"), dict(src="/etc/tls/node.crt", dest=pki + "/m0.pem"),
        dict(src="/etc/tls/node.key", dest=pki + "/m0-key.pem"), dict(src="/etc/tls/peer.crt", dest=pki + "/m0-peer.pem"),
        dict(src="/etc/tls/peer.key", dest=pki + "/m0-peer-key.pem")]
    assert [item["dest"] for item in steps["h2"]["pki_fetch"]] == [pki + "/m2-key.pem", pki + "/m2-peer.pem",
                                                                   pki + "/m2-peer-key.pem"]
    # The keys are kept private whether fetched now or put there before.
    assert steps["h2"]["pki_keys"] == [pki + "/m2-key.pem", pki + "/m2-peer-key.pem"]


def test_the_member_s_own_ca_and_server_pair_go_where_the_role_s_calls_look_for_them(tmp_path):
    steps = plan(tls_reads(), tmp_path, etcd_config_dir="/opt/etcd")["steps"]["h1"]
    assert steps["pki_place"] == "/opt/etcd/pki"
    assert steps["pki_copies"] == [
        dict(src="/etc/tls/ca.crt", dest="/opt/etcd/pki/ca.pem", mode="0644"),
        dict(src="/etc/tls/node.crt", dest="/opt/etcd/pki/server.pem", mode="0644"),
        dict(src="/etc/tls/node.key", dest="/opt/etcd/pki/server-key.pem", mode="0600")]
