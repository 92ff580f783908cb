import glob
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER, Gateway


@pytest.mark.parametrize(
    "text, expected",
    [
        # hex: 0x prefix, or any of a-f
        ("8e9e05c52164694d", 0x8E9E05C52164694D),
        ("0x8e9e05c52164694d", 0x8E9E05C52164694D),
        ("0X8E9E05C52164694D", 0x8E9E05C52164694D),
        ("  ABC  ", 0xABC),
        ("0x1234", 0x1234),
        ("0x0000000000001234", 0x1234),
        ("a", 10),
        # decimal: all digits and longer than 16
        ("10276657743932975437", 10276657743932975437),
        ("18446744073709551615", (1 << 64) - 1),
        ("12345678901234567", 12345678901234567),
        # both readings are the same number
        ("7", 7),
        ("0", 0),
        # ints are themselves
        (0x8E9E05C52164694D, 0x8E9E05C52164694D),
    ],
)
def test_parse_member_id_unambiguous_forms(text, expected):
    assert ec.parse_member_id(text) == expected
    assert ec.member_id_readings(text) == (expected,)


@pytest.mark.parametrize(
    "text, readings",
    [
        ("1234", (0x1234, 1234)),
        ("10", (16, 10)),
        ("1234567890123456", (0x1234567890123456, 1234567890123456)),  # 16 digits: still both
    ],
)
def test_short_all_digit_ids_are_ambiguous_and_never_guessed(text, readings):
    assert ec.member_id_readings(text) == readings
    with pytest.raises(ec.AmbiguousMemberID) as caught:
        ec.parse_member_id(text)
    assert caught.value.readings == readings
    assert isinstance(caught.value, ValueError)
    assert "reads as hex (0x%x) and as decimal (%d); write hex IDs with 0x" % readings in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["", "0x", "xyz", "-5", "0x" + "f" * 17, "f" * 17, "18446744073709551616", "1" * 21, "12 34", "0x-1", True, -1,
     1 << 64],
)
def test_parse_member_id_rejects_malformed(text):
    with pytest.raises(ValueError, match="not a member ID"):
        ec.parse_member_id(text)


def test_normalize_member_fills_omitted_zero_fields():
    member = ec.normalize_member({"ID": "10276657743932975437", "peerURLs": ["https://10.0.0.1:2380"]})
    assert member == {
        "id": 10276657743932975437,
        "id_hex": "8e9e05c52164694d",
        "name": "",
        "peer_urls": ["https://10.0.0.1:2380"],
        "client_urls": [],
        "is_learner": False,
        "started": False,
    }


def test_normalize_status_marks_leader_and_reads_string_integers():
    status = ec.normalize_status(
        {
            "header": {"cluster_id": "17237436991929493444", "member_id": "9372538179322589801", "revision": "7"},
            "version": "3.5.1",
            "dbSize": "20480",
            "leader": "9372538179322589801",
            "raftIndex": "12",
            "raftTerm": "2",
        },
        endpoint="https://10.0.0.1:2379",
    )
    assert status["is_leader"] is True
    assert status["is_learner"] is False
    assert (status["raft_term"], status["raft_index"], status["db_size"], status["revision"]) == (2, 12, 20480, 7)
    assert status["raft_applied_index"] == 0


def test_normalize_status_follower_is_not_leader():
    status = ec.normalize_status({"header": {"member_id": "1"}, "leader": "2", "isLearner": True})
    assert status["is_leader"] is False
    assert status["is_learner"] is True


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"error": "etcdserver: member not found", "message": "etcdserver: member not found", "code": 5},
         "etcdserver: member not found"),
        ({"code": 9, "message": "etcdserver: unhealthy cluster", "details": []}, "etcdserver: unhealthy cluster"),
        ({"error": {"grpc_code": 14, "message": "etcdserver: no leader"}}, "etcdserver: no leader"),
        ("plain text", "plain text"),
    ],
)
def test_error_message_reads_every_release_format(body, expected):
    assert ec.error_message(body) == expected


