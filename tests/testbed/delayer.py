"""Hold every packet of an NFQUEUE queue for a fixed time, then let it pass.

The test hosts' kernel has no netem qdisc, but it has NFQUEUE: iptables hands matching packets to
this process over netlink, which gives each one its verdict (accept) only after the delay, in the
order they came. That is a link with added latency, for the packets the iptables rules select.

    delayer.py QUEUE_NUM DELAY_MS

Python's standard library only (the hosts have python3 and nothing else). Protocol:
linux/netfilter/nfnetlink_queue.h.
"""

import heapq
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def message(kind, queue, attributes, seq=0):
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + b"".join(attributes)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, NLM_F_REQUEST, seq, 0) + body


def packet_ids(data):
    """The packet ids of the NFQNL_MSG_PACKET messages in one netlink read."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, offset + 16)
            if error:
                raise OSError(-error, "netlink refused a queue command")
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            position = offset + 20
            while position + 4 <= offset + length:
                size, attr = struct.unpack_from("=HH", data, position)
                if size < 4:
                    break
                if attr & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", data, position + 4)[0]
                position += size + (-size % 4)
        offset += length + (-length % 4)


def main(queue, delay_ms):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.send(message(NFQNL_MSG_CONFIG, queue, [attribute(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0))]))
    sock.send(message(NFQNL_MSG_CONFIG, queue, [attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))]))
    delay = delay_ms / 1000.0
    held = []  # (release time, arrival order, packet id)
    arrivals = 0
    while True:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
        if select.select([sock], [], [], timeout)[0]:
            now = time.monotonic()
            for packet in packet_ids(sock.recv(65536)):
                arrivals += 1
                heapq.heappush(held, (now + delay, arrivals, packet))
        now = time.monotonic()
        while held and held[0][0] <= now:
            _release, _order, packet = heapq.heappop(held)
            sock.send(message(NFQNL_MSG_VERDICT, queue, [attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet))]))


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
