"""Hostile input is a 4xx, never a 500: each case below once took a page or an endpoint down."""

import io
import json
import os
import re

import pytest

from governance.kernel.charts import figure, to_svg
from governance.kernel.roles import Role
from governance.policies.services import ensure_default_policies
from readiness.charts import group_intervals_chart
from tests.factories import MLModelFactory, make_launch, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(db):
    ensure_default_policies()
    return make_user("author", Role.DATA_SCIENCE)


@pytest.fixture
def api(api_client, token_for):
    _, secret = token_for("gate:read", "models:read", "models:write", "launches:read", "launches:write",
                          "incidents:read", "incidents:write", "rollouts:write", "evaluations:write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api_client


def assert_json_error(response, status, code=None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] and body["detail"]
    if code:
        assert body["code"] == code
    return body


def test_group_names_are_text_in_charts_never_mathtext():
    report = {"groups": [{"group": name, "n": 100, "selection_rate": {"estimate": 0.5, "ci_low": 0.4,
                                                                      "ci_high": 0.6}}
                         for name in ("a$x^$b", "$\\frac{", "plain")]}
    svg = group_intervals_chart(report)
    assert "a$x^$b" in svg
    fig, ax = figure()
    ax.set_title("$$ and ^_ are just characters")
    assert "$$ and ^_" in to_svg(fig)


def test_launch_page_survives_a_mathtext_group_name(client, author, settings):
    settings.FAIRNESS_BOOTSTRAP_RESAMPLES = 200
    from readiness import evaluations

    launch = make_launch(author=author)
    rows = ["group,y_true,y_pred"] + [f"{g},{i % 2},{(i // 2) % 2}" for g in ("a$x^$b", "plain") for i in range(60)]
    evaluations.submit(launch, actor=author, predictions=("\n".join(rows) + "\n").encode())
    client.force_login(author)
    response = client.get(launch.get_absolute_url())
    assert response.status_code == 200
    assert "a$x^$b" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/models/", "/api/v1/launches/", "/api/v1/incidents/"])
@pytest.mark.parametrize("query", ["limit=99999999999999999999", "offset=99999999999999999999", "offset=null",
                                   "limit=0", "limit=-1", "limit=１２", "offset=1e3"])
def test_page_window_out_of_bounds_is_400(api, author, path, query):
    body = assert_json_error(api.get(f"{path}?{query}"), 400, "invalid")
    assert body["field"] in ("limit", "offset")


def test_page_window_in_bounds_pages(api, author):
    for n in range(3):
        MLModelFactory(slug=f"model-{n}", owner=author)
    body = api.get("/api/v1/models/?limit=2&offset=1").json()
    assert body["count"] == 3 and len(body["results"]) == 2


def test_options_on_every_action_answers(api, author):
    launch = make_launch(author=author)
    for action in ("advance", "rollback", "evaluations", "observations"):
        response = api.options(f"/api/v1/launches/{launch.pk}/{action}/")
        assert response.status_code == 200, (action, response.content[:200])


def test_nul_in_a_form_field_is_400(client, author):
    client.force_login(make_user("admin", superuser=True))
    response = client.post("/models/new/", {"slug": "x", "name": "X", "owner": "author\x00", "business_use": "b",
                                            "risk_tier": "TIER_3"})
    assert response.status_code == 400
    assert client.get("/models/?owner=1\x00").status_code == 400


def test_nul_in_json_is_400(api, author):
    body = assert_json_error(api.post("/api/v1/incidents/", {"title": "t", "severity": "SEV3", "members": ["a\x00"]},
                                      format="json"), 400, "invalid")
    assert body["field"] == "members"
    assert_json_error(api.post("/api/v1/models/", {"slug": "x\x00"}, format="json"), 400)


def test_nul_in_a_json_key_or_in_metrics_text_is_400(api, author):
    launch = make_launch(author=author)
    assert_json_error(api.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": {"a\x00": 1}},
                               format="json"), 400)
    assert_json_error(api.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": '{"a\\u0000": 1}'},
                               format="multipart"), 400)


def test_deeply_nested_json_is_400(api, author):
    deep = "[" * 5000 + "]" * 5000
    for path in ("/api/v1/incidents/", "/api/v1/models/", "/api/v1/launches/"):
        assert_json_error(api.post(path, deep, content_type="application/json"), 400)
    nested = {"title": "t", "severity": "SEV3", "impact": json.loads("[" * 40 + "]" * 40)}
    assert_json_error(api.post("/api/v1/incidents/", nested, format="json"), 400)


def test_nul_in_the_gate_model_with_a_model_limited_token_is_400(api_client, token_for, author):
    launch = make_launch(author=author)
    _, secret = token_for("gate:read", models=[launch.version.model])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = assert_json_error(api_client.get("/api/v1/gate/", {"model": "x\x00", "version": "1", "stage": "s"}), 400)
    assert body["field"] == "model"


def test_json_body_over_the_limit_is_json_413(api, author, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"title": "x" * 2000, "severity": "SEV3"})
    assert_json_error(api.post("/api/v1/incidents/", big, content_type="application/json"), 413, "payload_too_large")


def test_unknown_api_paths_answer_json_404(api):
    for path in ("/api/v1/nope/", "/api/v2/", "/api/", "/api/v1/launches/abc/"):
        assert_json_error(api.get(path), 404, "not_found")


def test_api_errors_are_json_with_code_and_detail(api, author):
    from rest_framework.test import APIClient

    assert_json_error(APIClient().get("/api/v1/models/"), 401)
    assert_json_error(api.delete("/api/v1/models/"), 405)
    assert_json_error(api.post("/api/v1/models/", "a=b", content_type="text/plain"), 415)
    assert_json_error(api.get("/api/v1/launches/999999/"), 404, "not_found")
    assert_json_error(api.post("/api/v1/models/", "{not json", content_type="application/json"), 400)


def test_large_predictions_upload_reaches_the_parser_from_disk(api, author, settings, tmp_path):
    """Beyond FILE_UPLOAD_MAX_MEMORY_SIZE Django streams an upload to a temporary file and the parser reads it
    from there; the worker never holds the whole file as bytes."""
    from governance.stats import StatsInputError, parse_predictions

    probe = tmp_path / "probe.csv"
    probe.write_text("group,y_pred\na,1\n")
    try:
        parse_predictions(os.fspath(probe))
    except StatsInputError:
        pytest.xfail("the statistics parser does not read from a path yet")
    settings.FAIRNESS_BOOTSTRAP_RESAMPLES = 200
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    launch = make_launch(author=author)
    rows = "group,y_true,y_pred\n" + "".join(f"{'ab'[i % 2]},{i % 2},{(i // 3) % 2}\n" for i in range(2000))
    upload = io.BytesIO(rows.encode())
    upload.name = "predictions.csv"
    response = api.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"predictions": upload}, format="multipart")
    assert response.status_code == 201, response.content[:300]
    assert launch.evaluations.latest().source_rows == 2000


def test_charts_carry_no_inline_styles_for_the_content_security_policy():
    report = {"groups": [{"group": 'x style="fill: red"', "n": 100,
                          "selection_rate": {"estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6}}]}
    svg = group_intervals_chart(report)
    assert "<style" not in svg and not re.search(r'<[^>]* style="', svg)
    assert 'x style="fill: red"  n=100</text>' in svg  # text content is left alone
    assert 'stroke-linejoin="round"' in svg and 'fill="#' in svg
