#!/usr/bin/env python
"""Django's command line for Gatehouse. ``demo`` runs with the development settings; ``runserver`` in production
mode refuses to start with default secrets."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["demo"]:
        os.environ.setdefault("GATEHOUSE_DEV", "true")  # the embedded demo needs no configuration
    elif sys.argv[1:2] == ["runserver"]:
        from governance.kernel.checks import refuse_insecure_start

        refuse_insecure_start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
