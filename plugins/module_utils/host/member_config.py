# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""A member's settings (etcd.env), systemd unit, start script and bootstrap or join settings
(etcd-initial.env), as raftops.etcd.etcd_member_files writes them: pure functions of the member's
few inputs (its ``member`` option), rendered once on the controller by the files call's action.

They were Jinja in the role's variables, where every value built from another (the PKI directory
from the config directory from the instance) was compiled again at each use: about 150 template
compiles per member and run for the task that writes these files.

The settings whose form depends on the release (the metrics listener, the corruption checks, the
feature gates, the gRPC service stopped on defragmentation and the TLS floor) and the automatic compaction are decided here too, so that each
release gets the flags it knows: an unknown ETCD_* variable is only warned about by etcd, so a
mistake would silently turn a check off (the unit tests pin every release boundary).
"""

import shlex
from urllib.parse import urlsplit

from ansible_collections.raftops.etcd.plugins.module_utils.host.container_runtime import (DOCKER, DOCKER_ENV, PODMAN, container_run,
                                                                                          image_volumes, ready_wait)
from ansible_collections.raftops.etcd.plugins.module_utils.host.systemd_unit import comment, hardening, unit_text
from ansible_collections.raftops.etcd.plugins.module_utils.host.values import METRICS_MODES, compaction_env, wal_parent
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy

# --experimental-compact-hash-check-enabled exists from 3.5.5; in 3.6 both checks are feature gates
# and the experimental flags are deprecated, in 3.7 gone (etcd_versions.EXPERIMENTAL_REPLACEMENTS).
COMPACT_HASH_CHECK_SINCE = (3, 5, 5)
FEATURE_GATES_SINCE = (3, 6, 0)
CORRUPTION_CHECK_GATES = ("CompactHashCheck", "InitialCorruptCheck")
# --tls-min-version exists from 3.4.25 and 3.5.8.
# --experimental-stop-grpc-service-on-defrag exists from 3.5.14, a feature gate from 3.6: a member then
# tells gRPC health checks it does not serve while it defragments (its I/O is blocked), so that clients
# that check go to another member meanwhile (docs/maintenance.md). On unless the operator's gates say no.
STOP_GRPC_ON_DEFRAG_SINCE = (3, 5, 14)
STOP_GRPC_ON_DEFRAG_GATE = "StopGRPCServiceOnDefrag"
TLS_MIN_VERSION_SINCE = ((3, 4, 25), (3, 5, 8))


class MemberConfigError(ValueError):
    """A value the member's files cannot be written with (the settings check refuses it first)."""


def _version(version):
    try:
        parts = tuple(int(part) for part in version)
    except (TypeError, ValueError):
        parts = ()
    if len(parts) != 3:
        raise MemberConfigError("the release must be [major, minor, patch], like [3, 5, 30], not %r" % (version,))
    return parts


def _address(url):
    """The host part of a member URL; an IPv6 address keeps its brackets."""
    return urlsplit(str(url)).netloc.rsplit(":", 1)[0]


def metrics_urls(mode, port, client_url, tls):
    """Where /metrics and /health are served: always plain http on loopback (scraped on the host),
    and with ``address`` also on the member's address, over https with client certificates when TLS is on."""
    if mode not in METRICS_MODES:
        raise MemberConfigError("etcd_metrics must be one of %s, not %r" % (", ".join(METRICS_MODES), mode))
    if mode == "off":
        return []
    urls = ["http://127.0.0.1:%d" % int(port)]
    if mode == "address":
        urls.insert(0, "%s://%s:%d" % ("https" if tls else "http", _address(client_url), int(port)))
    return urls


