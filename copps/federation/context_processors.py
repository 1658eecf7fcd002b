from . import ids
from .models import Actor, ActorKind


def fediverse(request):
    """``FEDIVERSE_ME``: the force's own fediverse accounts, linked from every public page with
    rel="me" so fediverse servers can verify the website link on those profiles. A callable: the
    query runs only on pages that use it."""

    def accounts() -> list[str]:
        names = Actor.objects.filter(enabled=True, kind=ActorKind.FORCE).values_list(
            "username", flat=True
        )
        return [ids.actor(name) for name in names]

    return {"FEDIVERSE_ME": accounts}