def test_error_matches_is_case_insensitive():
    err = ec.EtcdError("etcdserver: re-configuration failed due to not enough started members", endpoint="e")
    assert err.matches("Not enough started members")
    assert not err.matches("member not found")
    assert str(err) == "e: etcdserver: re-configuration failed due to not enough started members"


def test_first_answer_skips_unreachable_and_learners_then_raises_with_all_endpoints():
    class Fake:
        def __init__(self, endpoint, outcome):
            self.endpoint, self.outcome = endpoint, outcome

    def action(client):
        if isinstance(client.outcome, Exception):
            raise client.outcome
        return client.outcome

    dead = Fake("a", ec.EtcdUnreachable("refused", endpoint="a"))
    learner = Fake("b", ec.EtcdError("etcdserver: rpc not supported for learner", endpoint="b"))
    good = Fake("c", "members")
    assert ec.first_answer([dead, learner, good], action) == "members"
    with pytest.raises(ec.EtcdUnreachable, match="a: refused; b: etcdserver: rpc not supported"):
        ec.first_answer([dead, learner], action)


class Endpoint:
    def __init__(self, endpoint, outcome):
        self.endpoint, self.outcome, self.calls = endpoint, outcome, 0


def attempt(client):
    client.calls += 1
    if isinstance(client.outcome, Exception):
        raise client.outcome
    return client.outcome


def test_first_answer_retries_a_timeout_only_for_idempotent_requests():
    timed_out = Endpoint("a", ec.EtcdUnreachable("timed out", endpoint="a", sent=True))
    good = Endpoint("b", "done")
    assert ec.first_answer([timed_out, good], attempt) == "done"
    assert ec.first_answer([timed_out, good], attempt, idempotent=True) == "done"
    good.calls = 0
    with pytest.raises(ec.EtcdUnreachable) as caught:
        ec.first_answer([timed_out, good], attempt, idempotent=False)
    assert good.calls == 0
    assert caught.value.sent is True
    assert str(caught.value) == ("a: timed out (the request was sent and may have been applied, so it was not "
                                 "repeated on another endpoint)")


def test_first_answer_non_idempotent_moves_on_when_nothing_was_sent():
    refused = Endpoint("a", ec.EtcdUnreachable("[Errno 111] Connection refused", endpoint="a", sent=False))
    learner = Endpoint("b", ec.EtcdError("etcdserver: rpc not supported for learner", endpoint="b"))
    good = Endpoint("c", "added")
    assert ec.first_answer([refused, learner, good], attempt, idempotent=False) == "added"
    with pytest.raises(ec.EtcdUnreachable) as caught:
        ec.first_answer([refused, learner], attempt, idempotent=False)
    assert caught.value.sent is False
    assert str(caught.value).startswith("no endpoint answered: a: [Errno 111] Connection refused; b: etcdserver")


def test_first_answer_reports_whether_any_failed_request_was_sent():
    timed_out = Endpoint("a", ec.EtcdUnreachable("timed out", endpoint="a"))
    refused = Endpoint("b", ec.EtcdUnreachable("refused", endpoint="b", sent=False))
    with pytest.raises(ec.EtcdUnreachable) as caught:
        ec.first_answer([timed_out, refused], attempt)
    assert caught.value.sent is True
    with pytest.raises(ec.EtcdUnreachable, match="no endpoint answered: no endpoints given"):
        ec.first_answer([], attempt)


def test_unreachable_defaults_to_maybe_sent():
    assert ec.EtcdUnreachable("x").sent is True


def test_transport_marks_connect_failures_as_not_sent():
    # port 1 on loopback refuses the connection: nothing reached a server
    client = ec.EtcdClient("http://127.0.0.1:1", timeout=2)
    with pytest.raises(ec.EtcdUnreachable) as caught:
        client.member_add(["http://127.0.0.1:2380"])
    assert caught.value.sent is False
    assert caught.value.endpoint == "http://127.0.0.1:1"


