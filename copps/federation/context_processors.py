from django.conf import settings
from django.core.cache import cache

from . import ids
from .models import Actor, ActorKind

CACHE_KEY = "copps.fediverse.me"


def force_accounts() -> list[str]:
    """The ids of the force's enabled fediverse accounts (cached: every public page links them,
    and they change only when an administrator edits an account; ``forget()`` is called then,
    and other processes see the change within five minutes)."""
    key = f"{CACHE_KEY}:{settings.SITE_URL}"
    urls = cache.get(key)
    if urls is None:
        names = Actor.objects.filter(enabled=True, kind=ActorKind.FORCE).values_list(
            "username", flat=True
        )
        urls = [ids.actor(name) for name in names]
        cache.set(key, urls, 300)
    return urls


def forget() -> None:
    """Drop the cached list (in this process; other processes refresh within five minutes)."""
    cache.delete(f"{CACHE_KEY}:{settings.SITE_URL}")


def fediverse(request):
    """``FEDIVERSE_ME``: the force's own fediverse accounts, linked from every public page with
    rel="me" so fediverse servers can verify the website link on those profiles."""
    return {"FEDIVERSE_ME": force_accounts}
