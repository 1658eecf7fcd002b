from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrowdConfig(AppConfig):
    name = "copps.crowd"
    label = "crowd"
    verbose_name = _("Public order and crisis")
    default_auto_field = "django.db.models.BigAutoField"
