from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "copps.inbox"
    label = "inbox"
    verbose_name = _("Inbox")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from . import comments, pull, replies, sms
        from .models import Source

        # Investigators' answers to a text go back to the alias's number by SMS.
        replies.register(Source.SMS, sms.send_reply)
        # A production deployment without token or allowed addresses has a closed SMS hook.
        checks.register(sms.check_hook, checks.Tags.security)
        # Our replies to comments on the public site are published there at once.
        replies.register(Source.COMMENT, comments.send_reply)
        # Replies to Mastodon, Bluesky, X, Facebook, the fediverse and e-mail go back the same way.
        pull.register_senders(replies.register)
