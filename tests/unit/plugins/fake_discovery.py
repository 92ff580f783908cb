"""A local HTTP server answering as a discovery cluster does: the v2 keys API (etcd 3.4, or 3.5 with
--enable-v2) and the v3 gateway's kv range/txn/deleterange, over one flat store of keys.

``keys`` maps a key (``/_etcd/registry/t/_config/size``) to its value; ``v2=False`` answers 404
without etcd's body on /v2, as a 3.5 member without --enable-v2 does. ``requests`` records (method, path).
"""

import base64
import json
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def _v2_node(keys, path):
    if path in keys:
        return {"key": path, "value": keys[path]}
    children = sorted({path + "/" + k[len(path) + 1:].split("/", 1)[0] for k in keys if k.startswith(path + "/")})
    if not children:
        return None
    return {"key": path, "dir": True, "nodes": [_v2_node(keys, child) for child in children]}


class DiscoveryServer:
    def __init__(self, v2=True):
        self.keys = {}
        self.requests = []
        self.v2 = v2
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _v2(self, method):
                server.requests.append((method, self.path))
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if not server.v2:
                    return self._reply(404, {"message": "404 page not found"})
                path = parts.path[len("/v2/keys"):]
                node = _v2_node(server.keys, path)
                if method == "GET":
                    if node is None:
                        return self._reply(404, {"errorCode": 100, "message": "Key not found", "cause": path})
                    return self._reply(200, {"action": "get", "node": node})
                if method == "PUT":
                    form = parse_qs(self._body().decode())
                    if query.get("prevExist") == ["false"] and node is not None:
                        return self._reply(412, {"errorCode": 105, "message": "Key already exists", "cause": path})
                    server.keys[path] = form["value"][0]
                    return self._reply(201, {"action": "create", "node": {"key": path, "value": form["value"][0]}})
                if method == "DELETE":
                    if node is None:
                        return self._reply(404, {"errorCode": 100, "message": "Key not found", "cause": path})
                    for key in [k for k in server.keys if k == path or k.startswith(path + "/")]:
                        del server.keys[key]
                    return self._reply(200, {"action": "delete", "node": {"key": path, "dir": True}})
                return self._reply(405, {})

            def do_GET(self):
                self._v2("GET")

            def do_PUT(self):
                self._v2("PUT")

            def do_DELETE(self):
                self._v2("DELETE")

            def do_POST(self):
                body = json.loads(self._body() or b"{}")
                server.requests.append(("POST", self.path))
                if self.path == "/v3/kv/range":
                    return self._reply(200, {"kvs": [{"key": base64.b64encode(k.encode()).decode(),
                                                      "value": base64.b64encode(v.encode()).decode()}
                                                     for k, v in server.in_range(body)], "count": "0"})
                if self.path == "/v3/kv/txn":
                    (compare,) = body["compare"]
                    key = base64.b64decode(compare["key"]).decode()
                    if key in server.keys:
                        return self._reply(200, {"header": {}})
                    for op in body.get("success", []):
                        put = op["request_put"]
                        server.keys[base64.b64decode(put["key"]).decode()] = base64.b64decode(put["value"]).decode()
                    return self._reply(200, {"header": {}, "succeeded": True})
                if self.path == "/v3/kv/deleterange":
                    gone = [k for k, _v in server.in_range(body)]
                    for key in gone:
                        del server.keys[key]
                    return self._reply(200, {"deleted": str(len(gone))} if gone else {})
                return self._reply(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]

    def in_range(self, body):
        start = base64.b64decode(body["key"]).decode()
        end = base64.b64decode(body["range_end"]).decode() if body.get("range_end") else None
        return sorted((k, v) for k, v in self.keys.items() if (k == start if end is None else start <= k < end))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
