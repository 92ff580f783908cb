import os

import jinja2
import pytest
import yaml

from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings as s
from ansible_collections.raftops.etcd.plugins.filter import sizing as sizing_filters

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
HOST = "etcd-1"


def _load(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return yaml.safe_load(f)


def _rendered(defaults):
    """The defaults as the role sees them: those that derive from others (etcd_instance) templated."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update({"raftops.etcd." + name: f for name, f in sizing_filters.FilterModule().filters().items()})
    values = dict(defaults)
    for _depth in range(3):  # a default may name a default that names another
        values = {k: env.from_string(v).render(values, inventory_dir="/inventory", inventory_hostname=HOST) if isinstance(v, str) and "{{" in v
                  and "lookup(" not in v else v for k, v in values.items()}
    return values


# The proxy role reads the etcd role's defaults too (roles/etcd_proxy): the table covers both.
DEFAULTS = _rendered(dict(_load("roles", "etcd", "defaults", "main.yml"), **_load("roles", "etcd_proxy", "defaults", "main.yml")))
# The role's defaults for every variable the filter reads (etcd_wal_dir is new: '' = inside the data dir).
BASE = dict({"etcd_wal_dir": ""}, **{k: v for k, v in DEFAULTS.items() if k in s.VARIABLES})


def problems(**overrides):
    return s.settings_problems(dict(BASE, **overrides), HOST)


def test_role_defaults_have_no_problem():
    assert set(s.VARIABLES) <= set(BASE)
    assert problems() == []


def test_every_variable_the_filter_reads_is_a_role_default_except_perhaps_the_new_wal_dir():
    assert set(s.VARIABLES) - set(DEFAULTS) <= {"etcd_wal_dir"}


def test_missing_keys_are_skipped_and_unknown_keys_ignored():
    assert s.settings_problems({}, HOST) == []
    assert s.settings_problems({"etcd_client_port": 2379, "something_else": object()}, HOST) == []
    # A relation with a variable that was not given is not checked.
    assert s.settings_problems({"etcd_election_timeout": 5}, HOST) == []


def test_a_non_dict_is_a_message_too():
    assert s.settings_problems(None, HOST) == [
        "host etcd-1: the settings to check must be a dict of role variables, not None"
    ]


GOOD = [
    dict(etcd_client_port="2379", etcd_peer_port="2380"),
    dict(etcd_client_port=12379, etcd_peer_port=12380),
    dict(etcd_heartbeat_interval=10000, etcd_election_timeout=50000),
    dict(etcd_heartbeat_interval=1, etcd_election_timeout=5),
    dict(etcd_quota_backend_bytes=8 * 1024 ** 3),
    dict(etcd_quota_backend_bytes=100 * 1024 ** 3),
    dict(etcd_auto_compaction_retention="1h"),
    dict(etcd_auto_compaction_retention="30m"),
    dict(etcd_auto_compaction_retention="1h30m"),
    dict(etcd_auto_compaction_retention="1.5h"),
    dict(etcd_auto_compaction_retention="72"),
    dict(etcd_auto_compaction_retention=5),
    dict(etcd_auto_compaction_mode="revision", etcd_auto_compaction_retention="1000"),
    dict(etcd_auto_compaction_mode="revision", etcd_auto_compaction_retention=10000),
    dict(etcd_auto_compaction_mode="", etcd_auto_compaction_retention="0"),
    # etcd's documented "off": a retention of 0, in either mode and any form etcd reads.
    dict(etcd_auto_compaction_retention="0"),
    dict(etcd_auto_compaction_retention=0),
    dict(etcd_auto_compaction_retention="0h"),
    dict(etcd_auto_compaction_retention="0m0s"),
    dict(etcd_auto_compaction_mode="revision", etcd_auto_compaction_retention=0),
    dict(etcd_auto_compaction_mode="", etcd_auto_compaction_retention=""),
    dict(etcd_log_level="warn"),
    dict(etcd_log_level="panic"),
    dict(etcd_limit_nofile=1024),
    dict(etcd_max_raft_index_gap=0, etcd_health_timeout=1),
    dict(etcd_first_contact_timeout=1), dict(etcd_first_contact_timeout="600"),
    dict(etcd_backup_keep=1, etcd_backup_host_keep="48"),
    dict(etcd_restore_bump_revision="auto", etcd_restore_mark_compacted=True, etcd_status_backup_max_age_hours=1),
    dict(etcd_restore_bump_revision=0, etcd_restore_mark_compacted="false"),
    dict(etcd_restore_bump_revision="5000000"),
    dict(etcd_restore_to="2026-11-28T14:03:07Z", etcd_restore_revision=0, etcd_backup_stream_interval=0),
    dict(etcd_restore_to="", etcd_restore_revision=4242, etcd_backup_stream_interval=20),
    dict(etcd_backup_transfer_dir="/tmp"),
    dict(etcd_backup_transfer_dir="/srv/scratch"),
    dict(etcd_learner_stall_timeout=600),
    dict(etcd_backup_schedule="hourly"),
    dict(etcd_defrag_rule="always", etcd_maintenance_schedule="Sun *-*-* 03:00:00", etcd_maintenance_compact_keep=0),
    dict(etcd_defrag_rule="(size > 1GiB or free_percent >= 30%) and free > 1 GB", etcd_maintenance_defrag_timeout=1),
    dict(etcd_maintenance_defrag_pause=0),
    dict(etcd_backup_schedule="*-*-* 00/6:00:00"),
    dict(etcd_backup_schedule="Mon..Fri 02:30"),
    dict(etcd_pki_validity_days=3650, etcd_pki_ca_validity_days=3650, etcd_pki_renew_before_days=0),
    dict(etcd_pki_validity_days=31, etcd_pki_renew_before_days=30),
    dict(etcd_pki_key_type="rsa"),
    dict(etcd_pki_clients=[{"name": "billing"}, {"name": "web", "user": "web-app"}, {"name": "batch", "user": None}]),
    dict(etcd_pki_clients=[{"name": "ops", "user": "root"}, {"name": "root"}], etcd_pki_clients_allow_root=True),
    dict(etcd_pki_clients=[], etcd_tls=False),
    dict(etcd_pki_clients=[{"name": "a"}], etcd_tls="yes", etcd_pki_managed="on"),
    dict(etcd_pki_extra_sans=["10.0.0.10", "fd00::10", "lb.example.com", "*.etcd.example.com", "localhost", "LB-1"]),
    dict(etcd_data_dir="/srv/etcd", etcd_config_dir="/etc/etcd-prod", etcd_install_dir="/opt/etcd-prod"),
    dict(etcd_data_dir="/data/etcd", etcd_wal_dir="/data/etcd-wal"),
    dict(etcd_wal_dir="/var/lib/etcd-wal/wal"),
    dict(etcd_wal_dir="/srv/etcd-wal/host0"),
    # The WAL may live inside the data dir, only not in its member directory.
    dict(etcd_wal_dir="/var/lib/etcd/wal"),
    dict(etcd_wal_dir="/var/lib/etcd/members"),
    dict(etcd_bin_dir="/usr/bin"),
    dict(etcd_bin_dir="/opt/etcd/bin"),
    dict(etcd_backup_host_dir="/var/backups/etcd-prod", etcd_data_dir="/var/lib/etcd_prod.1"),
    dict(etcd_user="_etcd"),
    dict(etcd_instance="etcd"),
    dict(etcd_profile="xlarge", etcd_preflight_hardware="all", etcd_preflight_strict=True),
    dict(etcd_profile="", etcd_preflight_hardware="off"),
    dict(etcd_instance="etcd-events"),
    dict(etcd_instance="e"),
    dict(etcd_instance="etcd2-events-cluster"),
    dict(etcd_user="etcd-prod"),
    dict(etcd_cluster_token="prod-etcd.1"),
    dict(etcd_cluster_token="A"),
    dict(etcd_extra_env={
        "ETCD_MAX_REQUEST_BYTES": 10485760,
        "ETCD_ENABLE_PPROF": True,
        "ETCD_CORRUPT_CHECK_TIME": "4h",
    }),
    dict(etcd_metrics="address", etcd_metrics_port=2391),
    dict(etcd_metrics="off", etcd_corruption_checks=False),
    dict(etcd_tls="yes", etcd_pki_managed="False", etcd_systemd_hardening=1, etcd_show_status=0,
         etcd_remove_wipe="no", etcd_allow_downgrade="off", etcd_backup_before_upgrade="ON", etcd_pki_replace_ca=False),
    dict(etcd_pki_rotate_ca=True),
    dict(etcd_pki_rotate_ca=False, etcd_pki_managed=False),
    dict(etcd_pki_rotate_ca=True, etcd_pki_rotate_ca_pause="yes"),
    dict(etcd_pki_rotate_ca_pause=False, etcd_tls=False),
    dict(etcd_version="3.4.0"),
    dict(etcd_backup_targets=[
        {"name": "offsite", "type": "s3", "bucket": "etcd-backups", "prefix": "prod/", "keep": 3, "max_age_days": 0},
        {"name": "minio", "bucket": "b.k-1", "endpoint_url": "https://s3.example.com", "access_key": "a",
         "secret_key": "s", "region": "eu-1"},
        {"name": "vault", "type": "ssh", "host": "backup1", "path": "/srv/etcd-backups", "keep": "14"},
    ], etcd_backup_key_file="/home/ops/keys/etcd-backup.key"),
    dict(etcd_version="3.5.17"),
    dict(etcd_release_base_url="file:///srv/mirror/etcd"),
    dict(etcd_release_base_url="http://mirror.local:8080/etcd/releases"),
    dict(etcd_auth_enabled=True, etcd_auth_root_password="s3cret",
         etcd_roles=[{"name": "app", "permissions": [{"prefix": "app/", "permission": "readwrite"},
                                                     {"key": "shared/x", "permission": "read"}]},
                     {"name": "old", "state": "absent"}],
         etcd_users=[{"name": "app", "password": "pw", "roles": ["app"]}, {"name": "billing", "roles": ["root"]},
                     {"name": "gone", "state": "absent"}],
         etcd_pki_clients=[{"name": "billing-app", "user": "billing"}]),
    dict(etcd_auth_enabled=False, etcd_auth_root_password="s3cret"),
    dict(etcd_auth_enabled="no", etcd_auth_root_password="s3cret"),
    # recover_quorum's lost hosts: by address or name, as a list or as -e text; '' is none
    dict(etcd_recover_lost="10.0.0.13, etcd-host4"),
    dict(etcd_recover_lost=["10.0.0.13"]),
    dict(etcd_recover_lost=""),
    dict(etcd_backup_cluster="etcd"),
    dict(etcd_backup_cluster="prod/etcd-main_2.x"),
    dict(etcd_runtime="container"),
    dict(etcd_runtime="container", etcd_container_image="registry.example.com/etcd@sha256:" + "a1" * 32),
    # a push to S3 without keys takes the members' own credentials (environment, instance profile)
    dict(etcd_backup_push=True, etcd_backup_schedule="hourly", etcd_backup_targets=[{"name": "o", "bucket": "b-1"}]),
    dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1", "part_size_mib": 5120, "access_key": "a", "secret_key": "s"}]),
]


@pytest.mark.parametrize("overrides", GOOD)
def test_good_values_have_no_problem(overrides):
    assert problems(**overrides) == []


EXACT = "the message after 'variable=value: ' is exactly this"
GIB = 1024 ** 3

# (overrides, variable as named in the message, value as shown, part of what the message says)
BAD = [
    # bootstrap modes and auto-TLS (tests/unit/plugins/filter/test_settings_bootstrap.py has the rest)
    (dict(etcd_bootstrap="dns"), "etcd_bootstrap", "'dns'", "static, dns_srv or discovery"),
    (dict(etcd_discovery_srv="localhost"), "etcd_discovery_srv", "'localhost'", "a DNS domain like example.com"),
    (dict(etcd_discovery_srv_name="a_b"), "etcd_discovery_srv_name", "'a_b'", "letters, digits and -"),
    (dict(etcd_discovery_srv_resolvers=["ns 1"]), "etcd_discovery_srv_resolvers[0]", "'ns 1'", "an IP address"),
    (dict(etcd_discovery_url="http://d/x"), "etcd_discovery_url", "'<hidden>'", "the v2 URL of a token"),
    (dict(etcd_discovery_endpoints="http://d:2379"), "etcd_discovery_endpoints", "'http://d:2379'", "must be a list"),
    (dict(etcd_discovery_token="-t"), "etcd_discovery_token", "'<hidden>'", "letters, digits"),
    (dict(etcd_auto_tls=True), "etcd_auto_tls", "True", "cannot be combined with etcd_tls=true"),
    (dict(etcd_tls_transition="half"), "etcd_tls_transition", "'half'", "none, or both with etcd_tls true"),
    (dict(etcd_tls_transition="both", etcd_tls=False), "etcd_tls_transition", "'both'", "needs etcd_tls=true"),
    # applications' client certificates (the rules: tests/unit/plugins/module_utils/test_etcd_pki_applications.py)
    (dict(etcd_pki_clients="billing"), "etcd_pki_clients", "'billing'", "must be a list of applications"),
    (dict(etcd_pki_clients=["billing"]), "etcd_pki_clients[0]", "'billing'", "an application is a dict with name"),
    (dict(etcd_pki_clients=[{"name": "web"}, {"name": "web", "user": "x"}]), "etcd_pki_clients[1]",
     "{'name': 'web', 'user': 'x'}", "name 'web' is also the name of etcd_pki_clients[0]"),
    (dict(etcd_pki_clients=[{"name": "../web"}]), "etcd_pki_clients[0]", "{'name': '../web'}", "name must be 1 to 64"),
    (dict(etcd_pki_clients=[{"name": "web", "user": ""}]), "etcd_pki_clients[0]", "{'name': 'web', 'user': ''}",
     "user must be an etcd user name"),
    (dict(etcd_pki_clients=[{"user": "web"}]), "etcd_pki_clients[0]", "{'user': 'web'}", "name must be 1 to 64"),
    (dict(etcd_pki_clients=[{"name": "web"}, {"name": "ops", "user": "root"}]), "etcd_pki_clients[1]",
     "{'name': 'ops', 'user': 'root'}", "its certificate's common name would be root, etcd's superuser: every permission "
     "on the gRPC port (etcdctl, Go clients) once auth is on; give the application a user of its own (user: NAME with "
     "etcd_roles/etcd_users), or set etcd_pki_clients_allow_root=true to issue it anyway"),
    (dict(etcd_pki_clients=[{"name": "root"}], etcd_pki_clients_allow_root="no"), "etcd_pki_clients[0]",
     "{'name': 'root'}", "its certificate's common name would be root"),
    (dict(etcd_pki_clients_allow_root="maybe"), "etcd_pki_clients_allow_root", "'maybe'", "true or false"),
    (dict(etcd_pki_clients=[{"name": "web"}], etcd_tls=False), "etcd_pki_clients", "[{'name': 'web'}]",
     "needs etcd_tls=true"),
    (dict(etcd_pki_clients=[{"name": "web"}], etcd_pki_managed="no"), "etcd_pki_clients", "[{'name': 'web'}]",
     "needs etcd_pki_managed=true"),
    # off-host backup targets
    (dict(etcd_backup_targets={"name": "o"}), "etcd_backup_targets", "{'name': 'o'}", "must be a list of targets"),
    (dict(etcd_backup_targets=["s3://b"]), "etcd_backup_targets[0]", "'s3://b'", "a dict with name, type (s3 or ssh)"),
    (dict(etcd_backup_targets=[{"type": "s3", "bucket": "b-1"}]), "etcd_backup_targets[0]",
     "{'type': 's3', 'bucket': 'b-1'}", "name must be letters, digits"),
    (dict(etcd_backup_targets=[{"name": "o", "type": "ftp"}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'type': 'ftp'}", "type 'ftp' is not s3 or ssh"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1", "path": "/x"}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'bucket': 'b-1', 'path': '/x'}", "s3 target o: unknown keys path; it takes name, type, bucket"),
    (dict(etcd_backup_targets=[{"name": "o", "type": "s3"}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'type': 's3'}", "s3 target o needs a bucket"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "Bad_Bucket"}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'bucket': 'Bad_Bucket'}", "s3 target o needs a bucket: 3 to 63 lowercase"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1", "keep": 0}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'bucket': 'b-1', 'keep': 0}", "keep 0: a whole number of backups, at least 1"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1", "max_age_days": "month"}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'bucket': 'b-1', 'max_age_days': 'month'}", "max_age_days 'month': a whole number of days"),
    (dict(etcd_backup_targets=[{"name": "v", "type": "ssh", "path": "/srv/b"}]), "etcd_backup_targets[0]",
     "{'name': 'v', 'type': 'ssh', 'path': '/srv/b'}", "ssh target v needs a host: an inventory host name"),
    (dict(etcd_backup_targets=[{"name": "v", "type": "ssh", "host": "h"}]), "etcd_backup_targets[0]",
     "{'name': 'v', 'type': 'ssh', 'host': 'h'}", "ssh target v: path None must be an absolute path"),
    (dict(etcd_backup_targets=[{"name": "v", "type": "ssh", "host": "h", "path": "/tmp/b"}]), "etcd_backup_targets[0]",
     "{'name': 'v', 'type': 'ssh', 'host': 'h', 'path': '/tmp/b'}", "path '/tmp/b' lies under /tmp"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1"}, {"name": "o", "type": "ssh", "host": "h", "path": "/srv/b"}]),
     "etcd_backup_targets[1]", "{'name': 'o', 'type': 'ssh', 'host': 'h', 'path': '/srv/b'}",
     "name 'o' is used by another target too"),
    (dict(etcd_backup_key_file="backup.key"), "etcd_backup_key_file", "'backup.key'", "an absolute path of a file"),
    # ports
    (dict(etcd_client_port=70000), "etcd_client_port", "70000", "a port is a whole number from 1 to 65535"),
    (dict(etcd_client_port=0), "etcd_client_port", "0", "from 1 to 65535"),
    (dict(etcd_peer_port="abc"), "etcd_peer_port", "'abc'", "from 1 to 65535"),
    (dict(etcd_peer_port=True), "etcd_peer_port", "True", "from 1 to 65535"),
    (dict(etcd_client_port=None), "etcd_client_port", "None", "from 1 to 65535"),
    (dict(etcd_client_port="2379 "), "etcd_client_port", "'2379 '", "from 1 to 65535"),
    (dict(etcd_client_port=2379.0), "etcd_client_port", "2379.0", "from 1 to 65535"),
    (dict(etcd_peer_port=2379), "etcd_peer_port", "2379", "must differ from etcd_client_port (2379)"),
    # timing
    (dict(etcd_heartbeat_interval=0), "etcd_heartbeat_interval", "0", "from 1 to 10000"),
    (dict(etcd_heartbeat_interval=10001), "etcd_heartbeat_interval", "10001", "from 1 to 10000"),
    (dict(etcd_heartbeat_interval="fast"), "etcd_heartbeat_interval", "'fast'", "milliseconds"),
    (dict(etcd_election_timeout=60000), "etcd_election_timeout", "60000", "from 5 to 50000"),
    (dict(etcd_election_timeout=400), "etcd_election_timeout", "400",
     "must be at least 5 x etcd_heartbeat_interval (5 x 100 = 500)"),
    (dict(etcd_election_timeout=[1000]), "etcd_election_timeout", "[1000]", "from 5 to 50000"),
    # sizes
    (dict(etcd_snapshot_count=0), "etcd_snapshot_count", "0", "at least 1"),
    (dict(etcd_quota_backend_bytes=-1), "etcd_quota_backend_bytes", "-1", "from 0 (etcd's default, 2 GiB)"),
    (dict(etcd_quota_backend_bytes=200 * GIB), "etcd_quota_backend_bytes", str(200 * GIB),
     "etcd recommends at most 8 GiB"),
    (dict(etcd_quota_backend_bytes="8G"), "etcd_quota_backend_bytes", "'8G'", "a whole number of bytes"),
    # compaction
    (dict(etcd_auto_compaction_mode="hourly"), "etcd_auto_compaction_mode", "'hourly'",
     "'' (off), 'periodic' or 'revision'"),
    (dict(etcd_auto_compaction_mode=None), "etcd_auto_compaction_mode", "None", "'periodic' or 'revision'"),
    (dict(etcd_auto_compaction_retention=""), "etcd_auto_compaction_retention", "''", "a Go duration like"),
    (dict(etcd_auto_compaction_retention="1d"), "etcd_auto_compaction_retention", "'1d'", "a Go duration like"),
    (dict(etcd_auto_compaction_retention="-1h"), "etcd_auto_compaction_retention", "'-1h'", "a Go duration"),
    (dict(etcd_auto_compaction_retention="-1"), "etcd_auto_compaction_retention", "'-1'", "or 0 (off, as etcd takes it)"),
    (dict(etcd_auto_compaction_retention="0.0"), "etcd_auto_compaction_retention", "'0.0'", "a Go duration"),
    (dict(etcd_auto_compaction_retention="1 h"), "etcd_auto_compaction_retention", "'1 h'", "a Go duration"),
    (dict(etcd_auto_compaction_mode="revision", etcd_auto_compaction_retention="1h"),
     "etcd_auto_compaction_retention", "'1h'", "a whole number of revisions to keep, at least 1"),
    # logging, limits, waits
    (dict(etcd_log_level="verbose"), "etcd_log_level", "'verbose'", "one of debug, info, warn, error, panic, fatal"),
    (dict(etcd_log_level="INFO"), "etcd_log_level", "'INFO'", "one of debug, info"),
    (dict(etcd_limit_nofile=512), "etcd_limit_nofile", "512", "at least 1024"),
    # the runtime and the image
    (dict(etcd_runtime="docker"), "etcd_runtime", "'docker'", "host or container"),
    (dict(etcd_runtime="container", etcd_container_image="registry.example.com/etcd:v3.5.30"), "etcd_container_image",
     "'registry.example.com/etcd:v3.5.30'", "an image named by its digest, like registry.example.com/etcd@sha256:<64 hex digits>"),
    (dict(etcd_runtime="container", etcd_container_image="etcd@sha256:abc"), "etcd_container_image",
     "'etcd@sha256:abc'", "an image named by its digest"),
    (dict(etcd_container_image="etcd@sha256:" + "0" * 64), "etcd_container_image", "'etcd@sha256:%s'" % ("0" * 64),
     "'' unless etcd_runtime is container"),
    (dict(etcd_limit_nofile="infinity"), "etcd_limit_nofile", "'infinity'", "at least 1024"),
    (dict(etcd_health_timeout=0), "etcd_health_timeout", "0", "seconds, at least 1"),
    (dict(etcd_learner_stall_timeout=0), "etcd_learner_stall_timeout", "0", "seconds, at least 1"),
    (dict(etcd_run_lock_ttl=5), "etcd_run_lock_ttl", "5", "seconds, at least 10"),
    (dict(etcd_run_lock_wait=-1), "etcd_run_lock_wait", "-1", "seconds, 0 or more"),
    # the first contact of the playbooks meant for dead hosts: none is no bound, an hour none either
    (dict(etcd_first_contact_timeout=0), "etcd_first_contact_timeout", "0", "a whole number of seconds from 1 to 600"),
    (dict(etcd_first_contact_timeout=-5), "etcd_first_contact_timeout", "-5", "seconds from 1 to 600"),
    (dict(etcd_first_contact_timeout=3600), "etcd_first_contact_timeout", "3600", "seconds from 1 to 600"),
    (dict(etcd_first_contact_timeout="20s"), "etcd_first_contact_timeout", "'20s'", "seconds from 1 to 600"),
    (dict(etcd_max_raft_index_gap=-1), "etcd_max_raft_index_gap", "-1", "0 or more"),
    # backups
    (dict(etcd_backup_keep=0), "etcd_backup_keep", "0", "at least 1"),
    (dict(etcd_backup_host_keep="many"), "etcd_backup_host_keep", "'many'", "at least 1"),
    (dict(etcd_backup_push="sometimes"), "etcd_backup_push", "'sometimes'", "true or false"),
    (dict(etcd_backup_push_window=0), "etcd_backup_push_window", "0", "seconds, at least 1"),
    (dict(etcd_backup_stream_interval=-1), "etcd_backup_stream_interval", "-1", "0 (no change stream) or a whole number"),
    (dict(etcd_backup_stream_interval=7200), "etcd_backup_stream_interval", "7200", "seconds up to 3600"),
    (dict(etcd_restore_to="2026-11-28 14:03:07"), "etcd_restore_to", "'2026-11-28 14:03:07'",
     "an RFC 3339 time with its zone"),
    (dict(etcd_restore_to="yesterday"), "etcd_restore_to", "'yesterday'", "an RFC 3339 time"),
    (dict(etcd_restore_revision=-3), "etcd_restore_revision", "-3", "0 or a whole number of revisions"),
    (dict(etcd_backup_compression="bzip2"), "etcd_backup_compression", "'bzip2'", "zlib, lzma or none"),
    (dict(etcd_backup_drill_schedule="daily"), "etcd_backup_drill_schedule", "'daily'",
     "needs etcd_backup_push: true, whose pushes the drill proves"),
    (dict(etcd_backup_push=True, etcd_backup_drill_schedule="daily; rm"), "etcd_backup_drill_schedule",
     "'daily; rm'", "a systemd OnCalendar expression"),
    (dict(etcd_backup_max_age="1 day"), "etcd_backup_max_age", "'1 day'", "a Go duration like '26h'"),
    (dict(etcd_backup_max_age="0h"), "etcd_backup_max_age", "'0h'", "more than 0"),
    (dict(etcd_backup_metrics_dir="metrics"), "etcd_backup_metrics_dir", "'metrics'", "must be an absolute path"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1", "access_key": "AKID"}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'bucket': 'b-1', 'access_key': '<hidden>'}",
     "s3 target o: access_key and secret_key go together; set both, or neither to take the credentials of where it runs"),
    (dict(etcd_backup_targets=[{"name": "o", "bucket": "b-1", "part_size_mib": 4}]), "etcd_backup_targets[0]",
     "{'name': 'o', 'bucket': 'b-1', 'part_size_mib': 4}",
     "s3 target o: part_size_mib 4 is not a whole number of MiB from 5 to 5120 (S3's part sizes)"),
    (dict(etcd_restore_bump_revision="lots"), "etcd_restore_bump_revision", "'lots'", "auto or a whole number"),
    (dict(etcd_restore_bump_revision=-1), "etcd_restore_bump_revision", "-1", "0 (no bump) or more"),
    (dict(etcd_restore_mark_compacted="maybe"), "etcd_restore_mark_compacted", "'maybe'", "true or false"),
    (dict(etcd_restore_mark_compacted=False), "etcd_restore_mark_compacted", "False",
     "must be true while etcd_restore_bump_revision is 'auto': etcdutl bumps the revision only together"),
    (dict(etcd_status_backup_max_age_hours=0), "etcd_status_backup_max_age_hours", "0", "at least 1"),
    (dict(etcd_backup_transfer_dir="tmp"), "etcd_backup_transfer_dir", "'tmp'", "must be an absolute path"),
    (dict(etcd_backup_transfer_dir="/var/tmp/"), "etcd_backup_transfer_dir", "'/var/tmp/'", "write it as /var/tmp"),
    (dict(etcd_backup_transfer_dir=None), "etcd_backup_transfer_dir", "None", "must be an absolute path"),
    (dict(etcd_backup_schedule="hourly\n"), "etcd_backup_schedule", "'hourly\\n'", "on one line"),
    (dict(etcd_backup_schedule="daily; rm -rf /"), "etcd_backup_schedule", "'daily; rm -rf /'", "without ; # %"),
    (dict(etcd_backup_schedule="# hourly"), "etcd_backup_schedule", "'# hourly'", "OnCalendar"),
    (dict(etcd_backup_schedule=None), "etcd_backup_schedule", "None", "'' (no timer)"),
    # maintenance
    (dict(etcd_maintenance_schedule="daily\n"), "etcd_maintenance_schedule", "'daily\\n'", "on one line"),
    (dict(etcd_maintenance_schedule="weekly; reboot"), "etcd_maintenance_schedule", "'weekly; reboot'",
     "without ; # %"),
    (dict(etcd_maintenance_defrag_timeout=0), "etcd_maintenance_defrag_timeout", "0", "seconds, at least 1"),
    (dict(etcd_maintenance_defrag_pause=-1), "etcd_maintenance_defrag_pause", "-1", "seconds, from 0 to 3600"),
    (dict(etcd_maintenance_defrag_pause="5s"), "etcd_maintenance_defrag_pause", "'5s'", "seconds, from 0 to 3600"),
    (dict(etcd_maintenance_compact_keep=-1), "etcd_maintenance_compact_keep", "-1", "revisions, 0 or more"),
    (dict(etcd_defrag_rule="free >> 5"), "etcd_defrag_rule", "'free >> 5'",
     "unexpected '>' at character 7, expected a number after free >; see docs/maintenance.md"),
    (dict(etcd_defrag_rule=""), "etcd_defrag_rule", "''", "the rule is empty"),
    (dict(etcd_defrag_rule=None), "etcd_defrag_rule", "None", "a rule is text, not NoneType"),
    # PKI
    (dict(etcd_pki_validity_days=0), "etcd_pki_validity_days", "0", "at least 1"),
    (dict(etcd_pki_ca_validity_days=365), "etcd_pki_ca_validity_days", "365",
     "must be at least etcd_pki_validity_days (730): a certificate cannot outlive its CA"),
    (dict(etcd_pki_renew_before_days=730), "etcd_pki_renew_before_days", "730",
     "must be less than etcd_pki_validity_days (730)"),
    (dict(etcd_pki_renew_before_days=-1), "etcd_pki_renew_before_days", "-1", "0 or more"),
    (dict(etcd_pki_key_type="dsa"), "etcd_pki_key_type", "'dsa'", "one of ec, rsa"),
    (dict(etcd_pki_extra_sans="lb.example.com"), "etcd_pki_extra_sans", "'lb.example.com'", "must be a list"),
    (dict(etcd_pki_extra_sans=None), "etcd_pki_extra_sans", "None", "must be a list"),
    (dict(etcd_pki_extra_sans=["10.0.0.10", "lb.example.com:2379"]), "etcd_pki_extra_sans[1]",
     "'lb.example.com:2379'", "an IP address or a DNS name"),
    (dict(etcd_pki_extra_sans=["https://lb"]), "etcd_pki_extra_sans[0]", "'https://lb'", "no port, scheme"),
    (dict(etcd_pki_extra_sans=["lb .example.com"]), "etcd_pki_extra_sans[0]", "'lb .example.com'", "whitespace"),
    (dict(etcd_pki_extra_sans=["10.0.0.256"]), "etcd_pki_extra_sans[0]", "'10.0.0.256'", "an IP address"),
    (dict(etcd_pki_extra_sans=["a.*.example.com"]), "etcd_pki_extra_sans[0]", "'a.*.example.com'", "DNS name"),
    (dict(etcd_pki_extra_sans=[None]), "etcd_pki_extra_sans[0]", "None", "DNS name"),
    # paths
    (dict(etcd_data_dir="var/lib/etcd"), "etcd_data_dir", "'var/lib/etcd'", "must be an absolute path"),
    (dict(etcd_data_dir=None), "etcd_data_dir", "None", "must be an absolute path, like /var/lib/etcd"),
    (dict(etcd_data_dir=""), "etcd_data_dir", "''", "must be an absolute path"),
    (dict(etcd_data_dir="/var/lib/etcd/"), "etcd_data_dir", "'/var/lib/etcd/'",
     "is not in normal form (no trailing /, // or . and .. parts): write it as /var/lib/etcd"),
    (dict(etcd_data_dir="/var/lib//etcd"), "etcd_data_dir", "'/var/lib//etcd'", "write it as /var/lib/etcd"),
    (dict(etcd_data_dir="//var/lib/etcd"), "etcd_data_dir", "'//var/lib/etcd'", "write it as /var/lib/etcd"),
    (dict(etcd_data_dir="/var/lib/etcd/../etcd2"), "etcd_data_dir", "'/var/lib/etcd/../etcd2'",
     "write it as /var/lib/etcd2"),
    (dict(etcd_data_dir="/var/lib/./etcd"), "etcd_data_dir", "'/var/lib/./etcd'", "write it as /var/lib/etcd"),
    (dict(etcd_data_dir="/var/lib"), "etcd_data_dir", "'/var/lib'", "is a system or shared directory"),
    (dict(etcd_data_dir="/"), "etcd_data_dir", "'/'", "is a system or shared directory"),
    (dict(etcd_data_dir="/tmp/etcd"), "etcd_data_dir", "'/tmp/etcd'", "lies under /tmp"),
    (dict(etcd_data_dir="/proc/etcd"), "etcd_data_dir", "'/proc/etcd'", "lies under /proc, a kernel filesystem"),
    (dict(etcd_data_dir="/var/lib/etcd data"), "etcd_data_dir", "'/var/lib/etcd data'", "no whitespace"),
    (dict(etcd_data_dir="/var/lib/etcd\n"), "etcd_data_dir", "'/var/lib/etcd\\n'", "control characters"),
    (dict(etcd_data_dir="/var/lib/$HOME"), "etcd_data_dir", "'/var/lib/$HOME'", "only letters, digits"),
    (dict(etcd_data_dir="/var/lib/etcd%n"), "etcd_data_dir", "'/var/lib/etcd%n'", "systemd units"),
    (dict(etcd_wal_dir="/var/lib/etcd-wal"), "etcd_wal_dir", "'/var/lib/etcd-wal'",
     "lies directly in /var/lib; etcd creates a new WAL beside it (as /var/lib/etcd-wal.tmp) and the collection gives the "
     "directory that holds it to the etcd user, so put the WAL one level below a directory of its own, like "
     "/var/lib/etcd-wal/wal"),
    (dict(etcd_wal_dir="/srv"), "etcd_wal_dir", "'/srv'", "is a system or shared directory"),
    (dict(etcd_wal_dir="/mnt/wal"), "etcd_wal_dir", "'/mnt/wal'", "lies directly in /mnt"),
    (dict(etcd_wal_dir="/run/etcd-wal"), "etcd_wal_dir", "'/run/etcd-wal'", "a tmpfs emptied at every boot"),
    (dict(etcd_wal_dir="/var/tmp/wal"), "etcd_wal_dir", "'/var/tmp/wal'", "lies under /var/tmp"),
    (dict(etcd_wal_dir="wal"), "etcd_wal_dir", "'wal'", "must be an absolute path"),
    (dict(etcd_wal_dir="/var/lib/etcd/member/wal"), "etcd_wal_dir", "'/var/lib/etcd/member/wal'",
     "lies inside etcd_data_dir's member directory (/var/lib/etcd/member)"),
    (dict(etcd_wal_dir="/var/lib/etcd/member"), "etcd_wal_dir", "'/var/lib/etcd/member'", "member directory"),
    (dict(etcd_wal_dir="/var/lib/etcd"), "etcd_wal_dir", "'/var/lib/etcd'", "is the same directory as etcd_data_dir"),
    (dict(etcd_data_dir="/data/etcd/data", etcd_wal_dir="/data/etcd"), "etcd_data_dir", "'/data/etcd/data'",
     "lies inside etcd_wal_dir (/data/etcd)"),
    (dict(etcd_config_dir="/etc"), "etcd_config_dir", "'/etc'", "is a system or shared directory"),
    (dict(etcd_config_dir="/etc/systemd"), "etcd_config_dir", "'/etc/systemd'", "like /etc/etcd"),
    (dict(etcd_config_dir="/var/lib/etcd"), "etcd_config_dir", "'/var/lib/etcd'",
     "is the same directory as etcd_data_dir"),
    (dict(etcd_data_dir="/etc/etcd/data"), "etcd_data_dir", "'/etc/etcd/data'",
     "lies inside etcd_config_dir (/etc/etcd); the data, WAL, config, install and backup directories"),
    (dict(etcd_install_dir="/opt"), "etcd_install_dir", "'/opt'", "like /opt/etcd"),
    (dict(etcd_install_dir="/usr/local"), "etcd_install_dir", "'/usr/local'", "is a system or shared directory"),
    (dict(etcd_data_dir="/opt/etcd/data"), "etcd_data_dir", "'/opt/etcd/data'", "lies inside etcd_install_dir"),
    (dict(etcd_backup_host_dir="/var/backups"), "etcd_backup_host_dir", "'/var/backups'",
     "like /var/backups/etcd"),
    (dict(etcd_backup_host_dir="/var/lib/etcd/backups"), "etcd_backup_host_dir", "'/var/lib/etcd/backups'",
     "lies inside etcd_data_dir (/var/lib/etcd)"),
    (dict(etcd_backup_host_dir="/etc/etcd"), "etcd_backup_host_dir", "'/etc/etcd'",
     "is the same directory as etcd_config_dir"),
    (dict(etcd_bin_dir="usr/local/bin"), "etcd_bin_dir", "'usr/local/bin'", "must be an absolute path"),
    (dict(etcd_bin_dir="/usr/local/bin/"), "etcd_bin_dir", "'/usr/local/bin/'", "write it as /usr/local/bin"),
    (dict(etcd_bin_dir="/tmp/bin"), "etcd_bin_dir", "'/tmp/bin'", "lies under /tmp"),
    # sizing
    (dict(etcd_profile="huge"), "etcd_profile", "'huge'", "'' (none), small, medium, large or xlarge"),
    (dict(etcd_preflight_hardware="some"), "etcd_preflight_hardware", "'some'", "new, all or off"),
    (dict(etcd_preflight_strict="y"), "etcd_preflight_strict", "'y'", "true or false"),
    # instance
    (dict(etcd_instance="Etcd"), "etcd_instance", "'Etcd'", "lowercase letters, digits and -"),
    (dict(etcd_instance="etcd_events"), "etcd_instance", "'etcd_events'", "like etcd or etcd-events"),
    (dict(etcd_instance="etcd-"), "etcd_instance", "'etcd-'", "not ending with -"),
    (dict(etcd_instance="2etcd"), "etcd_instance", "'2etcd'", "starting with a letter"),
    (dict(etcd_instance="etcd-events-cluster-a"), "etcd_instance", "'etcd-events-cluster-a'", "1 to 20"),
    (dict(etcd_instance=""), "etcd_instance", "''", "1 to 20"),
    (dict(etcd_instance="etcd/events"), "etcd_instance", "'etcd/events'", "like etcd or etcd-events"),
    # user and token
    (dict(etcd_user="root"), "etcd_user", "'root'", "is a system or login account"),
    (dict(etcd_user="systemd-resolve"), "etcd_user", "'systemd-resolve'", "is a system or login account"),
    (dict(etcd_user="www-data"), "etcd_user", "'www-data'", "a system user of its own"),
    (dict(etcd_user="nobody"), "etcd_user", "'nobody'", "a system user of its own"),
    (dict(etcd_user="Etcd"), "etcd_user", "'Etcd'", "^[a-z_][a-z0-9_-]{0,30}$"),
    (dict(etcd_user="etcd\n"), "etcd_user", "'etcd\\n'", "a user name matching"),
    (dict(etcd_user="e" * 33), "etcd_user", "'%s'" % ("e" * 33), "a user name matching"),
    (dict(etcd_user=None), "etcd_user", "None", "a user name matching"),
    (dict(etcd_cluster_token="my token"), "etcd_cluster_token", "'my token'", "letters, digits, '.', '_' and '-'"),
    (dict(etcd_cluster_token="-tok"), "etcd_cluster_token", "'-tok'", "starting with a letter or digit"),
    (dict(etcd_cluster_token="tok\n"), "etcd_cluster_token", "'tok\\n'", "'' (a unique token is made)"),
    (dict(etcd_cluster_token=None), "etcd_cluster_token", "None", "letters, digits"),
    # extra environment
    (dict(etcd_extra_env=["ETCD_X=1"]), "etcd_extra_env", "['ETCD_X=1']", "a dict of ETCD_* settings"),
    (dict(etcd_extra_env=None), "etcd_extra_env", "None", "a dict of ETCD_* settings"),
    (dict(etcd_extra_env={"etcd_foo": 1}), "etcd_extra_env['etcd_foo']", "1", "a key is ETCD_ and upper-case"),
    (dict(etcd_extra_env={"ETCD_FOO\n": 1}), "etcd_extra_env['ETCD_FOO\\n']", "1", "a key is ETCD_"),
    (dict(etcd_extra_env={"ETCD_": 1}), "etcd_extra_env['ETCD_']", "1", "a key is ETCD_"),
    (dict(etcd_extra_env={1: 1}), "etcd_extra_env[1]", "1", "a key is ETCD_"),
    (dict(etcd_extra_env={"ETCD_FOO": None}), "etcd_extra_env['ETCD_FOO']", "None", "a value is one line of text"),
    (dict(etcd_extra_env={"ETCD_FOO": {"a": 1}}), "etcd_extra_env['ETCD_FOO']", "{'a': 1}", "a number or true/false"),
    (dict(etcd_extra_env={"ETCD_FOO": [1]}), "etcd_extra_env['ETCD_FOO']", "[1]", "one line of text"),
    (dict(etcd_extra_env={"ETCD_FOO": 1.5}), "etcd_extra_env['ETCD_FOO']", "1.5", "one line of text"),
    (dict(etcd_extra_env={"ETCD_FOO": "a\nETCD_FORCE_NEW_CLUSTER=true"}), "etcd_extra_env['ETCD_FOO']",
     "'a\\nETCD_FORCE_NEW_CLUSTER=true'", "no newline, carriage return or NUL"),
    (dict(etcd_extra_env={"ETCD_FOO": "a\rb"}), "etcd_extra_env['ETCD_FOO']", "'a\\rb'", "carriage return"),
    (dict(etcd_extra_env={"ETCD_FOO": "a\x00b"}), "etcd_extra_env['ETCD_FOO']", "'a\\x00b'", "NUL"),
    (dict(etcd_extra_env={"ETCD_NAME": "x"}), "etcd_extra_env['ETCD_NAME']", "'x'",
     "the role sets this; use NODE_NAME instead"),
    (dict(etcd_extra_env={"ETCD_DATA_DIR": "/data"}), "etcd_extra_env['ETCD_DATA_DIR']", "'/data'",
     "the role sets this; use etcd_data_dir instead"),
    (dict(etcd_extra_env={"ETCD_WAL_DIR": "/wal"}), "etcd_extra_env['ETCD_WAL_DIR']", "'/wal'",
     "the role sets this; use etcd_wal_dir instead"),
    (dict(etcd_extra_env={"ETCD_HEARTBEAT_INTERVAL": 200}), "etcd_extra_env['ETCD_HEARTBEAT_INTERVAL']", "200",
     "the role sets this; use etcd_heartbeat_interval instead"),
    (dict(etcd_extra_env={"ETCD_AUTO_COMPACTION_RETENTION": "1h"}),
     "etcd_extra_env['ETCD_AUTO_COMPACTION_RETENTION']", "'1h'", "use etcd_auto_compaction_retention instead"),
    (dict(etcd_extra_env={"ETCD_LISTEN_PEER_URLS": "https://0.0.0.0:2380"}),
     "etcd_extra_env['ETCD_LISTEN_PEER_URLS']", "'https://0.0.0.0:2380'", "use etcd_address and etcd_peer_port"),
    (dict(etcd_extra_env={"ETCD_INITIAL_CLUSTER_TOKEN": "t"}), "etcd_extra_env['ETCD_INITIAL_CLUSTER_TOKEN']", "'t'",
     "use etcd_cluster_token instead"),
    (dict(etcd_extra_env={"ETCD_INITIAL_CLUSTER_STATE": "existing"}), "etcd_extra_env['ETCD_INITIAL_CLUSTER_STATE']",
     "'existing'", "the role manages this for safety"),
    (dict(etcd_extra_env={"ETCD_CONFIG_FILE": "/etc/etcd/etcd.yml"}), "etcd_extra_env['ETCD_CONFIG_FILE']",
     "'/etc/etcd/etcd.yml'", "etcd would ignore every other setting"),
    (dict(etcd_extra_env={"ETCD_FORCE_NEW_CLUSTER": True}), "etcd_extra_env['ETCD_FORCE_NEW_CLUSTER']", "True",
     "split this member off as a cluster of its own"),
    (dict(etcd_extra_env={"ETCD_DISCOVERY_SRV": "example.com"}), "etcd_extra_env['ETCD_DISCOVERY_SRV']",
     "'example.com'", "the role bootstraps the cluster"),
    (dict(etcd_extra_env={"ETCD_DISCOVERY_ENDPOINTS": "https://d:2379"}), "etcd_extra_env['ETCD_DISCOVERY_ENDPOINTS']",
     "'https://d:2379'", "the role bootstraps the cluster"),
    (dict(etcd_extra_env={"ETCD_TLS_MIN_VERSION": "TLS1.0"}), "etcd_extra_env['ETCD_TLS_MIN_VERSION']", "'TLS1.0'",
     "the role manages this for safety (TLS comes from etcd_tls and etcd_pki_dir)"),
    (dict(etcd_extra_env={"ETCD_CLIENT_CERT_AUTH": False}), "etcd_extra_env['ETCD_CLIENT_CERT_AUTH']", "False",
     "TLS comes from etcd_tls"),
    (dict(etcd_extra_env={"ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION": True}),
     "etcd_extra_env['ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION']", "True", "TLS comes from etcd_tls"),
    (dict(etcd_extra_env={"ETCD_FUTURE_CLIENT_KEY_FILE": "/k"}), "etcd_extra_env['ETCD_FUTURE_CLIENT_KEY_FILE']",
     "'/k'", "TLS comes from etcd_tls"),
    (dict(etcd_extra_env={"ETCD_LOGGER": "capnslog"}), "etcd_extra_env['ETCD_LOGGER']", "'capnslog'",
     "use etcd_log_level instead"),
    (dict(etcd_extra_env={"ETCD_LISTEN_METRICS_URLS": "http://127.0.0.1:2381"}),
     "etcd_extra_env['ETCD_LISTEN_METRICS_URLS']", "'http://127.0.0.1:2381'", "use etcd_metrics and etcd_metrics_port"),
    (dict(etcd_extra_env={"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "false"}),
     "etcd_extra_env['ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK']", "'false'", "use etcd_corruption_checks"),
    (dict(etcd_extra_env={"ETCD_LISTEN_CLIENT_URLS_X": "HTTP://10.0.0.1:2381"}),
     "etcd_extra_env['ETCD_LISTEN_CLIENT_URLS_X']", "'HTTP://10.0.0.1:2381'", "plaintext"),
    (dict(etcd_metrics_scrapers=["http://10.0.0.5:9090"]), "etcd_metrics_scrapers[0]", "'http://10.0.0.5:9090'",
     "an IP address or a DNS name"),
    (dict(etcd_metrics="everywhere"), "etcd_metrics", "'everywhere'", "loopback, address or off"),
    (dict(etcd_metrics_port=0), "etcd_metrics_port", "0", "from 1 to 65535"),
    (dict(etcd_metrics_port=2379), "etcd_metrics_port", "2379", "must differ from etcd_client_port (2379)"),
    (dict(etcd_metrics_port="2380"), "etcd_metrics_port", "'2380'", "must differ from etcd_peer_port (2380)"),
    (dict(etcd_corruption_checks="maybe"), "etcd_corruption_checks", "'maybe'", "true or false"),
    (dict(etcd_feature_gates="AllAlpha=true"), "etcd_feature_gates", "'AllAlpha=true'",
     "a dict of etcd feature gate -> true/false"),
    (dict(etcd_extra_env={"ETCD_LISTEN_CLIENT_HTTP_URLS": "http://127.0.0.1:2382"}),
     "etcd_extra_env['ETCD_LISTEN_CLIENT_HTTP_URLS']", "'http://127.0.0.1:2382'", "use https://"),
    # booleans
    (dict(etcd_tls="y"), "etcd_tls", "'y'", "true or false (yes/no, on/off and 1/0 work too)"),
    (dict(etcd_pki_managed=None), "etcd_pki_managed", "None", "true or false"),
    (dict(etcd_show_status="maybe"), "etcd_show_status", "'maybe'", "true or false"),
    (dict(etcd_remove_wipe=2), "etcd_remove_wipe", "2", "true or false"),
    (dict(etcd_downgrade_cancel="please"), "etcd_downgrade_cancel", "'please'", "true or false"),
    (dict(etcd_run_lock="y"), "etcd_run_lock", "'y'", "true or false"),
    (dict(etcd_allow_downgrade=" yes"), "etcd_allow_downgrade", "' yes'", "true or false"),
    (dict(etcd_systemd_hardening=[]), "etcd_systemd_hardening", "[]", "true or false"),
    (dict(etcd_backup_before_upgrade="t"), "etcd_backup_before_upgrade", "'t'", "true or false"),
    (dict(etcd_download_on_hosts="hosts"), "etcd_download_on_hosts", "'hosts'", "true or false"),
    (dict(etcd_pki_replace_ca=1.0), "etcd_pki_replace_ca", "1.0", "true or false"),
    (dict(etcd_pki_rotate_ca="soon"), "etcd_pki_rotate_ca", "'soon'", "true or false"),
    (dict(etcd_pki_rotate_ca=True, etcd_tls=False), "etcd_pki_rotate_ca", "True", "needs etcd_tls=true"),
    (dict(etcd_pki_rotate_ca=True, etcd_pki_managed=False), "etcd_pki_rotate_ca", "True",
     "needs etcd_pki_managed=true: the role rotates only a CA it manages"),
    (dict(etcd_pki_rotate_ca="yes", etcd_pki_replace_ca=True), "etcd_pki_rotate_ca", "'yes'",
     "cannot be combined with etcd_pki_replace_ca=true"),
    (dict(etcd_pki_rotate_ca_pause="after phase 1"), "etcd_pki_rotate_ca_pause", "'after phase 1'", "true or false"),
    (dict(etcd_pki_rotate_ca_pause=True, etcd_tls=False), "etcd_pki_rotate_ca_pause", "True",
     "needs etcd_tls=true: without TLS there is no CA rotation to pause"),
    (dict(etcd_pki_rotate_ca_pause="on", etcd_pki_managed=False), "etcd_pki_rotate_ca_pause", "'on'",
     "needs etcd_pki_managed=true: the role rotates only a CA it manages"),
    # release
    (dict(etcd_release_base_url="ftp://mirror/etcd"), "etcd_release_base_url", "'ftp://mirror/etcd'",
     "a URL starting with https://, http:// or file://"),
    (dict(etcd_release_base_url="https://mirror/releases/"), "etcd_release_base_url", "'https://mirror/releases/'",
     "must not end with /"),
    (dict(etcd_release_base_url="https://mirror /x"), "etcd_release_base_url", "'https://mirror /x'",
     "without whitespace"),
    (dict(etcd_release_base_url="https://"), "etcd_release_base_url", "'https://'", "a URL starting with"),
    (dict(etcd_release_base_url=None), "etcd_release_base_url", "None", "a URL starting with"),
    (dict(etcd_version="3.6.14\n"), "etcd_version", "'3.6.14\\n'", "a release version X.Y.Z"),
    (dict(etcd_version="v3.6.14"), "etcd_version", "'v3.6.14'", "no v, no spaces"),
    (dict(etcd_version="3.3.25"), "etcd_version", "'3.3.25'", "is older than 3.4"),
    (dict(etcd_version="3.6"), "etcd_version", "'3.6'", "like 3.6.14"),
    (dict(etcd_version=3.6), "etcd_version", "3.6", "like 3.6.14"),
    (dict(etcd_version="latest"), "etcd_version", "'latest'", "like 3.6.14"),
    # The client access tier (roles/etcd_proxy; tests/unit/plugins/filter/test_proxy.py has more).
    (dict(etcd_proxy_group="etcd proxy"), "etcd_proxy_group", "'etcd proxy'", "an inventory group name"),
    (dict(etcd_proxy_mode="l4"), "etcd_proxy_mode", "'l4'", "one of grpc, gateway"),
    (dict(etcd_proxy_listen_address="localhost"), "etcd_proxy_listen_address", "'localhost'", "an IP address"),
    (dict(etcd_proxy_port=0), "etcd_proxy_port", "0", "from 1 to 65535"),
    (dict(etcd_proxy_metrics_port=-1), "etcd_proxy_metrics_port", "-1", "0 (none) or a port"),
    (dict(etcd_proxy_namespace="/app"), "etcd_proxy_namespace", "'/app'", "starts and ends with /"),
    (dict(etcd_proxy_resolver_prefix="proxies/"), "etcd_proxy_resolver_prefix", "'proxies/'", "starts and ends with /"),
    (dict(etcd_proxy_resolver_ttl=0), "etcd_proxy_resolver_ttl", "0", "at least 1"),
    (dict(etcd_proxy_advertise_address="10.0.0.5:23790"), "etcd_proxy_advertise_address", "'10.0.0.5:23790'",
     "without a port"),
    (dict(etcd_proxy_retry_delay=5), "etcd_proxy_retry_delay", "5", "a Go duration"),
    (dict(etcd_proxy_discovery_srv="etcd"), "etcd_proxy_discovery_srv", "'etcd'", "a DNS domain like example.com"),
    (dict(etcd_proxy_discovery_srv_name="a_b"), "etcd_proxy_discovery_srv_name", "'a_b'", "letters, digits and -"),
    (dict(etcd_proxy_user="root"), "etcd_proxy_user", "'root'", "is a system or login account"),
    (dict(etcd_proxy_config_dir="etc/proxy"), "etcd_proxy_config_dir", "'etc/proxy'", "must be an absolute path"),
    (dict(etcd_proxy_data_dir="/tmp/proxy"), "etcd_proxy_data_dir", "'/tmp/proxy'", "lies under /tmp"),
    # auth as role variables (docs/access.md)
    (dict(etcd_auth_enabled="maybe"), "etcd_auth_enabled", "'maybe'", "or null (leave it)"),
    (dict(etcd_auth_enabled=True), "etcd_auth_enabled", "True", "there is no root user"),
    (dict(etcd_auth_enabled=False), "etcd_auth_enabled", "False", "set etcd_auth_root_password"),
    (dict(etcd_auth_root_password=["x"]), "etcd_auth_root_password", "'<hidden>'", "without control characters"),
    (dict(etcd_auth_root_password="s", etcd_pki_managed=False), "etcd_auth_root_password", "'<hidden>'",
     "needs etcd_pki_managed=true"),
    (dict(etcd_roles={"name": "app"}), "etcd_roles", "{'name': 'app'}", "a list of roles"),
    (dict(etcd_roles=[{"name": "root", "permissions": [{"prefix": "", "permission": "read"}]}]), "etcd_roles[0]",
     "{'name': 'root', 'permissions': [{'prefix': '', 'permission': 'read'}]}", "the role root is etcd's own"),
    (dict(etcd_roles=[{"name": "app", "permissions": [{"prefix": "app/", "permission": "all"}]}]), "etcd_roles[0]",
     "{'name': 'app', 'permissions': [{'prefix': 'app/', 'permission': 'all'}]}", "permission must be one of"),
    (dict(etcd_roles=[{"name": "app"}, {"name": "app", "state": "absent"}]), "etcd_roles[1]",
     "{'name': 'app', 'state': 'absent'}", "role app is listed twice"),
    (dict(etcd_roles=[{"name": "app", "perms": []}]), "etcd_roles[0]", "{'name': 'app', 'perms': []}",
     "unknown key(s) perms"),
    (dict(etcd_users=[{"name": "root", "password": "pw"}]), "etcd_users[0]", "{'name': 'root', 'password': '<hidden>'}",
     "set etcd_auth_root_password"),
    (dict(etcd_users=[{"name": " app", "password": "pw"}]), "etcd_users[0]", "{'name': ' app', 'password': '<hidden>'}",
     "surrounding spaces"),
    (dict(etcd_users=[{"name": "app", "password": "pw", "roles": "app"}]), "etcd_users[0]",
     "{'name': 'app', 'password': '<hidden>', 'roles': 'app'}", "roles must be a list"),
    (dict(etcd_users=[{"name": "app", "password": "pw", "roles": ["ap"]}]), "etcd_users[0]",
     "{'name': 'app', 'password': '<hidden>', 'roles': ['ap']}", "role(s) ap not defined (present) in etcd_roles"),
    (dict(etcd_users=[{"name": "app", "roles": []}]), "etcd_users[0]", "{'name': 'app', 'roles': []}",
     "has neither a password nor a certificate"),
    # recover_quorum's lost hosts (whether each is a host of the group: tests/unit/plugins/filter/test_recovery.py)
    (dict(etcd_recover_lost=["10.0.0.13", "10.0.0.13"]), "etcd_recover_lost", "['10.0.0.13', '10.0.0.13']",
     "10.0.0.13 is named more than once; name each lost host once"),
    (dict(etcd_recover_lost="h3, h4,h3"), "etcd_recover_lost", "'h3, h4,h3'", "h3 is named more than once"),
    (dict(etcd_recover_lost="h3,,h4"), "etcd_recover_lost", "'h3,,h4'", "'' is no inventory host or member name"),
    (dict(etcd_recover_lost=["etcd host4"]), "etcd_recover_lost", "['etcd host4']",
     "'etcd host4' is no inventory host or member name (letters, digits"),
    (dict(etcd_recover_lost=[4]), "etcd_recover_lost", "[4]", "a list (or comma-separated text) of the inventory hosts"),
    (dict(etcd_recover_lost={"h3": 1}), "etcd_recover_lost", "{'h3': 1}", "a list (or comma-separated text)"),
    # the off-host backups' cluster: an S3 prefix and part of file names
    (dict(etcd_backup_cluster=""), "etcd_backup_cluster", "''", "a name of letters, digits"),
    (dict(etcd_backup_cluster="/etcd"), "etcd_backup_cluster", "'/etcd'", "no leading or trailing '/'"),
    (dict(etcd_backup_cluster="etcd/"), "etcd_backup_cluster", "'etcd/'", "no leading or trailing '/'"),
    (dict(etcd_backup_cluster="etcd/../other"), "etcd_backup_cluster", "'etcd/../other'", "so no '..'"),
    (dict(etcd_backup_cluster=".."), "etcd_backup_cluster", "'..'", "so no '..'"),
    (dict(etcd_backup_cluster="prod//etcd"), "etcd_backup_cluster", "'prod//etcd'", "no empty part"),
    (dict(etcd_backup_cluster="prod etcd"), "etcd_backup_cluster", "'prod etcd'", "a name of letters, digits"),
    (dict(etcd_backup_cluster="prod\\etcd"), "etcd_backup_cluster", "'prod\\\\etcd'", "a name of letters"),
    (dict(etcd_backup_cluster=["etcd"]), "etcd_backup_cluster", "['etcd']", "a name of letters"),
]


def _expected_ids():
    return ["%s=%s" % (variable, shown) for _o, variable, shown, _t in BAD]


@pytest.mark.parametrize("overrides, variable, shown, says", BAD, ids=_expected_ids())
def test_bad_value_is_reported_naming_host_variable_and_value(overrides, variable, shown, says):
    found = problems(**overrides)
    prefix = "host %s: %s=%s: " % (HOST, variable, shown)
    mine = [p for p in found if p.startswith(prefix)]
    assert mine, "no message starting %r in %r" % (prefix, found)
    assert any(says in p[len(prefix):] for p in mine), (says, mine)
    # Nothing else is reported: a bad value does not drag other, sound variables in.
    assert len(found) == 1, found


def test_there_are_many_bad_cases_and_each_variable_has_one():
    assert len(BAD) >= 45
    named = set(variable.split("[")[0] for _o, variable, _s, _t in BAD)
    assert set(s.VARIABLES) <= named


def test_every_problem_is_reported_at_once():
    found = problems(etcd_client_port=0, etcd_log_level="loud", etcd_user="root",
                     etcd_extra_env={"ETCD_NAME": "x", "ETCD_DATA_DIR": "/d"})
    assert [p.split(":")[1].split("=")[0].strip() for p in found] == [
        "etcd_client_port", "etcd_log_level", "etcd_user", "etcd_extra_env['ETCD_DATA_DIR']",
        "etcd_extra_env['ETCD_NAME']",
    ]


def test_relations_only_see_sound_values():
    # A heartbeat that is no number is reported once, and the election timeout is not judged by it.
    assert problems(etcd_heartbeat_interval="x") == [
        "host etcd-1: etcd_heartbeat_interval='x': a whole number of milliseconds from 1 to 10000"
    ]
    # A bad compaction mode leaves the retention to the rule that fits both modes.
    assert problems(etcd_auto_compaction_mode="weekly", etcd_auto_compaction_retention="1h") == [
        "host etcd-1: etcd_auto_compaction_mode='weekly': '' (off), 'periodic' or 'revision'"
    ]


def test_a_directory_pair_is_reported_once_naming_both():
    found = problems(etcd_data_dir="/srv/etcd", etcd_config_dir="/srv/etcd", etcd_backup_host_dir="/srv/etcd/backup")
    assert found == [
        "host etcd-1: etcd_config_dir='/srv/etcd': is the same directory as etcd_data_dir; the data, WAL, config, "
        "install and backup directories must each be separate",
        "host etcd-1: etcd_backup_host_dir='/srv/etcd/backup': lies inside etcd_data_dir (/srv/etcd); the data, WAL, "
        "config, install and backup directories must each be separate, none inside another",
    ]


def test_the_runtime_refusals_read_as_the_operator_sees_them():
    assert problems(etcd_runtime="docker") == ["host etcd-1: etcd_runtime='docker': host or container"]
    assert problems(etcd_runtime="container", etcd_container_image="etcd:v3.5.30") == [
        "host etcd-1: etcd_container_image='etcd:v3.5.30': '' (the image each host builds from the verified release) "
        "or an image named by its digest, like registry.example.com/etcd@sha256:<64 hex digits>"]
    # A bad runtime is reported alone: the image is not judged by it.
    assert problems(etcd_runtime="podman", etcd_container_image="etcd@sha256:" + "0" * 64) == [
        "host etcd-1: etcd_runtime='podman': host or container"]


def test_the_message_format_of_the_brief():
    assert problems(etcd_client_port=70000) == [
        "host etcd-1: etcd_client_port=70000: a port is a whole number from 1 to 65535"
    ]


WEIRD = [None, True, False, 0, -1, 1.5, float("nan"), "", " ", "x\n", "\x00", [], [None], {}, {"a": [1]},
         ("a",), b"bytes", object(), 10 ** 30, "9" * 400]


@pytest.mark.parametrize("variable", s.VARIABLES)
def test_no_value_raises(variable):
    for value in WEIRD:
        for found in (problems(**{variable: value}), s.settings_problems({variable: value}, HOST)):
            assert isinstance(found, list)
            for message in found:
                assert isinstance(message, str)
                assert message.startswith("host etcd-1: ")
                assert "\n" not in message
                assert len(message) < 400


def test_long_values_are_shown_short():
    (message,) = problems(etcd_user="x" * 1000)
    assert "..." in message and len(message) < 250


def test_the_host_is_named_as_given():
    assert s.settings_problems({"etcd_tls": "maybe"}, "10.0.0.11") == [
        "host 10.0.0.11: etcd_tls='maybe': true or false (yes/no, on/off and 1/0 work too)"
    ]


SPECS = _load("roles", "etcd", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_choices_equal_the_argument_specs():
    assert set(SPECS["etcd_pki_key_type"]["choices"]) == set(s.PKI_KEY_TYPES)
    assert set(SPECS["etcd_auto_compaction_mode"]["choices"]) == set(s.COMPACTION_MODES)
    # etcd takes panic and fatal too; the argument specs may list fewer, never others.
    assert set(SPECS["etcd_log_level"]["choices"]) <= set(s.LOG_LEVELS)


def test_every_rule_says_what_is_allowed_and_why():
    for rule in s.RULES:
        assert rule.variable.startswith("etcd_") and rule.allowed and rule.why, rule


def test_the_operator_page_lists_every_variable_of_the_table():
    with open(os.path.join(ROOT, "docs", "settings.md")) as f:
        page = f.read()
    missing = [v for v in s.VARIABLES if "`%s`" % v not in page]
    assert missing == []
    # and the filter's documentation names them too
    with open(os.path.join(ROOT, "plugins", "filter", "settings_problems.yml")) as f:
        doc = f.read()
    assert [v for v in s.VARIABLES if "C(%s)" % v not in doc] == []


def test_a_lost_host_outside_the_name_rule_may_still_be_an_inventory_host():
    """An inventory may name a host in a way NAME_PATTERN does not take (IPv6 with ':'): it is still a host."""
    settings = dict(BASE, etcd_recover_lost="fd00::13")
    assert s.settings_problems(settings, HOST, ["etcd-1", "fd00::13"]) == []
    assert s.settings_problems(settings, HOST, ["etcd-1"]) == [
        "host etcd-1: etcd_recover_lost='fd00::13': 'fd00::13' is no inventory host or member name (letters, digits, "
        "'.', '_' and '-', starting with a letter or digit)"]


def test_an_ssh_target_names_an_inventory_host():
    targets = [{"name": "vault", "type": "ssh", "host": "backup9", "path": "/srv/etcd-backups"}]
    settings = dict(BASE, etcd_backup_targets=targets)
    assert s.settings_problems(settings, HOST, ["etcd-1", "backup1"]) == [
        "host etcd-1: etcd_backup_targets[0]={'name': 'vault', 'type': 'ssh', 'host': 'backup9', 'path': "
        "'/srv/etcd-backups'}: ssh target vault: host 'backup9' is not in the inventory"
    ]
    assert s.settings_problems(settings, HOST, ["etcd-1", "backup9"]) == []
    assert s.settings_problems(settings, HOST) == []  # without the inventory the host is not judged


def test_a_refused_target_never_shows_its_credentials():
    (message,) = problems(etcd_backup_targets=[{"name": "o", "access_key": "AKIA123", "secret_key": "hunter2"}])
    assert "AKIA123" not in message and "hunter2" not in message
    assert "'secret_key': '<hidden>'" in message and "needs a bucket" in message


def test_every_managed_env_key_is_refused():
    for key, why in s.MANAGED_ENV.items():
        (message,) = problems(etcd_extra_env={key: "x"})
        shown = "'<hidden>'" if key in ("ETCD_DISCOVERY", "ETCD_DISCOVERY_TOKEN", "ETCD_DISCOVERY_PASSWORD") else "'x'"
        assert message == "host etcd-1: etcd_extra_env[%r]=%s: %s" % (key, shown, why)


@pytest.mark.parametrize("key", ["ETCD_DISCOVERY", "ETCD_DISCOVERY_TOKEN", "ETCD_DISCOVERY_PASSWORD"])
def test_a_refused_secret_setting_never_shows_its_value(key):
    (message,) = problems(etcd_extra_env={key: "http://disco:2379/v2/keys/_etcd/registry/t0ken-5ecret"})
    assert "t0ken-5ecret" not in message
    assert message.startswith("host etcd-1: etcd_extra_env[%r]='<hidden>': " % key)


def test_a_refused_user_never_shows_a_password():
    found = problems(etcd_auth_enabled=True, etcd_auth_root_password="\nroot-pw",
                     etcd_users=[{"name": "app", "password": "app-pw", "roles": ["nope"]}])
    assert found and not [m for m in found if "root-pw" in m or "app-pw" in m], found


def test_a_user_may_get_a_role_listed_later_but_not_one_that_is_deleted():
    roles = [{"name": "app", "permissions": []}, {"name": "old", "state": "absent"}]
    assert problems(etcd_roles=roles, etcd_users=[{"name": "u", "password": "p", "roles": ["app", "root"]}]) == []
    (message,) = problems(etcd_roles=roles, etcd_users=[{"name": "u", "password": "p", "roles": ["old"]}])
    assert "role(s) old not defined (present) in etcd_roles" in message


def test_users_are_not_judged_by_roles_that_failed_their_own_rule():
    (message,) = problems(etcd_roles="app", etcd_users=[{"name": "u", "password": "p", "roles": ["app"]}])
    assert message.startswith("host etcd-1: etcd_roles='app': ")


def test_the_role_writes_the_compaction_settings_with_the_checked_rule():
    # One place decides whether compaction is on: the members' settings (etcd_member_config.py) use
    # etcd_values' compaction_env, whose compaction_off the check of etcd_auto_compaction_retention uses
    # too, and the role writes no line of its own.
    from ansible_collections.raftops.etcd.plugins.module_utils.host import member_config as etcd_member_config
    from ansible_collections.raftops.etcd.plugins.module_utils.host import values as etcd_values
    assert etcd_member_config.compaction_env is etcd_values.compaction_env
    assert s.compaction_off is etcd_values.compaction_off
    with open(os.path.join(ROOT, "roles", "etcd", "tasks", "configure.yml")) as f:
        configure = f.read()
    assert "auto_compaction_retention: \"{{ etcd_auto_compaction_retention }}\"" in configure
    assert "ETCD_AUTO_COMPACTION_MODE=" not in configure + str(_load("roles", "etcd", "vars", "main.yml"))
