"""The campaign's faults on the test hosts: each is injected once and healed once (heal() may be
called again; the second call waits for the first), so that a timer can heal it while the run
goes on and the case heals it anyway once the run ends."""

import os
import subprocess
import tempfile
import threading

from etcdtest import ROOT, run_testbed

# The controller, as the test hosts see it (the test network's gateway).
CONTROLLER = "10.250.0.1"
# iptables chain of the campaign's rules in a host, hooked into INPUT and OUTPUT.
CHAIN = "raftops-chaos"
# The filesystem of the members' data dir: a small one of each host's own (molecule/chaos/molecule.yml,
# RAFTOPS_TESTBED_DATA_FS and etcd_data_dir), which disk_full fills with this file.
DATA_FS = "/srv/etcd"
FILLER = DATA_FS + "/chaos-filler"
# slow_disk: the data dir moves to a filesystem of this size on a loop device of the machine whose
# writes the host's blkio cgroup throttles to this many a second (a member's data dir holds two 64 MiB
# WAL segments, the live one and the next one preallocated).
DATA_DIR = DATA_FS + "/data"
SLOW_SIZE, SLOW_IOPS = "320M", 20
SLOW_MOUNT, SLOW_BACK, SLOW_DEVICE = DATA_FS + "/chaos-slow", DATA_FS + "/chaos-back", "/dev/raftops-chaos-slow"
# slow_net: the hold of tests/testbed/fault.sh delay (each way); lossy_net: the share of packets dropped.
DELAY_MS, LOSS = 150, 0.2


def in_host(name, script, check=True):
    return subprocess.run(["podman", "exec", name, "sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=check).stdout


def pid_of(name):
    return subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", name], stdout=subprocess.PIPE, text=True,
                          check=True, timeout=60).stdout.strip()


def in_namespace(name, script):
    """A command in host ``name``'s mount namespace, outside its cgroups (whose device rules forbid mounting)."""
    return subprocess.run(["nsenter", "-t", pid_of(name), "-m", "--", "sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=True).stdout


def throttle(name, device, iops):
    """The write IOPS limit of host ``name``'s container on block device MAJ:MIN (0: none), in its
    blkio cgroup (cgroup v1) or io.max (v2); tests/testbed/fault.sh does the same for a fresh host."""
    with open("/proc/%s/cgroup" % pid_of(name)) as own:
        groups = dict(line.rstrip("\n").split(":", 2)[1:] for line in own)
    if os.path.isdir("/sys/fs/cgroup/blkio"):
        path, rule = "/sys/fs/cgroup/blkio%s/blkio.throttle.write_iops_device" % groups["blkio"], "%s %d" % (device, iops)
    else:
        path, rule = "/sys/fs/cgroup%s/io.max" % groups[""], "%s wiops=%s" % (device, iops or "max")
    with open(path, "w") as limit:
        limit.write(rule)


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

    def _inject_slow_disk(self):
        """etcd stopped (if it ran), its data copied to a fresh throttled filesystem mounted over the
        data dir, etcd started again: the member's disk is slow from then on."""
        with tempfile.NamedTemporaryFile(dir=os.path.join(ROOT, ".cache"), prefix="chaos-disk-") as image:
            image.truncate(int(SLOW_SIZE[:-1]) << 20)
            subprocess.run(["mkfs.ext4", "-q", "-F", image.name], check=True, timeout=120)
            loop = subprocess.run(["losetup", "--find", "--show", image.name], stdout=subprocess.PIPE, text=True,
                                  check=True).stdout.strip()
        device = subprocess.run(["lsblk", "-dno", "MAJ:MIN", loop], stdout=subprocess.PIPE, text=True,
                                check=True).stdout.strip()
        self._device = device
        ran = in_host(self.name, "systemctl is-active etcd; systemctl stop etcd", check=False)
        in_namespace(self.name, f"""set -e; mkdir -p {SLOW_MOUNT} {DATA_DIR}; rm -f {SLOW_DEVICE}
            mknod {SLOW_DEVICE} b {device.replace(":", " ")}; mount {SLOW_DEVICE} {SLOW_MOUNT}; rmdir {SLOW_MOUNT}/lost+found
            cp -a {DATA_DIR}/. {SLOW_MOUNT}/; chown --reference={DATA_DIR} {SLOW_MOUNT}; chmod 0700 {SLOW_MOUNT}
            mount --move {SLOW_MOUNT} {DATA_DIR}; rmdir {SLOW_MOUNT}""")
        # Detached while mounted: the device goes away with the filesystem (unmounted, or the host gone).
        subprocess.run(["losetup", "--detach", loop], check=True)
        throttle(self.name, device, SLOW_IOPS)
        self.notes.append("etcd was " + ran)
        if ran.startswith("active"):
            in_host(self.name, "systemctl start --no-block etcd")

    def _heal_slow_disk(self):
        """etcd stopped, its data copied back to the data dir's own filesystem, etcd started again."""
        throttle(self.name, self._device, 0)
        ran = in_host(self.name, "systemctl is-active etcd; systemctl stop etcd", check=False)
        in_namespace(self.name, f"""set -e; if mountpoint -q {DATA_DIR}; then rm -rf {SLOW_BACK}
            cp -a {DATA_DIR} {SLOW_BACK}; umount {DATA_DIR}; rm -rf {DATA_DIR}; mv {SLOW_BACK} {DATA_DIR}; fi
            rm -f {SLOW_DEVICE}""")
        if ran.startswith("active"):
            in_host(self.name, "systemctl start --no-block etcd")
        else:
            self._heal_etcd_kill()

    def _inject_slow_net(self):
        run_testbed("delay", self.name, str(DELAY_MS), script="fault.sh")

    def _heal_slow_net(self):
        run_testbed("undelay", self.name, script="fault.sh")

    def _inject_lossy_net(self):
        drop(self.name, ["-p tcp -m multiport ! --ports 22 -m statistic --mode random --probability %s" % LOSS])

    def _heal_etcd_kill(self):
        # systemd starts it again (Restart=); a unit that gave up is started as an operator would,
        # without waiting for it: a member whose peers the operation stopped (a restore) waits for
        # them to start, and the case's re-run and health checks come next (seed 3601 case 57).
        in_host(self.name, "for i in $(seq 60); do systemctl is-active -q etcd && exit 0; sleep 0.5; done; "
                "systemctl is-enabled -q etcd && { systemctl reset-failed etcd; systemctl start --no-block etcd; }; true")

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

    _heal_partition = _heal_partition_in = _heal_controller_lost = _heal_lossy_net = _flush


class Faults:
    """Faults injected at the same moment and healed together."""

    def __init__(self, faults):
        self.faults = faults

    @property
    def injected(self):
        return any(f.injected for f in self.faults)

    @property
    def healed(self):
        return all(f.healed for f in self.faults if f.injected)

    def inject(self):
        for f in self.faults:
            f.inject()

    def heal(self):
        for f in self.faults:
            f.heal()
