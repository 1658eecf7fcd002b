"""Gates: conditions other apps put on a message's way out, checked by the workflow actions.

The newsroom must not import feature apps (dependencies point one way), yet some messages carry
conditions only a feature app knows: a wanted or missing person notice goes out only under a
magistrate's authorisation valid now (``copps.investigations``). Such an app registers a gate
once, in its ``AppConfig.ready()``; ``submit_message``, ``approve_message`` and every
publication call ``check()`` inside their transaction, so no path around the gate exists (the
message editor, the API, the worker).

A gate is ``gate(message, action) -> None`` and raises ``ValidationError`` (shown to the person
as a field error) to refuse. ``action`` is "submit", "approve" or "publish".
"""

from collections.abc import Callable

Gate = Callable[[object, str], None]

_GATES: dict[str, Gate] = {}


def register(name: str, gate: Gate) -> None:
    """Add (or replace, by name: ``ready()`` may run twice in tests) a gate."""
    _GATES[name] = gate


def check(message, action: str) -> None:
    """Run every gate; the first refusal propagates."""
    for gate in list(_GATES.values()):
        gate(message, action)