def test_transport_marks_a_timeout_after_sending_as_sent():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection in the kernel and never answers, like an unjoined member
    try:
        client = ec.EtcdClient("http://127.0.0.1:%d" % server.getsockname()[1], timeout=0.3)
        with pytest.raises(ec.EtcdUnreachable) as caught:
            client.member_remove(1)
    finally:
        server.close()
    assert caught.value.sent is True
    assert "timed out (a member that has not joined a cluster with quorum does not answer)" in str(caught.value)


def test_transport_tells_a_tls_handshake_left_unanswered_from_a_port_that_takes_no_connection():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # takes the TCP connection, never the TLS handshake: etcd before it joined a quorum
    try:
        client = ec.EtcdClient("https://127.0.0.1:%d" % server.getsockname()[1], timeout=0.3)
        with pytest.raises(ec.EtcdUnreachable) as caught:
            client.get("/version")
    finally:
        server.close()
    assert caught.value.sent is False
    assert caught.value.message == ec.NO_HANDSHAKE


def test_first_answer_raises_real_errors_at_once():
    class Fake:
        endpoint = "a"

    def action(client):
        raise ec.EtcdError("etcdserver: member not found", endpoint="a")

    with pytest.raises(ec.EtcdError, match="member not found"):
        ec.first_answer([Fake(), Fake()], action)


def test_connection_argument_spec_defaults_to_tls_on_loopback():
    spec = ec.connection_argument_spec()
    assert spec["endpoints"]["default"] == ["https://127.0.0.1:2379"]
    assert spec["timeout"]["default"] == 10.0


def test_health_reads_the_reason_of_a_503_body(monkeypatch):
    client = ec.EtcdClient("http://127.0.0.1:1")

    def refuse(path, data=None, method="GET", timeout=None):
        body = {"health": "false", "reason": "RAFT NO LEADER"}
        raise ec.EtcdError(ec.error_message(body), endpoint=client.endpoint, status=503, body=body)

    monkeypatch.setattr(client, "_open", refuse)
    assert client.health() == (False, "RAFT NO LEADER")


# -- TLS files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A self-signed certificate with its key, another key, and an encrypted key (openssl CLI)."""
    d = tmp_path_factory.mktemp("pki")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=admin", "-keyout", str(d / "admin-key.pem"), "-out", str(d / "admin.pem"))
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", str(d / "other-key.pem"))
    openssl("pkey", "-in", str(d / "admin-key.pem"), "-aes256", "-passout", "pass:secret",
            "-out", str(d / "encrypted-key.pem"))
    (d / "garbage.pem").write_text("this is not PEM\n")
    (d / "both.pem").write_text((d / "admin.pem").read_text() + (d / "admin-key.pem").read_text())
    return d


def config_error(**kwargs):
    with pytest.raises(ec.EtcdError) as caught:
        ec.EtcdClient("https://127.0.0.1:2379", **kwargs)
    assert isinstance(caught.value, ec.EtcdConfigError)
    assert isinstance(caught.value, ValueError)
    return caught.value


def test_good_tls_files_load(pki):
    # The context verifies the server against exactly the CA given (not the system store too) and
    # loads the client pair, its key also from the certificate's own file; without a key, refused.
    context = ec.tls_context(ca_cert=str(pki / "admin.pem"), client_cert=str(pki / "admin.pem"),
                             client_key=str(pki / "admin-key.pem"))
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert [cert["subject"] for cert in context.get_ca_certs()] == [((("commonName", "admin"),),)]
    assert ec.tls_context(client_cert=str(pki / "both.pem")).verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ec.EtcdConfigError, match=r"admin\.pem"):
        ec.tls_context(client_cert=str(pki / "admin.pem"))


