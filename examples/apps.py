"""The examples app's configuration."""

from django.apps import AppConfig


class ExamplesConfig(AppConfig):
    """The documented examples seeded through the services, the demo people, the demo command and its tour."""

    name = "examples"
    verbose_name = "Documented examples"
