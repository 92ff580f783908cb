"""The etcd_connection lookup: the role's connection settings from the variables the lookup sees
(each templated, only where the decision needs it), with the controller's pair read as text where
the calls present it so."""

import pytest
from ansible.errors import AnsibleError

from ansible_collections.raftops.etcd.plugins.lookup.etcd_connection import LookupModule

PKI = "/etc/etcd/pki"
HOST = dict(pki_host_dir=PKI, client_pair_found=False, pki_settings=dict(pair_key=PKI + "/client-key.pem"))
REFUSED_PLAN = dict(auth_refused={"etcd-host0": "etcdserver: user name is empty"})


class Templar:
    """Renders "T:value" to value; a value "BOOM" stands for one the decision must not read."""

    def template(self, value):
        if value == "BOOM":
            raise AssertionError("templated a variable the decision does not need")
        return value[2:] if isinstance(value, str) and value.startswith("T:") else value


def run(variables, *terms):
    lookup = LookupModule()
    lookup._templar = Templar()
    (answer,) = lookup.run(list(terms), variables=variables)
    return answer


def role_vars(pki_dir, **extra):
    return dict(dict(etcd_tls="T:true", etcd_auto_tls=False, etcd_auth_root_password="T:s3cret", etcd_pki_managed=True,
                     etcd_pki_dir=str(pki_dir), _etcd_me={"name": "etcd1"}, _etcd_host=HOST, ansible_check_mode=False), **extra)


@pytest.fixture
def pki_dir(tmp_path):
    for name in ("admin", "etcd1-client"):
        (tmp_path / (name + ".pem")).write_text("CERT of %s\n" % name)
        (tmp_path / (name + "-key.pem")).write_text("KEY of %s\n" % name)
    return tmp_path


def test_plain_http_reads_neither_the_host_nor_the_plan():
    answer = run(dict(etcd_tls=False, etcd_auto_tls="T:no", etcd_auth_root_password="", _etcd_host="BOOM", _etcd_plan="BOOM"))
    assert answer == dict(ca_cert=None, client_cert=None, client_key=None, client_cert_content=None,
                          client_key_content=None, auth_user=None, auth_password=None, tls_verify=True)


def test_without_a_root_login_the_server_pair_and_no_plan_read(pki_dir):
    answer = run(role_vars(pki_dir, etcd_auth_root_password=None, _etcd_plan="BOOM", _etcd_member_files="BOOM"))
    assert (answer["client_cert"], answer["client_key"], answer["auth_user"]) == (PKI + "/server.pem", PKI + "/server-key.pem", None)
    assert answer["ca_cert"] == PKI + "/ca.pem"


def test_auto_tls_is_not_verified(pki_dir):
    assert run(role_vars(pki_dir, etcd_tls=False, etcd_auto_tls="T:yes"))["tls_verify"] is False


@pytest.mark.parametrize("extra, pair", [
    # facts.yml's read found the pair: no plan read
    (dict(_etcd_host=dict(HOST, client_pair_found=True), _etcd_plan="BOOM"), "client"),
    # the removal's plan: the member remove.yml acts through has it, or has not
    (dict(_etcd_plan=dict(client_pair_found=True)), "client"),
    (dict(_etcd_plan=dict(REFUSED_PLAN, client_pair_found=False)), "text"),
    # configure.yml wrote it in this run, but not in check mode (the call only reported it)
    (dict(_etcd_member_files=dict(changed_paths=[PKI + "/client-key.pem"]), _etcd_plan="BOOM"), "client"),
    (dict(_etcd_member_files=dict(changed_paths=[PKI + "/client-key.pem"]), ansible_check_mode=True), "server"),
    # not there: auth on outside the role (the plan's auth_refused) gives the controller's pair as text
    (dict(_etcd_plan=REFUSED_PLAN), "text"),
    # else the server pair: auth is off, or there is no plan (remove.yml)
    (dict(_etcd_plan=dict(auth_refused={})), "server"),
    ({}, "server"),
])
def test_the_pair_of_a_root_login(pki_dir, extra, pair):
    answer = run(role_vars(pki_dir, **extra))
    assert (answer["auth_user"], answer["auth_password"]) == ("root", "s3cret")
    if pair == "text":
        assert (answer["client_cert"], answer["client_cert_content"]) == (None, "CERT of etcd1-client\n")
        assert answer["client_key_content"] == "KEY of etcd1-client\n"
    else:
        assert (answer["client_cert"], answer["client_key"]) == ("%s/%s.pem" % (PKI, pair), "%s/%s-key.pem" % (PKI, pair))
        assert answer["client_cert_content"] is None and answer["client_key_content"] is None