def test_plain_http_ignores_tls_files(gateway, tmp_path):
    # TLS files given for a plain http endpoint are neither read nor checked: the client talks http.
    missing = str(tmp_path / "missing.pem")
    client = ec.EtcdClient(gateway.client.endpoint, ca_cert=missing, client_cert=missing, client_key=missing, timeout=2)
    gateway.routes["/v3/maintenance/alarm"] = (200, {"header": HEADER})
    assert client.alarms() == []
    assert gateway.requests == [("/v3/maintenance/alarm", {"action": "GET"})]
    with pytest.raises(ec.EtcdConfigError, match="ca_cert %s does not exist" % missing):
        ec.EtcdClient(gateway.client.endpoint.replace("http://", "https://"), ca_cert=missing)


@pytest.mark.parametrize("option", ["ca_cert", "client_cert", "client_key"])
def test_missing_tls_file_names_option_and_file(pki, tmp_path, option):
    files = dict(client_cert=str(pki / "admin.pem"), client_key=str(pki / "admin-key.pem"))
    files[option] = str(tmp_path / "nope.pem")
    error = config_error(**files)
    assert str(error) == "%s %s does not exist" % (option, tmp_path / "nope.pem")
    assert (error.option, error.path) == (option, str(tmp_path / "nope.pem"))


def test_directory_as_tls_file(tmp_path):
    assert str(config_error(ca_cert=str(tmp_path))) == "ca_cert %s is a directory, not a PEM file" % tmp_path


def test_bad_ca_cert(pki):
    error = config_error(ca_cert=str(pki / "garbage.pem"))
    assert str(error).startswith("ca_cert %s holds no usable PEM CA certificate (" % (pki / "garbage.pem"))
    assert error.option == "ca_cert"


def test_bad_client_cert(pki):
    error = config_error(client_cert=str(pki / "garbage.pem"), client_key=str(pki / "admin-key.pem"))
    assert str(error).startswith("client_cert %s holds no PEM certificate (" % (pki / "garbage.pem"))
    assert error.option == "client_cert"


def test_bad_client_key(pki):
    error = config_error(client_cert=str(pki / "admin.pem"), client_key=str(pki / "garbage.pem"))
    assert str(error).startswith("client_key %s holds no PEM private key (" % (pki / "garbage.pem"))
    assert error.option == "client_key"


def test_key_of_another_certificate(pki):
    error = config_error(client_cert=str(pki / "admin.pem"), client_key=str(pki / "other-key.pem"))
    assert str(error) == "client_key %s is not the key of client_cert %s" % (pki / "other-key.pem", pki / "admin.pem")


def test_encrypted_key_fails_without_prompting(pki):
    error = config_error(client_cert=str(pki / "admin.pem"), client_key=str(pki / "encrypted-key.pem"))
    assert str(error) == ("client_key %s is an encrypted private key; the modules need an unencrypted key (mode 0600)"
                          % (pki / "encrypted-key.pem"))


def test_client_key_without_client_cert(pki):
    error = config_error(client_key=str(pki / "admin-key.pem"))
    assert "client_key %s is set without client_cert" % (pki / "admin-key.pem") in str(error)


# -- a client pair given as text (client_cert_content, client_key_content) --------------------


def pem_texts(pki, cert="admin.pem", key="admin-key.pem"):
    return dict(client_cert_content=(pki / cert).read_text(), client_key_content=(pki / key).read_text())


