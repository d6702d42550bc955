"""The glue layer: settings, URLs and the Celery app. It may import every app; no app imports it
(settings are read through ``django.conf.settings``).
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
