"""The one name rule, URL form, size format and ID format, and that every user applies the same one;
an operator's name of a member to remove or replace resolved against the group; where a host's own
etcd listens."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import members as etcd_filters
from ansible_collections.raftops.etcd.plugins.module_utils.plan import settings
from ansible_collections.raftops.etcd.plugins.module_utils.client import formats as fmt
from ansible_collections.raftops.etcd.plugins.module_utils.pki import pki_params as etcd_pki_params
from ansible_collections.raftops.etcd.plugins.modules import etcd_member, etcd_snapshot_restore

VALID_NAMES = ["etcd-host0", "a", "0", "A.b_c-d", "host..1", "x-"]
INVALID_NAMES = ["", "-a", ".a", "_a", "a b", "a/b", "a=b", "a,b", "tok\n", "\ta", "naïve", None, 7]

# -- the name rule -------------------------------------------------------------------------


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names(name):
    assert fmt.is_valid_name(name)


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names(name):
    assert not fmt.is_valid_name(name)


class _Refused(Exception):
    pass


class _Module:
    """Just enough of AnsibleModule for etcd_member.validate."""

    def __init__(self, name):
        self.params = dict(state="present", name=name, peer_urls=["http://10.0.0.4:2380"], missing_ok=False, id=None,
                           promote_timeout=1, promote_max_time=0, transfer_timeout=1)

    def fail_json(self, msg):
        raise _Refused(msg)


def _accepted_by_inventory(name):
    try:
        etcd_filters.members(["h1"], {"h1": {"NODE_NAME": name, "etcd_address": "10.0.0.1"}})
    except ValueError:
        return False
    return True


def _accepted_as_remove_target(name):
    return fmt.resolve_target(name, []) is not None


def _accepted_as_cluster_token(name):
    return settings.settings_problems({"etcd_cluster_token": name}) == []


def _accepted_by_etcd_member(name):
    try:
        etcd_member.validate(_Module(name))
    except _Refused:
        return False
    return True


def _accepted_by_snapshot_restore(name):
    params = dict(name=name, initial_advertise_peer_urls=["http://10.0.0.1:2380"], initial_cluster=None,
                  initial_cluster_token="tok")
    try:
        etcd_snapshot_restore.restore_plan(params)
    except etcd_snapshot_restore.Failure:
        return False
    return True


def _accepted_by_pki(name):
    try:
        etcd_pki_params.validate_name(name, "members[0].name")
    except etcd_pki_params.PkiError:
        return False
    return True


USERS = [_accepted_by_inventory, _accepted_as_remove_target, _accepted_as_cluster_token, _accepted_by_etcd_member,
         _accepted_by_snapshot_restore, _accepted_by_pki]


NAMED = [n for n in VALID_NAMES + INVALID_NAMES if isinstance(n, str) and n]
# resolve_target trims the operator's text first (it comes from a comma-separated -e value)
CASES = [(accepts, name) for accepts in USERS for name in NAMED
         if not (accepts is _accepted_as_remove_target and name != name.strip())]


@pytest.mark.parametrize("accepts, name", CASES)
def test_every_user_of_the_name_rule_agrees(accepts, name):
    assert accepts(name) is fmt.is_valid_name(name)


def test_refusals_explain_the_rule_in_the_same_words():
    with pytest.raises(_Refused, match="use " + fmt.NAME_RULE):
        etcd_member.validate(_Module("a b"))
    with pytest.raises(etcd_snapshot_restore.Failure, match="use " + fmt.NAME_RULE):
        etcd_snapshot_restore.restore_plan(dict(name="a b", initial_advertise_peer_urls=[], initial_cluster=None,
                                                initial_cluster_token="t"))
    assert fmt.NAME_RULE in settings.settings_problems({"etcd_cluster_token": "a b"})[0]


# -- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, normal",
    [
        ("http://10.0.0.1:2380", "http://10.0.0.1:2380"),
        (" https://10.0.0.1:2380/ ", "https://10.0.0.1:2380"),
        ("HTTPS://Etcd-Host0.Example.COM:2379//", "https://etcd-host0.example.com:2379"),
        ("http://[FD00::1]:2380", "http://[fd00::1]:2380"),
        ("http://h:1/Path/", "http://h:1/Path"),
        ("not a url/", "not a url"),
        (None, ""),
    ],
)
def test_normalize_url(url, normal):
    assert fmt.normalize_url(url) == normal


def test_normalized_urls_never_match_a_prefix():
    assert fmt.normalize_url("http://10.0.0.1:2380") != fmt.normalize_url("http://10.0.0.11:2380")


# -- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, text",
    [(0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (20480, "20 KiB"), (1536, "1.5 KiB"), (28704, "28 KiB"),
     (100 << 20, "100 MiB"), (1572864, "1.5 MiB"), (2 * 1024 ** 3, "2 GiB"), (3 << 40, "3 TiB"),
     (8 * 1024 ** 5, "8 PiB"), (3 * 1024 ** 6, "3072 PiB"), ("4096", "4 KiB")],
)
def test_human_size(size, text):
    assert fmt.human_size(size) == text


# -- IDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [(10276657743932975437, "8e9e05c52164694d"), ("10276657743932975437", "8e9e05c52164694d"),
     (0xA0, "a0"), ("160", "a0"), (1, "1"), ((1 << 64) - 1, "ffffffffffffffff")],
)
def test_id_hex_is_lowercase_hex_without_prefix(value, text):
    assert fmt.id_hex(value) == text


# -- why etcd failed, from its log ---------------------------------------------------------------
# Lines as etcd 3.5 logs them (zap's JSON, journalctl --output cat), shortened where long.
INFO = ('{"level":"info","ts":"2026-11-26T19:02:11.361Z","caller":"etcdmain/etcd.go:73","msg":"Running: ",'
        '"args":["/usr/local/bin/etcd"]}')
WARN = ('{"level":"warn","ts":"2026-11-26T19:02:11.362Z","caller":"etcdserver/cluster_util.go:79",'
        '"msg":"failed to get cluster response","address":"https://10.250.0.34:2380/members",'
        '"error":"Get \\"https://10.250.0.34:2380/members\\": dial tcp 10.250.0.34:2380: i/o timeout"}')
FATAL = ('{"level":"fatal","ts":"2026-11-26T19:02:16.363Z","caller":"etcdmain/etcd.go:204","msg":"discovery failed",'
         '"error":"cannot fetch cluster info from peer urls: could not retrieve cluster information from the given '
         'URLs","stacktrace":"go.etcd.io/etcd/server/v3/etcdmain.startEtcdOrProxyV2\\n\\t/go/src/etcdmain/etcd.go:204"}')
ERROR_WAL = ('{"level":"error","ts":"2026-11-26T19:05:01.010Z","caller":"etcdserver/server.go:1021",'
             '"msg":"failed to create WAL","error":"mkdir /var/lib/etcd/member/wal: no space left on device"}')
PANIC_NO_ERROR = ('{"level":"panic","ts":"2026-11-26T19:05:02.000Z","caller":"membership/cluster.go:520",'
                  '"msg":"failed to update; member unknown","cluster-id":"ef37ad9dc622a7c4"}')
SYSTEMD = "etcd.service: Main process exited, code=exited, status=1/FAILURE"


@pytest.mark.parametrize("lines, said", [
    ([INFO, WARN, FATAL, SYSTEMD], "discovery failed: cannot fetch cluster info from peer urls: could not retrieve "
                                   "cluster information from the given URLs"),
    ([INFO, ERROR_WAL, SYSTEMD], "failed to create WAL: mkdir /var/lib/etcd/member/wal: no space left on device"),
    # The last error-or-worse line says why it stopped; one without an error field gives its message alone.
    ([ERROR_WAL, PANIC_NO_ERROR], "failed to update; member unknown"),
    ([PANIC_NO_ERROR, ERROR_WAL], "failed to create WAL: mkdir /var/lib/etcd/member/wal: no space left on device"),
    # Below error level (a warning it retries after) is no reason.
    ([INFO, WARN], ""),
    # Not etcd's JSON: systemd's lines, a line cut short, JSON that is no object, an error with no words.
    ([SYSTEMD, FATAL[:80], '["level","fatal"]', '{"level":"error","msg":"","error":""}'], ""),
    ([FATAL, FATAL[:80]], "discovery failed: cannot fetch cluster info from peer urls: could not retrieve cluster "
                          "information from the given URLs"),
    ([], ""),
])
def test_etcd_said_is_the_last_error_etcd_logged(lines, said):
    assert fmt.etcd_said(lines) == said


# -- a member to remove or replace: an operator's name resolved against the group ---------------

GROUP = [dict(host="host-a", name="etcd-1"), dict(host="host-b", name="etcd-10"), dict(host="10.0.0.13", name="10.0.0.13")]


@pytest.mark.parametrize("requested, expected", [
    ("etcd-1", {"host": "host-a", "name": "etcd-1"}),
    ("etcd-10", {"host": "host-b", "name": "etcd-10"}),
    ("host-b", {"host": "host-b", "name": "etcd-10"}),
    (" 10.0.0.13 ", {"host": "10.0.0.13", "name": "10.0.0.13"}),
    # A name of no host is still a target: its host may be gone from the inventory already.
    ("etcd-gone", {"host": "", "name": "etcd-gone"}),
])
def test_a_target_matches_member_names_and_hosts_exactly(requested, expected):
    assert fmt.resolve_target(requested, GROUP) == expected


@pytest.mark.parametrize("requested", ["etcd 1", "etcd\n1"])
def test_a_target_that_cannot_be_a_member_name_is_none(requested):
    assert fmt.resolve_target(requested, GROUP) is None


# -- where a host's own etcd listens --------------------------------------------------------------

LOOPBACK = "https://127.0.0.1:2379"


@pytest.mark.parametrize("settings, endpoint", [
    ({"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379,https://127.0.0.1:2379"}, "https://127.0.0.1:2379"),
    ({"ETCD_LISTEN_CLIENT_URLS": "http://10.0.0.1:4001,http://127.0.0.1:4001,https://127.0.0.1:2379"}, "http://127.0.0.1:4001"),
    ({"ETCD_LISTEN_CLIENT_URLS": "https://127.0.0.1:2999"}, "https://127.0.0.1:2999"),
])
def test_the_member_is_asked_on_the_loopback_url_it_listens_on(settings, endpoint):
    assert fmt.installed_local_endpoint(settings, LOOPBACK) == endpoint


@pytest.mark.parametrize("settings", [
    {}, None, {"ETCD_LISTEN_CLIENT_URLS": ""}, {"ETCD_LISTEN_CLIENT_URLS": None},
    {"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379"},
    # Taken as etcd_host_info read them: an item with a space before it is no loopback URL.
    {"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379, https://127.0.0.1:2379"},
    {"ETCD_LISTEN_CLIENT_URLS": "https://127.0.0.10:2379,unix://127.0.0.1:2379"},
])
def test_without_an_installed_loopback_url_the_default_is_asked(settings):
    assert fmt.installed_local_endpoint(settings, LOOPBACK) == LOOPBACK