@pytest.fixture
def pem_dirs(monkeypatch, tmp_path):
    """The directories the client writes a pair given as text to (made under ``tmp_path``), each
    with what it held, and with what modes, while the context loaded the pair."""
    made, seen = [], {}
    real_mkdtemp, real_load = ec.tempfile.mkdtemp, ssl.SSLContext.load_cert_chain

    def mkdtemp(**kwargs):
        made.append(real_mkdtemp(**dict(kwargs, dir=str(tmp_path))))
        return made[-1]

    def load_cert_chain(context, certfile, keyfile=None, password=None):
        for directory in made:
            seen[directory] = {name: os.stat(os.path.join(directory, name)).st_mode & 0o777 for name in os.listdir(directory)}
            seen[directory]["."] = os.stat(directory).st_mode & 0o777
        return real_load(context, certfile, keyfile, password)

    monkeypatch.setattr(ec.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", load_cert_chain)
    return made, seen


def test_a_pair_given_as_text_is_presented_and_on_disk_only_while_it_loads(pki, tmp_path, pem_dirs):
    made, seen = pem_dirs
    cert, key = str(tmp_path / "server.pem"), str(tmp_path / "server-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=etcd-1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    # A server that asks for a client certificate of the CA admin.pem (self-signed) is.
    gateway = Gateway(tls=(cert, key), client_ca=str(pki / "admin.pem"))
    try:
        gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER, "version": "3.6.14"})
        client = ec.EtcdClient(gateway.client.endpoint, ca_cert=cert, timeout=2, **pem_texts(pki))
        assert client.status()["version"] == "3.6.14"
        assert gateway.peers == [((("commonName", "admin"),),)]
        # Without the pair, the same server refuses the handshake: the pair above was what it took.
        with pytest.raises(ec.EtcdUnreachable):
            gateway.client.status()
    finally:
        gateway.close()
    assert seen == {made[0]: {".": 0o700, "client_cert.pem": 0o600, "client_key.pem": 0o600}}
    assert not os.path.exists(made[0])


@pytest.mark.parametrize("texts, says, option", [
    (dict(cert="garbage.pem"), "client_cert_content holds no PEM certificate (", "client_cert_content"),
    (dict(key="garbage.pem"), "client_key_content holds no PEM private key (", "client_key_content"),
    (dict(key="other-key.pem"), "client_key_content is not the key of client_cert_content", "client_key_content"),
    (dict(key="encrypted-key.pem"), "client_key_content is an encrypted private key", "client_key_content"),
], ids=["bad-cert", "bad-key", "other-key", "encrypted-key"])
def test_a_bad_pair_given_as_text_is_named_by_its_option_and_leaves_nothing(pki, pem_dirs, texts, says, option):
    made, _seen = pem_dirs
    error = config_error(**pem_texts(pki, **texts))
    assert str(error).startswith(says) and (error.option, error.path) == (option, None)
    assert made[0] not in str(error) and not os.path.exists(made[0])


@pytest.mark.parametrize("option", ["client_cert", "client_key"])
def test_a_file_and_a_text_for_one_option_are_refused_before_anything_is_written(pki, pem_dirs, option):
    made, _seen = pem_dirs
    files = dict(client_cert=str(pki / "admin.pem"), client_key=str(pki / "admin-key.pem"))
    error = config_error(**dict(pem_texts(pki), **{option: files[option]}))
    assert str(error) == ("%s and %s_content are mutually exclusive: give the PEM file or its text, not both"
                          % (option, option))
    assert error.option == option + "_content" and made == []


def test_the_content_options_are_never_logged():
    spec = ec.connection_argument_spec()
    assert [spec[name].get("no_log") for name in ("client_cert_content", "client_key_content")] == [True, True]


PLUGINS = os.path.join(os.path.dirname(ec.__file__), "..", "..")
# An option whose name says it holds a password or a secret, and whose value is a string the caller
# gives (not a switch, not one of a few choices): ansible-test only asks that no_log be set, and
# no_log=False passes it.
SECRET_OPTION = re.compile(r"\b(\w*(?:password|secret)\w*)=dict\(([^)]*)\)")


