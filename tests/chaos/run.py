"""The campaign on the test hosts of the Molecule scenario `chaos`: one set of hosts (3 members
and a spare) for the whole campaign; each case is an operation run with a fault injected at one of
its tasks, the fault healed, the operation run again as the docs advise, a run of the etcd
playbook that must change nothing, and the invariants checked on what writers, a reader and a
sampler recorded throughout (invariants.py). Cases that change the cluster's shape bring it back
(a scale out is removed again, without a fault)."""

import json
import os
import re
import subprocess
import tarfile
import threading
import time
import urllib.request

import campaign
import invariants
from faults import DATA_FS, Fault, Faults, in_host
from etcdtest import (EPHEMERAL, PKI, ROOT, Gateway, LeaderWatch, Writer, ansible_env, b64, group_hosts,
                      interrupted_playbook, playbook, recap, rotating_tls, run_testbed, snapshots)

VARS = os.path.join(EPHEMERAL, "chaos-vars.json")
SCALED = os.path.join(EPHEMERAL, "chaos-scaled.json")
BASE = {"etcd_version": "3.5.30", "etcd_heartbeat_interval": 100}
# What upgrade_34 deploys first.
OLD_MINOR = "3.4.23"
FATAL = re.compile(r"^(?:fatal|failed):.*|^ERROR!.*", re.M)
# The outputs of a failed case's runs are kept here, for its report, with each seed's journal.
KEPT = os.path.join(ROOT, ".cache", "chaos")
# etcdctl for the writer through the gRPC proxy (this controller has no gRPC library): from the test
# bed's mirror of etcd's releases, kept here.
MIRROR = "http://10.250.0.1:8080/v{0}/etcd-v{0}-linux-amd64.tar.gz"
ETCDCTL = os.path.join(KEPT, "etcdctl-" + BASE["etcd_version"])


