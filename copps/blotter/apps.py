from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlotterConfig(AppConfig):
    name = "copps.blotter"
    label = "blotter"
    verbose_name = _("Police blotter")
    default_auto_field = "django.db.models.BigAutoField"
