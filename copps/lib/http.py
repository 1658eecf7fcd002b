"""The one outbound HTTP entry point: every request copps makes to another server goes here.

- http and https only; a timeout on every request; redirects not followed unless asked (and then
  at most ``MAX_REDIRECTS``, each hop checked again);
- addresses from outside input (a citizen's push endpoint, a remote ActivityPub actor) must
  resolve to public addresses: ``allow_private=False`` (the default) refuses loopback, private,
  link-local and reserved ranges. Endpoints an administrator configured (a Kannel box on the
  LAN) pass ``allow_private=True``. ``COPPS_HTTP_ALLOW_PRIVATE_HOSTS`` lists hosts that are
  always allowed (the test suite's loopback peers);
- errors come out as three kinds, because what may be retried depends on it:
  ``NotSent`` (nothing reached the server: DNS, refused connection, connect timeout — safe to
  retry), ``NoAnswer`` (the request may have arrived and no answer came — the outcome is
  unknown; never retry an irreversible call blindly) and ``Refused`` (our own refusal: bad URL,
  private address — permanent).

Sandboxes and tests: requests to a host registered with ``register_fake()`` (the demo's
``*.sandbox.invalid`` services) are answered in-process by that handler instead of the network;
``fake()`` intercepts every request for the duration of a ``with`` block. Fakes answer with the
shape of the real API, so adapters cannot tell the difference.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

Handler = Callable[[httpx.Request], httpx.Response]

DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 3
USER_AGENT = "copps (+https://github.com/copps)"


class HttpError(Exception):
    """Base of the entry point's errors."""


class Refused(HttpError):
    """copps refused to make the request (bad scheme, private address, too many redirects)."""


class NotSent(HttpError):
    """The request never reached the server: retrying is safe."""


class NoAnswer(HttpError):
    """The request went out (or may have) and no usable answer came back: outcome unknown."""


_fakes: dict[str, Handler] = {}
_override = threading.local()
_clients = threading.local()


def register_fake(host: str, handler: Handler) -> None:
    """Answer requests to ``host`` in-process with ``handler`` (sandbox services)."""
    _fakes[host.lower()] = handler


@contextlib.contextmanager
def fake(handler: Handler) -> Iterator[list[httpx.Request]]:
    """Intercept every request made in this thread by ``handler``; yields the requests seen.

    The handler may raise ``httpx.ConnectError`` / ``httpx.ReadTimeout`` to simulate a server
    that is down or that took the request and never answered.
    """
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    previous = getattr(_override, "handler", None)
    _override.handler = recording
    try:
        yield seen
    finally:
        _override.handler = previous


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool = False) -> str:
    """Return the URL's host if copps may call it, else raise ``Refused``."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise Refused(f"malformed URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http and https URLs with a host are allowed")
    host = parts.hostname.lower()
    if host in _fakes or allow_private or host in settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS:
        return host
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise NotSent(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise Refused(f"{host} resolves to a private or reserved address")
    return host


def _transport_for(host: str) -> httpx.BaseTransport | None:
    handler = getattr(_override, "handler", None)
    if handler is None:
        handler = _fakes.get(host)
    return httpx.MockTransport(handler) if handler else None


def _client(transport: httpx.BaseTransport | None) -> httpx.Client:
    if transport is not None:
        return httpx.Client(transport=transport, headers={"User-Agent": USER_AGENT})
    client = getattr(_clients, "client", None)
    if client is None:
        # One pooled client per thread: keep-alive connections to the same API are reused.
        client = httpx.Client(headers={"User-Agent": USER_AGENT}, http2=False)
        _clients.client = client
    return client


def request(
    method: str,
    url: str,
    *,
    allow_private: bool = False,
    follow_redirects: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> httpx.Response:
    """Make one HTTP request (keyword arguments as ``httpx.Client.request``).

    Returns the response whatever its status; the caller decides what a 4xx or 5xx means.
    Raises ``Refused``, ``NotSent`` or ``NoAnswer``.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        host = check_url(url, allow_private=allow_private)
        transport = _transport_for(host)
        client = _client(transport)
        try:
            response = client.request(method, url, timeout=timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(f"{host}: {exc.__class__.__name__}: {exc}") from None
        except httpx.UnsupportedProtocol as exc:
            raise Refused(str(exc)) from None
        except httpx.HTTPError as exc:  # read/write timeouts, protocol errors after sending
            raise NoAnswer(f"{host}: {exc.__class__.__name__}: {exc}") from None
        finally:
            if transport is not None:
                client.close()
        if not (follow_redirects and response.is_redirect and "location" in response.headers):
            return response
        url = str(response.url.join(response.headers["location"]))
        method = "GET" if response.status_code == 303 else method
    raise Refused(f"more than {MAX_REDIRECTS} redirects")
