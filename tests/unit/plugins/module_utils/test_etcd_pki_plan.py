"""The PKI plan of the etcd role (module_utils/pki/pki_plan.py): what etcd_pki is given, and the
refusals of an etcd_pki_dir that does not fit the members that already trust a CA."""

import hashlib

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_plan import (
    host_pairs,
    member_pki_files,
    other_ca_hosts,
    pki_members,
    plan_pki,
    running_members_refusal,
)

MEMBERS = [dict(host="h%d" % i, name="m%d" % i, address="10.0.0.%d" % i) for i in range(2)]
NAMES = {"h0": dict(ansible_hostname="etcd0", ansible_fqdn="etcd0.example.org"), "h1": {}}
PAIR_KEY = "/etc/etcd/pki/client-key.pem"
CA = "-----BEGIN CERTIFICATE-----\nours\n-----END CERTIFICATE-----\n"
OURS = hashlib.sha256(CA.encode()).hexdigest()
CA_PATH = "/etc/etcd/pki/ca.pem"


def settings(**changes):
    return dict(dict(managed=True, readdress={}, srv_domain="", scrapers=[], pair_key=PAIR_KEY, ca_path=CA_PATH,
                     replace_ca=False), **changes)


# --- plan_pki ----------------------------------------------------------------------------------------


def test_the_role_s_pki_names_the_hosts_and_issues_admin_and_each_member_s_own_pairs():
    plan = plan_pki(MEMBERS, NAMES, {"h0": dict(present=[]), "h1": dict(present=[CA_PATH])}, settings())
    assert plan["members"] == [dict(name="m0", addresses=["10.0.0.0"], hostnames=["etcd0", "etcd0.example.org", "h0"]),
                               dict(name="m1", addresses=["10.0.0.1"], hostnames=["h1"])]
    assert plan["clients"] == ["admin", *host_pairs(["m0", "m1"])]
    # No member holds the root login's pair: only the shared root pair is revoked.
    assert plan["revoke"] == ["root"]
    assert plan["running_members"] == []


def test_the_members_that_trust_a_ca_are_given_with_their_ca_and_peer_name_as_read():
    reads = {"h0": dict(checksums={CA_PATH: OURS}, settings={"ETCD_PEER_CERT_ALLOWED_HOSTNAME": "etcd-peer.invalid"}),
             "h1": dict(checksums={CA_PATH: None}), "h2": dict(checksums={CA_PATH: "other"})}
    # h3 is not in the play (not read): the run's own plan refuses a host that dropped out.
    plan = plan_pki(MEMBERS, NAMES, reads, settings(ca_check_hosts=["h0", "h1", "h3"]))
    assert plan["running_members"] == [dict(name="h0", ca_sha256=OURS, peer_name=True),
                                       dict(name="h1", ca_sha256="", peer_name=False)]
    # The CA replaced on purpose: only the peer name is checked.
    replaced = plan_pki(MEMBERS, NAMES, reads, settings(ca_check_hosts=["h2"], replace_ca=True))
    assert replaced["running_members"] == [dict(name="h2", ca_sha256="", peer_name=False)]


def test_the_scrapers_get_a_pair_with_their_addresses():
    plan = plan_pki(MEMBERS, NAMES, {}, settings(scrapers=["10.9.0.1"]))
    assert plan["clients"][-1] == {"name": "prometheus", "sans": ["10.9.0.1"]}


def test_an_operator_s_pki_gets_no_client_pairs_and_names_only_the_addresses():
    plan = plan_pki(MEMBERS, NAMES, {}, settings(managed=False, scrapers=["10.9.0.1"]))
    assert plan["clients"] == []
    assert [member["hostnames"] for member in plan["members"]] == [[], []]


def test_a_member_holding_the_root_login_s_pair_has_the_shared_admin_pair_revoked_too():
    plan = plan_pki(MEMBERS, NAMES, {"h0": dict(present=None), "h1": dict(present=[PAIR_KEY])}, settings())
    assert plan["revoke"] == ["root", "admin"]


def test_a_member_moving_address_and_dns_srv_names_are_in_its_certificates():
    member = dict(MEMBERS[1], srv_target="m1.example.com")
    moving = settings(readdress={"h1": dict(old_address="10.9.9.1")}, srv_domain="example.com.")
    plan = plan_pki([member], NAMES, {}, moving)
    assert plan["members"] == [dict(name="m1", addresses=["10.0.0.1", "10.9.9.1"],
                                    hostnames=["h1", "m1.example.com", "example.com"])]


def test_host_pairs_wants_a_list():
    with pytest.raises(ValueError, match="list of member names"):
        host_pairs("m0")


def test_each_member_gets_its_own_root_pair_and_login_pair():
    assert host_pairs(["m0", "m1"]) == [{"name": "m0-root", "user": "root"}, {"name": "m0-client"},
                                        {"name": "m1-root", "user": "root"}, {"name": "m1-client"}]
    assert host_pairs([]) == []


# --- pki_members: what each member's certificates name -----------------------------------------------


def member(i, host=None):
    return dict(host=host or "h%d" % i, name="m%d" % i, address="10.0.0.%d" % i)


def test_an_operator_s_dns_srv_certificates_name_the_srv_target_and_the_domain():
    srv_member = dict(member(1), srv_target="m1.example.com")
    assert pki_members([srv_member], {}, {}, False, "example.com") == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["m1.example.com", "example.com"])]


