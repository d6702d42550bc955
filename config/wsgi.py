"""WSGI entry point (gunicorn); refuses to start outside development mode without production secrets."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from governance.kernel.checks import refuse_insecure_start  # noqa: E402 - settings must be loaded first

refuse_insecure_start()
