"""The API schema: generated without warnings, and readable in a browser tab."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_schema_is_json_a_browser_shows(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("inline")


def test_schema_still_answers_yaml_when_asked(client):
    response = client.get("/api/v1/schema/?format=yaml")
    assert response.status_code == 200 and response.content.startswith(b"openapi:")
