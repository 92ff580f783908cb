"""The campaign's faults on the test hosts: each is injected once and healed once (heal() may be
called again; the second call waits for the first), so that a timer can heal it while the run
goes on and the case heals it anyway once the run ends."""

import subprocess
import threading

from etcdtest import run_testbed

# The controller, as the test hosts see it (the test network's gateway).
CONTROLLER = "10.250.0.1"
# iptables chain of the campaign's rules in a host, hooked into INPUT and OUTPUT.
CHAIN = "raftops-chaos"
# The filesystem of the members' data dir: a small one of each host's own (molecule/chaos/molecule.yml,
# RAFTOPS_TESTBED_DATA_FS and etcd_data_dir), which disk_full fills with this file.
DATA_FS = "/srv/etcd"
FILLER = DATA_FS + "/chaos-filler"


def in_host(name, script, check=True):
    return subprocess.run(["podman", "exec", name, "sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=check).stdout


def drop(name, rules):
    """iptables DROP rules in host ``name``, each '-s IP' (what comes from IP) or '-d IP' (what goes to
    it), in a chain of their own that INPUT and OUTPUT jump to."""
    script = ["iptables -N %s 2>/dev/null || true" % CHAIN]
    for hook in ("INPUT", "OUTPUT"):
        script.append(f"iptables -C {hook} -j {CHAIN} 2>/dev/null || iptables -I {hook} -j {CHAIN}")
    script += ["iptables -A %s %s -j DROP" % (CHAIN, rule) for rule in rules]
    in_host(name, " && ".join(script))


class Fault:
    """Fault ``kind`` (campaign.FAULTS) on host ``name`` at ``ip``; ``peers``: the addresses of the
    other test hosts of the cluster."""

    def __init__(self, kind, name, ip, peers):
        self.kind, self.name, self.ip, self.peers = kind, name, ip, list(peers)
        self.injected = self.healed = False
        self.notes = []
        self._lock = threading.Lock()
        self._background = None

    def inject(self):
        with self._lock:
            self.injected = True
            getattr(self, "_inject_" + self.kind)()

    def heal(self):
        with self._lock:
            if self.injected and not self.healed:
                self.healed = True
                getattr(self, "_heal_" + self.kind)()

    # sigkill: the case kills the run itself (etcdtest.interrupted_playbook); nothing to heal.
    def _inject_sigkill(self):
        pass

    def _heal_sigkill(self):
        pass

    def _inject_etcd_kill(self):
        self.notes.append(in_host(self.name, "systemctl is-active etcd; pkill -9 -x etcd && echo killed", check=False))

    def _inject_disk_full(self):
        self.notes.append(in_host(self.name, "fallocate -l $(df -B1 --output=avail %s | tail -n 1) %s; df -h %s | tail -n 1"
                                  % (DATA_FS, FILLER, DATA_FS), check=False))

    def _heal_disk_full(self):
        in_host(self.name, "rm -f %s" % FILLER)
        self._heal_etcd_kill()

    def _heal_etcd_kill(self):
        # systemd starts it again (Restart=); a unit that gave up is started as an operator would.
        in_host(self.name, "for i in $(seq 60); do systemctl is-active -q etcd && exit 0; sleep 0.5; done; "
                "systemctl is-enabled -q etcd && { systemctl reset-failed etcd; systemctl start etcd; }; true")

    def _inject_host_crash(self):
        run_testbed("kill", self.name)

    def _heal_host_crash(self):
        run_testbed("revive", self.name, self.ip)

    def _inject_reboot(self):
        # The host goes down by itself and comes back: a thread waits for it to stop, then boots it.
        in_host(self.name, "systemctl reboot", check=False)

        def back():
            subprocess.run(["podman", "wait", self.name], stdout=subprocess.DEVNULL, timeout=120, check=False)
            run_testbed("revive", self.name, self.ip)

        self._background = threading.Thread(target=back, daemon=True)
        self._background.start()

    def _heal_reboot(self):
        self._background.join(300)

    def _inject_partition(self):
        drop(self.name, ["-s %s" % p for p in self.peers] + ["-d %s" % p for p in self.peers])

    def _inject_partition_in(self):
        drop(self.name, ["-s %s" % p for p in self.peers])

    def _inject_controller_lost(self):
        drop(self.name, ["-s %s" % CONTROLLER, "-d %s" % CONTROLLER])

    def _flush(self):
        subprocess.run(["podman", "exec", self.name, "iptables", "-F", CHAIN], check=True, timeout=60)

    _heal_partition = _heal_partition_in = _heal_controller_lost = _flush


class Faults:
    """Faults injected at the same moment and healed together."""

    def __init__(self, faults):
        self.faults = faults

    @property
    def injected(self):
        return any(f.injected for f in self.faults)

    def inject(self):
        for f in self.faults:
            f.inject()

    def heal(self):
        for f in self.faults:
            f.heal()