def inventory():
    """({inventory host: address}, {inventory host: member name}) of the scenario's hosts (the README's
    inventory style: hosts by address, each with its NODE_NAME)."""
    out = subprocess.run(["ansible-inventory", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--list"],
                         env=ansible_env(), stdout=subprocess.PIPE, text=True, check=True).stdout
    hostvars = json.loads(out)["_meta"]["hostvars"]
    return ({h: v["ansible_host"] for h, v in hostvars.items()}, {h: v.get("NODE_NAME", h) for h, v in hostvars.items()})


def why(output):
    """The failure lines of a run, short."""
    return " | ".join(line[:400] for line in FATAL.findall(output)[-3:]) or output[-400:]


class Reader(threading.Thread):
    """Linearizable reads through every member in turn, twice a second: (time, URL, revision, cluster ID)."""

    def __init__(self, urls):
        super().__init__(daemon=True)
        self.urls = urls
        self.reads, self._stop_event = [], threading.Event()

    def run(self):
        n = 0
        while not self._stop_event.is_set():
            gw = tls_gateway(self.urls[n % len(self.urls)], timeout=2)
            try:
                answer = gw.call("/v3/kv/range", {"key": b64("/chaos/"), "count_only": True})
                header = answer["header"]
                self.reads.append((time.time(), gw.url, int(header["revision"]), header.get("cluster_id")))
            except (OSError, ValueError, KeyError):
                pass
            n += 1
            self._stop_event.wait(0.5)

    def stop(self):
        self._stop_event.set()
        self.join(10)


class ProxyWriter(threading.Thread):
    """Writes through the gRPC proxy (etcdctl, a new connection for each write, with the CA and admin
    pair as the PKI directory holds them now), 5 a second; ``acked`` as Writer's."""

    def __init__(self, url, prefix):
        super().__init__(daemon=True)
        self.url, self.prefix = url, prefix
        self.acked, self._stop_event = {}, threading.Event()

    def run(self):
        n = 0
        while not self._stop_event.is_set():
            key, value = "%s%06d" % (self.prefix, n), "v%d-%f" % (n, time.time())
            ca = rotating_tls()["ca"] or os.path.join(PKI, "ca.pem")
            done = subprocess.run([ETCDCTL, "--endpoints=" + self.url, "--cacert=" + ca,
                                   "--cert=" + os.path.join(PKI, "admin.pem"), "--key=" + os.path.join(PKI, "admin-key.pem"),
                                   "--dial-timeout=1s", "--command-timeout=3s", "put", key, value],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
            if done.returncode == 0 and done.stdout.strip() == "OK":
                self.acked[key] = value
            n += 1
            self._stop_event.wait(0.2)

    def stop(self):
        self._stop_event.set()
        self.join(30)


def fetch_etcdctl():
    if not os.path.exists(ETCDCTL):
        os.makedirs(KEPT, exist_ok=True)
        with urllib.request.urlopen(MIRROR.format(BASE["etcd_version"]), timeout=60) as got, \
                tarfile.open(fileobj=got, mode="r|gz") as tar:
            for member in tar:
                if member.name.endswith("/etcdctl"):
                    with open(ETCDCTL + ".part", "wb") as out:
                        out.write(tar.extractfile(member).read())
        os.chmod(ETCDCTL + ".part", 0o755)
        os.rename(ETCDCTL + ".part", ETCDCTL)


def tls_gateway(url, timeout):
    """A gateway with the CA and admin pair as the PKI directory holds them now: a CA rotation
    changes both (etcdtest.rotating_tls); the writers and the sampler read them for every call too."""
    return Gateway(url, timeout=timeout, **rotating_tls())


class Campaign:
    def __init__(self):
        self.ip, self.node = inventory()
        self.members = sorted(group_hosts("etcd"))
        self.spare = group_hosts("etcd_spare")[0]
        # The gRPC proxy runs on the spare host, on its own address (molecule.yml): docs/proxy.md lets a
        # proxy share a host with a member on another port.
        self.proxy = group_hosts("etcd_proxy")[0]
        self.proxy_url = "https://%s:23790" % self.ip[self.proxy]
        fetch_etcdctl()
        self.url = {h: "https://%s:2379" % self.ip[h] for h in self.ip}
        self.state = dict(BASE, etcd_proxy_retry_delay=campaign.RETRY_DELAYS[0])
        self.save_state()
        with open(SCALED, "w") as out:
            json.dump({"etcd": {"hosts": {self.spare: None}}}, out)

    def save_state(self):
        with open(VARS, "w") as out:
            json.dump(self.state, out)

    def play(self, name, *args):
        return playbook(name, "-e", "@" + VARS, *args)

    def gateway(self, hosts=None):
        """A gateway of the first member of ``hosts`` that answers."""
        for h in hosts or self.members:
            gw = tls_gateway(self.url[h], timeout=5)
            try:
                gw.status()
                return gw
            except OSError:
                continue
        raise AssertionError("no member answers")

    def healthy(self, names):
        """Every member of ``names`` answers, is a voter of one cluster, and all name one leader."""
        try:
            statuses = {h: tls_gateway(self.url[h], timeout=3).status() for h in names}
            listed = {m.get("name"): m.get("isLearner", False) for m in self.gateway(names).members()}
        except (OSError, AssertionError, ValueError):
            return False
        clusters = {s["header"]["cluster_id"] for s in statuses.values()}
        leaders = {s.get("leader") for s in statuses.values()}
        return (sorted(listed) == sorted(self.node[h] for h in names) and not any(listed.values()) and len(clusters) == 1
                and len(leaders) == 1 and "0" not in leaders)

    def wait_healthy(self, names, seconds=120):
        deadline = time.monotonic() + seconds
        while not self.healthy(names):
            if time.monotonic() > deadline:
                return False
            time.sleep(1)
        return True

    def stored(self, prefix):
        return self.gateway().values(prefix)

    # Each operation: its faultless setup, then the run to inject the fault into: a plan with
    # run (playbook, args), rerun ("always", or "failed": only when the faulted run failed),
    # names (the members once it is done), converge (args of the etcd playbook run that must change
    # nothing), cleanup (a faultless run back to the base shape, or None), spared (hosts the
    # operation itself takes down) and any records the checks need.
    def op_roll(self, c):
        choices = [h for h in campaign.HEARTBEATS if h != self.state["etcd_heartbeat_interval"]]
        self.state["etcd_heartbeat_interval"] = c.heartbeat if c.heartbeat in choices else choices[0]
        self.save_state()
        return {"run": ("etcd", [])}

    def op_scale_out(self, c):
        remove = ("remove_member", ["-i", SCALED, "-e", "etcd_remove=" + self.spare])
        return {"run": ("etcd", ["-i", SCALED]), "names": [*self.members, self.spare], "converge": ["-i", SCALED],
                "cleanup": remove}

    def op_remove(self, c):
        rc, out = self.play("etcd", "-i", SCALED)
        assert rc == 0, "setup (scale out) failed: " + why(out)
        return {"run": ("remove_member", ["-i", SCALED, "-e", "etcd_remove=" + self.spare]), "spared": [self.spare]}

    def recreate(self, name):
        """A fresh empty host in place of ``name``, announced to the other hosts: a host that boots
        announces its address (gratuitous ARP), which the test bed's containers do not, so the
        others would send to the old machine until their neighbour entry expires (up to ~50 s)."""
        run_testbed("recreate", name, self.ip[name])
        for other in [*self.members, self.spare]:
            if other != name and running(other):
                subprocess.run(["podman", "exec", other, "ip", "neigh", "flush", "to", self.ip[name]], check=False,
                               timeout=60)

    def op_replace(self, c):
        self.recreate(c.target)
        return {"run": ("replace_member", ["-e", "etcd_replace=" + c.target]), "spared": [c.target]}

    def op_maintenance(self, c):
        return {"run": ("maintenance", [])}

    def op_upgrade(self, c):
        if self.state["etcd_version"] != c.upgrade_from:
            self.state["etcd_version"] = c.upgrade_from
            self.save_state()
            rc, out = self.play("etcd", "-e", "etcd_allow_downgrade=true")
            assert rc == 0, "setup (downgrade to %s) failed: %s" % (c.upgrade_from, why(out))
        self.state["etcd_version"] = BASE["etcd_version"]
        self.save_state()
        return {"run": ("upgrade", [])}

    def wipe(self):
        """Every member's host recreated empty, the cluster with it; returns when it was gone. Writes
        acknowledged before are lost by design, and the case's figures count from the operation on."""
        for h in self.members:
            self.recreate(h)
        return time.time()

    def op_first_deploy(self, c):
        wiped = self.wipe()
        return {"run": ("etcd", []), "unsure": (0, wiped), "observed_from": wiped}

    def op_upgrade_34(self, c):
        wiped = self.wipe()
        self.state["etcd_version"] = OLD_MINOR
        self.save_state()
        rc, out = self.play("etcd")
        assert rc == 0, "setup (first deploy of %s) failed: %s" % (OLD_MINOR, why(out))
        self.state["etcd_version"] = BASE["etcd_version"]
        self.save_state()
        return {"run": ("upgrade", []), "unsure": (0, wiped), "observed_from": time.time()}

    def op_rotate_ca(self, c):
        # An interrupted rotation goes on with the etcd playbook, with or without etcd_pki_rotate_ca
        # (docs/pki.md): the re-run does not start a second rotation after a finished one.
        return {"run": ("etcd", ["-e", "etcd_pki_rotate_ca=true"]), "rerun_args": []}

    def op_proxy(self, c):
        choices = [d for d in campaign.RETRY_DELAYS if d != self.state["etcd_proxy_retry_delay"]]
        self.state["etcd_proxy_retry_delay"] = choices[c.moment % len(choices)]
        self.save_state()
        return {"run": ("proxy", [])}

    def op_backup(self, c):
        return {"run": ("backup", [])}

    def op_restore(self, c):
        began = time.time()
        rc, out = self.play("backup")
        assert rc == 0, "setup (backup) failed: " + why(out)
        ended = time.time()
        time.sleep(3)  # writes the restored cluster must not have
        snapshot = os.path.join(EPHEMERAL, "etcd-backups", snapshots()[-1])
        return {"run": ("restore", ["-e", "etcd_restore_snapshot=" + snapshot]), "rerun": "failed",
                "snapshot": (began, ended)}

    def op_recover_quorum(self, c):
        lost = [h for h in self.members if h != c.target]
        lost_at = time.time()
        for h in lost:
            run_testbed("kill", h)
        for h in lost:
            self.recreate(h)
        # A write acknowledged by the lost members just before the loss may not have reached the
        # survivor: etcd keeps what the survivor committed.
        return {"run": ("recover_quorum", []), "rerun": "failed", "unsure": (lost_at - 1.0, lost_at)}

    def run_case(self, c):
        result = {"case": c, "acked": 0, "lost": 0, "leaderless": 0.0, "healthy_after": None, "failures": [],
                  "fired": False, "outputs": []}
        failures = result["failures"]
        prefix = "/chaos/c%04d/" % c.number
        urls = [self.url[h] for h in self.members]
        writers = [Writer(urls, prefix="%sw%d/" % (prefix, i), interval=0.1, max_seconds=3600, tls=rotating_tls)
                   for i in range(2)]
        writers[1].urls.reverse()
        writers.append(ProxyWriter(self.proxy_url, prefix + "proxy/"))
        reader = Reader(urls)
        watch = LeaderWatch({h: self.url[h] for h in [*self.members, self.spare]}, interval=0.5, timeout=1.0,
                            tls=rotating_tls)
        began = time.time()
        for observer in (*writers, reader, watch):
            observer.start()
        plan, fault = {}, None
        restore_began = restore_ended = None
        phases = result["phases"] = {}
        lap = [time.time()]

        def phase(name):
            now = time.time()
            phases[name] = round(phases.get(name, 0) + now - lap[0], 1)
            lap[0] = now

        try:
            plan = getattr(self, "op_" + c.operation)(c)
            phase("setup")
            names = plan.get("names", self.members)
            hit = campaign.hit(c, self.members, self.proxy)
            fault = Faults([Fault(kind, h, self.ip[h], [self.ip[p] for p in [*self.members, self.spare] if p != h])
                            for kind, h in hit.items()])
            healer = threading.Timer(c.duration, fault.heal)
            tasks = []

            def at_task(line):
                if line.startswith("TASK ["):
                    tasks.append(line)
                return len(tasks) == c.moment and line.startswith("TASK [")

            def inject():
                fault.inject()
                healer.start()

            name, args = plan["run"]
            op_began = time.time()
            rc, out = interrupted_playbook(name, ["-e", "@" + VARS, *args], at_task,
                                           fault=None if c.fault == "sigkill" else inject)
            healer.cancel()
            # Kept before the heal: a heal that fails still leaves the case's report the run's output.
            result["outputs"].append(out)
            result["fired"] = len(tasks) >= c.moment
            phase("run")
            # A fault still in place when the run ended (its duration outlasted the run): the operator
            # saw a host down or a member failing at the end, and runs the operation again.
            lingering = fault.injected and not fault.healed
            fault.heal()
            phase("heal")
            healed = time.time()
            restore_began, restore_ended = op_began, time.time()
            # The re-run an operator makes: after a failed run, or one that ended with the fault in
            # place (a restore or a quorum recovery only after a failed run); a run that succeeded
            # with its fault healed is not run again: the further run of the etcd playbook checks it.
            if rc != 0 or (lingering and plan.get("rerun", "always") == "always"):
                if "snapshot" in plan:
                    restore_began = time.time()
                rc, out = self.play(name, *plan.get("rerun_args", args))
                result["outputs"].append(out)
                restore_ended = time.time()
                if rc != 0:
                    failures.append("the re-run failed: " + why(out))
                phase("rerun")
            if not failures:
                if self.wait_healthy(names):
                    result["healthy_after"] = time.time() - healed
                else:
                    failures.append("not healthy 120 s after the re-run (members %s)" % ", ".join(names))
                phase("healthy")
                rc, out = self.play("etcd", *plan.get("converge", []))
                result["outputs"].append(out)
                moved = invariants.not_converged(recap(out))
                if rc != 0 or moved:
                    failures.append("a further run of the etcd playbook changed or failed on %s: %s"
                                    % (", ".join(moved) or "-", why(out) if rc else "changed"))
                phase("converge")
            if plan.get("cleanup"):
                rc, out = self.play(plan["cleanup"][0], *plan["cleanup"][1])
                if rc != 0:
                    failures.append("cleanup %s failed: %s" % (plan["cleanup"][0], why(out)))
                phase("cleanup")
        except (AssertionError, OSError, subprocess.SubprocessError) as exc:
            failures.append("%s: %s" % (type(exc).__name__, exc))
        finally:
            if fault is not None:
                fault.heal()
            for observer in (*writers, reader):
                observer.stop()
            watch.stop()
        ended = time.time()
        phase("observers")
        self.check(c, plan, result, writers, reader, watch, began, ended, restore_began, restore_ended)
        self.tidy()
        phase("check")
        return result

    def tidy(self):
        """The data a recovery or a restore moved aside and a removed member's data (kept, for the
        operator) removed, as an operator does in time: the data dirs' filesystems are small (disk_full
        fills them; seven removals filled the spare's, seed 3601 cases 76 and 77)."""
        for h in [*self.members, self.spare]:
            if running(h):
                in_host(h, "rm -rf %s/*.before-* %s/*.removed-*" % (DATA_FS, DATA_FS), check=False)

    def check(self, c, plan, result, writers, reader, watch, began, ended, restore_began, restore_ended):
        failures = result["failures"]
        writes = {}
        for w in writers:
            writes.update({k: (v, float(v.split("-", 1)[1])) for k, v in w.acked.items()})
        result["acked"] = len(writes)
        result["acked_proxy"] = len(writers[-1].acked)
        try:
            stored = self.stored("/chaos/c%04d/" % c.number)
        except (OSError, AssertionError) as exc:
            failures.append("acknowledged writes could not be read back: %s" % exc)
            stored = None
        if stored is None:
            missing = []
        elif "snapshot" in plan and restore_began is not None:
            missing, foreign = invariants.restore_writes(writes, stored, *plan["snapshot"], restore_began, restore_ended)
            if foreign:
                failures.append("%d writes from the old cluster after the snapshot are in the restored one: %s"
                                % (len(foreign), foreign[:3]))
        else:
            missing = invariants.lost_writes(writes, stored, plan.get("unsure"))
        result["lost"] = len(missing)
        if missing:
            failures.append("%d acknowledged writes lost: %s" % (len(missing), missing[:3]))
        split = invariants.split_clusters(watch.answers)
        if split:
            failures.append("two cluster IDs answered at once %d times, first: %s" % (len(split), split[0]))
        twice = invariants.two_leaders(watch.samples, watch.answers)
        if twice:
            failures.append("two leaders in one term: %s" % twice)
        back = invariants.backwards(reader.reads)
        if back:
            failures.append("the revision went backwards %d times, first: %s" % (len(back), back[0]))
        if c.operation in campaign.ROLLING:
            spared = {c.target, campaign.second(c, self.members) if "+" in c.fault else c.target,
                      *plan.get("spared", [])}
            observed = [answer for answer in watch.answers if answer[0] >= plan.get("observed_from", began)]
            together = invariants.voters_down_together(observed, spared, voters={*plan.get("names", self.members), *spared})
            if together:
                failures.append("two members down at once by the operation: %s" % (together[0],))
        for out in result["outputs"]:
            foreign = invariants.foreign_messages(out)
            if foreign:
                failures.append("a message that is not the collection's: %s" % foreign[0])
        result["leaderless"] = invariants.longest_leaderless(watch.samples, plan.get("observed_from", began), ended)
        result["tasks"] = [len(re.findall(r"^TASK \[", out, re.M)) for out in result["outputs"]]
        if failures:
            os.makedirs(KEPT, exist_ok=True)
            for i, out in enumerate(result["outputs"], 1):
                with open(os.path.join(KEPT, "seed-%s-case-%d-run-%d.log" % (c.seed, c.number, i)), "w") as kept:
                    kept.write(out)

    def repair(self):
        """After a failed case: heal what is left and converge; False when the cluster stays broken."""
        for h in [*self.members, self.spare]:
            if not running(h):
                run_testbed("revive", h, self.ip[h])
        rc, _out = self.play("etcd")
        if rc != 0:
            # No quorum left (a quorum recovery that did not finish): the docs' way back.
            self.play("recover_quorum")
            rc, _out = self.play("etcd")
        return rc == 0 and self.wait_healthy(self.members)


def running(name):
    return subprocess.run(["podman", "inspect", "--format", "{{.State.Running}}", name], stdout=subprocess.PIPE,
                          text=True, check=False).stdout.strip() == "true"


def commit():
    """The commit the case runs on, "+" when the collection's files differ from it."""
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], stdout=subprocess.PIPE, text=True,
                          check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "roles", "plugins", "playbooks"],
                           stdout=subprocess.PIPE, text=True, check=False).stdout.strip()
    return head + ("+" if dirty else "")


