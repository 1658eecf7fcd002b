"""Console panels other apps' pages include: ``{% deliveries_panel message %}`` on a message
page and ``{% needs_attention %}`` on the dashboard (``{% load channel_console %}``)."""

from django import template

from copps.channels.panels import attention_context, delivery_panel_context

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.inclusion_tag("channels/console/_deliveries_panel.html", takes_context=True)
def deliveries_panel(context, message):
    """Where ``message`` went, channel by channel, refreshing itself while anything moves."""
    panel = delivery_panel_context(_user(context), message)
    panel["csrf_token"] = context.get("csrf_token")
    panel["standalone"] = False
    return panel


@register.inclusion_tag("channels/console/_attention.html", takes_context=True)
def needs_attention(context):
    panel = attention_context(_user(context))
    panel["csrf_token"] = context.get("csrf_token")
    return panel
