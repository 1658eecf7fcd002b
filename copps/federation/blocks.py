"""Instance-level blocks: a block of ``example.org`` covers its subdomains too."""

from __future__ import annotations

from urllib.parse import urlsplit

from .models import BlockSeverity, DomainBlock


def normalise(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if "://" in domain:
        domain = urlsplit(domain).netloc
    return domain.removeprefix("*.")


def _candidates(domain: str) -> list[str]:
    host = normalise(domain).rsplit("@", 1)[-1]
    hostname = host.split(":")[0] if not host.startswith("[") else host
    parts = hostname.split(".")
    names = [".".join(parts[i:]) for i in range(len(parts) - 1)] or [hostname]
    return [host, *names] if host != hostname else names


def block_for(domain: str) -> DomainBlock | None:
    if not domain:
        return None
    return DomainBlock.objects.filter(domain__in=_candidates(domain)).first()


def suspended(domain: str) -> bool:
    block = block_for(domain)
    return block is not None and block.severity == BlockSeverity.SUSPEND


def domain_of(url: str) -> str:
    try:
        return (urlsplit(url).netloc or "").lower()
    except ValueError:
        return ""
