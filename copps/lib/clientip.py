"""The client's address, with an explicit proxy trust model.

By default the client is ``REMOTE_ADDR``: copps trusts no forwarding header. A deployment behind
reverse proxies lists them in ``COPPS_TRUSTED_PROXIES`` (addresses or networks). Only when the
direct peer is such a proxy is ``X-Forwarded-For`` read — from the right, skipping further
trusted proxies — and the first address not ours is the client. Entries further left were
written by the client itself and are never believed (an attacker cannot pick their address).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]):
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.COPPS_TRUSTED_PROXIES))
    if not networks or not _trusted(_parse(remote), networks):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return remote  # a malformed hop: fall back to what we know for sure
        if not _trusted(address, networks):
            return str(address)
    return remote


def throttle_bucket(address: str) -> str:
    """The unit a per-client limit counts: the address, or for IPv6 its /64 (one home
    connection usually holds a whole /64, so single addresses would be free to rotate)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "-"
    if ip.version == 6 and not ip.ipv4_mapped:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)
