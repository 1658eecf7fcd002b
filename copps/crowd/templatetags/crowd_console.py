"""``{% crisis_banner %}``: on every console page while crisis mode is on, whoever looks."""

from django import template

register = template.Library()


@register.inclusion_tag("crowd/console/_crisis_banner.html", takes_context=True)
def crisis_banner(context):
    from copps.crowd.models import CrisisMode

    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"mode": None}
    mode = CrisisMode.objects.filter(pk=1, active=True).select_related("page", "area").first()
    return {"mode": mode}
