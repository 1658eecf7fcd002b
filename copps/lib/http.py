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
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

Handler = Callable[[httpx.Request], httpx.Response]

DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
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
    return _check(url, allow_private=allow_private)[0]


def _check(url: str, *, allow_private: bool) -> tuple[str, str | None]:
    """(host, the public address to connect to — None when no pinning is needed)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise Refused(f"malformed URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http and https URLs with a host are allowed")
    host = parts.hostname.lower()
    if host in _fakes or allow_private or host in settings.COPPS_HTTP_ALLOW_PRIVATE_HOSTS:
        return host, None
    if getattr(_override, "handler", None) is not None:
        # Under fake(): names are not resolved (no network), literal addresses still checked.
        try:
            if not _is_public(host):
                raise Refused(f"{host} is a private or reserved address")
        except ValueError:
            pass
        return host, None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("malformed port") from None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise NotSent(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not _is_public(address):
            raise Refused(f"{host} resolves to a private or reserved address")
    return host, addresses[0] if addresses else None


def _pinned(url: str, host: str, address: str) -> tuple[str, dict]:
    """Connect to the address we checked, not to whatever a second DNS answer says (DNS
    rebinding): the URL names the IP; Host and TLS (SNI and certificate check) keep the name."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl(), {
        "Host": parts.netloc.rsplit("@", 1)[-1],
    }


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


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    """The (decoded) body, refusing more than ``max_bytes`` or a body still dripping in after
    the deadline: a hostile server must not hold a worker or fill its memory."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise NoAnswer(f"answer larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise NoAnswer("answer took too long to arrive")
        chunks.append(chunk)
    return b"".join(chunks)


def request(
    method: str,
    url: str,
    *,
    allow_private: bool = False,
    follow_redirects: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> httpx.Response:
    """Make one HTTP request (keyword arguments as ``httpx.Client.request``).

    Returns the response whatever its status, its body read (at most ``max_bytes``, within
    twice ``timeout``); the caller decides what a 4xx or 5xx means.
    Raises ``Refused``, ``NotSent`` or ``NoAnswer``.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        host, address = _check(url, allow_private=allow_private)
        transport = _transport_for(host)
        client = _client(transport)
        target, extensions = url, {}
        headers = dict(kwargs.pop("headers", None) or {})
        if address and transport is None:
            target, host_header = _pinned(url, host, address)
            headers.update(host_header)
            extensions = {"sni_hostname": host}
        deadline = time.monotonic() + 2 * timeout
        try:
            outgoing = client.build_request(
                method, target, timeout=timeout, headers=headers, extensions=extensions, **kwargs
            )
            raw = client.send(outgoing, stream=True)
            try:
                body = _read_capped(raw, max_bytes, deadline)
            finally:
                raw.close()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(f"{host}: {exc.__class__.__name__}: {exc}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise Refused(str(exc)) from None  # nothing was sent
        except httpx.HTTPError as exc:  # read/write timeouts, protocol errors after sending
            raise NoAnswer(f"{host}: {exc.__class__.__name__}: {exc}") from None
        finally:
            if transport is not None:
                client.close()
        kwargs["headers"] = {k: v for k, v in headers.items() if k != "Host"}
        # The body is already decoded: the copy must not claim an encoding any more.
        response_headers = [
            (k, v)
            for k, v in raw.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        response = httpx.Response(
            raw.status_code, headers=response_headers, content=body, request=outgoing
        )
        if not (follow_redirects and response.is_redirect and "location" in response.headers):
            return response
        try:
            next_url = str(httpx.URL(url).join(response.headers["location"]))
        except httpx.InvalidURL as exc:
            raise Refused(f"bad redirect: {exc}") from None
        if urlsplit(next_url).hostname != urlsplit(url).hostname:
            # Credentials are for the host they were meant for.
            kwargs["headers"] = {
                k: v
                for k, v in kwargs["headers"].items()
                if k.lower() not in ("authorization", "cookie", "signature", "signature-input")
            }
        if response.status_code == 303:
            method = "GET"
            for field in ("content", "data", "json", "files"):
                kwargs.pop(field, None)
        url = next_url
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


@contextlib.contextmanager
def stream(
    method: str,
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> Iterator[httpx.Response]:
    """Open a long-lived answer (server-sent events, a streaming API) with the same checks as
    ``request`` (scheme, public address pinned, fakes); no redirects. Yields the response with
    its body unread: iterate ``iter_lines()``/``iter_bytes()``; ``timeout`` applies to each
    read, so a silent server raises ``NoAnswer`` after it (streaming servers send heartbeats).
    Raises ``Refused``, ``NotSent`` or ``NoAnswer`` (also while iterating)."""
    host, address = _check(url, allow_private=allow_private)
    transport = _transport_for(host)
    client = _client(transport)
    target, extensions = url, {}
    headers = dict(kwargs.pop("headers", None) or {})
    if address and transport is None:
        target, host_header = _pinned(url, host, address)
        headers.update(host_header)
        extensions = {"sni_hostname": host}
    try:
        outgoing = client.build_request(
            method, target, timeout=timeout, headers=headers, extensions=extensions, **kwargs
        )
        try:
            raw = client.send(outgoing, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(f"{host}: {exc.__class__.__name__}: {exc}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise Refused(str(exc)) from None
        except httpx.HTTPError as exc:
            raise NoAnswer(f"{host}: {exc.__class__.__name__}: {exc}") from None
        try:
            yield raw
        except httpx.HTTPError as exc:
            raise NoAnswer(f"{host}: {exc.__class__.__name__}: {exc}") from None
        finally:
            raw.close()
    finally:
        if transport is not None:
            client.close()
