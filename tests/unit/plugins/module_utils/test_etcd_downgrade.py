"""etcd's downgrade API (3.6 -> 3.5, 3.7 -> 3.6) against a fake of three members' gateways that
answers as etcd's server does (v3_server.go Downgrade, version/downgrade.go: the target must be
exactly one minor version below the cluster version; enable drops the cluster version at once and
the storage versions follow; the downgrade ends once every member runs the target)."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import downgrade as ed
from ansible_collections.raftops.etcd.plugins.modules import etcd_downgrade as module
from ansible_collections.raftops.etcd.tests.unit.plugins.fake_gateway import HEADER, Gateway
from ansible_collections.raftops.etcd.tests.unit.plugins.module_utils.test_etcd_run_lock import Clock


def _minor(version):
    return tuple(int(p) for p in version.split(".")[:2])


class Cluster:
    """Three members; ``storage_lag`` is how many status reads each member's storage version takes
    to follow an enabled downgrade."""

    def __init__(self, version, storage_lag=2):
        self.gateways = [Gateway(), Gateway(), Gateway()]
        self.versions = [version] * 3
        self.cluster = "%d.%d.0" % _minor(version)
        self.storage = [self.cluster] * 3
        self.target = ""
        self.lag = [storage_lag] * 3
        self.asked = []
        for index, gw in enumerate(self.gateways):
            gw.routes["/v3/maintenance/status"] = lambda body, i=index: (200, self.status(i))
            gw.routes["/v3/maintenance/downgrade"] = self.downgrade
            gw.routes["/version"] = lambda body: (200, {"etcdserver": self.versions[0], "etcdcluster": self.cluster})

    @property
    def clients(self):
        return [gw.client for gw in self.gateways]

    def close(self):
        for gw in self.gateways:
            gw.close()

    def status(self, i):
        if self.target and _minor(self.storage[i]) > _minor(self.target):
            self.lag[i] -= 1
            if self.lag[i] <= 0:
                self.storage[i] = self.target
        reply = {"header": HEADER, "version": self.versions[i], "leader": "1"}
        if _minor(self.versions[i]) >= (3, 6):
            reply["storageVersion"] = self.storage[i]
            if self.target:
                reply["downgradeInfo"] = {"enabled": True, "targetVersion": self.target}
        return reply

    def downgrade(self, body):
        action = body.get("action", "VALIDATE")
        self.asked.append((action, body.get("version")))
        if action == "CANCEL":
            self.target = ""
            return 200, {"header": HEADER, "version": self.cluster[:3]}
        wanted = _minor(body["version"])
        current = _minor(self.cluster)
        if wanted != (current[0], current[1] - 1):
            return 400, {"code": 3, "message": "etcdserver: invalid downgrade target version"}
        if self.target:
            return 400, {"code": 9, "message": "etcdserver: cluster has a downgrade job in progress"}
        if action == "ENABLE":
            self.target = "%d.%d.0" % wanted
            self.cluster = self.target
        return 200, {"header": HEADER, "version": "%d.%d" % current}

    def roll(self, version):
        """The binaries swapped one by one; etcd ends the downgrade once every member runs the target."""
        self.versions = [version] * 3
        if self.target and all(_minor(v) == _minor(self.target) for v in self.versions):
            self.target = ""


@pytest.fixture
def cluster():
    made = []

    def make(version, **kwargs):
        made.append(Cluster(version, **kwargs))
        return made[-1]

    yield make
    for c in made:
        c.close()


def waits():
    clock = Clock()
    return dict(clock=clock, sleep=clock.sleep)


@pytest.mark.parametrize("running, target, lower", [("3.6.16", "3.5.30", "3.5.30"), ("3.7.3", "3.6.16", "3.6.16")])
def test_the_whole_sequence_one_minor_down(cluster, running, target, lower):
    c = cluster(running)
    assert ed.validate(c.clients, target)["msg"] == (
        "etcd accepts a downgrade from cluster version %s to %s" % (running[:3], target[:3]))
    assert c.asked == [("VALIDATE", target[:3])]
    enabled = ed.enable(c.clients, target, **waits())
    assert enabled["changed"] is True
    assert c.asked[1:] == [("VALIDATE", target[:3]), ("ENABLE", target[:3])]
    assert set(enabled["state"]["storage_versions"].values()) == {target[:3] + ".0"}
    assert enabled["msg"] == "downgrade to %s enabled; every member's storage version is down to it" % target[:3]
    c.roll(lower)
    settled = ed.settle(c.clients, target, **waits())
    assert settled["cluster_version"] == target[:3] + ".0"
    assert settled["state"]["enabled_target"] == ""


def test_a_stopped_run_goes_on_without_enabling_again(cluster):
    c = cluster("3.6.16")
    ed.enable(c.clients, "3.5", **waits())
    c.asked.clear()
    again = ed.enable(c.clients, "3.5.30", **waits())
    assert (again["changed"], c.asked) == (False, [])
    assert again["msg"] == "downgrade to 3.5 was enabled already; every member's storage version is down to it"


def test_two_minors_down_is_refused_by_etcd_and_nothing_changes(cluster):
    c = cluster("3.7.3")
    with pytest.raises(ed.DowngradeError) as refused:
        ed.enable(c.clients, "3.5.30", **waits())
    assert str(refused.value) == ("etcd refused downgrade validate 3.5: etcdserver: invalid downgrade target version; "
                                  "nothing was changed by this step")
    assert c.asked == [("VALIDATE", "3.5")]
    assert (c.target, c.cluster, c.storage) == ("", "3.7.0", ["3.7.0"] * 3)


def test_a_downgrade_to_another_target_must_be_cancelled_first(cluster):
    c = cluster("3.7.3")
    c.target = "3.6.0"
    with pytest.raises(ed.DowngradeError, match=r"a downgrade to 3.6 is enabled, not to 3.5: cancel it first"):
        ed.validate(c.clients, "3.5")


def test_storage_that_does_not_drop_in_time_fails_naming_each_member(cluster):
    c = cluster("3.6.16", storage_lag=10 ** 6)
    with pytest.raises(ed.DowngradeError) as late:
        ed.enable(c.clients, "3.5", wait_timeout=3, **waits())
    assert "the storage versions' drop to 3.5 did not happen within 3 s" in str(late.value)
    assert "downgrade enabled to 3.5.0" in str(late.value)


def test_cancel_when_asked_and_only_then(cluster):
    c = cluster("3.6.16", storage_lag=10 ** 6)
    assert ed.cancel(c.clients)["msg"] == "no downgrade is enabled"
    assert c.asked == []
    c.target = "3.5.0"
    assert ed.cancel(c.clients, check_mode=True)["msg"] == "the downgrade to 3.5 would be cancelled"
    assert c.target == "3.5.0"
    done = ed.cancel(c.clients)
    assert (done["changed"], done["msg"], done["state"]["enabled_target"]) == (True, "the downgrade to 3.5 was cancelled", "")
    assert c.asked == [("CANCEL", "3.5")]


def test_check_mode_validates_and_enables_nothing(cluster):
    c = cluster("3.6.16")
    result = ed.enable(c.clients, "3.5", check_mode=True, **waits())
    assert (result["changed"], result["msg"], c.target) == (True, "a downgrade to 3.5 would be enabled", "")
    assert c.asked == [("VALIDATE", "3.5")]


def test_a_member_that_does_not_answer_stops_the_step(cluster):
    c = cluster("3.6.16")
    c.gateways[2].close()
    with pytest.raises(ed.DowngradeError, match=r"did not answer its status: .*every member must answer"):
        ed.validate(c.clients, "3.5")
    assert c.asked == []


def test_settle_waits_for_the_last_member(cluster):
    c = cluster("3.6.16")
    ed.enable(c.clients, "3.5", **waits())
    c.versions = ["3.5.30", "3.5.30", "3.6.16"]
    with pytest.raises(ed.DowngradeError, match=r"the cluster version's settling at 3\.5 did not happen within 2 s"):
        ed.settle(c.clients, "3.5", wait_timeout=2, **waits())


def test_the_module_reports_each_members_versions(cluster):
    c = cluster("3.7.3")
    params = dict(state="enabled", target="3.6.16", wait_timeout=30)
    result = module.run(params, c.clients, **waits())
    assert result["changed"] is True
    assert sorted(result["versions"].values()) == ["3.7.3"] * 3
    assert sorted(result["storage_versions"].values()) == ["3.6.0"] * 3
    assert result["enabled_target"] == "3.6.0"


@pytest.mark.parametrize("target", ["", "three", "v"])
def test_a_bad_target_is_refused_before_any_call(cluster, target):
    c = cluster("3.6.16")
    with pytest.raises(ed.DowngradeError, match=r"is not a release like 3\.5 or 3\.5\.30"):
        ed.validate(c.clients, target)
    assert c.asked == []
