# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The plan of an adoption (playbooks/adopt.yml): a running cluster that another tool or a package
built becomes the collection's, member by member.

Pure functions on plain data (no Ansible, no I/O): the module etcd_adopt_info reads each host (the
running etcd's command line and environment, its unit, its own answer) and these decide, once, on
the controller (the stage adoption of the action raftops.etcd.etcd_plan): what each member keeps, what moves, what restarts,
the role settings that keep its data where it is, and every refusal, each naming its host, before
any host changes.
"""

import json
import os
import re
import shlex

from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import HIDDEN, SECRET_SETTINGS, url_parts
from ansible_collections.raftops.etcd.plugins.module_utils.host.container import mount_of
from ansible_collections.raftops.etcd.plugins.module_utils.host.values import wal_parent_problem
from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy, version_tuple

# The releases the collection deploys and rolls (the role's etcd_version rule: 3.4.0 or later; the
# newest line it knows is 3.6).
ADOPTABLE_FROM, ADOPTABLE_TO = (3, 4), (3, 6)
# The first release measured to serve plaintext and TLS callers on one client port, which the move
# to TLS without downtime needs (3.4.23 and 3.5.1 answer a plaintext call there with "use of closed
# network connection", measured; 3.5.16 serves both, even with client certificate auth on; the
# releases between are not measured). A plaintext cluster before it goes there first, in plaintext:
# taken over at its own release, then upgraded by the collection's roll (one minor version at a
# time, as etcd upgrades).
TAKE_OVER_FROM = (3, 5, 16)
# What Python's ssl says of a CA certificate without keyUsage under VERIFY_X509_STRICT (3.13's default).
KEY_USAGE_REFUSED = "CA cert does not include key usage extension"
# Values never shown (beside etcd_formats' SECRET_SETTINGS): a token or password of any setting.
SECRET_KEY_PARTS = ("TOKEN", "PASSWORD", "SECRET")
# The flags that take no value on etcd's command line (the others take the next word or =VALUE).
BOOLEAN_FLAGS = frozenset((
    "client-cert-auth", "peer-client-cert-auth", "auto-tls", "peer-auto-tls", "force-new-cluster",
    "strict-reconfig-check", "enable-v2", "enable-pprof", "debug", "experimental-initial-corrupt-check",
    "experimental-compact-hash-check-enabled", "unsafe-no-fsync", "enable-grpc-gateway",
))
# The settings whose plaintext or TLS form the plan reads.
TLS_FILES = ("ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_TRUSTED_CA_FILE",
             "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE", "ETCD_PEER_TRUSTED_CA_FILE")


def _env_key(flag):
    return "ETCD_" + flag.replace("-", "_").upper()


def flag_settings(argv):
    """The ETCD_* settings etcd's command line (argv without the program) gives, as etcd reads it:
    --flag=value, --flag value, -flag value; a boolean flag alone is true."""
    settings, args, i = {}, list(argv or []), 0
    while i < len(args):
        word = str(args[i])
        i += 1
        if not word.startswith("-"):
            continue
        flag = word.lstrip("-")
        if "=" in flag:
            flag, value = flag.split("=", 1)
        elif flag in BOOLEAN_FLAGS or i >= len(args) or str(args[i]).startswith("-"):
            value = "true"
        else:
            value, i = str(args[i]), i + 1
        settings[_env_key(flag)] = value
    return settings


def effective_settings(argv, environ):
    """What the running etcd goes by: its ETCD_* environment, and over it its command line (etcd
    ignores a variable whose flag is also given). Returns (settings, source: key -> where from)."""
    settings = {k: str(v) for k, v in (environ or {}).items() if str(k).startswith("ETCD_")}
    source = {k: "environment" for k in settings}
    for key, value in flag_settings(argv).items():
        settings[key] = value
        source[key] = "command line"
    return settings, source


def shown(settings):
    """The settings as they may appear in any output: secret values hidden."""
    return {k: (HIDDEN if k in SECRET_SETTINGS or any(part in k for part in SECRET_KEY_PARTS) else v)
            for k, v in settings.items()}


def _urls(text):
    return [u.strip() for u in str(text or "").split(",") if u.strip()]


def member_reading(settings):
    """The member a running etcd is, from its effective settings (etcd's defaults where unset)."""
    name = settings.get("ETCD_NAME", "default")
    peer = _urls(settings.get("ETCD_INITIAL_ADVERTISE_PEER_URLS") or "http://localhost:2380")
    client = _urls(settings.get("ETCD_ADVERTISE_CLIENT_URLS") or "http://localhost:2379")
    return dict(
        name=name,
        data_dir=settings.get("ETCD_DATA_DIR", ""),
        wal_dir=settings.get("ETCD_WAL_DIR", ""),
        listen_client_urls=_urls(settings.get("ETCD_LISTEN_CLIENT_URLS") or "http://localhost:2379"),
        listen_peer_urls=_urls(settings.get("ETCD_LISTEN_PEER_URLS") or "http://localhost:2380"),
        advertise_client_urls=client,
        advertise_peer_urls=peer,
        tls_files={k: settings[k] for k in TLS_FILES if settings.get(k)},
        client_cert_auth=truthy(settings.get("ETCD_CLIENT_CERT_AUTH")),
        peer_client_cert_auth=truthy(settings.get("ETCD_PEER_CLIENT_CERT_AUTH")),
    )


def _local_answer(read):
    return read.get("local") or {}


def _host_problems(record, read, inventory):
    """Why this host's member cannot be adopted as it runs (each naming the host); [] when it can."""
    host = record["host"]
    if not read.get("running"):
        return ["host %s: no etcd runs there (a stopped member?); adoption needs every member running and the "
                "cluster healthy: start it (systemctl start %s) and run again" % (host, read.get("unit") or "etcd")]
    problems = []
    reading = member_reading(read.get("settings") or {})
    if reading["name"] != record["name"]:
        problems.append("host %s: NODE_NAME is %s, but the etcd there runs as member %s (its --name); set "
                        "NODE_NAME=%s for %s in the inventory"
                        % (host, record["name"], reading["name"], reading["name"], host))
    local = _local_answer(read)
    if local.get("error") and KEY_USAGE_REFUSED in local["error"]:
        problems.append(_key_usage_problem(host, local, reading))
    elif local.get("error"):
        problems.append("host %s: its etcd did not answer at %s: %s" % (host, local.get("endpoint"), local["error"]))
    elif not local.get("status", {}).get("leader_id"):
        problems.append("host %s: its member %s has no leader: the cluster is not healthy; adopt a healthy cluster"
                        % (host, reading["name"]))
    elif local.get("alarms"):
        problems.append("host %s: the cluster raises alarms %s; clear them first (maintenance playbook)"
                        % (host, ", ".join(local["alarms"])))
    release = read.get("version") or ""
    if release and not ADOPTABLE_FROM <= tuple(version_tuple(release)[:2]) <= ADOPTABLE_TO:
        problems.append("host %s: it runs etcd %s, which the collection does not handle (3.4 to 3.6); upgrade or "
                        "downgrade it with the tool that installed it first" % (host, release))
    problems += _unsafe_read_values(host, reading, read) + _container_problems(host, read, reading)
    if not reading["data_dir"]:
        problems.append("host %s: its etcd has no --data-dir (ETCD_DATA_DIR): etcd then keeps its data in %s.etcd "
                        "below its working directory; set ETCD_DATA_DIR to that path and restart it first"
                        % (host, reading["name"]))
    schemes = {url_parts(u)[0] for u in reading["advertise_peer_urls"] + reading["advertise_client_urls"]}
    if _adopted(read, inventory):
        if read.get("data_move"):
            problems.append("host %s: etcd_data_dir is %s, but its member, the collection's already, has its data in %s; "
                            "the adoption moves a data dir only while it takes a member over: set etcd_data_dir=%s"
                            % (host, read["data_move"]["target"], reading["data_dir"], reading["data_dir"]))
        return problems + _address_problems(record, reading)
    problems += _address_problems(record, reading) + _tls_problems(host, reading, schemes, inventory)
    problems += _move_problems(host, reading, read.get("data_move"))
    data_dir = (read.get("data_move") or {}).get("target") or reading["data_dir"]
    wal_problem = wal_parent_problem(data_dir, reading["wal_dir"])
    if wal_problem:
        problems.append("host %s: its etcd keeps its WAL in %s, directly in %s; with the member stopped, move it "
                        "there and point its --wal-dir at it first" % (host, reading["wal_dir"], wal_problem))
    if not read.get("unit") and not read.get("container"):
        problems.append("host %s: its etcd runs outside systemd; the collection takes over a member systemd runs, "
                        "so that its unit can be stopped and disabled: run it under a unit first" % host)
    user = _member_user(read, inventory)
    # A directory the collection's user owns is open to it: the parent of a WAL kept apart, which
    # the collection gives to that user on the first member's turn.
    owners = read.get("closed_parent_owners") or {}
    closed = [path for path in read.get("closed_parents") or [] if owners.get(path) != user]
    if user != read.get("user") and closed:
        problems.append("host %s: its etcd runs as %s and the collection will run it as %s, who cannot reach %s "
                        "(closed to other users: no x bit for others); make them searchable (chmod o+x) first"
                        % (host, read.get("user") or "an unknown user", user, ", ".join(closed)))
    return problems


# What a value read from a host may hold to be written into the inventory lines the operator keeps
# (inventory_lines): Ansible templates inventory values, so "{{ ... }}" there would run on the controller,
# and white space or quotes would end or change an INI line.
SAFE_INVENTORY_VALUE = re.compile(r"^[A-Za-z0-9._/@:+,=-]*$")


def _unsafe_read_values(host, reading, read):
    """Why the settings read from the host cannot go into the inventory lines as they are."""
    values = (("its etcd's data dir (ETCD_DATA_DIR)", reading["data_dir"]), ("its etcd's WAL dir (ETCD_WAL_DIR)",
              reading["wal_dir"]), ("the user its etcd runs as", read.get("user") or ""))
    return ["host %s: %s is %s, which holds characters an inventory line cannot keep as they are (white "
            "space, quotes, or Jinja's {{ {%% {#: Ansible would run them as a template on the controller); the adoption "
            "writes these values into the inventory lines to keep: rename it to letters, digits and . _ / @ : + , = - "
            "first" % (host, what, json.dumps(value)) for what, value in values if not SAFE_INVENTORY_VALUE.match(value)]


def _key_usage_problem(host, local, reading):
    """Python 3.13 (Debian 13) checks certificates strictly (VERIFY_X509_STRICT): it refuses a CA
    without keyUsage, which etcd and OpenSSL's own default accept."""
    ca = reading["tls_files"].get("ETCD_TRUSTED_CA_FILE") or "its trusted CA file"
    return ("host %s: its etcd answered at %s, but its CA certificate %s has no keyUsage extension, which the Python "
            "on this host (3.13 or later, as in Debian 13) refuses when it checks the member's certificate (%s), "
            "though etcd accepts it; so nothing could be read. Sign that CA certificate again with its own key, the "
            "same subject and keyUsage=critical,keyCertSign,cRLSign (every pair it signed stays valid: "
            "openssl x509 -in CA.crt -key CA.key -days N -extfile EXT -out CA-new.crt, EXT holding "
            "basicConstraints=critical,CA:TRUE, keyUsage=critical,keyCertSign,cRLSign and "
            "subjectKeyIdentifier=hash), put it in %s on every member, restart them one at a time and run again"
            % (host, local.get("endpoint"), ca, local["error"], ca))


def _tls_problems(host, reading, schemes, inventory):
    """Why the member's plaintext or TLS cannot be taken over as it is: partly TLS, a TLS member
    without every certificate setting, or with certificates the collection would have to replace."""
    if schemes == {"http"}:
        if reading["tls_files"]:
            return ["host %s: its etcd has certificate settings (%s) but serves plaintext URLs; adopt a cluster that "
                    "is plaintext or TLS throughout" % (host, ", ".join(sorted(reading["tls_files"])))]
        return []
    if schemes != {"https"}:
        return ["host %s: its etcd serves both schemes (peer URLs %s, client URLs %s); adopt a cluster that is "
                "plaintext or TLS throughout" % (
                    host, ", ".join(reading["advertise_peer_urls"]), ", ".join(reading["advertise_client_urls"]))]
    missing = [key for key in TLS_FILES if key not in reading["tls_files"]]
    if missing:
        return ["host %s: its etcd serves TLS without %s; the collection keeps a cluster's own certificates only "
                "with a CA and a pair for clients and for peers" % (host, ", ".join(missing))]
    return []


def _move_problems(host, reading, move):
    """Why the member's data cannot be renamed to etcd_data_dir while it is stopped."""
    if not move:
        return []
    if not move.get("same_filesystem"):
        return ["host %s: etcd_data_dir is %s, on another filesystem (a mount) than the member's data in %s: the move "
                "would copy the data, not rename it, while the member is stopped; set etcd_data_dir=%s (or leave it "
                "unset), or move the data there yourself before the adoption"
                % (host, move["target"], reading["data_dir"], reading["data_dir"])]
    if move.get("target_state") == "other":
        return ["host %s: etcd_data_dir is %s, which holds something already; the member's data in %s is moved only "
                "to a path that is absent or an empty directory" % (host, move["target"], reading["data_dir"])]
    return []


def _member_user(read, inventory):
    """The user the collection runs the member as: the one that runs it now, but never root, nor a
    container's (an ID of its own namespace, or root)."""
    if read.get("container") or read.get("user") in (None, "", "root"):
        return inventory.get("user") or "etcd"
    return read.get("user")


def _adopted(read, inventory):
    """Whether the running etcd is the collection's already: its unit reads the role's settings."""
    return bool(inventory.get("env_path")) and inventory["env_path"] in (read.get("env_files") or [])


def _address_problems(record, reading):
    host, problems = record["host"], []
    _scheme, address, peer_port = url_parts(reading["advertise_peer_urls"][0])
    wanted = url_parts(record["peer_url"])[1]
    if address != wanted:
        problems.append("host %s: its member advertises peer URL %s, not at the inventory's address %s; set "
                        "etcd_address=%s for %s" % (host, reading["advertise_peer_urls"][0], wanted, address, host))
    if not peer_port:
        problems.append("host %s: its peer URL %s names no port" % (host, reading["advertise_peer_urls"][0]))
    if not url_parts(reading["advertise_client_urls"][0])[2]:
        problems.append("host %s: its client URL %s names no port" % (host, reading["advertise_client_urls"][0]))
    return problems


def _cluster_problems(members, reads, upgrade_under_way=False):
    """The members of the running cluster the inventory lacks, hosts of another cluster, and members of
    different releases (but for two, with ``upgrade_under_way``: the upgrade to 3.5 of a run of this
    adoption that stopped halfway, which the next one finishes)."""
    problems, names = [], {m["name"] for m in members}
    clusters = {}
    for record in members:
        status = _local_answer(reads.get(record["host"]) or {}).get("status") or {}
        if status.get("cluster_id"):
            clusters.setdefault(status["cluster_id"], []).append(record["host"])
    if len(clusters) > 1:
        problems.append("the hosts belong to different clusters: %s; adopt one cluster per inventory" % "; ".join(
            "cluster %s: %s" % (cid, ", ".join(hosts)) for cid, hosts in sorted(clusters.items())))
    seen = {}
    for record in members:
        for member in _local_answer(reads.get(record["host"]) or {}).get("members") or []:
            seen.setdefault(member.get("name") or member.get("id_hex") or "?", member)
    for name, member in sorted(seen.items()):
        if name not in names:
            problems.append("member %s (peer URL %s) of the running cluster is not in the inventory: add its host "
                            "with NODE_NAME=%s, or remove the member first; every member is adopted together"
                            % (name, ", ".join(member.get("peer_urls") or []) or "none", name))
    versions = {read.get("version") for read in reads.values() if read.get("running") and read.get("version")}
    if len(versions) > (2 if upgrade_under_way else 1):
        problems.append("the members run different releases (%s); finish that upgrade first" % ", ".join(sorted(versions)))
    return problems


def _run_lock_problems(members, reads):
    """Another run of the collection in the cluster: its run lock held (the role's own refusal words,
    with the command that releases it), or not readable with the member's own credentials. A lock of
    a run that is gone (dead, or its lease expired) is no problem: the role takes it over."""
    for record in members:
        lock = _local_answer(reads.get(record["host"]) or {}).get("run_lock") or {}
        if lock.get("state") == "held":
            return ["host %s: %s" % (record["host"], lock["refusal"])]
        if lock.get("state") == "unread":
            return ["host %s: the run lock %s could not be read with the member's own certificates (%s), so whether "
                    "another run of the collection holds it is unknown" % (record["host"], lock["key"], lock["error"])]
    return []


def asked(settings, pki_files=()):
    """What the inventory asks of an adoption (adopt_plan's ``inventory``), from the play's role
    settings (``settings``: etcd_instance, etcd_config_dir, etcd_tls, etcd_version, etcd_pki_managed,
    etcd_user; None or '' where the inventory leaves them unset: the role's defaults then) and
    ``pki_files``, the names of the files in etcd_pki_dir on the controller."""
    def given(key, default):
        value = settings.get(key)
        return default if value is None or value == "" else value

    instance = given("etcd_instance", "etcd")
    return dict(unit=instance + ".service", env_path=given("etcd_config_dir", "/etc/" + instance) + "/etcd.env",
                tls=given("etcd_tls", True), version=str(given("etcd_version", "")),
                pki_managed=given("etcd_pki_managed", True), user=given("etcd_user", instance),
                pki_files=sorted(pki_files))


def plan_adoption(members, reads, inventory=None):
    """The adoption of the cluster the inventory's ``members`` (the validated records of filter
    members) run, from each host's read (``reads``: host -> etcd_adopt_info's result; a host missing
    there did not answer). ``inventory``: what the inventory asks (unit: the collection's unit name,
    env_path: the role's settings file, tls: etcd_tls, version: etcd_version when set, default_version:
    the role's default etcd_version).

    Returns refusal ('' when the adoption may go on, else every problem, each naming its host, and
    that nothing was changed), lines (host -> what stays, moves and restarts), hosts (host -> the role
    settings that keep the member's data, ports and user as they are), version (the release the
    members run, which the collection installs; for a plaintext cluster on 3.4, the 3.5 release it is
    upgraded to), cluster_id, phase (take_over, or move when every member is the collection's and
    serves TLS already) and upgrade_first ({} unless a plaintext cluster on 3.4 goes to 3.5 before its
    move to TLS: release, the one it runs, to, take_over: whether a member is not the collection's yet).
    """
    inventory = inventory or {}
    reads = reads or {}
    problems = []
    if reads and not [h for h, r in reads.items() if not r.get("failed") and not r.get("unreachable")]:
        problems.append("no host answered")
    if not truthy(inventory.get("tls", True)):
        problems.append("etcd_tls is false, but an adopted cluster ends with TLS and client and peer certificate "
                        "auth like every cluster of the collection; leave etcd_tls unset")
    for record in members:
        read = reads.get(record["host"])
        if read is None or read.get("failed") or read.get("unreachable") or "running" not in read:
            problems.append("host %s: its read failed or it is unreachable (%s), so nothing can be decided about its "
                            "member" % (record["host"], (read or {}).get("msg") or "see above"))
            continue
        problems += _host_problems(record, read, inventory)
    adopted = [m["host"] for m in members if _adopted(reads.get(m["host"]) or {}, inventory)]
    # tls_move: a plaintext cluster, moved to TLS by a second roll; a TLS cluster keeps its
    # certificates and is taken over in one (a run stopped halfway goes on from its members' state).
    plain = [m["host"] for m in members if m["host"] not in adopted and member_reading(
        (reads.get(m["host"]) or {}).get("settings") or {})["advertise_peer_urls"][0].startswith("http://")]
    plain_only = _plaintext_only(members, reads, adopted)
    upgrade = _upgrade_first(members, reads, inventory, adopted, plain_only) if plain or plain_only else {}
    problems += upgrade.get("problems", [])
    problems += _cluster_problems(members, reads, upgrade.get("under_way", False)) + _run_lock_problems(members, reads)
    running = [reads[m["host"]] for m in members if (reads.get(m["host"]) or {}).get("running")]
    version = upgrade.get("to") or next((r.get("version") for r in running if r.get("version")), "")
    if inventory.get("version") and version and str(inventory["version"]) != version and not upgrade:
        problems.append("etcd_version is %s, but the cluster runs %s; adoption keeps the release: leave etcd_version "
                        "unset, and upgrade once the cluster is adopted (upgrade playbook)" % (inventory["version"], version))
    moved = [m["host"] for m in members if m["host"] in adopted and member_reading(
        reads[m["host"]].get("settings") or {})["advertise_peer_urls"][0].startswith("https://")]
    if moved and (plain or plain_only):
        problems.append("hosts %s are the collection's and serve TLS already, but %s not: an adoption cannot go on "
                        "from there; see docs/adopt.md, the way back" % (", ".join(moved), ", ".join(
                            m["host"] for m in members if m["host"] in plain + plain_only)))
    # take_over: the role takes each member over (a plaintext one serving TLS beside plaintext, then
    # moved to TLS; one the collection took over in plaintext, for its upgrade to 3.5, too); move:
    # every member is the collection's and serves TLS already (a re-run, or a run stopped between the two).
    plan = dict(refusal="", lines={}, hosts={}, take_over={}, version=version, cluster_id="",
                phase="move" if len(adopted) == len(members) and not plain_only else "take_over",
                tls_move=bool(plain or plain_only), rotate_ca=False,
                upgrade_first={})
    if plain and len(plain) < len(members) - len(adopted):
        problems.append("hosts %s serve plaintext, the others TLS: adopt a cluster that is plaintext or TLS "
                        "throughout" % ", ".join(plain))
    if problems:
        plan["refusal"] = "; ".join(problems) + "; nothing was changed"
        return plan
    plan["upgrade_first"] = {key: upgrade[key] for key in ("release", "to", "take_over")} if upgrade else {}
    # A TLS cluster's own CA (taken over now, or in etcd_pki_dir without its key) replaced by the
    # collection's: the role starts the CA rotation (etcd_pki_rotation; one under way goes on by itself).
    pki_files = inventory.get("pki_files") or []
    plan["rotate_ca"] = (not plan["tls_move"] and truthy(inventory.get("pki_managed", True)) and "ca-key.pem" not in pki_files
                         and ("ca.pem" in pki_files or len(adopted) < len(members)))
    leader_id = _local_answer(running[0]).get("status", {}).get("leader_id")
    plan["cluster_id"] = _local_answer(running[0]).get("status", {}).get("cluster_id", "")
    for record in members:
        read = reads[record["host"]]
        reading = member_reading(read["settings"])
        status = _local_answer(read).get("status") or {}
        user = _member_user(read, inventory)
        move = read.get("data_move") if record["host"] not in adopted else None
        plan["hosts"][record["host"]] = dict(
            etcd_data_dir=move["target"] if move else reading["data_dir"],
            etcd_wal_dir=reading["wal_dir"],
            etcd_user=user,
            etcd_peer_port=url_parts(reading["advertise_peer_urls"][0])[2],
            etcd_client_port=url_parts(reading["advertise_client_urls"][0])[2],
        )
        leader = status.get("member_id") == leader_id
        if record["host"] in adopted:
            plan["lines"][record["host"]] = [
                "member %s, cluster %s: the collection's already (its unit reads %s); the role converges it%s%s"
                % (record["name"], plan["cluster_id"], inventory["env_path"],
                   ", " + ROTATION_LINE if plan["rotate_ca"] else "",
                   _plaintext_steps_left(plan["upgrade_first"]) if record["host"] in plain_only else "")]
            continue
        plan["take_over"][record["host"]] = _take_over(record, read, reading, inventory, user)
        plan["lines"][record["host"]] = _member_lines(record, read, reading, leader, plan["take_over"][record["host"]],
                                                      user, plan["rotate_ca"])
        if plan["upgrade_first"]:
            plan["lines"][record["host"]][-1:] = _upgrade_lines(plan["upgrade_first"])
    return plan


def _upgrade_lines(upgrade):
    """A plaintext member's upgrade (a release before 3.5.16) before its move to TLS, and its restarts
    (in place of the take-over's two)."""
    return [
        "upgrades: etcd %s -> %s in plaintext, by the collection's upgrade roll (a snapshot first), before the move "
        "to TLS: etcd before 3.5.16 cannot serve plaintext and TLS callers on one client port" % (upgrade["release"], upgrade["to"]),
        "restarts: four times, one member at a time after a health and catch-up gate, the leader last: taken over "
        "in plaintext on %s, upgraded to %s, then to serve TLS beside plaintext, then to drop plaintext (its peer URL "
        "moves to https right before)" % (upgrade["release"], upgrade["to"]),
    ]


def _plaintext_steps_left(upgrade):
    """What follows the converge of a member the collection took over in plaintext (a run stopped halfway)."""
    return "; then %sit serves TLS beside plaintext, and moves to TLS" % (
        "the members on %s are upgraded to %s in plaintext, " % (upgrade["release"], upgrade["to"]) if upgrade else "")


ROTATION_LINE = ("moves: the cluster's own CA and pairs -> the collection's, through the CA rotation's trust window "
                 "(docs/pki.md): members trust both CAs keeping their pairs, then get the collection's pairs, then "
                 "trust the collection's CA only; the old CA's key is never needed")
# The role's defaults that an adoption may set otherwise (roles/etcd/defaults/main.yml), in the
# order the lines give them.
KEPT_SETTINGS = ("etcd_version", "etcd_data_dir", "etcd_wal_dir", "etcd_user", "etcd_peer_port", "etcd_client_port",
                 "etcd_pki_managed", "etcd_pki_dir")


def inventory_lines(plan, members, used, defaults):
    """The inventory lines an operator keeps after an adoption: what the adoption ran each member with
    (``plan``'s hosts and version, and ``used``: etcd_pki_managed, etcd_pki_dir as the run had them)
    where it differs from the role's ``defaults`` (as the inventory's hosts would get them), so that
    the etcd playbook and the others find the members as they are. A value the same on every host
    goes under [GROUP:vars]; ``members``: the inventory's member records (host, name)."""
    values = {}
    for record in members:
        host = record["host"]
        values[host] = dict(plan["hosts"].get(host) or {}, etcd_version=plan.get("version"),
                            etcd_pki_managed=truthy(used.get("etcd_pki_managed", True)),
                            etcd_pki_dir=used.get("etcd_pki_dir"))
    differ = {}
    for key in KEPT_SETTINGS:
        default = defaults.get(key)
        if key == "etcd_pki_managed":
            default = truthy(default if default is not None else True)
        for host, kept in values.items():
            if kept.get(key) is not None and str(kept[key]) != str(default if default is not None else ""):
                differ.setdefault(key, {})[host] = kept[key]
    hosts = [r["host"] for r in members]
    shared = [k for k in KEPT_SETTINGS if k in differ and len(differ[k]) == len(hosts)
              and len({str(v) for v in differ[k].values()}) == 1]
    lines = ["[%s:vars]" % used.get("group", "etcd")] if shared else []
    lines += ["%s=%s" % (k, _ini_value(differ[k][hosts[0]])) for k in shared]
    lines.append("[%s]" % used.get("group", "etcd"))
    for record in members:
        own = ["%s=%s" % (k, _ini_value(differ[k][record["host"]])) for k in KEPT_SETTINGS
               if k in differ and k not in shared and record["host"] in differ[k]]
        lines.append(" ".join([record["host"], "NODE_NAME=%s" % record["name"], *own]))
    return lines


def _ini_value(value):
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _take_over(record, read, reading, inventory, user):
    """What the adopt playbook does for the member beside the role: old_unit, another unit that runs
    it now (stopped by the collection's unit's start, then disabled); move, its data dir renamed to
    etcd_data_dir at that start (source, target, empty: the target is an empty directory); chown, the dirs to give the
    collection's user at that start (its user was root); container, the container that runs it now
    (stopped by that start, removed once the adoption ends: _container_take_over); pki_files, etcd_pki_dir's file name -> the
    member's file, the cluster's own certificates kept (etcd_pki_managed=false)."""
    wanted_unit = inventory.get("unit") or "etcd.service"
    files = reading["tls_files"]
    move = read.get("data_move")
    data_dir = move["target"] if move else reading["data_dir"]
    return dict(
        name=record["name"],
        old_unit=read["unit"] if read.get("unit") != wanted_unit else "",
        move=dict(source=reading["data_dir"], target=move["target"], empty=move["target_state"] == "empty") if move else {},
        chown=[d for d in (data_dir, reading["wal_dir"]) if d] if user != read.get("user") else [],
        container=_container_take_over(read),
        pki_files={} if reading["advertise_peer_urls"][0].startswith("http://") else {
            "ca.pem": files["ETCD_TRUSTED_CA_FILE"],
            record["name"] + ".pem": files["ETCD_CERT_FILE"],
            record["name"] + "-key.pem": files["ETCD_KEY_FILE"],
            record["name"] + "-peer.pem": files["ETCD_PEER_CERT_FILE"],
            record["name"] + "-peer-key.pem": files["ETCD_PEER_KEY_FILE"],
        })


def _plaintext_only(members, reads, adopted):
    """The members the collection took over in plaintext, serving no TLS yet (the upgrade to 3.5 of
    a cluster on 3.4 comes before its move to TLS): their peer URL plaintext, no certificate setting."""
    readings = [(m["host"], member_reading(reads[m["host"]].get("settings") or {})) for m in members if m["host"] in adopted]
    return [host for host, reading in readings
            if reading["advertise_peer_urls"][0].startswith("http://") and not reading["tls_files"]]


def _release_line(release):
    """(major, minor) of a release, None for one that is none (unread, mistyped)."""
    try:
        return tuple(version_tuple(release)[:2])
    except ValueError:
        return None


def _before_take_over(release):
    """Whether a release (unread or mistyped: yes) cannot serve plaintext and TLS on one client port."""
    try:
        return tuple(version_tuple(release)[:3]) < TAKE_OVER_FROM
    except ValueError:
        return True


def _upgrade_first(members, reads, inventory, adopted, plain_only):
    """How a plaintext cluster before 3.5.16 gets there before its move to TLS ({} when it needs not):
    release, the release it runs, which the collection's unit runs first; to, the 3.5 release
    the collection's roll upgrades it to (etcd_version, else the one members run already after a run
    stopped halfway, else the role's default, inventory's default_version); take_over, whether some
    member is not the collection's yet; under_way, members of both releases; problems, why it cannot
    go on, each naming what to set."""
    releases = {m["host"]: (reads.get(m["host"]) or {}).get("version") or "" for m in members
                if (_local_answer(reads.get(m["host"]) or {}).get("status") or {}).get("leader_id")}
    old = sorted({r for r in releases.values() if _before_take_over(r)})
    if not old:
        return {}
    unknown = [host for host, release in releases.items() if _release_line(release) is None]
    if unknown:
        return dict(problems=["hosts %s: the release their etcd runs could not be read, and a plaintext cluster "
                              "before 3.5.16 is upgraded before its move to TLS: run again once they answer with it"
                              % ", ".join(unknown)])
    newer = sorted({r for r in releases.values() if r not in old})
    under_way = bool(newer) and len(plain_only) == len(members) == len(adopted)
    asked_for = str(inventory.get("version") or "")
    to = newer[0] if newer else asked_for or str(inventory.get("default_version") or "")
    why = ("a plaintext cluster on etcd %s is upgraded to 3.5.16 or later before its move to TLS (etcd before 3.5.16 "
           "cannot serve plaintext and TLS callers on one client port, and etcd upgrades one minor version at a time)"
           % old[0])
    if newer and asked_for and asked_for != newer[0]:
        problems = ["etcd_version is %s, but members run %s already: a run of this adoption upgraded them, and the "
                    "next goes on to the same release; leave etcd_version unset or set it to %s"
                    % (asked_for, newer[0], newer[0])]
    elif (_release_line(to) != TAKE_OVER_FROM[:2] or _before_take_over(to)) and not newer:
        problems = ["%s is %s, but %s: set etcd_version to a 3.5 release, 3.5.16 or later%s" % (
            "etcd_version" if asked_for else "the role's default etcd_version", to or "unset", why,
            " (the role's default is %s)" % inventory["default_version"] if asked_for and inventory.get("default_version")
            else "")]
    else:
        problems = []
    problems += _auth_upgrade_problems(members, reads, old)
    return dict(release=old[0], to=to, take_over=len(adopted) < len(members), under_way=under_way, problems=problems)


def _auth_upgrade_problems(members, reads, old):
    """A cluster on 3.4 with RBAC auth on (etcd_adopt_info's auth_enabled), which the upgrade to 3.5 would
    roll: etcd does not support that with auth on, as a 3.5 member logs the hash of a password a user is
    added or changed with, which the 3.4 members would apply as an empty password."""
    if not any(_release_line(release) == ADOPTABLE_FROM for release in old):
        return []
    hosts = [m["host"] for m in members if _local_answer(reads.get(m["host"]) or {}).get("auth_enabled")]
    if not hosts:
        return []
    return ["hosts %s: the cluster has auth (RBAC) enabled, and a plaintext cluster on etcd %s is upgraded to 3.5 before "
            "its move to TLS, which etcd does not support with auth on (3.5 logs a password's hash where 3.4 applies the "
            "password: a user added or a password changed during the roll would differ between members); turn auth off "
            "(etcdctl --user root auth disable), adopt the cluster, then turn auth on again (docs/access.md)"
            % (", ".join(hosts), old[0])]


def _member_lines(record, read, reading, leader, take_over, user, rotate_ca):
    peer, client = reading["advertise_peer_urls"][0], reading["advertise_client_urls"][0]
    owner = "owned by %s" % user if not take_over["chown"] else "owned by %s -> by %s, as the collection runs etcd (at its start)" % (
        read["user"], user)
    lines = [
        "member %s, cluster %s%s" % (record["name"], (_local_answer(read).get("status") or {}).get("cluster_id", "?"),
                                     ", the leader: restarted last" if leader else ""),
        "%s%s, %s; the member's name, ID and place in the cluster" % (
            "moves: the data %s -> %s, renamed (one filesystem) while the member is stopped for its take-over" % (
                reading["data_dir"], take_over["move"]["target"]) if take_over["move"] else
            "stays: the data in %s" % reading["data_dir"],
            " (WAL in %s)" % reading["wal_dir"] if reading["wal_dir"] else "", owner),
        _container_line(read, reading, take_over["container"], user) if take_over["container"] else
        "moves: binaries %s -> the collection's etcd %s; unit %s%s -> the collection's %s%s; settings from %s -> the "
        "collection's" % (
            read.get("exe") or "?", read.get("version") or "?", read.get("unit"),
            " (%s)" % read["unit_path"] if read.get("unit_path") else "",
            "unit" if take_over["old_unit"] else read.get("unit"),
            " (the old one stopped at its start, then disabled, kept on disk)" if take_over["old_unit"]
            else " (the old one stays on disk, shadowed, never started again)",
            ", ".join(read.get("env_files") or []) or "its command line"),
    ]
    if take_over["pki_files"] and rotate_ca:
        return [
            *lines,
            "stays until the collection's pairs replace them: the cluster's own CA and pairs (%s), copied into etcd_pki_dir "
            "as %s where not there yet; client and peer certificate auth on" % (
                ", ".join(sorted(set(take_over["pki_files"].values()))), ", ".join(sorted(take_over["pki_files"]))),
            ROTATION_LINE,
            "restarts: three times, one member at a time after a health and catch-up gate, the leader last: taken "
            "over trusting both CAs, with the collection's pairs, trusting the collection's CA only",
        ]
    if take_over["pki_files"]:
        return [
            *lines,
            "stays: TLS with the cluster's own CA and pairs (%s), copied into etcd_pki_dir as %s where not there yet, "
            "and onto the member in the collection's place; client and peer certificate auth on" % (
                ", ".join(sorted(set(take_over["pki_files"].values()))), ", ".join(sorted(take_over["pki_files"]))),
            "restarts: once, one member at a time after a health and catch-up gate, the leader last",
        ]
    return [
        *lines,
        "moves: plaintext -> TLS with client and peer certificate auth: peer URL %s -> %s, client URL %s -> %s" % (
            peer, peer.replace("http://", "https://", 1), client, client.replace("http://", "https://", 1)),
        "restarts: twice, one member at a time after a health and catch-up gate, the leader last: first to serve "
        "TLS beside plaintext, then to drop plaintext (its peer URL moves to https right before)",
    ]


def adopt_plan(members, reads, settings=None, defaults=None, pki_files=()):
    """The adoption's plan (plan_adoption) with what the inventory asks (``settings``: the play's role
    settings, etcd_group among them, and etcd_adopt_plan_only, true where only the plan was asked for;
    ``pki_files``, the names of the files in etcd_pki_dir on the controller), how the playbook carries
    it out (carrying_out) and the inventory lines to keep once it is carried out (``inventory_lines``,
    against the role's ``defaults``, whose etcd_version a plaintext cluster on 3.4 is upgraded to where
    etcd_version is unset): the stage adoption of the action raftops.etcd.etcd_plan, which reads them."""
    if not isinstance(reads, dict):
        raise ValueError("adopt_plan: reads must be a dict of host -> the result of etcd_adopt_info")
    settings, members = dict(settings or {}), list(members or [])
    pki_dir = settings.get("etcd_pki_dir") or ""
    inventory = dict(asked(settings, pki_files), default_version=str((defaults or {}).get("etcd_version") or ""))
    plan = plan_adoption(members, reads, inventory)
    plan.update(carrying_out(plan, members, inventory, pki_dir, truthy(settings.get("etcd_adopt_plan_only"))))
    managed = settings.get("etcd_pki_managed")
    used = dict(group=settings.get("etcd_group") or "etcd", etcd_pki_dir=pki_dir,
                etcd_pki_managed=True if managed is None or managed == "" else managed)
    plan["inventory_lines"] = inventory_lines(plan, members, used, dict(defaults or {}))
    return plan


def carrying_out(plan, members, inventory, pki_dir, plan_only):
    """How the adopt playbook carries ``plan`` out: plan_only (only the plan was asked for);
    plays (plain_take_over, upgrade: a plaintext cluster on 3.4 taken over at its release, then upgraded
    to 3.5, both in plaintext; take_over, tls_move, retire: the hosts each later play runs on, none where
    the plan is not carried out: only asked for or refused); tls_transition (etcd_tls_transition of the
    take-over); drop_in_path (the take-over's drop-in of the collection's unit); pki_dir (etcd_pki_dir
    on the controller); steps (host -> what the playbook does on it beside the role, nothing where the
    plan is not carried out or the member is the collection's already)."""
    hosts = [record["host"] for record in members]
    go = not plan_only and not plan["refusal"]
    taking_over = plan["phase"] == "take_over"
    steps = {}
    for host in hosts:
        take_over = plan["take_over"].get(host) if go else None
        steps[host] = _host_steps(take_over, host == hosts[0], (plan["hosts"].get(host) or {}).get("etcd_user"),
                                  inventory, pki_dir) if take_over else dict(
            drop_in="", move={}, pki_fetch=[], pki_keys=[], pki_place="", pki_copies=[])
    return dict(
        plan_only=plan_only,
        plays=dict(plain_take_over=hosts if go and plan["upgrade_first"].get("take_over") else [],
                   upgrade=hosts if go and plan["upgrade_first"] else [],
                   take_over=hosts if go and taking_over else [],
                   tls_move=hosts if go and (not taking_over or plan["tls_move"]) else [],
                   retire=hosts if go else []),
        tls_transition="both" if taking_over and plan["tls_move"] else "none",
        drop_in_path="/etc/systemd/system/%s.d/adopt.conf" % inventory["unit"],
        pki_dir=pki_dir,
        steps=steps)


def _host_steps(take_over, first, user, inventory, pki_dir):
    """What the playbook does on a member it takes over, before the role: drop_in, the content of the
    take-over's drop-in ('' when it needs none); move, its data dir's rename (_take_over); pki_fetch
    (src on the member, dest in etcd_pki_dir: the member's own certificates where etcd_pki_dir has none,
    the CA from the first member only: the others' are the same file); pki_keys (the private keys in
    etcd_pki_dir); pki_place and pki_copies (the member's own CA and server pair put where the role's
    calls to the cluster look for them, before the role writes the same files there)."""
    files = take_over["pki_files"]
    place = os.path.dirname(inventory["env_path"]) + "/pki" if files else ""
    name = take_over["name"]
    return dict(
        drop_in=_drop_in(take_over, user, inventory["env_path"]),
        move=take_over["move"],
        pki_fetch=[dict(src=src, dest=pki_dir + "/" + key) for key, src in files.items()
                   if (first or key != "ca.pem") and key not in inventory["pki_files"]],
        pki_keys=[pki_dir + "/" + key for key in files if key.endswith("-key.pem")],
        pki_place=place,
        pki_copies=[dict(src=files[key], dest=place + "/" + dest, mode=mode) for key, dest, mode in (
            ("ca.pem", "ca.pem", "0644"), (name + ".pem", "server.pem", "0644"), (name + "-key.pem", "server-key.pem", "0600"))
        ] if files else [],
    )


def _drop_in(take_over, user, env_path):
    """The take-over's drop-in of the collection's unit ('' when the member needs none): its start
    stops the other unit that ran the member (Conflicts= with an ordering), renames the data dir to
    etcd_data_dir in the host's mount namespace (in the unit's, ReadWritePaths= has made the data dir a
    mount point, which rename(2) refuses with EBUSY) only under the collection's settings, and gives
    the data to the collection's user (ExecStartPre=+ runs as root); a container that ran the member is
    stopped first (_container_stop_lines)."""
    old_unit, move, chown, container = take_over["old_unit"], take_over["move"], take_over["chown"], take_over["container"]
    if not (old_unit or move or chown or container):
        return ""
    lines = ["# raftops.etcd adopt playbook: the take-over of this member (removed when the adoption ends)."]
    if old_unit:
        lines += ["[Unit]", "Conflicts=" + old_unit, "After=" + old_unit]
    lines += _container_unit_lines(container) if container else []
    lines.append("[Service]")
    lines += _container_stop_lines(container) if container else []
    if move:
        target, source = shlex.quote(move["target"]), shlex.quote(move["source"])
        lines += ["ExecStartPre=+/usr/bin/nsenter -t 1 -m -- /bin/sh -c \\",
                  '  "if [ -L %s ] && grep -qx %s %s; then rm %s && mv %s %s; fi"' % (
                      target, shlex.quote("ETCD_DATA_DIR=" + move["target"]), shlex.quote(env_path), target, source, target)]
    if chown:
        lines.append("ExecStartPre=+/bin/chown -R %s:%s %s" % (user, user, " ".join(shlex.quote(path) for path in chown)))
    return "\n".join(lines) + "\n"


# The drop-in's key that names the container that ran a member before (systemd ignores keys that
# begin with X-): the adopt playbook's last play removes that container, also after a run stopped
# halfway.
CONTAINER_KEY = "X-Adopt-Container"


def _container_problems(host, read, reading):
    """Why the container that runs the member (docker run, podman run: etcd_adopt_info's container)
    cannot be taken over: a runtime the host does not have (or a container that cannot be read), a
    systemd unit that runs it, data that lives only inside it, a named volume the data would stay
    in, a port mapping under which the member advertises other ports than its etcd listens on."""
    box = read.get("container")
    if not box:
        return []
    if box.get("error"):
        return ["host %s: its etcd runs in a %s container (%s), but %s; the adoption reads the container's config, stops "
                "it and removes it with %s's own command: install that runtime's command on the host first" % (
                    host, box["runtime"], box["id"][:12], box["error"], box["runtime"])]
    what = "its %s container %s" % (box["runtime"], box["name"])
    if box.get("systemd_unit"):
        return ["host %s: %s is run by the systemd unit %s (podman's %s label), which the adoption does not take over "
                "yet: stop and disable that unit and start the container with podman run first" % (
                    host, what, box["systemd_unit"], "PODMAN_SYSTEMD_UNIT")]
    problems = []
    inside = box.get("inside_only") or []
    paths = box.get("paths") or {}
    data = [key for key in ("ETCD_DATA_DIR", "ETCD_WAL_DIR") if key in inside]
    if data:
        problems.append("host %s: %s keeps its data (%s) only inside itself, on no volume or bind mount: the data goes "
                        "with the container. With the member stopped, copy it to the host (%s cp %s:%s /var/lib/etcd) "
                        "and start the container again with that directory mounted (-v /var/lib/etcd:%s), then run "
                        "the adoption again" % (
                            host, what, ", ".join("%s %s" % (key, paths[key]) for key in data), box["runtime"],
                            box["name"], paths[data[0]], paths[data[0]]))
    files = [key for key in inside if key not in data]
    if files:
        problems.append("host %s: %s has %s only inside itself, on no volume or bind mount, where the collection cannot "
                        "copy it from: mount it from the host first" % (
                            host, what, ", ".join("%s %s" % (key, paths[key]) for key in files)))
    for key in ("ETCD_DATA_DIR", "ETCD_WAL_DIR"):
        mount = mount_of(paths[key], box["mounts"]) if key in paths and key not in inside else None
        if mount and mount["type"] == "volume" and (key == "ETCD_WAL_DIR" or not read.get("data_move")):
            problems.append("host %s: %s keeps %s in its volume %s (%s), which goes with a removal of the container "
                            "(rm -v) or a volume prune: %s" % (
                                host, what, key, mount["name"], reading["data_dir" if key == "ETCD_DATA_DIR" else "wal_dir"],
                                "set etcd_data_dir to where the adoption moves the data, on the same filesystem "
                                "(such as /var/lib/etcd)" if key == "ETCD_DATA_DIR" else
                                "with the member stopped, move the WAL into its data dir's volume, or onto the host, "
                                "first"))
    return problems + _port_mapping_problems(host, what, box, reading)


def _port_mapping_problems(host, what, box, reading):
    """A container on a network of its own (bridge) whose member advertises ports other than its
    etcd listens on (a mapping -p HOST:CONTAINER with two ports): the collection's etcd listens on the
    host where it advertises, so the member's URLs would change."""
    if box["network"] in ("host", ""):
        return []
    ports = box.get("ports") or {}
    advertised = [("peer", reading["advertise_peer_urls"][0]), ("client", reading["advertise_client_urls"][0])]
    moved = [(kind, url) for kind, url in advertised if url_parts(url)[2] not in (ports.get(str(url_parts(url)[2])) or [])]
    if not moved:
        return []
    return ["host %s: %s (network %s) publishes its ports as %s (container -> host), but its member advertises %s: the "
            "collection's etcd listens on the host at the ports the member advertises, so with this mapping its URLs "
            "would change; publish each of etcd's ports at the same host port (-p 2380:2380 -p 2379:2379) or run it "
            "on the host's network (--network host) first" % (
                host, what, box["network"], ", ".join("%s -> %s" % (port, ", ".join(str(p) for p in hosts) or "none")
                                                      for port, hosts in sorted(ports.items())) or "none",
                " and ".join("%s URL %s" % (kind, url) for kind, url in moved))]


def _container_take_over(read):
    """The container that runs the member, as the take-over's drop-in stops it ({} when none does):
    runtime, command (its program on the host), name."""
    box = read.get("container")
    return dict(runtime=box["runtime"], command=box["command"], name=box["name"]) if box else {}


def _container_line(read, reading, container, user):
    """The plan's line for a member a container runs: the container goes, the collection's unit runs it."""
    box = read["container"]
    mounts = ", ".join("its %s on the host's %s" % (path, host_path) for path, host_path in (
        (box["paths"].get("ETCD_DATA_DIR"), reading["data_dir"]), (box["paths"].get("ETCD_WAL_DIR"), reading["wal_dir"]))
        if path)
    return ("moves: %s container %s (image %s, network %s, %s) -> the collection's etcd %s, binaries and unit, run as %s: "
            "the container is stopped at the unit's start and removed once every member serves from its unit (%s rm, "
            "its volumes kept)" % (container["runtime"], container["name"], box["image"], box["network"], mounts,
                                   read.get("version") or "?", user, container["runtime"]))


def _container_unit_lines(container):
    return ["[Unit]", "%s=%s %s" % (CONTAINER_KEY, container["command"], container["name"])]


def _container_stop_lines(container):
    """The container stopped before the collection's etcd starts (it holds the member's ports and
    data); its failure is ignored, as the container may be gone (removed by a run stopped before its
    drop-in went). Docker would start a container of restart policy always again when its daemon
    restarts: that policy goes first."""
    command, name = shlex.quote(container["command"]), shlex.quote(container["name"])
    lines = ["ExecStartPre=-+%s update --restart=no %s" % (command, name)] if container["runtime"] == "docker" else []
    return [*lines, "ExecStartPre=-+%s stop --time 60 %s" % (command, name)]
