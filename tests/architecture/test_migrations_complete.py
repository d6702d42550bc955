"""The migrations describe the models exactly: a change to a field, its choices or their labels without a migration
fails here, in the test run every developer makes, not only in CI's lint step."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:  # makemigrations --check exits 1 when a migration is missing
        raise AssertionError(f"Model changes without a migration:\n{out.getvalue()}") from exit_
