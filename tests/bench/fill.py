"""Fill a cluster with pod-like objects for the data bench (tests/bench/data.sh):
``python3 fill.py URL PKI_DIR MIB``.

Writes MIB MiB of pod-like JSON values of about 1 MiB (podlike.py) through the v3 JSON gateway at
URL, with the admin client pair of PKI_DIR: a third of the keys are written once, the rest are
overwritten in rounds, so the keyspace holds many revisions as a Kubernetes one does. Prints the
keys, the writes and the last revision.
"""

import base64
import json
import os
import ssl
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from podlike import pod


def main(url, pki, mib):
    context = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    context.load_cert_chain(os.path.join(pki, "admin.pem"), os.path.join(pki, "admin-key.pem"))
    keys = max(1, mib // 3)
    revision = 0
    for write in range(mib):
        index, round_ = write % keys, write // keys + 1
        body = json.dumps({"key": base64.b64encode(b"/registry/pods/bench/pod-%05d" % index).decode(),
                           "value": base64.b64encode(pod(index, round_)).decode()}).encode()
        request = urllib.request.Request(url.rstrip("/") + "/v3/kv/put", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60, context=context) as answer:
            revision = int(json.load(answer)["header"]["revision"])
    print("keys %d, writes %d, revision %d" % (keys, mib, revision))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