def test_every_password_or_secret_option_of_a_module_or_action_is_never_logged():
    found = {}
    for kind in ("modules", "module_utils", "action"):
        for path in sorted(glob.glob(os.path.join(PLUGINS, kind, "**", "*.py"), recursive=True)):
            with open(path, encoding="utf-8") as source:
                for match in SECRET_OPTION.finditer(source.read()):
                    name, spec = match.groups()
                    if 'type="str"' in spec and "choices=" not in spec:
                        found["%s/%s: %s" % (kind, os.path.relpath(path, os.path.join(PLUGINS, kind)), name)] = "no_log=True" in spec
    assert "module_utils/client/client.py: auth_password" in found, sorted(found)  # the test sees what it checks
    assert [option for option, hidden in found.items() if not hidden] == []


def test_clients_from_params_raises_the_config_error(tmp_path):
    params = dict(endpoints=["https://127.0.0.1:2379"], ca_cert=str(tmp_path / "ca.pem"), client_cert=None,
                  client_key=None, timeout=1)
    with pytest.raises(ec.EtcdError, match=r"ca_cert .*ca\.pem does not exist"):
        ec.clients_from_params(params)


class Module:
    """What module_clients uses of an AnsibleModule: its params and fail_json, which ends the run."""

    def __init__(self, **params):
        self.params = dict(dict(ca_cert=None, client_cert=None, client_key=None, timeout=1), **params)

    def fail_json(self, msg):
        raise SystemExit(msg)


def test_module_clients_fails_the_module_before_anything_is_sent(tmp_path):
    with pytest.raises(SystemExit, match=r"^endpoints must name at least one etcd client URL$"):
        ec.module_clients(Module(endpoints=[]))
    with pytest.raises(SystemExit, match=r"^cannot set up the etcd client: ca_cert .*ca\.pem does not exist$"):
        ec.module_clients(Module(endpoints=["https://127.0.0.1:2379"], ca_cert=str(tmp_path / "ca.pem")))
    clients, make_client = ec.module_clients(Module(endpoints=["http://127.0.0.1:2379"], timeout=3.0))
    assert [(c.endpoint, c.timeout) for c in clients] == [("http://127.0.0.1:2379", 3.0)]
    assert make_client("http://10.0.0.1:2379").timeout == 3.0


def test_client_factory_makes_every_client_with_the_module_options(pki):
    params = dict(endpoints=["https://127.0.0.1:2379/", "HTTP://Etcd-A:2379"], ca_cert=str(pki / "admin.pem"),
                  client_cert=str(pki / "admin.pem"), client_key=str(pki / "admin-key.pem"), timeout=7.0)
    clients = ec.clients_from_params(params)
    assert [(c.endpoint, c.timeout) for c in clients] == [("https://127.0.0.1:2379", 7.0), ("http://etcd-a:2379", 7.0)]
    probe_client = ec.client_factory(params, timeout=2.0)("http://10.0.0.1:2379")
    assert (probe_client.endpoint, probe_client.timeout) == ("http://10.0.0.1:2379", 2.0)
    assert ec.client_factory(dict(params, timeout=None))("http://h:2379").timeout == ec.DEFAULT_TIMEOUT


# -- the member's certificate ----------------------------------------------------------------


def test_the_server_certificate_expiry_is_read_in_the_verified_handshake(tmp_path):
    cert, key = str(tmp_path / "server.pem"), str(tmp_path / "server-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "12", "-subj", "/CN=etcd-1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    gateway = Gateway(tls=(cert, key))
    try:
        gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER, "version": "3.6.14"})
        assert gateway.client.server_cert_not_after is None
        assert gateway.client.status()["version"] == "3.6.14"
        days = (gateway.client.server_cert_not_after - time.time()) / 86400
        assert 11.9 < days <= 12
    finally:
        gateway.close()


def test_plain_http_has_no_server_certificate(gateway):
    gateway.routes["/v3/maintenance/status"] = (200, {"header": HEADER})
    gateway.client.status()
    assert gateway.client.server_cert_not_after is None


