from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvestigationsConfig(AppConfig):
    name = "copps.investigations"
    label = "investigations"
    verbose_name = _("Investigations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A notice goes out only under a valid authorisation, whichever path submits, approves
        # or publishes its message (the newsroom knows no feature app: we register with it).
        from copps.newsroom import gates

        from .rules import notice_gate

        gates.register("investigations.notice", notice_gate)

        # Questions to a web tipster wait for their next visit with code and secret.
        from copps.inbox import replies
        from copps.inbox.models import Source

        from .tips import send_to_tipster

        replies.register(Source.TIP, send_to_tipster)
