# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The client access tier (roles/etcd_proxy, docs/proxy.md): the proxy's command line, and the
refusals the role asserts before any proxy host changes. The role only calls these and acts.

Flags are those of ``etcd grpc-proxy start --help`` and ``etcd gateway start --help`` of etcd 3.5.
"""

import json
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError, AnsibleUndefinedVariable
from jinja2 import Undefined

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_versions import truthy

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).

MODES = ("grpc", "gateway")
WILDCARDS = ("0.0.0.0", "::")
# What proxy_args reads; every key is required (the role passes them all).
ARG_KEYS = ("mode", "binary", "listen_address", "port", "tls", "crl", "pki_dir", "data_dir", "namespace",
            "resolver_prefix", "resolver_ttl", "advertise_address", "metrics_port", "retry_delay",
            "discovery_srv", "discovery_srv_name")
# Settings proxies must share with the members: another value would make another CA (etcd_pki_dir),
# speak the wrong scheme (etcd_tls), name another cluster's files (etcd_instance) or switch the
# binaries of a host that is also a member (etcd_version).
SHARED = ("etcd_instance", "etcd_version", "etcd_tls", "etcd_pki_dir")


def _fail(name, text):
    raise AnsibleFilterError("raftops.etcd.%s: %s" % (name, text))


def host_port(address, port):
    """``address:port``, an IPv6 address in brackets."""
    address = str(address)
    return "%s:%d" % ("[%s]" % address if ":" in address else address, int(port))


def _client_urls(members):
    if isinstance(members, (str, Mapping)) or not members:
        _fail("proxy_args", "the members must be a non-empty list of member records (raftops.etcd.members), not %r"
              % (members,))
    urls = []
    for member in members:
        if not isinstance(member, Mapping) or not member.get("client_url"):
            _fail("proxy_args", "a member record without client_url: %r" % (member,))
        urls.append(str(member["client_url"]))
    return urls


def proxy_args(members, settings):
    """The proxy's command line (argv) for the members' client URLs; see plugins/filter/proxy_args.yml."""
    urls = _client_urls(members)
    if not isinstance(settings, Mapping):
        _fail("proxy_args", "the settings must be a dict, not %r" % (settings,))
    missing = [k for k in ARG_KEYS if k not in settings]
    unknown = sorted(set(settings) - set(ARG_KEYS))
    if missing or unknown:
        _fail("proxy_args", "settings lack %s%s" % (", ".join(missing) or "nothing",
                                                    ("; unknown keys " + ", ".join(unknown)) if unknown else ""))
    mode = settings["mode"]
    if mode not in MODES:
        _fail("proxy_args", "mode %r is not one of %s" % (mode, ", ".join(MODES)))
    listen = host_port(settings["listen_address"], settings["port"])
    tls = truthy(settings["tls"])
    if mode == "gateway":
        # An L4 passthrough: it forwards TCP to host:port, TLS and all, and never reads a certificate.
        upstream = _discovery_args(settings, "--trusted-ca-file") or \
            ["--endpoints=" + ",".join(urlsplit(url).netloc for url in urls)]
        return [settings["binary"], "gateway", "start", *upstream,
                "--listen-addr=" + listen,
                "--retry-delay=" + str(settings["retry_delay"])]
    upstream = _discovery_args(settings) or ["--endpoints=" + ",".join(urls)]
    argv = [settings["binary"], "grpc-proxy", "start", *upstream,
            "--listen-addr=" + listen,
            "--data-dir=" + settings["data_dir"]]
    if tls:
        pki = settings["pki_dir"]
        argv += [
            # Upstream: the members, with the proxy's own client certificate (no CN).
            "--cacert=%s/ca.pem" % pki, "--cert=%s/client.pem" % pki, "--key=%s/client-key.pem" % pki,
            # Its listener: TLS with its server certificate; a trusted CA turns client-cert auth on.
            "--cert-file=%s/server.pem" % pki, "--key-file=%s/server-key.pem" % pki,
            "--trusted-ca-file=%s/ca.pem" % pki,
        ]
        if truthy(settings["crl"]):
            # The members' revocation list, read again for every new client connection as etcd does:
            # a revoked client is refused here too, not served with the proxy's own pair upstream.
            argv.append("--client-crl-file=%s/crl.pem" % pki)
    if settings["namespace"]:
        argv.append("--namespace=" + settings["namespace"])
    if settings["resolver_prefix"]:
        advertise = settings["advertise_address"] or settings["listen_address"]
        argv += ["--resolver-prefix=" + settings["resolver_prefix"],
                 "--resolver-ttl=%d" % int(settings["resolver_ttl"]),
                 "--advertise-client-url=" + host_port(advertise, settings["port"])]
    if int(settings["metrics_port"] or 0) > 0:
        # Plain http on loopback only, like the members' /metrics (docs/monitoring.md).
        argv.append("--metrics-addr=http://127.0.0.1:%d" % int(settings["metrics_port"]))
    return argv


def _discovery_args(settings, ca_flag=None):
    """etcd's own DNS SRV discovery instead of --endpoints (``discovery_srv`` set), else [].

    Both commands read ``_etcd-client-ssl[-NAME]._tcp.DOMAIN`` and ``_etcd-client[-NAME]._tcp.DOMAIN``
    once, at start, and check each https target with a TLS handshake against the CA (the gRPC
    proxy's --cacert, the gateway's --trusted-ca-file) and the server name DOMAIN; a target that
    fails is dropped. Without TLS the records are http ones, which that check refuses:
    --insecure-discovery.
    """
    domain = str(settings["discovery_srv"] or "").strip()
    if not domain:
        return []
    argv = ["--discovery-srv=" + domain]
    if settings["discovery_srv_name"]:
        argv.append("--discovery-srv-name=" + str(settings["discovery_srv_name"]))
    if not truthy(settings["tls"]):
        argv.append("--insecure-discovery")
    elif ca_flag:
        argv.append("%s=%s/ca.pem" % (ca_flag, settings["pki_dir"]))
    return argv


def proxy_health_url(settings):
    """Where the proxy host asks its proxy for ``/health``: its listener, loopback for a wildcard."""
    address = str(settings.get("listen_address", "127.0.0.1"))
    if address in WILDCARDS:
        address = "127.0.0.1" if address == "0.0.0.0" else "::1"
    scheme = "https" if truthy(settings.get("tls", True)) else "http"
    return "%s://%s/health" % (scheme, host_port(address, settings.get("port", 23790)))


def proxy_problems(settings, host, member_hosts, member_settings=None, group="etcd", extra_sans=None):
    """Why ``host`` cannot run the proxy with ``settings``; see plugins/filter/proxy_problems.yml."""
    if not isinstance(settings, Mapping):
        _fail("proxy_problems", "the settings must be a dict of role variables, not %r" % (settings,))
    member_settings = member_settings if member_settings is not None else {}
    problems = []
    port = settings.get("etcd_proxy_port")
    if host in (member_hosts or []):
        taken = [("etcd_client_port", settings.get("etcd_client_port", 2379)),
                 ("etcd_peer_port", settings.get("etcd_peer_port", 2380))]
        if settings.get("etcd_metrics", "loopback") != "off":
            taken.append(("etcd_metrics_port", settings.get("etcd_metrics_port", 2381)))
        for variable, value in taken:
            if str(port) == str(value):
                problems.append(
                    "host %s: etcd_proxy_port=%s: this host is also a member of group %s, whose etcd listens on "
                    "port %s (%s); give the proxy another port, like 23790" % (host, port, group, value, variable))
    for variable in SHARED:
        member_value = _member_value(member_settings, variable)
        if member_value is not None and variable in settings and member_value != str(settings[variable]):
            problems.append(
                "host %s: %s=%r, but the members of group %s have %r: proxies share it with the members; set it "
                "for both groups (group_vars/all)" % (host, variable, str(settings[variable]), group, member_value))
    # etcd checks each member it finds by SRV with a TLS handshake for the server name DOMAIN and
    # silently falls back to 127.0.0.1:2379 when none passes: the members' certificates must name it.
    domain = str(settings.get("etcd_proxy_discovery_srv") or "").strip().rstrip(".").lower()
    if domain and truthy(settings.get("etcd_tls", True)):
        named = {str(x).rstrip(".").lower() for x in extra_sans or []}
        if _member_value(member_settings, "etcd_bootstrap") == "dns_srv":
            named.add(str(_member_value(member_settings, "etcd_discovery_srv") or "").rstrip(".").lower())
        if domain not in named:
            problems.append(
                "host %s: etcd_proxy_discovery_srv=%r: the proxy checks each member it finds by SRV against the server "
                "name %s, which the members' certificates do not carry; bootstrap the cluster with "
                "etcd_bootstrap=dns_srv and etcd_discovery_srv=%s, or add %s to etcd_pki_extra_sans and run the etcd "
                "playbook first" % (host, domain, domain, domain, domain))
    # The gateway passes TLS through: its clients verify the members' certificates, which name the
    # members' addresses, 127.0.0.1 and localhost, and etcd_pki_extra_sans.
    listen = str(settings.get("etcd_proxy_listen_address", "127.0.0.1"))
    if settings.get("etcd_proxy_mode") == "gateway" and truthy(settings.get("etcd_tls", True)) \
            and listen not in ("127.0.0.1", "::1", *WILDCARDS) and listen not in [str(x) for x in extra_sans or []]:
        problems.append(
            "host %s: etcd_proxy_listen_address=%r: the gateway passes TLS through, and the members' certificates "
            "do not name %s, so its clients could not verify them; add %s to etcd_pki_extra_sans and run the etcd "
            "playbook first, or listen on 127.0.0.1" % (host, listen, listen, listen))
    return problems


def _member_value(member_settings, variable):
    """A member's value of ``variable`` as text, or None when it has none that resolves here.

    ``member_settings`` is a member's hostvars: an inventory value built on the etcd role's defaults
    (``{{ etcd_instance }}-pki``) does not resolve in them, and is not compared then.
    """
    try:
        value = member_settings.get(variable)
    except AnsibleUndefinedVariable:  # ansible-core before 2.19 raises; 2.19 hands over an Undefined
        return None
    return None if value is None or isinstance(value, Undefined) else str(value)


def proxy_group_problem(hosts, group, asked=True):
    """A refusal when the proxy group is empty or missing and a proxy was asked for; else ``''``."""
    if hosts and not isinstance(hosts, str):
        return ""
    if not truthy(asked):
        return ""
    return ("the proxy group is empty or missing: the inventory has no hosts in group '%s' (etcd_proxy_group); "
            "add the client hosts to it, or leave etcd_proxy_mode unset; nothing was changed" % group)


def _tls_error(text):
    text = str(text or "").lower()
    return any(word in text for word in ("ssl", "certificate", "tls", "handshake"))


def proxy_reach_problem(health, host, endpoints, certificates=True):
    """A refusal naming ``host`` and the members it cannot reach, from its ``etcd_health`` result; else ``''``.

    ``certificates``: whether the host had its proxy certificates when it asked. Without them (a new
    proxy host) a member that answered the TLS handshake with a certificate error is reached: the
    network path is there, and this run brings the certificates.
    """
    health = health if isinstance(health, Mapping) else {}
    records = [r for r in health.get("endpoints") or [] if isinstance(r, Mapping)]
    reached = [r.get("endpoint") for r in records
               if r.get("reachable") or (not truthy(certificates) and _tls_error(r.get("error")))]
    if reached:
        return ""
    why = "; ".join("%s: %s" % (r.get("endpoint"), r.get("error") or "no answer") for r in records) \
        or str(health.get("msg") or "no answer")
    return ("host %s reaches no member of the cluster at %s (%s); open the members' client port to the "
            "proxy hosts, or check etcd_address; no proxy host was changed"
            % (host, ", ".join(str(e) for e in endpoints or []) or "?", why))


def _health_body(answer):
    """The JSON of a /health answer (``json``, or ``content`` when the reply was not labelled JSON)."""
    if isinstance(answer.get("json"), Mapping):
        return answer["json"]
    try:
        body = json.loads(answer.get("content") or "")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, Mapping) else {}


# What etcd answers a client without a user once auth is on. The gRPC proxy's /health reads a key
# through its own connection, which has no user (its certificate has no CN, and a CN would be no
# user through the gateway either): with auth on it answers health false with such a reason,
# although it reaches the cluster (etcd takes "permission denied" for health, not these).
AUTH_REFUSALS = ("user name is empty", "invalid auth token", "user name not found", "permission denied")


def proxy_reaches(answer):
    """Whether a proxy's /health ``answer`` (ansible.builtin.uri's result) says it reaches the cluster:
    ``yes``, ``yes:auth-on`` (etcd refused its read for want of a user: the cluster answered), or
    ``no:...`` with why."""
    answer = answer if isinstance(answer, Mapping) else {}
    body = _health_body(answer)
    status = answer.get("status") if isinstance(answer.get("status"), int) else 0
    if status == 200 and str(body.get("health", "")).lower() == "true":
        return "yes"
    reason = str(body.get("reason") or "unhealthy")
    if status > 0 and any(refusal in reason.lower() for refusal in AUTH_REFUSALS):
        return "yes:auth-on"
    if status > 0:
        return "no:HTTP-%s:%s" % (answer.get("status"), reason.replace(" ", "-"))
    return "no:proxy-unreachable"


def proxy_status_lines(records):
    """An aligned table, one line per proxy: whether it reaches the cluster; see proxy_status_lines.yml."""
    if isinstance(records, (str, Mapping)):
        _fail("proxy_status_lines", "the records must be a list of dicts, not %r" % (records,))
    rows = [("PROXY", "MODE", "LISTEN", "REACHES-CLUSTER")]
    for record in records or []:
        record = record if isinstance(record, Mapping) else {}
        reaches = proxy_reaches(record.get("answer"))
        rows.append((str(record.get("host", "?")), str(record.get("mode", "?")), str(record.get("listen", "?")), reaches))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def proxy_pairs_leaving(files, prefix, kept, members=()):
    """The proxy names (``etcd_pki``'s ``revoke``) whose pairs are in etcd_pki_dir but whose host
    is no longer in the proxy group; see plugins/filter/proxy_pairs_leaving.yml."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_pki_params import HOST_PAIR_SUFFIXES

    # The suffixes of the files of a name in etcd_pki_dir besides NAME.pem: a proxy's NAME-peer.pem
    # (gRPC proxy) and NAME-client.pem, a member's NAME-root.pem too; each with its key (-key.pem).
    pair_suffixes = ("-peer", *HOST_PAIR_SUFFIXES)
    if isinstance(files, str) or isinstance(kept, str) or isinstance(members, str):
        _fail("proxy_pairs_leaving", "the files, the kept names and the member names must be lists")
    # A kept proxy's client pair is NAME-client (roles/etcd_proxy/vars/main.yml).
    keep = set(kept or []) | {"%s-client" % name for name in kept or []} | set(members or [])
    leaving = set()
    for path in files or []:
        filename = os.path.basename(str(path))
        if not filename.startswith(prefix) or not filename.endswith(".pem"):
            continue
        stem = filename[: -len(".pem")]
        stem = stem[: -len("-key")] if stem.endswith("-key") else stem
        # The names the file may be of: a file of a kept proxy (or of a member) is never revoked.
        owners = {stem} | {stem[: -len(suffix)] for suffix in pair_suffixes if stem.endswith(suffix)}
        owners = {owner for owner in owners if len(owner) > len(prefix)}
        if owners and not owners & keep:
            leaving.add(min(owners, key=len))
    return sorted(leaving)


class FilterModule:
    def filters(self):
        return {
            "proxy_args": proxy_args,
            "proxy_group_problem": proxy_group_problem,
            "proxy_health_url": proxy_health_url,
            "proxy_pairs_leaving": proxy_pairs_leaving,
            "proxy_reaches": proxy_reaches,
            "proxy_problems": proxy_problems,
            "proxy_reach_problem": proxy_reach_problem,
            "proxy_status_lines": proxy_status_lines,
        }
