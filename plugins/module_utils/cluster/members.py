# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters that turn the inventory into etcd's view of the cluster.

Every place that needs member names, URLs or the ``--initial-cluster`` string goes through
``members()``, so the inventory is validated in one place and with one set of messages.
"""

import ipaddress
import re


from ansible_collections.raftops.etcd.plugins.module_utils.cluster import versions
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import NAME_RULE, is_valid_name
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import initial_cluster as initial_cluster_value

DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
HOST_PORT = re.compile(r"(?P<host>[^:]+):[0-9]+")


def _hostvar(hostvars, host, key, default=None):
    try:
        value = hostvars[host].get(key, default)
    except KeyError:
        return default
    return default if value is None or value == "" else value


def _member_name(hostvars, host):
    return str(_hostvar(hostvars, host, "NODE_NAME") or _hostvar(hostvars, host, "etcd_member_name") or host)


def _address(hostvars, host):
    address = _hostvar(hostvars, host, "etcd_address")
    if not address:
        default_ipv4 = _hostvar(hostvars, host, "ansible_default_ipv4") or {}
        address = default_ipv4.get("address") if isinstance(default_ipv4, dict) else None
    return address


def address_problem(address):
    """Why ``address`` cannot be a member's address in its URLs, or an empty string when it can.

    An IPv4 or IPv6 address (no zone, no brackets) or a DNS host name (RFC 1123; its last label not all
    digits, so a mistyped IPv4 address is no name); no port, scheme, whitespace or trailing newline.
    """
    text = str(address)
    if re.search(r"[\s\x00-\x1f\x7f]", text):
        return "it contains whitespace or control characters"
    if "://" in text:
        return "give the address without a scheme (the role adds it)"
    if text.startswith("[") or text.endswith("]"):
        return "give an IPv6 address without brackets (the role adds them in URLs)"
    port = HOST_PORT.fullmatch(text)
    if port and (is_ip_address(port.group("host")) or is_dns_name(port.group("host"))):
        return "give the address without a port (the role adds etcd_peer_port and etcd_client_port)"
    if is_ip_address(text) or is_dns_name(text):
        return ""
    return "use an IPv4 or IPv6 address or a DNS name"


def is_ip_address(text):
    """True for an IPv4 or IPv6 address as written in a URL's host (no zone, no brackets)."""
    if not isinstance(text, str) or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_dns_name(text, wildcard=False):
    """True for an RFC 1123 host name (with ``wildcard``, ``*.`` may come first) whose last label is not all digits."""
    if not isinstance(text, str) or len(text) > 253:
        return False
    labels = text.split(".")
    if wildcard and len(labels) > 1 and labels[0] == "*":
        labels = labels[1:]
    return all(DNS_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def _url_host(address):
    return "[%s]" % address if ":" in address else address


def _logged(hostvars, hosts, logs):
    """{member name: address} of the members' logs in variable ``logs`` of ``hosts`` (their reads)."""
    return logged_addresses(_hostvar(hostvars, host, logs) for host in hosts or [])


def logged_addresses(survivors):
    """{member name: address} of the membership the most advanced survivor's log commits to (the
    recovery's plan reads the survivors' logs with the same code); see plugins/filter/logged_addresses.yml."""
    # Without a log (most reads), the plan code is not loaded into the task's process.
    survivors = list(survivors or [])
    if not any(isinstance(survivor, dict) and survivor.get("log") for survivor in survivors):
        return {}
    from ansible_collections.raftops.etcd.plugins.module_utils.plan.recovery_plan import logged_addresses as addresses

    return addresses(survivors)


def members(hosts, hostvars, scheme=None, peer_port=None, client_port=None, srv_domain=None, recorded=None,
            play_hosts=None, answered=None, logs=None):
    """Validated member records for the hosts of the etcd group, in inventory order.

    The member name is ``NODE_NAME``, else ``etcd_member_name``, else the inventory hostname.
    With ``srv_domain`` (DNS SRV bootstrap) each record also has ``srv_target``, the target of its
    SRV records (``etcd_srv_target``, else ``NAME.DOMAIN``), and its ``peer_url`` uses that name: etcd
    builds the initial cluster from the records' targets, so the cluster knows its members by them.
    ``listen_peer_url`` is then where it listens, on its address (etcd binds only to IPs).
    ``recorded`` ({member name: address}, from the cluster's own record of its members' peer URLs)
    gives the address of a host that has neither ``etcd_address`` nor facts: a lost host cannot say; else,
    with ``logs`` (the name of a host variable holding each host's read with the members' logs,
    etcd_host_info's read_log), the address their record gives, from the reads of ``answered``. Failing
    those, a host whose inventory name is an IP address has that address.
    ``play_hosts``, the hosts of the run: a host left out of it (--limit) whose address is still unknown
    is named as such. ``answered``, the hosts still in the play (``ansible_play_hosts``): one of the
    run that dropped out of it (unreachable, or a task failed on it) and whose address is unknown is
    named as not answering. Raises ValueError naming the hosts and values at fault.
    """
    if isinstance(hosts, str) or not hosts:
        raise ValueError(
            "the etcd group is empty or missing: add the member hosts to the inventory group named by etcd_group"
        )
    records, errors, by_name, by_peer, by_target, logged = [], [], {}, {}, {}, None
    domain = str(srv_domain or "").rstrip(".").lower()
    for host in hosts:
        name = _member_name(hostvars, host)
        if not is_valid_name(name):
            errors.append("host %s: member name %r (NODE_NAME) is invalid; use %s" % (host, name, NAME_RULE))
        if name in by_name:
            errors.append("hosts %s and %s both use the member name %r (NODE_NAME must be unique)"
                          % (by_name[name], host, name))
        by_name.setdefault(name, host)
        # Last, an inventory host named by its address (the README's style) is at that address: a dead
        # host gives no facts, and one that never joined is in no record of the cluster.
        address = _address(hostvars, host) or (recorded or {}).get(name)
        if not address and logs and not recorded:
            # Read once, and only for a host without an address: most runs read no logs.
            logged = _logged(hostvars, answered, logs) if logged is None else logged
            address = logged.get(name)
        address = address or (host if is_ip_address(host) else None)
        if not address and play_hosts is not None and host not in play_hosts:
            errors.append("host %s: left out of this run (--limit), and its address is unknown (facts come only from "
                          "the hosts a run reaches): set etcd_address for it in the inventory, or run without --limit"
                          % host)
            continue
        if not address and answered is not None and host not in answered:
            errors.append("host %s: did not answer this run (unreachable, or a task failed on it), and its address is "
                          "unknown without its facts: run again once it answers, or set etcd_address for it in the "
                          "inventory" % host)
            continue
        if not address:
            errors.append("host %s: no address: set etcd_address, or gather facts so that "
                          "ansible_default_ipv4.address is known" % host)
            continue
        problem = address_problem(address)
        if problem:
            errors.append("host %s: etcd_address %r is invalid; %s" % (host, str(address), problem))
            continue
        tls = _hostvar(hostvars, host, "etcd_tls", True)
        # A plaintext cluster on its way to TLS keeps its plaintext URLs until the next run (docs/adopt.md).
        plaintext = not versions.truthy(tls) or _hostvar(hostvars, host, "etcd_tls_transition", "none") == "both"
        url_scheme = scheme or ("http" if plaintext else "https")
        peer = int(peer_port or _hostvar(hostvars, host, "etcd_peer_port", 2380))
        client = int(client_port or _hostvar(hostvars, host, "etcd_client_port", 2379))
        listen_peer_url = peer_url = "%s://%s:%d" % (url_scheme, _url_host(str(address)), peer)
        target = None
        if domain:
            target = str(_hostvar(hostvars, host, "etcd_srv_target") or "%s.%s" % (name, domain)).rstrip(".").lower()
            if not is_dns_name(target):
                errors.append("host %s: SRV target %r (etcd_srv_target, default NAME.%s) is no DNS name; set "
                              "etcd_srv_target to the name its SRV records point at" % (host, target, domain))
                continue
            if target in by_target:
                errors.append("hosts %s and %s both use the SRV target %s (etcd_srv_target must differ)"
                              % (by_target[target], host, target))
            by_target.setdefault(target, host)
            peer_url = "%s://%s:%d" % (url_scheme, target, peer)
        if peer_url in by_peer:
            errors.append("hosts %s and %s both use the peer URL %s (etcd_address must differ)"
                          % (by_peer[peer_url], host, peer_url))
        by_peer.setdefault(peer_url, host)
        records.append(dict(
            host=host,
            name=name,
            address=str(address),
            peer_url=peer_url,
            client_url="%s://%s:%d" % (url_scheme, _url_host(str(address)), client),
        ))
        if target:
            records[-1].update(srv_target=target, listen_peer_url=listen_peer_url)
    if errors:
        raise ValueError("invalid etcd inventory:\n  - " + "\n  - ".join(errors))
    return records


def initial_cluster(hosts, hostvars, scheme=None, peer_port=None):
    """``name=peer_url,...`` for etcd's ``--initial-cluster``."""
    return initial_cluster_value((m["name"], m["peer_url"]) for m in members(hosts, hostvars, scheme, peer_port))


def upgrade_problem(running_versions, target, allow_downgrade=False):
    """Why the running members may not move to ``target``; see plugins/module_utils/cluster/versions.py."""
    try:
        return versions.upgrade_problem(running_versions, target, allow_downgrade)
    except ValueError as exc:
        raise ValueError(str(exc)) from exc