def test_a_unix_socket_endpoint_talks_http_over_the_socket(tmp_path):
    """unix:///path: the restore drill's private etcd, which listens on no TCP port."""
    import http.server
    import json
    import socketserver
    import threading

    asked = []

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            # Read the request before answering: a reply to a request still being sent is a broken pipe.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            asked.append((self.path, self.headers["Host"]))
            body = json.dumps({"header": {"cluster_id": "1", "member_id": "2", "revision": "7"}, "version": "3.5.30",
                               "leader": "2", "dbSize": "20480"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

        def address_string(self):
            return "unix"

    path = str(tmp_path / "drill-client:0")
    server = socketserver.UnixStreamServer(path, Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ec.EtcdClient("unix://" + path)
        status = client.status()
        assert status["revision"] == 7 and status["endpoint"] == "unix://" + path
        assert asked == [("/v3/maintenance/status", "localhost")]
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ec.EtcdUnreachable) as caught:
        ec.EtcdClient("unix://" + str(tmp_path / "none"), timeout=1).status()
    assert caught.value.endpoint == "unix://" + str(tmp_path / "none")


class Electing:
    """An endpoint that refuses with ``refusals`` (etcd's errors during an election), then answers."""

    endpoint = "https://10.0.0.1:2379"

    def __init__(self, refusals, answer="answer"):
        self.refusals, self.answer, self.calls = list(refusals), answer, 0

    def ask(self, _client=None):
        self.calls += 1
        if self.refusals:
            raise self.refusals.pop(0)
        return self.answer

    def member_list(self):
        return self.ask()


LEADER_CHANGED = ec.EtcdError("etcdserver: leader changed", endpoint=Electing.endpoint)
NO_LEADER = ec.EtcdError("etcdserver: no leader", endpoint=Electing.endpoint)


def test_a_question_refused_while_a_leader_is_elected_is_asked_again_until_answered():
    endpoint, pauses = Electing([LEADER_CHANGED, NO_LEADER]), []
    assert ec.settled_answer([endpoint], endpoint.ask, sleep=pauses.append) == "answer"
    assert endpoint.calls == 3 and pauses == [ec.SETTLE_PAUSE] * 2


def test_a_refusal_that_outlasts_the_election_stands():
    endpoint, pauses = Electing([LEADER_CHANGED] * ec.SETTLE_TRIES), []
    with pytest.raises(ec.EtcdError, match="leader changed"):
        ec.settled_answer([endpoint], endpoint.ask, sleep=pauses.append)
    assert endpoint.calls == ec.SETTLE_TRIES and len(pauses) == ec.SETTLE_TRIES - 1


@pytest.mark.parametrize("refusal, idempotent", [
    (LEADER_CHANGED, False),  # a write is never sent twice
    (ec.EtcdError("etcdserver: permission denied", endpoint="e"), True),
    (ec.EtcdUnreachable("timed out", endpoint="e", sent=True), True),
])
def test_a_write_another_error_or_no_answer_is_not_asked_again(refusal, idempotent):
    endpoint, pauses = Electing([refusal]), []
    with pytest.raises(ec.EtcdError):
        ec.settled_answer([endpoint], endpoint.ask, idempotent=idempotent, sleep=pauses.append)
    assert endpoint.calls == 1 and pauses == []


def test_during_election_names_only_etcd_s_election_refusals():
    assert ec.during_election(LEADER_CHANGED) and ec.during_election(NO_LEADER)
    assert not ec.during_election(ec.EtcdError("etcdserver: unhealthy cluster", endpoint="e"))
    assert not ec.during_election(ValueError("no leader"))


def test_the_member_list_is_asked_again_while_a_leader_is_elected(monkeypatch):
    # From 3.5 on, MemberList is a linearizable read: refused during an election.
    pauses = []
    monkeypatch.setattr(ec.time, "sleep", pauses.append)
    endpoint = Electing([NO_LEADER], answer=[dict(name="m0")])
    assert ec.member_list_from([endpoint]) == (Electing.endpoint, [dict(name="m0")])
    assert endpoint.calls == 2 and pauses == [ec.SETTLE_PAUSE]