def test_names_that_are_empty_repeat_or_equal_the_address_are_left_out():
    host_names = {
        "h1": dict(ansible_hostname="h1", ansible_fqdn="h1"),
        "10.0.0.2": dict(ansible_hostname="", ansible_fqdn="10.0.0.2"),
        "h3": {},
    }
    assert pki_members([member(1), member(2, host="10.0.0.2"), member(3)], host_names) == [
        dict(name="m1", addresses=["10.0.0.1"], hostnames=["h1"]),
        dict(name="m2", addresses=["10.0.0.2"], hostnames=[]),
        dict(name="m3", addresses=["10.0.0.3"], hostnames=["h3"]),
    ]


def test_no_members_no_entries():
    assert pki_members([], {}) == []


# --- running_members_refusal ------------------------------------------------------------------------


def running(**cas):
    return [dict(name=host, ca_sha256=ca or "", peer_name=False) for host, ca in cas.items()]


def test_members_that_trust_the_pki_dir_s_ca_pass():
    assert running_members_refusal(running(h0=OURS, h1=None), dict(ca=dict(path="/ctl/ca.pem")), CA) == ""


def test_a_member_that_trusts_another_ca_refuses_by_name():
    assert running_members_refusal(running(h0=OURS, h1="other"), dict(ca={}), CA) == (
        "its ca.pem is another CA, but h1 run with another CA; certificates of a new CA would cut the members off "
        "from each other. Point the role's etcd_pki_dir at the directory the cluster was deployed with (etcd-pki "
        "beside its inventory), or replace the CA on purpose with etcd_pki_replace_ca=true")


def test_a_pki_dir_without_a_ca_yet_says_so():
    assert running_members_refusal(running(h0=OURS), dict(ca={}), "").startswith("it holds no ca.pem yet, but h0 run")


def test_during_a_rotation_any_ca_etcd_pki_trusts_is_accepted_and_none_when_it_trusts_none():
    rotating = dict(ca=dict(trusted_checksums=["old", "both"]))
    assert running_members_refusal(running(h0="old", h1="both"), rotating, CA) == ""
    assert "but h0 run with another CA" in running_members_refusal(running(h0=OURS), dict(ca=dict(trusted_checksums=[])), CA)


def test_members_asking_for_the_peer_name_refuse_peer_certificates_without_it():
    members = [dict(name="h0", ca_sha256=OURS, peer_name=True), dict(name="h1", ca_sha256=OURS, peer_name=False)]
    assert running_members_refusal(members, dict(ca={}, peer_identity=""), CA) == (
        "h0 ask their peers for the name etcd-peer.invalid (ETCD_PEER_CERT_ALLOWED_HOSTNAME), but not every peer "
        "certificate in the directory carries it; a member given one would be shut out by the others. Issue every "
        "peer certificate with the subject alternative name DNS:etcd-peer.invalid (docs/pki.md)")
    assert running_members_refusal(members, dict(ca={}, peer_identity="etcd-peer.invalid"), CA) == ""


def test_another_ca_is_named_before_the_peer_name():
    members = [dict(name="h0", ca_sha256="other", peer_name=True)]
    assert running_members_refusal(members, dict(ca={}), CA).startswith("its ca.pem is another CA, but h0")


def test_the_hosts_that_trust_another_ca_keep_their_order_and_a_host_without_one_trusts_none():
    reads = {"other": "bb", "same": "aa", "none": "", "unread": None}
    assert other_ca_hosts(reads, ["aa"]) == ["other"]
    assert other_ca_hosts(reads, ["cc"]) == ["other", "same"]
    # During a CA rotation: the old CA, the bundle of both or the new CA.
    assert other_ca_hosts(reads, ["aa", "bb"]) == []
    assert other_ca_hosts(reads, []) == ["other", "same"]


def test_no_member_to_check_refuses_nothing():
    assert running_members_refusal([], dict(ca={}), "") == ""


PKI_RESULT = dict(ca=dict(path="/pki/ca.pem"), crl=dict(path="/pki/crl.pem"),
                  certificates={"m1": dict(cert="/pki/m1.pem"), "m2": dict(cert="/pki/m2.pem")},
                  clients={"m1-root": dict(cert="/pki/clients/m1-root.pem"), "admin": dict(cert="/pki/admin.pem")})


@pytest.mark.parametrize("ca, managed, wanted", [
    # The role's PKI: the member's own pair with CN root for its timers.
    (dict(path="/pki/ca.pem"), True, dict(ca="/pki/ca.pem", root=dict(cert="/pki/clients/m1-root.pem"))),
    # During a CA rotation the bundle of the CAs the phase trusts.
    (dict(path="/pki/ca.pem", trusted_path="/pki/ca-bundle.pem"), True,
     dict(ca="/pki/ca-bundle.pem", root=dict(cert="/pki/clients/m1-root.pem"))),
    # An operator's PKI: no root pair of the role's.
    (dict(path="/pki/ca.pem"), False, dict(ca="/pki/ca.pem", root=None)),
])
def test_a_member_s_certificates_come_from_etcd_pki_s_result(ca, managed, wanted):
    assert member_pki_files(dict(PKI_RESULT, ca=ca), "m1", managed) == dict(
        wanted, own=dict(cert="/pki/m1.pem"), crl="/pki/crl.pem")


def test_a_member_without_its_certificates_in_the_result_is_a_key_error():
    with pytest.raises(KeyError):
        member_pki_files(PKI_RESULT, "m3", False)
    with pytest.raises(KeyError):
        member_pki_files(PKI_RESULT, "m2", True)
