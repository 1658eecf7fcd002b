from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "copps.federation"
    verbose_name = _("Fediverse")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The fediverse account is a channel kind like any other: register its adapter (the
        # channels app knows no feature app; the dependency points from here to there).
        from copps.channels import registry

        registry.ADAPTERS.setdefault("activitypub", "copps.federation.adapter.ActivityPubAdapter")
