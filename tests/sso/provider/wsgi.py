"""The provider's WSGI application, served by the test fixture."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.sso.provider.settings")
application = get_wsgi_application()
