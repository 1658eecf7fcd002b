"""``{% crisis_banner %}``: on every console page while crisis mode is on, whoever looks.

The state is cached for ``BANNER_SECONDS`` (no query on most console pages); the console's own
switch (``copps.crowd.actions.crisis_on/off``) forgets it at once, other processes follow within
those seconds.
"""

from django import template
from django.core.cache import cache

register = template.Library()

BANNER_KEY = "crowd:crisis:banner"
BANNER_SECONDS = 10


def banner_state() -> dict | None:
    state = cache.get(BANNER_KEY)
    if state is None:
        from copps.crowd.models import CrisisMode

        mode = CrisisMode.objects.filter(pk=1, active=True).select_related("page", "area").first()
        state = (
            {
                "page": mode.page.name if mode.page else "",
                "since": mode.since,
                "area": mode.area.name if mode.area else "",
            }
            if mode
            else {}
        )
        cache.set(BANNER_KEY, state, BANNER_SECONDS)
    return state or None


@register.inclusion_tag("crowd/console/_crisis_banner.html", takes_context=True)
def crisis_banner(context):
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"mode": None}
    return {"mode": banner_state()}
