# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The one rule or format for each small thing the collection reads and writes.

Member names, URLs, sizes and IDs are checked, compared and shown in modules on the hosts and in
filters on the controller; each is defined here once so that a name one accepts the other never
refuses, and an ID or a size reads the same in every result. Standard library only.
"""

import json
import re
from urllib.parse import urlsplit

# etcd itself accepts any --name; this rule keeps names usable in file names (NAME.pem), systemd
# units, DNS SANs and the ``name=url`` pairs of --initial-cluster.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit"
_NAME_RE = re.compile(NAME_PATTERN)

# etcd settings whose value is a secret: a discovery URL (it carries the token) or token lets whoever
# knows it register members under it, and the v3 discovery password logs in. What the collection
# reads or refuses of them is shown as HIDDEN, never with the value.
SECRET_SETTINGS = ("ETCD_DISCOVERY", "ETCD_DISCOVERY_TOKEN", "ETCD_DISCOVERY_PASSWORD")
HIDDEN = "<hidden>"


# Why a connection was never taken in time (the etcd client's wording): no answer from the host at all.
CONNECT_TIMED_OUT = "timed out connecting (the host is down, or a firewall drops the port)"
# What a URL that did not answer says when the silence comes from the network, not from the host: a
# connection never taken in time (the packets dropped: a powered-off host on a routed network or a cloud,
# a firewall), or no route to the host (no one at its address on the link, or a router says so). Any
# other error is an answer from the host itself: a connection refused or reset, a TLS alert, a
# connection or a TLS handshake taken and then left unanswered.
SILENCE = (CONNECT_TIMED_OUT, "no route to host", "host is unreachable", "host unreachable", "network is unreachable",
           "network unreachable")


def silent(error):
    """Whether ``error``, why a URL did not answer (a probe's wording), is silence from the network: no
    answer from the host at all. A sign of life is anything else, and any answer."""
    text = str(error or "").lower()
    return bool(text) and any(words.lower() in text for words in SILENCE)


def is_valid_name(name):
    """True for a member, client or cluster-token name that follows NAME_PATTERN.

    The whole string must match: a trailing newline (which ``$`` alone lets through) is refused.
    """
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def resolve_target(requested, group):
    """{host, name} of the member an operator's ``requested`` (a member name or an inventory host, exact
    matches only) names among ``group`` ([{host, name}], inventory order); ``host`` is '' for a name of
    no host (gone from the inventory already: etcd decides whether such a member exists). None when
    ``requested`` cannot be a member name."""
    requested = str(requested).strip()
    for entry in group:
        if requested in (entry["name"], entry["host"]):
            return dict(host=entry["host"], name=entry["name"])
    return dict(host="", name=requested) if is_valid_name(requested) else None


def normalize_url(url):
    """A client or peer URL in the one form URLs are compared and written in.

    Surrounding space and trailing ``/`` are dropped, and the scheme and host are lowercased (both
    are case-insensitive). Nothing else changes, so two URLs are the same member only when they are
    equal after this: ``http://10.0.0.1:2380`` never matches ``http://10.0.0.11:2380``.
    """
    text = str(url if url is not None else "").strip().rstrip("/")
    scheme, separator, rest = text.partition("://")
    if not separator:
        return text
    authority, slash, path = rest.partition("/")
    return "%s://%s%s%s" % (scheme.lower(), authority.lower(), slash, path)


def initial_cluster(pairs):
    """etcd's ``--initial-cluster``, ``name=peer_url,...``, of (name, peer URL) pairs in their order: the
    one place it is written, for the inventory's members, a joining member, a restore and the private etcd."""
    return ",".join("%s=%s" % (name, url) for name, url in pairs)


_SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size):
    """Bytes as an operator reads them: ``512 B``, ``20 KiB``, ``1.5 MiB`` (one decimal, ``.0`` dropped)."""
    size = int(size)
    if size < 1024:
        return "%d B" % size
    value = float(size)
    for unit in _SIZE_UNITS:
        value /= 1024.0
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            text = "%.1f" % value
            return "%s %s" % (text[:-2] if text.endswith(".0") else text, unit)
    raise AssertionError("unreachable: the last unit always returns")


def id_hex(value):
    """A member or cluster ID as etcdctl prints it: lowercase hex without ``0x``.

    ``value`` is an int or the decimal string the gateway sends (it sends 64-bit numbers as strings).
    Every ID in the modules' results is written this way.
    """
    return "%x" % int(value)


LOOPBACK_CLIENT_URL = re.compile(r"^https?://127[.]0[.]0[.]1:")


def installed_local_endpoint(settings, default):
    """The loopback client URL the etcd installed on a host listens on (its ``ETCD_LISTEN_CLIENT_URLS``,
    as ``etcd_host_info`` reads them), else ``default``: a member is asked where it listens now, not
    where the inventory would have it listen."""
    listen = (settings or {}).get("ETCD_LISTEN_CLIENT_URLS") or ""
    for url in str(listen).split(","):
        if LOOPBACK_CLIENT_URL.match(url):
            return url
    return default


def parse_environment(text):
    """KEY=VALUE lines of a systemd environment file (comments and blank lines skipped, quotes removed),
    the value of a secret setting (SECRET_SETTINGS) replaced."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        key = key.strip()
        settings[key] = HIDDEN if key in SECRET_SETTINGS and value else value
    return settings


def url_parts(url):
    """(scheme, lower-case host, port or None) of a URL, or of the first of a comma-separated list."""
    parts = urlsplit(str(url or "").split(",", maxsplit=1)[0].strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


# The levels of etcd's log (zap) at which it reports why it failed or stops.
ERROR_LEVELS = ("error", "dpanic", "panic", "fatal")


def etcd_said(lines):
    """Why etcd failed, from the lines it logged (JSON, one object a line): the message of the last
    error-or-worse line, with its error when it gives one ('discovery failed: cannot fetch cluster
    info from peer urls: ...'); '' when none is. Lines that are not etcd's JSON (systemd's own, a
    line cut short) are passed over."""
    said = ""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ERROR_LEVELS:
            message, error = str(entry.get("msg") or "").strip(), str(entry.get("error") or "").strip()
            said = ": ".join(part for part in (message, error) if part) or said
    return said