def journal_path(seed):
    return os.path.join(KEPT, "journal-%s.jsonl" % seed)


def main(seed, count, only=None, report=print, journal=False, until=None):
    """Run the campaign; returns (results, table). With ``journal``, the cases the seed's journal
    records are not run again, each case run is added to it, and the table counts every case it
    records; ``until`` (a time.time()): no case starts after it."""
    camp = Campaign()
    recorded = {}
    if journal and os.path.exists(journal_path(seed)):
        with open(journal_path(seed)) as lines:
            recorded = campaign.read_journal(lines)
    todo = campaign.pending(seed, count, camp.members, recorded, only)
    what = "case %s alone" % ", ".join(str(c.number) for c in todo) if only else "%d cases" % count
    known = ", %d recorded in %s" % (len(recorded), journal_path(seed)) if recorded else ""
    report("chaos: seed %s, %s%s" % (seed, what, known))
    results = []
    started = time.time()
    for c in todo:
        if until and time.time() > until:
            report("chaos: stopped at the time asked for, %d cases left" % (len(todo) - len(results)))
            break
        report(campaign.describe(c) + " ...")
        t = time.time()
        r = camp.run_case(c)
        r["seconds"] = round(time.time() - t)
        results.append(r)
        if journal:
            os.makedirs(KEPT, exist_ok=True)
            with open(journal_path(seed), "a") as out:
                out.write(campaign.journal_line(r, commit(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
            recorded[c.number] = r
        outcome = "ok" if not r["failures"] else "FAILED: " + "; ".join(r["failures"])
        report("  %s (%.0f s, %d acked (%d through the proxy), %d lost, %.1f s without a leader, fault %s, tasks %s, "
               "phases %s)" % (outcome, r["seconds"], r["acked"], r.get("acked_proxy", 0), r["lost"], r["leaderless"],
                               "hit" if r["fired"] else "MISSED", r.get("tasks"), r.get("phases")))
        if r["failures"]:
            report("  replay: " + campaign.replay(c))
            report("  its runs' output: %s" % os.path.join(KEPT, "seed-%s-case-%d-run-*.log" % (c.seed, c.number)))
            if not camp.repair():
                report("  the cluster could not be repaired: the campaign stops here")
                break
    report("chaos: seed %s, %d cases in %.0f s" % (seed, len(results), time.time() - started))
    counted = campaign.recorded_results(recorded, count) if journal and not only else results
    return results, campaign.table(counted)