@pytest.mark.parametrize("managed, made, name", [
    # the role's PKI: the member's own pair once etcd_pki made it
    (True, True, "etcd1-client"),
    # preflight before etcd_pki made it, and an operator's PKI: the admin pair
    (True, False, "admin"),
    (False, True, "admin"),
])
def test_the_pair_given_as_text(pki_dir, managed, made, name):
    if not made:
        (pki_dir / "etcd1-client-key.pem").unlink()
    answer = run(role_vars(pki_dir, etcd_pki_managed=managed, _etcd_plan=REFUSED_PLAN))
    assert (answer["client_cert_content"], answer["client_key_content"]) == ("CERT of %s\n" % name, "KEY of %s\n" % name)
    assert run(role_vars(pki_dir, etcd_pki_managed=managed), "login_pair") == dict(
        cert="%s/%s.pem" % (pki_dir, name), key="%s/%s-key.pem" % (pki_dir, name))


def test_check_mode_before_the_first_deploy_presents_no_pair(tmp_path):
    answer = run(role_vars(tmp_path, _etcd_plan=REFUSED_PLAN, ansible_check_mode=True))
    assert (answer["client_cert"], answer["client_cert_content"], answer["client_key_content"]) == (None, None, None)


def test_a_missing_pair_fails_naming_the_file_not_the_password(tmp_path):
    with pytest.raises(AnsibleError) as exc:
        run(role_vars(tmp_path, _etcd_plan=REFUSED_PLAN))
    assert str(exc.value).startswith("could not read %s/admin.pem on the controller: " % tmp_path)
    assert "s3cret" not in str(exc.value)


def test_no_login_pair_without_a_root_login(pki_dir):
    assert run(role_vars(pki_dir, etcd_auth_root_password="", _etcd_me="BOOM"), "login_pair") is None


def test_an_unknown_term_is_refused(pki_dir):
    with pytest.raises(AnsibleError) as exc:
        run(role_vars(pki_dir), "pair")
    assert str(exc.value) == "etcd_connection: the term must be login_pair, member_pki or none, not pair"


ETCD_PKI = dict(ca=dict(path="/ctl/pki/ca.pem", trusted_path="/ctl/pki/ca-bundle.pem"), crl=dict(path="/ctl/pki/crl.pem"),
                certificates={"etcd1": dict(cert="/ctl/pki/etcd1.pem")},
                clients={"etcd1-root": dict(cert="/ctl/pki/clients/etcd1-root.pem")})


def test_the_member_s_certificates_with_tls(pki_dir):
    got = run(role_vars(pki_dir, _etcd_pki=ETCD_PKI), "member_pki")
    assert got == dict(dir=PKI, ca="/ctl/pki/ca-bundle.pem", own=dict(cert="/ctl/pki/etcd1.pem"), crl="/ctl/pki/crl.pem",
                       root=dict(cert="/ctl/pki/clients/etcd1-root.pem"),
                       login=dict(cert=str(pki_dir / "etcd1-client.pem"),
                                  key=str(pki_dir / "etcd1-client-key.pem")))


def test_the_member_s_certificates_without_a_root_login_or_the_role_s_pki(pki_dir):
    got = run(role_vars(pki_dir, _etcd_pki=ETCD_PKI, etcd_auth_root_password="", etcd_pki_managed=False), "member_pki")
    assert (got["login"], got["root"], got["ca"]) == (None, None, "/ctl/pki/ca-bundle.pem")


def test_no_member_certificates_without_tls(pki_dir):
    assert run(role_vars(pki_dir, etcd_tls="T:false", _etcd_pki="BOOM", _etcd_me="BOOM"), "member_pki") is None


def test_a_result_without_the_member_s_certificates_fails_naming_it(pki_dir):
    with pytest.raises(AnsibleError) as exc:
        run(role_vars(pki_dir, _etcd_pki=dict(ETCD_PKI, certificates={})), "member_pki")
    assert str(exc.value) == "etcd_connection: member_pki: etcd_pki's result (_etcd_pki) has no 'etcd1'"
