# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The steps of the client access tier's plan (roles/etcd_proxy, playbooks/proxy.yml; the action
raftops.etcd.etcd_plan): the refusals asserted before any proxy host changes, the certificates
each proxy needs and the pairs of proxies that left the group, where a proxy asks its own /health
and what its answer says, and the status lines. Pure functions on plain data; a bad input raises
ValueError."""

import json
import os
import re
from collections.abc import Mapping

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy
from ansible_collections.raftops.etcd.plugins.module_utils.host.systemd_unit import comment, hardening, unit_text

WILDCARDS = ("0.0.0.0", "::")
# Settings proxies must share with the members: another value would make another CA (etcd_pki_dir),
# speak the wrong scheme (etcd_tls), name another cluster's files (etcd_instance) or switch the
# binaries of a host that is also a member (etcd_version).
SHARED = ("etcd_instance", "etcd_version", "etcd_tls", "etcd_pki_dir")
# The members' settings proxy_problems compares or reads (a member's hostvars, resolved by the caller).
MEMBER_SETTINGS = (*SHARED, "etcd_bootstrap", "etcd_discovery_srv")
# What etcd answers a client without a user once auth is on. The gRPC proxy's /health reads a key
# through its own connection, which has no user (its certificate has no CN, and a CN would be no
# user through the gateway either): with auth on it answers health false with such a reason,
# although it reaches the cluster (etcd takes "permission denied" for health, not these).
AUTH_REFUSALS = ("user name is empty", "invalid auth token", "user name not found", "permission denied")


def host_port(address, port):
    """``address:port``, an IPv6 address in brackets."""
    address = str(address)
    return "%s:%d" % ("[%s]" % address if ":" in address else address, int(port))


def proxy_health_url(settings):
    """Where the proxy host asks its proxy for ``/health``: its listener, loopback for a wildcard."""
    address = str(settings.get("listen_address", "127.0.0.1"))
    if address in WILDCARDS:
        address = "127.0.0.1" if address == "0.0.0.0" else "::1"
    scheme = "https" if truthy(settings.get("tls", True)) else "http"
    return "%s://%s/health" % (scheme, host_port(address, settings.get("port", 23790)))


def proxy_problems(settings, host, member_hosts, member_values=None, group="etcd", extra_sans=None):
    """Why ``host`` cannot run the proxy with ``settings`` (its role variables). ``member_values``:
    a member's values of MEMBER_SETTINGS as text, None for one it has none of."""
    if not isinstance(settings, Mapping):
        raise ValueError("the settings must be a dict of role variables, not %r" % (settings,))
    member_values = member_values or {}
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
        member_value = member_values.get(variable)
        if member_value is not None and variable in settings and member_value != str(settings[variable]):
            problems.append(
                "host %s: %s=%r, but the members of group %s have %r: proxies share it with the members; set it "
                "for both groups (group_vars/all)" % (host, variable, str(settings[variable]), group, member_value))
    # etcd checks each member it finds by SRV with a TLS handshake for the server name DOMAIN and
    # silently falls back to 127.0.0.1:2379 when none passes: the members' certificates must name it.
    domain = str(settings.get("etcd_proxy_discovery_srv") or "").strip().rstrip(".").lower()
    if domain and truthy(settings.get("etcd_tls", True)):
        named = {str(x).rstrip(".").lower() for x in extra_sans or []}
        if member_values.get("etcd_bootstrap") == "dns_srv":
            named.add(str(member_values.get("etcd_discovery_srv") or "").rstrip(".").lower())
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


