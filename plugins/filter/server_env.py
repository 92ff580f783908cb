# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The members' ETCD_* settings whose form depends on the release: the metrics listener, the data
corruption checks, the feature gates (etcd_feature_gates) and the TLS floor. One place decides them, so that the members' settings
(_etcd_env_content in the role's vars) only write them and each release gets the flags it knows (an
unknown ETCD_* variable is only warned about by etcd, so a mistake here would silently turn a check
off; the unit tests pin every release boundary).
"""

from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.module_utils.etcd_versions import truthy

METRICS_MODES = ("loopback", "address", "off")
# --experimental-compact-hash-check-enabled exists from 3.5.5; in 3.6 both checks are feature gates
# and the experimental flags are deprecated, in 3.7 gone (etcd_versions.EXPERIMENTAL_REPLACEMENTS).
COMPACT_HASH_CHECK_SINCE = (3, 5, 5)
FEATURE_GATES_SINCE = (3, 6, 0)
CORRUPTION_CHECK_GATES = ("CompactHashCheck", "InitialCorruptCheck")
# --tls-min-version exists from 3.4.25 and 3.5.8.
TLS_MIN_VERSION_SINCE = ((3, 4, 25), (3, 5, 8))


def _version(version):
    try:
        parts = tuple(int(part) for part in version)
    except (TypeError, ValueError):
        parts = ()
    if len(parts) != 3:
        raise AnsibleFilterError("server_env: the release must be [major, minor, patch], like [3, 5, 30], not %r" % (version,))
    return parts


def _address(url):
    """The host part of a member URL; an IPv6 address keeps its brackets."""
    return urlsplit(str(url)).netloc.rsplit(":", 1)[0]


def metrics_urls(mode, port, client_url, tls):
    """Where /metrics and /health are served: always plain http on loopback (scraped on the host),
    and with ``address`` also on the member's address, over https with client certificates when TLS is on."""
    if mode not in METRICS_MODES:
        raise AnsibleFilterError("server_env: etcd_metrics must be one of %s, not %r" % (", ".join(METRICS_MODES), mode))
    if mode == "off":
        return []
    urls = ["http://127.0.0.1:%d" % int(port)]
    if mode == "address":
        urls.insert(0, "%s://%s:%d" % ("https" if tls else "http", _address(client_url), int(port)))
    return urls


def server_env(settings, version, member):
    """ETCD_* name -> value for the member ``member`` (its record from the members filter) on the release
    ``version``; see plugins/filter/server_env.yml."""
    version = _version(version)
    tls = bool(settings.get("tls"))
    env = {}
    urls = metrics_urls(settings.get("metrics", "loopback"), settings.get("metrics_port", 2381),
                        member["client_url"], tls)
    if urls:
        env["ETCD_LISTEN_METRICS_URLS"] = ",".join(urls)
    gates = {}
    if version >= FEATURE_GATES_SINCE:
        # the operator's gates (settings_problems checked them against the release), then the checks'
        gates = {str(name): truthy(on) for name, on in (settings.get("feature_gates") or {}).items()}
        if settings.get("corruption_checks"):
            gates.update((name, True) for name in CORRUPTION_CHECK_GATES)
    if gates:
        env["ETCD_FEATURE_GATES"] = ",".join("%s=%s" % (name, str(gates[name]).lower()) for name in sorted(gates))
    if settings.get("corruption_checks") and version < FEATURE_GATES_SINCE:
        env["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK"] = "true"
        if version >= COMPACT_HASH_CHECK_SINCE:
            env["ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED"] = "true"
    if tls and (version >= TLS_MIN_VERSION_SINCE[1] or TLS_MIN_VERSION_SINCE[0] <= version < (3, 5, 0)):
        env["ETCD_TLS_MIN_VERSION"] = "TLS1.2"
    return env


def scrape_targets(members, port, cluster, tls):
    """Deprecated (meta/runtime.yml): see plugins/module_utils/etcd_plan.py, scrape_targets."""
    from ansible_collections.raftops.etcd.plugins.module_utils.etcd_plan import scrape_targets as targets

    return targets(members, port, cluster, tls)


class FilterModule:
    def filters(self):
        return {"server_env": server_env, "scrape_targets": scrape_targets}
