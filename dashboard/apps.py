"""The dashboard app's configuration."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The home page: what needs the signed-in person's attention, read across every app."""

    name = "dashboard"
    verbose_name = "Dashboard"