def proxy_group_problem(hosts, group):
    """A refusal when the proxy group is empty or missing (playbooks/proxy.yml asks only when proxies
    are asked for); else ``''``."""
    if hosts and not isinstance(hosts, str):
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
    """An aligned table, one line per proxy (``host``, ``mode``, ``listen`` and its /health
    ``answer``, or already ``reaches``): whether it reaches the cluster."""
    if isinstance(records, (str, Mapping)):
        raise ValueError("the records must be a list of dicts, not %r" % (records,))
    rows = [("PROXY", "MODE", "LISTEN", "REACHES-CLUSTER")]
    for record in records or []:
        record = record if isinstance(record, Mapping) else {}
        reaches = record.get("reaches") or proxy_reaches(record.get("answer"))
        rows.append((str(record.get("host", "?")), str(record.get("mode", "?")), str(record.get("listen", "?")),
                     str(reaches)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def proxy_pairs_leaving(files, prefix, kept, members=()):
    """The proxy names (``etcd_pki``'s ``revoke``) whose pairs are among ``files`` (etcd_pki_dir's
    ``PREFIX*.pem``) but are not of a ``kept`` proxy name (those of the proxy group's hosts) nor of
    a member name."""
    from ansible_collections.raftops.etcd.plugins.module_utils.pki.pki_params import HOST_PAIR_SUFFIXES

    # The suffixes of the files of a name in etcd_pki_dir besides NAME.pem: a proxy's NAME-peer.pem
    # (gRPC proxy) and NAME-client.pem, a member's NAME-root.pem too; each with its key (-key.pem).
    pair_suffixes = ("-peer", *HOST_PAIR_SUFFIXES)
    if isinstance(files, str) or isinstance(kept, str) or isinstance(members, str):
        raise ValueError("the files, the kept names and the member names must be lists")
    # A kept proxy's client pair is NAME-client (plan_proxy_pki).
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


def proxy_cert_name(instance, host):
    """The name of a proxy host's certificates in etcd_pki_dir (INSTANCE-proxy-HOST, the host's
    inventory name with what a file name cannot hold as ``-``)."""
    return "%s-proxy-%s" % (instance, re.sub("[^A-Za-z0-9._-]", "-", str(host)))


def plan_proxy_pki(proxies, group_hosts, instance, files, member_names, managed=True):
    """What etcd_pki makes or checks for the play's proxies, before any proxy host changes.

    ``proxies``: host -> dict(address, listen_address, mode) for each play host, in the play's
    order; ``group_hosts``:
    every host of the proxy group (one left out by --limit or unreachable keeps its pairs);
    ``files``: etcd_pki_dir's ``INSTANCE-proxy-*.pem``. Every proxy gets a client pair without a CN
    for the members (etcd would take a CN for an RBAC user), every gRPC proxy a server pair for its
    listener; with the role's PKI the pairs of proxies whose host left the group are revoked.
    """
    if not isinstance(proxies, Mapping) or isinstance(group_hosts, str):
        raise ValueError("the proxies must be a dict by host and the group's hosts a list")
    members, clients = [], []
    for host in proxies:
        proxy = proxies[host] or {}
        name, address = proxy_cert_name(instance, host), str(proxy.get("address") or "")
        clients.append(dict(name=name + "-client", sans=[address]))
        if proxy.get("mode") == "grpc":
            listen = str(proxy.get("listen_address") or "")
            extra = [listen] if listen not in (*WILDCARDS, address) else []
            members.append(dict(name=name, addresses=[address, *extra], hostnames=[host]))
    prefix = "%s-proxy-" % instance
    kept = [proxy_cert_name(instance, host) for host in group_hosts or []]
    revoke = proxy_pairs_leaving(files, prefix, kept, member_names) if truthy(managed) else []
    return dict(members=members, clients=clients, revoke=revoke)


def proxy_pki_dir(config_dir):
    """Where a proxy host keeps its certificates: beside its other settings."""
    return "%s/pki" % config_dir


def proxy_client_files(pki_dir):
    """The CA and the client pair a proxy host reaches the members and its own listener with."""
    return dict(ca_cert=pki_dir + "/ca.pem", client_cert=pki_dir + "/client.pem", client_key=pki_dir + "/client-key.pem")


def plan_proxy_host(values, host, address, members):
    """What the proxy on ``host`` is made of, from its role variables ``values`` (etcd_*), its
    ``address`` and the ``members`` it reaches: its unit, its certificates' directory, where it
    asks its own /health (``check``, the step proxy_health's settings) and what its command line is
    built from (``args``, proxy_args's settings but the revocation list, known once etcd_pki ran)."""
    instance = str(values.get("etcd_instance") or "etcd")
    mode, listen, tls = values["etcd_proxy_mode"], str(values["etcd_proxy_listen_address"]), truthy(values["etcd_tls"])
    config_dir, port, unit = str(values["etcd_proxy_config_dir"]), int(values["etcd_proxy_port"]), "%s-proxy.service" % instance
    pki_dir = proxy_pki_dir(config_dir)
    # The resolver advertises the listen address, or the host's own for a wildcard, unless told which.
    advertise = str(values["etcd_proxy_advertise_address"] or "") or (address if listen in WILDCARDS else "")
    return dict(
        members=members, unit=unit, unit_path="/etc/systemd/system/" + unit, pki_dir=pki_dir,
        cert_name=proxy_cert_name(instance, host), user=str(values["etcd_proxy_user"]),
        config_dir=config_dir, data_dir=str(values["etcd_proxy_data_dir"]),
        description="etcd %s for the cluster %s (group %s)" % (
            "gRPC proxy" if mode == "grpc" else "gateway", instance, values["etcd_group"]),
        limit_nofile=values["etcd_limit_nofile"], hardening=truthy(values["etcd_systemd_hardening"]),
        check=dict(mode=mode, listen_address=listen, port=port, tls=tls, config_dir=config_dir),
        args=dict(mode=mode, binary="%s/etcd" % values["etcd_bin_dir"], listen_address=listen, port=port, tls=tls,
                  pki_dir=pki_dir, data_dir=str(values["etcd_proxy_data_dir"]),
                  namespace=values["etcd_proxy_namespace"], resolver_prefix=values["etcd_proxy_resolver_prefix"],
                  resolver_ttl=int(values["etcd_proxy_resolver_ttl"]), advertise_address=advertise,
                  metrics_port=int(values["etcd_proxy_metrics_port"]), retry_delay=values["etcd_proxy_retry_delay"],
                  discovery_srv=values["etcd_proxy_discovery_srv"],
                  discovery_srv_name=values["etcd_proxy_discovery_srv_name"]))


def proxy_unit_text(plan, argv, header=""):
    """The proxy's systemd unit: ``plan``, plan_proxy_host's; ``argv``, its command line (proxy_args)."""
    return unit_text([
        ("Unit", [("Description", plan["description"]), ("Documentation", "https://etcd.io/docs/"),
                  ("After", "network-online.target"), ("Wants", "network-online.target")]),
        ("Service", [("Type", "simple"), ("User", plan["user"]), ("Group", plan["user"]),
                     ("WorkingDirectory", plan["data_dir"]),
                     comment("Built by raftops.etcd.proxy_args from the members' client URLs (the proxy's plan): a member list\n"
                             "that changes changes this line, and the role restarts the proxies one at a time."),
                     # The command, then each flag on a line of its own.
                     ("ExecStart", [argv[:3]] + [[flag] for flag in argv[3:]]),
                     ("Restart", "always"), ("RestartSec", "5s"), ("LimitNOFILE", plan["limit_nofile"]),
                     *(hardening([plan["data_dir"]], server=True) if plan["hardening"] else [])]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ], header)


def plan_proxy_files(plan, pki, read):
    """The proxy's directories, certificates and the settings of its command line (``args``, with the
    revocation list) once etcd_pki ran on the controller: ``plan``, plan_proxy_host's; ``pki``, etcd_pki's result ({} without TLS); ``read``,
    path on the controller -> its content. The systemd unit's content (``unit_file``) needs the command line: proxy_unit_text."""
    user, pki_dir, tls, grpc = plan["user"], plan["pki_dir"], truthy(plan["args"]["tls"]), plan["args"]["mode"] == "grpc"
    # The CA's revocation list as the members use it (always there with the role's PKI; etcd_pki's, with TLS only).
    crl = str((pki.get("crl") or {}).get("path") or "")
    directories = [dict(path=plan["config_dir"], owner="root", group=user, mode="0750"),
                   dict(path=plan["data_dir"], owner=user, group=user, mode="0700")]
    files, private_files, host_files = [], [], proxy_client_files(pki_dir)
    if tls:
        directories.append(dict(path=pki_dir, owner="root", group=user, mode="0750"))
        client, server = pki["clients"][plan["cert_name"] + "-client"], (pki.get("certificates") or {}).get(plan["cert_name"]) or {}
        ca = pki["ca"]
        # During a CA rotation the bundle of the CAs the phase trusts, as the members have it (docs/pki.md).
        files += [dict(path=host_files["ca_cert"], source=ca.get("trusted_path") or ca["path"], mode="0644"),
                  dict(path=host_files["client_cert"], source=client["cert"], mode="0644")]
        private_files.append(dict(path=host_files["client_key"], source=client["key"], mode="0640"))
        if grpc:
            # The gRPC proxy's listener: its own server pair.
            files.append(dict(path=pki_dir + "/server.pem", source=server.get("cert"), mode="0644"))
            private_files.append(dict(path=pki_dir + "/server-key.pem", source=server.get("key"), mode="0640"))
        if grpc and crl:
            # The gRPC proxy reads it again for every new client connection (--client-crl-file), so a
            # new one needs no restart; the gateway has no use for it.
            files.append(dict(path=pki_dir + "/crl.pem", source=crl, mode="0644", restart=False))

    def written(spec):
        return dict({key: value for key, value in spec.items() if key != "source"}, owner="root", group=user,
                    content=read(spec["source"]))

    return dict(directories=directories, files=[written(spec) for spec in files],
                private_files=[written(spec) for spec in private_files],
                unit_file=dict(path=plan["unit_path"], owner="root", group="root", mode="0644"),
                args=dict(plan["args"], crl=bool(crl)))
