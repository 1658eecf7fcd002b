from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "copps.inbox"
    label = "inbox"
    verbose_name = _("Inbox")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import comments, replies
        from .models import Source

        # Our replies to comments on the public site are published there at once.
        replies.register(Source.COMMENT, comments.send_reply)
