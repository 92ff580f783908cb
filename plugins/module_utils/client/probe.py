# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The one prober: is this member healthy? One meaning of healthy for every module.

A member is **healthy** when it answers its status (``/v3/maintenance/status``) as the member it
is expected to be and names a leader, and its ``/readyz`` (``/health`` before 3.4.29 and 3.5.11)
answers true (etcd then sees a leader,
no alarm, and can serve a read through raft). ``etcd_health`` reports it per endpoint, and
``etcd_member`` / ``etcd_member_info`` count the healthy voting members against quorum with it.

The status is asked first: it says who answers and how far its raft log is, which a learner that
is catching up reports at once while its ``/health`` may wait for raft; a probe that got the status
keeps it whatever ``/health`` says.
"""

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.raftops.etcd.plugins.module_utils.client.client import (
    EtcdError,
    EtcdLoginUnanswered,
    EtcdUnreachable,
    NO_HANDSHAKE,
    NO_REPLY,
    readyz_served,
)
from ansible_collections.raftops.etcd.plugins.module_utils.client.formats import id_hex, silent

GATEWAY_HINT = (
    " (the v3 JSON gateway is off: etcd 3.4 started with a config file needs 'enable-grpc-gateway: true')"
)
MAX_PARALLEL_PROBES = 16
NOT_STARTED = "not started (no client URLs)"
# what a probe reports when /health answers false without a reason (releases before 3.4.29 and 3.5.0)
NO_REASON = "no reason given"


def error_text(exc):
    """An etcd error as a probe reports it; a 404 gets the hint that the gateway is off."""
    text = exc.message if isinstance(exc, EtcdError) else str(exc)
    if isinstance(exc, EtcdError) and exc.status == 404:
        text += GATEWAY_HINT
    return text


def _record(endpoint, **fields):
    record = dict(endpoint=endpoint, reachable=False, error=None, health_reason=None, status=None,
                  status_error=None, healthy=False, problem="", cert_not_after=None)
    record.update(fields)
    return record


def probe_endpoint(client, member_id=None):
    """Probe one client URL; never raises. ``member_id`` (an int), when given, is who must answer.

    Returns a dict:

    * ``endpoint``, ``reachable`` (it answered at all) and ``error`` (why not; None when it did);
    * ``status``: the normalized status (``etcd_client.normalize_status``) or None, and
      ``status_error``: why it could not be read;
    * ``health_reason``: ``""`` when ``/health`` answered true, else its reason (``no reason given``
      when etcd gave none) or why it failed; None when it was not asked (no status, or a status that
      names no leader: /readyz would only wait for one);
    * ``healthy`` and ``problem``: the one verdict, and why it is not healthy (``""`` when it is);
    * ``cert_not_after``: over https, when the certificate the member presented expires (seconds
      since the epoch, ``EtcdClient.server_cert_not_after``); None over http or unreachable.
    """
    url = client.endpoint
    login_unanswered = None
    try:
        status = client.status()
    except EtcdLoginUnanswered as exc:
        # With auth on, a member that lost quorum cannot log anyone in; its /health needs no login.
        status, status_error, login_unanswered = None, exc.message, exc
    except EtcdUnreachable as exc:
        return _record(url, error=exc.message, problem="%s: %s" % (url, exc.message))
    except EtcdError as exc:
        status, status_error = None, error_text(exc)
    else:
        if member_id is not None and status["member_id"] != member_id:
            # another member behind this URL: nothing it says is about the member asked for
            return _record(url, reachable=True, problem="%s answered as member %s, not %s" % (
                url, status["member_id_hex"], id_hex(member_id)))
        status_error = None
    if status is not None and not status["leader_id"]:
        # Its own view, which needs no quorum, names no leader: /readyz (/health), a read through raft,
        # would only wait for one, past any timeout (etcd 3.5.30). Not asked: health_reason None.
        record = _record(url, reachable=True, status=status,
                         cert_not_after=getattr(client, "server_cert_not_after", None))
        record["problem"] = _problem(record)
        return record
    # /readyz where the member's release serves it (3.4.29, 3.5.11, 3.6 on), else /health
    release = (status or {}).get("version", "")
    try:
        health, reason = client.health(release)
    except EtcdUnreachable as exc:
        if login_unanswered is not None:
            # it answered nothing at all
            return _record(url, error=login_unanswered.message, problem="%s: %s" % (url, login_unanswered.message))
        health, reason = False, error_text(exc)
    except EtcdError as exc:
        health, reason = False, error_text(exc)
    record = _record(url, reachable=True, status=status, status_error=status_error,
                     health_reason="" if health else (reason or NO_REASON),
                     health_path="/readyz" if readyz_served(release) else "/health",
                     cert_not_after=getattr(client, "server_cert_not_after", None))
    record["problem"] = _problem(record)
    record["healthy"] = not record["problem"]
    return record


def _problem(record):
    url, status = record["endpoint"], record["status"]
    if status is None:
        return "%s: status failed: %s" % (url, record["status_error"])
    if not status["leader_id"]:
        return "%s answers but knows no leader" % url
    if record["health_reason"]:
        return "%s: %s false: %s" % (url, record.get("health_path", "/health"), record["health_reason"])
    return ""


def probe_urls(urls, make_client, member_id=None):
    """Probe a member's client URLs in order until one answers; returns the record of each URL tried.

    ``make_client(url)`` builds the client (``etcd_client.client_factory``); a URL it cannot build
    a client for counts as not answering.
    """
    records = []
    for url in urls:
        try:
            client = make_client(url)
        except (EtcdError, OSError, ValueError) as exc:
            text = error_text(exc)
            records.append(_record(url, error=text, problem="%s: %s" % (url, text)))
            continue
        records.append(probe_endpoint(client, member_id))
        if records[-1]["reachable"]:
            break
    return records


def probe_member(member, make_client):
    """The probe of a listed member (``etcd_client.normalize_member``) at its own client URLs.

    The record of the URL that answered, checked to answer as ``member``; when none did, a record
    whose ``problem`` names every URL tried. A member that has not started has no client URL.
    """
    urls = member.get("client_urls") or []
    if not member.get("name") or not urls:
        return _record(None, error=NOT_STARTED, problem=NOT_STARTED)
    records = probe_urls(urls, make_client, member["id"])
    answer = records[-1]
    if answer["reachable"]:
        return answer
    return dict(answer, endpoint=None, problem="; ".join(r["problem"] for r in records))


def _no_reply(record):
    """Whether the client URL took the connection (and over https the TLS handshake) and answered nothing."""
    return not record.get("reachable") and any(text in (record.get("error") or "") for text in (NO_REPLY, NO_HANDSHAKE))


def ask_peers(record, peer_urls, make_peer_client):
    """What each of a member's peer URLs answered, for an endpoint (``record``, an etcd_health endpoint
    record) that did not answer on its client URL: [{url, answered, error}] up to the first that answers,
    ``answered`` true for any HTTP answer to ``/version`` (``error`` None), else ``error`` the probe's
    wording of why not. None when not asked: the client URL answered, or its error is neither silence (``silent``: is its host
    gone?) nor a connection taken and left unanswered (``unready_peer``: has it not joined a cluster with
    quorum since it started?). ``make_peer_client(url)`` builds a client that the peer port accepts (the
    members' peer pair)."""
    if record.get("reachable") or not (_no_reply(record) or silent(record.get("error"))):
        return None
    answers = []
    for url in peer_urls or []:
        try:
            # Any HTTP answer counts: the peer port served a request.
            make_peer_client(url).get("/version")
        except (EtcdError, OSError, ValueError) as exc:
            answers.append(dict(url=url, answered=False, error=error_text(exc)))
            continue
        answers.append(dict(url=url, answered=True, error=None))
        # one answer says the member's host is alive: the others are not asked
        break
    return answers


def unready_peer(record, peers):
    """The peer URL that answered (``peers``: ask_peers') for a member whose client URL took the
    connection and answered nothing, neither a request nor (over https) the TLS handshake (``record``,
    an etcd_health endpoint record), or None.

    etcd serves its client URLs, ``/version`` included, only once it has published itself through
    raft, that is joined a cluster with quorum, since it started; its peer URLs serve from the start.
    A member restarted while its cluster has no quorum therefore answers on its peer URL only, while a
    member that is merely slow answers on neither (or on its client URL too).
    """
    if not _no_reply(record):
        return None
    return next((peer["url"] for peer in peers or [] if peer.get("answered")), None)


def in_parallel(function, items):
    """``[function(item) for item in items]``, run side by side (probes mostly wait on the network)."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_PROBES, len(items))) as pool:
        return list(pool.map(function, items))


def probe_members(members, make_client):
    """{member id: probe_member(...)} for every member, probed in parallel."""
    return {m["id"]: probe for m, probe in zip(members, in_parallel(lambda m: probe_member(m, make_client), members))}