def server_env(settings, version, member):
    """ETCD_* name -> value of the settings whose form depends on the release ``version``
    ([major, minor, patch]) for the member ``member`` (its record from the members filter):
    ``settings`` holds tls, metrics, metrics_port, corruption_checks and feature_gates."""
    version = _version(version)
    tls = bool(settings.get("tls"))
    env = {}
    urls = metrics_urls(settings.get("metrics", "loopback"), settings.get("metrics_port", 2381),
                        member["client_url"], tls)
    if urls:
        env["ETCD_LISTEN_METRICS_URLS"] = ",".join(urls)
    if version >= FEATURE_GATES_SINCE:
        env["ETCD_FEATURE_GATES"] = _gates_value(_gates(settings))
    elif version >= STOP_GRPC_ON_DEFRAG_SINCE:
        env["ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG"] = "true"
    if settings.get("corruption_checks") and version < FEATURE_GATES_SINCE:
        env["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK"] = "true"
        if version >= COMPACT_HASH_CHECK_SINCE:
            env["ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED"] = "true"
    if tls and (version >= TLS_MIN_VERSION_SINCE[1] or TLS_MIN_VERSION_SINCE[0] <= version < (3, 5, 0)):
        env["ETCD_TLS_MIN_VERSION"] = "TLS1.2"
    return env


def _gates(settings):
    """The feature gates of a release that has them (3.6 on): the operator's (settings_problems checked
    them against the release), then the corruption checks' and the gRPC service's on defragmentation."""
    gates = {str(name): truthy(on) for name, on in (settings.get("feature_gates") or {}).items()}
    if settings.get("corruption_checks"):
        gates.update((name, True) for name in CORRUPTION_CHECK_GATES)
    gates.setdefault(STOP_GRPC_ON_DEFRAG_GATE, True)
    return gates


def _gates_value(gates):
    return ",".join("%s=%s" % (name, str(gates[name]).lower()) for name in sorted(gates))


