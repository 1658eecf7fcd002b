from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "copps.demo"
    label = "demo"
    verbose_name = "Demo data"
