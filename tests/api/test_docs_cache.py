"""The API documentation is never stored by a browser or a shared cache for a signed-in person or token."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/?script=", "/api/v1/schema/"])
def test_api_docs_are_no_store_when_signed_in(client, people, path):
    client.force_login(people["viewer"])
    response = client.get(path)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"] and "private" in response.headers["Cache-Control"]


def test_api_docs_are_no_store_for_a_token(api_client, token_for):
    _, secret = token_for("models:read")
    response = api_client.get("/api/docs/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


def test_a_request_target_over_the_limit_gets_json_414(client):
    from governance.kernel.middleware import MAX_REQUEST_TARGET

    response = client.get("/api/v1/models/?q=" + "a" * MAX_REQUEST_TARGET)
    assert response.status_code == 414
    assert response.json()["code"] == "uri_too_long"
    assert client.get("/api/v1/models/?q=" + "a" * 4500).status_code == 401  # over 4 KB still reaches the API
