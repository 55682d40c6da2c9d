"""The DSP TCK's test profile (``settings.tck``): never part of a production connector.

What the Eclipse Dataspace TCK needs from a connector under test: trigger webhooks that start a
negotiation or a transfer from plain JSON (``routes``, ``triggers``), and a playbook whose
scripts may name a sequence of actions for one event (``playbook``). The HTTP edge wires it in
(``connector.app``); the services never import it.
"""

from __future__ import annotations

from connector.config import Settings
from connector.services.playbook import Playbook
from connector.tck.playbook import SequencedPlaybook


def tck_playbook(settings: Settings) -> Playbook:
    """The TCK profile's playbook from ``[playbook]``: sequences allowed."""
    return SequencedPlaybook(settings.playbook, settings.playbook_delay_ms)
