# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The client access tier (roles/etcd_proxy, docs/proxy.md): the proxy's command line (the filter
raftops.etcd.proxy_args). The refusals, the certificates and the status are decided in
plugins/module_utils/plan/proxy_plan.py.

Flags are those of ``etcd grpc-proxy start --help`` and ``etcd gateway start --help`` of etcd 3.5.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible_collections.raftops.etcd.plugins.module_utils.cluster.versions import truthy

# Other module_utils are imported where they are used, so that loading this file stays cheap: every
# task's process that uses one filter of the collection loads all of them (docs/deploy.md).

MODES = ("grpc", "gateway")
# What proxy_args reads; every key is required (the role passes them all).
ARG_KEYS = ("mode", "binary", "listen_address", "port", "tls", "crl", "pki_dir", "data_dir", "namespace",
            "resolver_prefix", "resolver_ttl", "advertise_address", "metrics_port", "retry_delay",
            "discovery_srv", "discovery_srv_name")


def _fail(name, text):
    raise ValueError("raftops.etcd.%s: %s" % (name, text))


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
    from ansible_collections.raftops.etcd.plugins.module_utils.plan.proxy_plan import host_port

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
