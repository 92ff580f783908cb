"""A local HTTP server answering as etcd's v3 JSON gateway does, for EtcdClient's tests.

``routes[path]`` is (status, JSON body) or ("stream", [lines]), or a list of them answered in turn,
or a function of the decoded body that returns one; a GET (``/readyz``, ``/health``) is answered
from ``routes[path]`` too, a text body as text/plain;
``requests`` records each (path,
decoded body), ``authorizations`` the Authorization header of each (None without one). ``client``
is an EtcdClient pointed at it; with ``tls=(cert, key)`` the server speaks https with that pair
and the client trusts ``cert``; with ``client_ca`` too it asks for a client certificate of that CA,
and ``peers`` holds the subject of each request's.
"""

import json
import ssl
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ansible_collections.raftops.etcd.plugins.module_utils.client import client as ec

HEADER = {"cluster_id": "14841639068965178418", "member_id": "10276657743932975437", "revision": "5",
          "raft_term": "2"}


class Gateway:
    """A local HTTP server; ``routes[path]`` is (status, JSON body) or ("stream", [lines])."""

    def __init__(self, tls=None, client_ca=None):
        self.routes = {}
        self.requests = []
        self.peers = []
        self.authorizations = []
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gateway.requests.append((self.path, json.loads(body)))
                gateway.authorizations.append(self.headers.get("Authorization"))
                if client_ca:
                    gateway.peers.append(self.connection.getpeercert()["subject"])
                route = gateway.routes[self.path]
                if callable(route):
                    route = route(json.loads(body))
                status, payload = route.pop(0) if isinstance(route, list) else route
                if status == "stream":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for line in payload:
                        data = (json.dumps(line) + "\n").encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    # a keepalive stream stays open: the client must not wait for its end
                    gateway.release.wait(10)
                    self.close_connection = True
                    return
                self._reply(status, payload)

            def do_GET(self):
                gateway.requests.append((self.path, None))
                if self.path not in gateway.routes:
                    self._reply(404, "404 page not found\n")
                    return
                route = gateway.routes[self.path]
                self._reply(*(route(None) if callable(route) else route))

            def _reply(self, status, payload):
                text = isinstance(payload, str)
                data = payload.encode() if text else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            if client_ca:
                context.load_verify_locations(client_ca)
                context.verify_mode = ssl.CERT_REQUIRED
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()
        self.client = ec.EtcdClient("%s://127.0.0.1:%d" % (scheme, self.server.server_address[1]), timeout=2,
                                    ca_cert=tls[0] if tls else None)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
