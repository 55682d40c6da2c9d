"""The TCK profile's playbook: a script may name a sequence of actions for one event."""

from __future__ import annotations

from collections.abc import Mapping

from connector.protocol import Role
from connector.services.playbook import ACTIONS, EVENT_NAMES, Message, Playbook, PlaybookError


class SequencedPlaybook(Playbook):
    """A playbook whose scripts may name a *sequence* of actions for one event: ``"suspend, complete"``.

    The n-th time the event happens under a key (agreement or dataset id), the n-th action is
    taken, cycling. TP:01-04 needs it: the provider starts, suspends, starts again and then
    completes, so "after our start was acknowledged" means suspend the first time and complete
    the second (EDC's TCK connector counts the same way). The counts live in memory: TCK profile
    only, where every agreement serves one scenario per run.
    """

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None, delay_ms: int = 0) -> None:
        self._sequences: dict[tuple[str, str], list[str]] = {}
        self._counts: dict[tuple[str, str], int] = {}
        plain: dict[str, dict[str, str]] = {}
        for key, table in (overrides or {}).items():
            plain[key] = {}
            for event, action in table.items():
                steps = [step.strip() for step in str(action).split(",") if step.strip()]
                if len(steps) > 1:
                    self._sequences[(key, event)] = steps
                plain[key][event] = steps[0] if steps else str(action)
        super().__init__(plain, delay_ms)
        for (key, event), steps in self._sequences.items():
            for step in steps:
                if not any(step in table for table in ACTIONS.values()):
                    raise PlaybookError(f"playbook.{key}.{event}: unknown action {step!r} in {', '.join(steps)}")

    # the base's return type names NegotiationMessage only, though its tables hold TransferMessages too
    # (services/playbook.py, being retyped by the process-engine rewrite)
    def next_action(self, role: Role, event: str, message: Message, keys: tuple[str | None, ...], *,
                    counter: bool = False) -> Message | None:
        name = f"{event}:{'counter-request' if counter else EVENT_NAMES[message]}"
        for key in keys:
            if not key:
                continue
            steps = self._sequences.get((key, name))
            if steps:
                n = self._counts.get((key, name), 0)
                self._counts[(key, name)] = n + 1
                step = steps[n % len(steps)]
                table = ACTIONS[type(message)]
                if step not in table:
                    raise PlaybookError(f"playbook.{key}.{name}: {step!r} is not an action for {type(message).__name__}")
                return table[step]
        return super().next_action(role, event, message, keys, counter=counter)
