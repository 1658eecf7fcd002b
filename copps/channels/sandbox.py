"""Built-in imitations of the social services, for sandbox accounts (the demo) and the tests.

Each imitation answers at ``https://<service>.sandbox.invalid`` through the outbound HTTP entry
point (``copps.lib.http.register_fake``), with response bodies shaped like the real API's, and
keeps what it received as SandboxPost rows so the console can show how each post would look.
They honour the services' idempotency where the real one has it (Mastodon's Idempotency-Key,
Bluesky record keys), so the delivery engine is exercised exactly as against the real thing.

Faults for tests: ``FAULTS[service]`` holds a list of faults consumed one per request
("timeout" — the request is processed and no answer comes; "refuse" — connection refused before
anything happens; an int — answer with that HTTP status and do nothing).
"""

from __future__ import annotations

import httpx

from copps.lib import http

SERVICES: dict[str, object] = {}
FAULTS: dict[str, list] = {}


def host(service: str) -> str:
    return f"{service}.sandbox.invalid"


def base(service: str) -> str:
    return f"https://{host(service)}"


def inject(service: str, *faults) -> None:
    FAULTS.setdefault(service, []).extend(faults)


def _with_faults(service: str, handler):
    def wrapped(request: httpx.Request) -> httpx.Response:
        queue = FAULTS.get(service)
        fault = queue.pop(0) if queue else None
        if fault == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if isinstance(fault, int):
            return httpx.Response(fault, json={"error": f"injected {fault}"}, request=request)
        response = handler(request)
        if fault == "timeout":
            raise httpx.ReadTimeout("no answer", request=request)
        return response

    return wrapped


def add(service: str, handler) -> None:
    """Register the imitation of ``service`` (a callable: httpx.Request -> httpx.Response)."""
    SERVICES[service] = handler
    http.register_fake(host(service), _with_faults(service, handler))


def register() -> None:
    """Import every adapter module that ships an imitation (each calls ``add``)."""
    from importlib import import_module

    for name in (
        "mastodon",
        "bluesky",
        "x",
        "facebook",
        "instagram",
        "linkedin",
        "telegram",
        "youtube",
        "smshttp",
        "webhook",
    ):
        try:
            import_module(f"copps.channels.fakes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"copps.channels.fakes.{name}":
                raise