def restored_start_env(settings, version):
    """ETCD_* name -> value for the first start of a restored member (etcd-initial.env, state
    ``restored``): etcd's initial corruption check off, the member's other settings as etcd.env has
    them (``settings``: corruption_checks, feature_gates; ``version`` [major, minor, patch]). {} when
    the corruption checks are off anyway.

    That check compares the member's keyspace hash with each peer's, asking one peer after the other
    for up to etcd's request timeout (7 s with the default election timeout), and a peer answers only
    once its own check is over: restored members started together each waited twice that long and
    compared nothing. Their data come from one snapshot, checked against its SHA-256 on each member
    before the restore; every later start checks again."""
    if not settings.get("corruption_checks"):
        return {}
    version = _version(version)
    if version >= FEATURE_GATES_SINCE:
        return {"ETCD_FEATURE_GATES": _gates_value(dict(_gates(settings), InitialCorruptCheck=False))}
    return {"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "false"}


def _lines(env):
    return ["%s=%s" % (key, env[key]) for key in sorted(env)]


def env_content(s):
    """etcd.env: the member's ETCD_* settings. ``s`` is the ``server`` part of the member option."""
    me = s["me"]
    tls, both = truthy(s["tls"]), s["tls_transition"] == "both"
    pki = s["pki_dir"]
    lines = [s["header"],
             "# etcd reads its settings from ETCD_* variables; initial-cluster settings live in",
             "# etcd-initial.env only while a member bootstraps or joins.",
             "ETCD_NAME=%s" % me["name"],
             "ETCD_DATA_DIR=%s" % s["data_dir"]]
    if s.get("wal_dir"):
        lines.append("ETCD_WAL_DIR=%s" % s["wal_dir"])
    lines += ["# Once the cluster exists a member only ever joins it: without data it must not make a cluster of",
              '# its own (etcd-initial.env says "new" only while the cluster is bootstrapped).',
              "ETCD_INITIAL_CLUSTER_STATE=existing",
              "ETCD_LISTEN_PEER_URLS=%s" % me.get("listen_peer_url", me["peer_url"])]
    local = s["local_endpoint"]
    if both:
        lines += ["# A plaintext cluster on its way to TLS (docs/adopt.md): clients on both schemes at the same ports",
                  "# (etcd tells them apart on each connection); the member still advertises its plaintext URLs, and",
                  "# its peers reach it over plaintext while it holds the certificates to reach them over TLS.",
                  "ETCD_LISTEN_CLIENT_URLS=%s,%s,%s,%s" % (me["client_url"], me["client_url"].replace("http:", "https:", 1),
                                                           local, local.replace("https:", "http:", 1))]
    else:
        lines.append("ETCD_LISTEN_CLIENT_URLS=%s,%s" % (me["client_url"], local))
    lines += ["ETCD_ADVERTISE_CLIENT_URLS=%s" % me["client_url"],
              "ETCD_INITIAL_ADVERTISE_PEER_URLS=%s" % me["peer_url"],
              "ETCD_HEARTBEAT_INTERVAL=%s" % s["heartbeat_interval"],
              "ETCD_ELECTION_TIMEOUT=%s" % s["election_timeout"],
              "ETCD_SNAPSHOT_COUNT=%s" % s["snapshot_count"],
              "ETCD_QUOTA_BACKEND_BYTES=%s" % s["quota_backend_bytes"]]
    lines += _lines(compaction_env(s["auto_compaction_mode"], s["auto_compaction_retention"]))
    lines += ["ETCD_LOGGER=zap", "ETCD_LOG_LEVEL=%s" % s["log_level"], "ETCD_LOG_OUTPUTS=stderr"]
    if tls:
        lines += ["ETCD_TRUSTED_CA_FILE=%s/ca.pem" % pki, "ETCD_CERT_FILE=%s/server.pem" % pki,
                  "ETCD_KEY_FILE=%s/server-key.pem" % pki]
        if both:
            lines += ["# Not yet while the port also serves plaintext: etcd (3.4.23, measured) then answers every plaintext",
                      '# JSON call with "connection closed"; the cluster took plaintext without auth until now anyway.',
                      "ETCD_CLIENT_CERT_AUTH=false"]
        else:
            lines.append("ETCD_CLIENT_CERT_AUTH=true")
        lines += ["ETCD_PEER_TRUSTED_CA_FILE=%s/ca.pem" % pki, "ETCD_PEER_CERT_FILE=%s/peer.pem" % pki,
                  "ETCD_PEER_KEY_FILE=%s/peer-key.pem" % pki, "ETCD_PEER_CLIENT_CERT_AUTH=true"]
        if s.get("peer_identity"):
            lines += ["# Only the members' peer pairs carry this name: a client pair of the same CA is no peer (docs/pki.md).",
                      "ETCD_PEER_CERT_ALLOWED_HOSTNAME=%s" % s["peer_identity"]]
        if s.get("crl"):
            lines += ["# Certificates of removed members: refused on both ports, read again for every new connection.",
                      "ETCD_CLIENT_CRL_FILE=%s/crl.pem" % pki, "ETCD_PEER_CRL_FILE=%s/crl.pem" % pki]
    elif truthy(s["auto_tls"]):
        lines += ["# etcd's auto-TLS (etcd_auto_tls): self-signed certificates in the data dir; encrypted, nobody authenticated.",
                  "ETCD_AUTO_TLS=true", "ETCD_PEER_AUTO_TLS=true"]
    lines += _lines(server_env({"tls": tls, "metrics": s["metrics"], "metrics_port": int(s["metrics_port"]),
                                "corruption_checks": truthy(s["corruption_checks"]), "feature_gates": s["feature_gates"]},
                               s["version"], me))
    lines += _lines(s.get("extra_env") or {})
    return "\n".join(lines) + "\n"


def _container(s):
    """The name of the member's container: its unit's (etcd_instance)."""
    return s["unit_path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _engine(s):
    """The engine that runs a container member's image: its host's (etcd_host_info's container_engine)."""
    return s.get("engine") or "podman"


def _runs(s):
    """The unit's type and directives of how it runs etcd: as the user, with systemd's hardening, for
    the binary; as root (etcd as the user: the engine's --user) with the engine's stop, for a container,
    where systemd's sandbox would keep the engine from making it (mounts, namespaces, capabilities) and
    the image's own flags stand for it (container_runtime.container_run). Under Docker, which cannot
    pass etcd's readiness on, the unit is started once the member answers (ready_check)."""
    if s.get("runtime") != "container":
        # A WAL kept apart: its parent, where a new member's etcd makes the WAL before renaming it into place.
        parent = wal_parent(s["data_dir"], s.get("wal_dir"))
        writable = [s["data_dir"]] + ([parent] if parent else [])
        return "notify", [("User", s["user"]), ("Group", s["user"])], (
            hardening([writable], server=True) if truthy(s["systemd_hardening"]) else [])
    name, stop = _container(s), "--time=%d" % int(s["stop_timeout"])
    if _engine(s) == "docker":
        return "exec", [], [
            comment("etcd runs from the image %s (etcd_runtime: container): the start script ends in docker run, attached,\n"
                    "which cannot pass etcd's readiness on: the unit is started once the member answers on its client\n"
                    "port, which etcd serves only from the moment it is ready." % s["image"]),
            ("ExecStartPre", ["-" + DOCKER, "rm", "--force", name]),
            ("ExecStartPost", ["/bin/sh", "-c", ready_wait(s["ready_check"])]),
            ("ExecStop", [DOCKER, "stop", stop, name]),
            ("ExecStopPost", ["-" + DOCKER, "rm", "--force", name]),
            comment("etcd stopped by docker stop exits on SIGTERM, which the docker command reports as 143."),
            ("SuccessExitStatus", 143)]
    return "notify", [], [comment("etcd runs from the image %s (etcd_runtime: container): the start script ends in podman run,\n"
                                  "whose conmon becomes the main process and passes etcd's readiness on, as a Quadlet unit's does."
                                  % s["image"]),
                          ("NotifyAccess", "all"),
                          ("Environment", "PODMAN_SYSTEMD_UNIT=%s.service" % name),
                          ("ExecStop", [PODMAN, "stop", "--ignore", stop, name]),
                          ("ExecStopPost", ["-" + PODMAN, "rm", "--force", "--ignore", name]),
                          comment("The container's processes live in a cgroup below the unit's (podman --cgroups=split)."),
                          ("KillMode", "mixed"), ("Delegate", "yes")]


def unit_content(s):
    """The member's systemd unit."""
    kind, identity, runs = _runs(s)
    return unit_text([
        ("Unit", [("Description", "etcd distributed key-value store (member %s)" % s["me"]["name"]),
                  ("Documentation", "https://etcd.io/docs/"),
                  ("After", "network-online.target time-sync.target"),
                  ("Wants", "network-online.target")]),
        ("Service", [("Type", kind), *identity,
                     ("EnvironmentFile", s["config_dir"] + "/etcd.env"),
                     ("EnvironmentFile", "-%s/etcd-initial.env" % s["config_dir"]),
                     comment("The start script refuses (exit 78) to start a member without data unless it bootstraps or joins,\n"
                             "then runs etcd in its place."),
                     ("ExecStart", [s["start_script"]]),
                     comment('A removed member exits 0 ("the member has been permanently removed"): restarting it then\n'
                             "would loop on a dead data dir, so restart only on failure; a refused start is not retried."),
                     ("Restart", "on-failure"), ("RestartPreventExitStatus", 78), ("RestartSec", "5s"),
                     ("TimeoutStartSec", "120s"), ("LimitNOFILE", s["limit_nofile"]), *runs]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ], s["header"])


def start_script_content(s):
    """The start script: it refuses to start a member without data unless it bootstraps or joins."""
    name, wal = s["me"]["name"], s.get("wal_dir") or (s["data_dir"] + "/member/wal")
    initial = s["config_dir"] + "/etcd-initial.env"
    return """#!/bin/sh
%(header)s
# Starts etcd member %(name)s, unless that would make it a cluster of its own: a member
# without data starts only while the role bootstraps or joins it (%(initial)s).
if [ ! -f %(initial_q)s ] && [ -z "$(ls -A %(wal_q)s 2>/dev/null)" ]; then
  echo "etcd member %(name)s will not start: %(wal)s holds no data (lost, wiped or a new disk)," \\
    "and starting without data would make it a new, empty cluster of its own beside the real one." \\
    "To bring the member back, run the etcd playbook from the controller (it removes the old member entry" \\
    "and joins this host again as a learner): ansible-playbook raftops.etcd.etcd -i INVENTORY," \\
    "or ansible-playbook raftops.etcd.replace_member -i INVENTORY -e etcd_replace=%(name)s" >&2
  exit 78
fi
%(etcd)s
""" % dict(header=s["header"], name=name, initial=initial, initial_q=shlex.quote(initial), wal=wal,
           wal_q=shlex.quote(wal), etcd=_etcd_command(s))


def _etcd_command(s):
    """How the start script ends: exec of the release's binary, or of the engine with its image."""
    if s.get("runtime") != "container":
        return "exec " + shlex.quote(s["bin_dir"] + "/etcd")
    wal_dir = s.get("wal_dir")
    volumes = image_volumes(s["data_dir"], wal_parent(s["data_dir"], wal_dir), wal_dir, s["pki_dir"])
    engine = _engine(s)
    return (DOCKER_ENV if engine == "docker" else "") + "exec " + container_run(engine, dict(
        name=_container(s), image=s["image"], user=s["user"], limit_nofile=s["limit_nofile"],
        stop_timeout=int(s["stop_timeout"]), hardening=truthy(s["systemd_hardening"]), volumes=volumes))


def initial_env_content(header, initial):
    """etcd-initial.env: the settings a member has only while it bootstraps (state new) or joins
    (existing), or for the first start of a restored member (restored). ``initial`` holds state, and
    cluster, token, bootstrap and the discovery settings; or for a restored member version,
    corruption_checks and feature_gates (restored_start_env)."""
    state, bootstrap = initial["state"], initial.get("bootstrap") or "static"
    if state == "restored":
        return "\n".join([header, "# Used only for the first start of this restored member; removed once the cluster is healthy.",
                          "# etcd's initial corruption check is off for it: every restored member starts at once and a member",
                          "# in that check answers no peer's, so each would wait for the others to compare nothing.",
                          *_lines(restored_start_env(initial, initial.get("version")))]) + "\n"
    lines = [header, "# Used only while this member bootstraps or joins; removed once the cluster is healthy."]
    if state == "new" and bootstrap == "dns_srv":
        lines += ["# The members come from the SRV records of the domain (docs/bootstrap.md).",
                  "ETCD_DISCOVERY_SRV=%s" % initial["discovery_srv"]]
        if initial.get("discovery_srv_name"):
            lines.append("ETCD_DISCOVERY_SRV_NAME=%s" % initial["discovery_srv_name"])
    elif state == "new" and bootstrap == "discovery" and initial.get("discovery_token"):
        lines += ["# The members register under a token of the discovery cluster (etcd 3.6, v3 discovery).",
                  "ETCD_DISCOVERY_ENDPOINTS=%s" % ",".join(initial.get("discovery_endpoints") or []),
                  "ETCD_DISCOVERY_TOKEN=%s" % initial["discovery_token"]]
    elif state == "new" and bootstrap == "discovery":
        lines += ["# The members register under a token of the discovery cluster (v2 discovery).",
                  "ETCD_DISCOVERY=%s" % initial["discovery_url"]]
    else:
        lines.append("ETCD_INITIAL_CLUSTER=%s" % initial["cluster"])
    lines += ["ETCD_INITIAL_CLUSTER_STATE=%s" % state, "ETCD_INITIAL_CLUSTER_TOKEN=%s" % initial["token"]]
    return "\n".join(lines) + "\n"


def _read(path, missing_ok):
    """A file of etcd_pki_dir on the controller, as it is; "" for one that is not there when
    ``missing_ok`` (check mode before the first deploy: etcd_pki only reported what it would make)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        if missing_ok:
            return ""
        raise MemberConfigError("could not read %s on the controller: %s" % (path, e.strerror or e)) from e


def _pki_files(pki, pki_dir, user, missing_ok):
    """The member's certificates, revocation list and client pairs: (files, private_files)."""
    own = pki["own"]

    def item(name, source, owner_group, mode, **flags):
        return dict(path="%s/%s" % (pki_dir, name), content=_read(source, missing_ok), owner="root", group=owner_group,
                    mode=mode, **flags)

    # During a CA rotation ca is the bundle of the CAs the phase trusts (docs/pki.md, CA rotation).
    files = [item("ca.pem", pki["ca"], user, "0644", stage=False),
             item("server.pem", own["cert"], user, "0644", stage=False),
             item("peer.pem", own["peer_cert"], user, "0644", stage=False)]
    private = [item("server-key.pem", own["key"], user, "0640"), item("peer-key.pem", own["peer_key"], user, "0640")]
    # Read anew by etcd on every new connection: a new one needs no restart.
    if pki.get("crl"):
        files.append(item("crl.pem", pki["crl"], user, "0644", stage=False, restart=False))
    # The CN-less pair of a root login and the timers' pair with CN root: read by the role and the
    # timers only, so they never restart the member.
    for name, pair in (("client", pki.get("login")), ("root", pki.get("root"))):
        if pair:
            files.append(item(name + ".pem", pair["cert"], "root", "0644", stage=False, restart=False))
            private.append(item(name + "-key.pem", pair["key"], "root", "0600", restart=False))
    return files, private


def member_files(member, missing_ok=False):
    """(directories, files, private_files) items for raftops.etcd.etcd_member_files from its
    ``member`` option: with ``server``, the member's directories, settings, unit and start script,
    and with ``pki`` its certificates (in that order, before the items given); with ``initial``,
    etcd-initial.env (never shown: it may hold a discovery token). ``missing_ok``: a file of
    etcd_pki_dir that is not there is written empty (check mode)."""
    header, config_dir, user = member["header"], member["config_dir"], member["user"]
    directories, files, private = [], [], []
    server, pki = member.get("server"), member.get("pki")
    if server:
        s = dict(server, header=header, config_dir=config_dir, user=user, pki_dir=pki["dir"] if pki else None,
                 crl=bool(pki and pki.get("crl")))
        directories = [dict(path=config_dir, owner="root", group=user, mode="0750"),
                       dict(path=s["data_dir"], owner=user, group=user, mode="0700")]
        if s.get("wal_dir"):
            parent = wal_parent(s["data_dir"], s["wal_dir"])
            if parent:
                directories.append(dict(path=parent, owner=user, group=user, mode="0700"))
            directories.append(dict(path=s["wal_dir"], owner=user, group=user, mode="0700"))
        files = [
            dict(path=s["env_path"], content=env_content(s), owner="root", group=user, mode="0640"),
            dict(path=s["unit_path"], content=unit_content(s), owner="root", group="root", mode="0644"),
            dict(path=s["start_script"], content=start_script_content(s), owner="root", group=user, mode="0750"),
        ]
    initial = member.get("initial")
    if initial:
        private.append(dict(path=config_dir + "/etcd-initial.env", content=initial_env_content(header, initial),
                            owner="root", group=user, mode="0640", stage=False))
    if pki:
        # etcd only reads what is in the PKI directory: root owns it all, etcd reads it through its
        # group, so that the etcd user can neither empty the CRL nor replace a CA, a certificate or a key.
        directories.append(dict(path=pki["dir"], owner="root", group=user, mode="0750"))
        pki_files, pki_private = _pki_files(pki, pki["dir"], user, missing_ok)
        files += pki_files
        private += pki_private
    return directories, files, private
