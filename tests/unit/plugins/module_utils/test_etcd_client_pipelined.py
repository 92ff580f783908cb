"""EtcdClient.pipelined: requests sent ahead of their replies on one unix socket connection (the replay
of a point-in-time restore into the private etcd), answered in order, with the login's token; an error
reply raised as etcd's error; other endpoints refused."""

import http.server
import json
import socket
import socketserver
import threading

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec


class PrivateEtcd(http.server.BaseHTTPRequestHandler):
    """One keep-alive connection's transactions, each one revision, as etcd's gateway answers them; the
    first is answered only once the next request has arrived (a client that waits for each reply fails)."""

    protocol_version = "HTTP/1.1"
    seen, refuse_at = [], None

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v3/auth/authenticate":
            return self.answer(200, {"token": "tok.%s" % body["name"]})
        if not self.seen:
            self.connection.settimeout(5)
            self.rfile.peek(1)  # the next request, sent before this reply
        self.seen.append((self.path, self.headers.get("Authorization"), body))
        if len(self.seen) == self.refuse_at:
            return self.answer(400, {"error": "etcdserver: requested lease not found", "code": 5,
                                     "message": "etcdserver: requested lease not found"})
        return self.answer(200, {"header": {"revision": str(7 + len(self.seen))}})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args):
        pass

    def address_string(self):
        return "unix"


@pytest.fixture
def private(tmp_path):
    PrivateEtcd.seen, PrivateEtcd.refuse_at = [], None
    path = str(tmp_path / "drill-client:0")
    server = socketserver.ThreadingUnixStreamServer(path, PrivateEtcd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "unix://" + path
    server.shutdown()
    server.server_close()


def txns(count):
    return [{"success": [{"request_put": {"key": "L2E=", "value": str(n)}}]} for n in range(count)]


def test_the_replies_come_in_the_order_sent_from_requests_sent_ahead_of_them(private):
    replies = list(ec.EtcdClient(private).pipelined("/v3/kv/txn", txns(100)))
    assert [int(r["header"]["revision"]) for r in replies] == list(range(8, 108))
    assert PrivateEtcd.seen == [("/v3/kv/txn", None, body) for body in txns(100)]


def test_with_auth_each_request_carries_the_login_s_token(private):
    client = ec.EtcdClient(private, auth_user="root", auth_password="secret")
    assert len(list(client.pipelined("/v3/kv/txn", txns(3)))) == 3
    assert [token for _path, token, _body in PrivateEtcd.seen] == ["tok.root"] * 3


def test_an_error_reply_is_etcd_s_error_and_ends_the_replies(private):
    PrivateEtcd.refuse_at = 2
    replies = ec.EtcdClient(private).pipelined("/v3/kv/txn", txns(5))
    assert int(next(replies)["header"]["revision"]) == 8
    with pytest.raises(ec.EtcdError) as caught:
        next(replies)
    assert caught.value.message == "etcdserver: requested lease not found"
    assert caught.value.status == 400 and caught.value.grpc_code == 5


def test_a_large_request_waits_for_the_replies_before_it(private, monkeypatch):
    """What etcd must answer while the client still sends stays within PIPELINE_BYTES (no deadlock)."""
    monkeypatch.setattr(ec, "PIPELINE_BYTES", 200)
    sent = []
    real_sendall = socket.socket.sendall

    def sendall(sock, data):
        if data.startswith(b"POST "):  # the client's, not the fake's replies
            sent.append(len(PrivateEtcd.seen))
        return real_sendall(sock, data)

    monkeypatch.setattr(socket.socket, "sendall", sendall)
    large = {"success": [{"request_put": {"key": "L2E=", "value": "x" * 300}}]}
    bodies = [*txns(2), large, *txns(1)]
    assert len(list(ec.EtcdClient(private).pipelined("/v3/kv/txn", bodies))) == 4
    assert sent[2] == 2  # sent once both requests before it were answered


def test_only_a_unix_socket_endpoint_takes_pipelined_requests():
    with pytest.raises(ec.EtcdConfigError, match="pipelined requests go to a unix:// endpoint"):
        next(ec.EtcdClient("https://10.0.0.1:2379").pipelined("/v3/kv/txn", txns(1)))
