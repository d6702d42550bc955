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


def test_bodies_that_refuse_undeclared_fields_say_so_in_the_schema(client):
    components = client.get("/api/v1/schema/").json()["components"]["schemas"]
    strict = {name for name, schema in components.items() if schema.get("additionalProperties") is False}
    # request bodies refuse an undeclared field (unknown_field): the schema forbids extra properties there
    assert {"RollbackInRequest", "TimelineEventInRequest", "RemediationInRequest", "AskInRequest",
            "ReceiptVerifyInRequest", "LaunchInRequest"} <= strict
    # answers are not inputs: a client reading one must tolerate fields added later
    assert not any(name for name in strict if not name.endswith("Request"))


def test_a_new_versions_digest_has_its_shape_in_the_schema(client):
    components = client.get("/api/v1/schema/").json()["components"]["schemas"]
    assert components["VersionInRequest"]["properties"]["artifact_sha256"]["pattern"] == "^[0-9a-f]{64}$"
