"""The etcd role's connection settings (plugins/module_utils/client/connection.py): which client pair
its calls present, whether the member has the pair of a root login, where that pair is in
etcd_pki_dir, and the options of the group raftops.etcd.etcd."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client.connection import (
    call_pair, client_pair_name, client_pair_source, connection, pair_there)

REFUSED = {"etcd-host0": "etcdserver: user name is empty"}
KEY = "/etc/etcd/pki/client-key.pem"


@pytest.mark.parametrize("tls, root_login, there, refused, pair", [
    # without TLS no pair, whatever else
    (False, True, True, REFUSED, None),
    (False, False, False, {}, None),
    # without a root login the member's server pair, even where etcd refused it (preflight then refuses the run)
    (True, False, False, {}, "server"),
    (True, False, True, REFUSED, "server"),
    # with one: the client pair once it is on the member
    (True, True, True, {}, "client"),
    (True, True, True, REFUSED, "client"),
    # before that, where etcd asked for a user: the controller's pair as text (preflight writes nothing)
    (True, True, False, REFUSED, "text"),
    # and where auth is off (a new cluster, or auth not on yet): the server pair
    (True, True, False, {}, "server"),
    (True, True, False, None, "server"),
])
def test_call_pair(tls, root_login, there, refused, pair):
    assert call_pair(tls, root_login, there, refused) == pair


@pytest.mark.parametrize("found, written, check_mode, there", [
    # the host read found it
    (True, [], False, True),
    (True, None, True, True),
    # configure.yml's files call wrote it in this run
    (False, ["/etc/etcd/pki/client.pem", KEY], False, True),
    # in check mode that call only reports what it would write: the pair is not there
    (False, [KEY], True, False),
    # written are other files, or nothing
    (False, ["/etc/etcd/pki/client.pem"], False, False),
    (False, None, False, False),
])
def test_pair_there(found, written, check_mode, there):
    assert pair_there(found, KEY, written, check_mode) is there


@pytest.mark.parametrize("managed, made, name", [
    # the role's PKI: the member's own pair, once etcd_pki made it (removing the member revokes it)
    (True, True, "etcd1-client"),
    # before etcd_pki first made it (preflight), and with an operator's PKI: the admin pair
    (True, False, "admin"),
    (False, True, "admin"),
    (False, False, "admin"),
])
def test_client_pair_name(managed, made, name):
    assert client_pair_name(managed, "etcd1", made) == name


def test_client_pair_source():
    assert client_pair_source("/pki", "etcd1-client") == dict(cert="/pki/etcd1-client.pem", key="/pki/etcd1-client-key.pem")


NONE = dict(ca_cert=None, client_cert=None, client_key=None, client_cert_content=None, client_key_content=None,
            auth_user=None, auth_password=None, tls_verify=True)


@pytest.mark.parametrize("pair, tls, auto_tls, password, text, wanted", [
    # plain HTTP: nothing but verification (no TLS to verify)
    (None, False, False, None, None, {}),
    # etcd's auto-TLS without the role's certificates: encrypted, not verifiable
    (None, False, True, None, None, dict(tls_verify=False)),
    # the member's server pair, no login
    ("server", True, False, "", None, dict(ca_cert="/p/ca.pem", client_cert="/p/server.pem", client_key="/p/server-key.pem")),
    # a root login with the server pair (auth off) or the client pair on the member
    ("server", True, False, "s3cret", None,
     dict(ca_cert="/p/ca.pem", client_cert="/p/server.pem", client_key="/p/server-key.pem", auth_user="root", auth_password="s3cret")),
    ("client", True, False, "s3cret", None,
     dict(ca_cert="/p/ca.pem", client_cert="/p/client.pem", client_key="/p/client-key.pem", auth_user="root", auth_password="s3cret")),
    # the controller's pair as text: no pair on the member
    ("text", True, False, "s3cret", dict(cert="CERT", key="KEY"),
     dict(ca_cert="/p/ca.pem", client_cert_content="CERT", client_key_content="KEY", auth_user="root", auth_password="s3cret")),
    # check mode before the first deploy: the files etcd_pki would make are not there
    ("text", True, False, "s3cret", dict(cert=None, key=None), dict(ca_cert="/p/ca.pem", auth_user="root", auth_password="s3cret")),
    # contents given with another pair are not used
    ("client", True, False, "s3cret", dict(cert="CERT", key="KEY"),
     dict(ca_cert="/p/ca.pem", client_cert="/p/client.pem", client_key="/p/client-key.pem", auth_user="root", auth_password="s3cret")),
])
def test_connection(pair, tls, auto_tls, password, text, wanted):
    assert connection(pair, tls, auto_tls, "/p", password, text) == dict(NONE, **wanted)


@pytest.mark.parametrize("pair, text, message", [
    ("admin", None, "the client pair must be one of server, client, text or none, not 'admin'"),
    ("text", None, "the client pair given as text needs its contents"),
])
def test_connection_refuses(pair, text, message):
    with pytest.raises(ValueError) as exc:
        connection(pair, True, False, "/p", "s3cret", text)
    assert str(exc.value) == message
    assert "s3cret" not in str(exc.value)
