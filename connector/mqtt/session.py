"""What the broker keeps per client id (``Session``), and the MQTT topic filter rules it routes and
grants by (``matches``, ``covers``)."""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from connector.mqtt import packets as p


def matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` (§4.7: ``+`` one level, ``#`` this level and below)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    levels, parts = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(levels):
        if level == "#":
            return True
        if i >= len(parts) or (level != "+" and level != parts[i]):
            return False
    return len(levels) == len(parts)


def covers(granted: str, requested: str) -> bool:
    """Whether every topic ``requested`` can match is matched by ``granted`` too."""
    g, r = granted.split("/"), requested.split("/")
    for i, level in enumerate(g):
        if level == "#":
            return True
        if i >= len(r) or r[i] == "#" or (level != "+" and (r[i] == "+" or r[i] != level)):
            return False
    return len(g) == len(r)


@dataclass
class Session:
    """What the broker keeps for one client id (beyond its connection when clean session is 0)."""

    client_id: str
    clean: bool
    subscriptions: dict[str, int] = field(default_factory=dict)
    inflight: OrderedDict[int, p.Publish] = field(default_factory=OrderedDict)  # sent QoS 1, awaiting PUBACK
    queued: deque[p.Publish] = field(default_factory=deque)  # QoS 1 for an offline persistent session
    received: set[int] = field(default_factory=set)  # inbound QoS 2 ids awaiting PUBREL
    ids: itertools.cycle = field(default_factory=lambda: itertools.cycle(range(1, 65536)))

    def next_id(self) -> int:
        for _ in range(65535):
            candidate = int(next(self.ids))
            if candidate not in self.inflight:
                return candidate
        raise RuntimeError("no free packet identifier")  # the inflight bound keeps this out of reach
