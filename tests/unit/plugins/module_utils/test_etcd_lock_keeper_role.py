"""role_options: the keeper's options for a run of the etcd role (roles/etcd/tasks/run_keeper.yml),
from the task's role, the role's variables and the play's hosts."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_keeper import role_options

LEASE = "694d77aa9e38260f"
URLS = ["https://10.0.0.11:2379"]
MEMBERS = [dict(host="h1", name="etcd-1"), dict(host="h2", name="etcd-2")]
VARIABLES = dict(etcd_tls=True, etcd_auto_tls=False, etcd_pki_managed=True, etcd_pki_dir="/ctl/pki", etcd_run_lock_ttl=45)


def role(**given):
    return dict(dict(lease_id="", hold_pki_dir=False, members=MEMBERS, hosts=[], endpoints=URLS, rotation={}), **given)


def options(role_, play_hosts=("h1", "h2"), **variables):
    return role_options(role_, dict(VARIABLES, **variables), list(play_hosts))


def test_a_lease_of_a_managed_tls_cluster_is_renewed_with_admin_every_third_of_the_ttl():
    assert options(role(lease_id=LEASE)) == dict(
        hold_pki_dir=False, lease_id=LEASE, lock_key=None, endpoints=URLS, tls=True, tls_verify=True, interval=15,
        pki_dir="/ctl/pki", client_pair="admin")
    # With the lock's key the keeper records there a run that died; without a lease, no key.
    assert options(role(lease_id=LEASE, lock_key="/raftops/etcd/run"))["lock_key"] == "/raftops/etcd/run"
    assert options(role(lock_key="/raftops/etcd/run"))["lock_key"] is None


@pytest.mark.parametrize("given, variables, held", [
    (True, {}, True),
    (False, {}, False),
    # The role never writes an operator's PKI directory, nor one without TLS.
    (True, dict(etcd_pki_managed="no"), False),
    (True, dict(etcd_tls="false"), False),
])
def test_the_pki_directory_is_held_only_where_the_role_writes_it(given, variables, held):
    assert options(role(hold_pki_dir=given), **variables)["hold_pki_dir"] is held


def test_without_a_lease_nothing_is_renewed_nor_any_endpoint_asked():
    got = options(role(hold_pki_dir=True))
    assert (got["lease_id"], got["endpoints"], "client_pair" in got) == (None, [], False)


@pytest.mark.parametrize("variables, tls, tls_verify, pki_dir", [
    (dict(etcd_tls="yes"), True, True, "/ctl/pki"),
    # Auto-TLS: https without the role's files, and no server certificate to check.
    (dict(etcd_auto_tls=True), False, False, "/ctl/pki"),
    (dict(etcd_tls=False), False, True, None),
])
def test_tls_as_the_role_serves_it(variables, tls, tls_verify, pki_dir):
    got = options(role(lease_id=LEASE), **variables)
    assert (got["tls"], got["tls_verify"], got.get("pki_dir")) == (tls, tls_verify, pki_dir)
    assert ("client_pair" in got) is tls


@pytest.mark.parametrize("ttl, interval", [(45, 15), ("30", 10), (10, 3), (2, 1)])
def test_the_interval_leaves_two_renewals_to_miss(ttl, interval):
    assert options(role(), etcd_run_lock_ttl=ttl)["interval"] == interval


@pytest.mark.parametrize("given, play_hosts, pair", [
    # An operator's PKI directory has no admin pair: a member's server pair, the first with data first.
    (dict(), ["h2"], "etcd-2"),
    (dict(hosts=["h1"]), ["h2"], "etcd-1"),
    # Phase 1 of an adopted CA's rotation: the members do not trust admin yet.
    (dict(rotation=dict(members_kept=True)), ["h1"], "etcd-1"),
])
def test_the_client_pair_where_admin_will_not_do(given, play_hosts, pair):
    variables = {} if given.get("rotation") else dict(etcd_pki_managed=False)
    assert options(role(lease_id=LEASE, **given), play_hosts, **variables)["client_pair"] == pair


def test_a_rotation_that_keeps_no_member_pair_renews_with_admin():
    assert options(role(lease_id=LEASE, rotation=dict(members_kept=False)))["client_pair"] == "admin"


@pytest.mark.parametrize("given, variables, play_hosts, message", [
    (dict(lease_id=LEASE), dict(etcd_pki_managed=False), ["h9"],
     "no member among the run's hosts (h9) whose server pair renews the lease: the PKI directory has no admin pair "
     "to renew it with"),
    (dict(), dict(etcd_tls="maybe"), ["h1"], "etcd_tls must be true or false, got 'maybe'"),
    (dict(), dict(etcd_auto_tls=None), ["h1"], "etcd_auto_tls must be true or false, got None"),
    (dict(), dict(etcd_run_lock_ttl="45s"), ["h1"], "etcd_run_lock_ttl must be a whole number of seconds, got '45s'"),
])
def test_bad_input_is_refused_naming_it(given, variables, play_hosts, message):
    with pytest.raises(ValueError) as refused:
        options(role(**given), play_hosts, **variables)
    assert str(refused.value) == message


def test_values_the_role_leaves_empty_read_as_none():
    empty = dict(members=None, hosts=None, endpoints=None, rotation=None)
    got = options(role(lease_id=LEASE, **empty), ["h1"])
    assert (got["endpoints"], got["client_pair"]) == ([], "admin")
    with pytest.raises(ValueError, match=r"no member among the run's hosts \(h1\)"):
        options(role(lease_id=LEASE, **empty), ["h1"], etcd_pki_managed=False)
