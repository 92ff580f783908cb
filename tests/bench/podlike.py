"""Pod-like JSON objects, the values of the data bench's keyspace (tests/bench/data.sh) and of the
codec measurement (tests/bench/codecs.py).

An object of about ``size`` bytes shaped as a Kubernetes pod: metadata with labels, annotations
and a managedFields history, containers with env and mounts, a status with conditions. What
varies between objects and revisions is what varies in a real cluster (uids, resource versions,
hashes, timestamps, addresses, tokens), so that it compresses the way a real etcd does, not the
way a repeated string does. Standard library only.
"""

import json
import random


def _hex(rng, count):
    return "%0*x" % (count, rng.getrandbits(4 * count))


def pod(index, revision=1, size=1024 * 1024, seed=0):
    """The JSON bytes of pod ``index`` at ``revision``, about ``size`` bytes."""
    rng = random.Random("%d-%d-%d" % (seed, index, revision))
    name = "app-%d-%s-%s" % (index % 97, _hex(rng, 10), _hex(rng, 5))
    stamp = "2026-%02d-%02dT%02d:%02d:%02dZ" % (
        rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    obj = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "team-%d" % (index % 13), "uid": "%s-%s-%s-%s-%s" % (
                _hex(rng, 8), _hex(rng, 4), _hex(rng, 4), _hex(rng, 4), _hex(rng, 12)),
            "resourceVersion": str(1000000 + revision * 7919 + index), "creationTimestamp": stamp,
            "labels": {"app": "app-%d" % (index % 97), "pod-template-hash": _hex(rng, 10),
                       "tier": rng.choice(["web", "api", "worker", "batch"])},
            "annotations": {"checksum/config": _hex(rng, 64), "prometheus.io/scrape": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name[:-6],
                                 "uid": _hex(rng, 32), "controller": True}],
            "managedFields": [],
        },
        "spec": {"containers": [], "nodeName": "node-%d" % rng.randint(1, 500), "restartPolicy": "Always",
                 "serviceAccountName": "default", "volumes": []},
        "status": {"phase": "Running",
                   "podIP": "10.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)),
                   "conditions": [{"type": kind, "status": "True", "lastTransitionTime": stamp}
                                  for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                   "containerStatuses": []},
    }
    length = len(json.dumps(obj))
    container = 0
    while length < size:
        container += 1
        parts = ({
            "name": "c%d" % container, "image": "registry.example/team/app:%s" % _hex(rng, 12),
            "env": [{"name": "SETTING_%d" % n, "value": rng.choice(["true", "false", str(rng.randint(0, 99999)),
                                                                    _hex(rng, 16), "https://svc-%d.team.svc:8443" % n])}
                    for n in range(60)],
            "resources": {"limits": {"cpu": "%dm" % rng.randint(100, 4000), "memory": "%dMi" % rng.randint(64, 8192)}},
            "volumeMounts": [{"name": "vol-%d" % n, "mountPath": "/data/%d" % n, "readOnly": n % 2 == 0}
                             for n in range(8)],
        }, {
            "name": "c%d" % container, "ready": True, "restartCount": rng.randint(0, 5),
            "containerID": "containerd://" + _hex(rng, 64), "imageID": "sha256:" + _hex(rng, 64),
            "state": {"running": {"startedAt": stamp}},
        }, {
            "manager": "kubelet", "operation": "Update", "time": stamp,
            "fieldsV1": {"f:status": {"f:containerStatuses": {"k:{\"name\":\"c%d\"}" % container: {".": {}}}}},
            "token": _hex(rng, 96),
        })
        for part, into in zip(parts, (obj["spec"]["containers"], obj["status"]["containerStatuses"],
                                      obj["metadata"]["managedFields"])):
            into.append(part)
            length += len(json.dumps(part)) + 2
    return json.dumps(obj).encode()
