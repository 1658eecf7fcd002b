"""Which adapter serves which kind of channel: a plain dict, imported lazily."""

from django.utils.module_loading import import_string

ADAPTERS: dict[str, str] = {
    "mastodon": "copps.channels.adapters.mastodon.MastodonAdapter",
    "bluesky": "copps.channels.adapters.bluesky.BlueskyAdapter",
    "x": "copps.channels.adapters.x.XAdapter",
    "facebook": "copps.channels.adapters.facebook.FacebookAdapter",
    "instagram": "copps.channels.adapters.instagram.InstagramAdapter",
    "linkedin": "copps.channels.adapters.linkedin.LinkedInAdapter",
    "telegram": "copps.channels.adapters.telegram.TelegramAdapter",
    "youtube": "copps.channels.adapters.youtube.YouTubeAdapter",
    "email": "copps.channels.adapters.email.EmailAdapter",
    "sms_kannel": "copps.channels.adapters.kannel.KannelAdapter",
    "sms_http": "copps.channels.adapters.smshttp.HttpSmsAdapter",
    "webpush": "copps.channels.adapters.webpush.WebPushAdapter",
    "webhook": "copps.channels.adapters.webhook.WebhookAdapter",
}


def adapter_class(kind: str):
    return import_string(ADAPTERS[kind])


def adapter_for(channel):
    return adapter_class(channel.kind)(channel)


def installed(kind: str) -> bool:
    """Whether the adapter for ``kind`` is known and importable."""
    if kind not in ADAPTERS:
        return False
    try:
        adapter_class(kind)
    except ImportError:
        return False
    return True
