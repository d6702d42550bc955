"""The CI launch gate and the evaluations API, as a pipeline uses them."""

import csv
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from readiness import gate, services
from readiness.models import Evaluation, LaunchRequest
from tests.factories import PASSWORD, make_launch, pass_everything

pytestmark = pytest.mark.django_db

FOUR = (("data_science", "DATA_SCIENCE"), ("compliance", "COMPLIANCE"), ("legal", "LEGAL"), ("model_risk", "MODEL_RISK"))


def bearer(api_client, secret):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api_client


def sign_all(launch, people, roles=FOUR):
    for person, role in roles:
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    return launch


def approved_launch(people, **kw):
    launch = pass_everything(make_launch(author=people["author"], **kw), attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    return sign_all(launch, people)


def ask(api_client, launch, stage="shadow"):
    return api_client.get("/api/v1/gate/", {"model": launch.version.model.slug, "version": launch.version.version,
                                            "stage": stage})


def codes(body):
    return {r["code"] for r in body["reasons"]}


def predictions_csv(rates, n_per_group=400, seed=1, labels=True):
    rng = np.random.default_rng(seed)
    lines = ["group,y_true,y_pred"] if labels else ["group,y_pred"]
    for group, rate in rates.items():
        for _ in range(n_per_group):
            y = int(rng.random() < 0.5)
            p = int(rng.random() < rate)
            lines.append(f"{group},{y},{p}" if labels else f"{group},{p}")
    return ("\n".join(lines) + "\n").encode()


def test_ci_pipeline_end_to_end(api_client, token_for, people, settings):
    """token → register version → launch → evaluations → sign-offs → allow; a failing evaluation → deny."""
    settings.FAIRNESS_BOOTSTRAP_RESAMPLES = 2000
    from tests.factories import MLModelFactory, sha

    MLModelFactory(slug="credit-line", risk_tier="TIER_1", owner=people["author"])
    _, secret = token_for("models:write", "launches:write", "launches:read", "evaluations:write", "gate:read")
    client = bearer(api_client, secret)
    assert client.post("/api/v1/models/credit-line/versions/", {
        "version": "4.0.0", "artifact_sha256": sha("artifact"), "features": [{"name": "income"}]},
        format="json").status_code == 201
    created = client.post("/api/v1/launches/", {"model": "credit-line", "version": "4.0.0",
                                                "title": "Credit line 4.0"}, format="json")
    assert created.status_code == 201, created.json()
    launch = LaunchRequest.objects.get(pk=created.json()["id"])
    assert launch.author == people["author"]
    upload = io.BytesIO(predictions_csv({"a": 0.5, "b": 0.5, "c": 0.5}, n_per_group=5000))
    upload.name = "predictions.csv"
    response = client.post(f"/api/v1/launches/{launch.pk}/evaluations/",
                           {"predictions": upload, "metrics": '{"psi.max": 0.05}'}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["report"]["fairness"]["checks"][0]["verdict"] == "PASS"
    assert response.json()["metrics"]["psi.max"] == 0.05
    for item in launch.items.filter(kind="MANUAL", stage=""):
        services.attest_item(item, actor=people["data_science"], outcome="PASS", evidence_text="ok")
    launch.refresh_from_db()
    services.update_memo(launch, actor=people["author"], summary="s", options_considered="o", decision="SHIP",
                         rationale="r")
    services.submit_for_review(launch, actor=people["author"])
    assert ask(client, launch).json()["decision"] == "deny"
    sign_all(launch, people)
    body = ask(client, launch).json()
    assert body["decision"] == "allow", body["reasons"]
    assert gate.verify_receipt(body["receipt"]).verdict["decision"] == "allow"
    metrics = {**launch.evaluations.latest().metrics, "psi.max": 0.4}
    client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": metrics}, format="json")
    body = ask(client, launch).json()
    assert body["decision"] == "deny"
    assert {"blocking_check_failed", "stale_signoff"} <= codes(body)


def test_gate_codes_for_unknowns(api_client, token_for, people):
    launch = make_launch(author=people["author"])
    _, secret = token_for("gate:read")
    client = bearer(api_client, secret)
    r = client.get("/api/v1/gate/", {"model": "nope", "version": "1", "stage": "shadow"})
    assert r.status_code == 200 and codes(r.json()) == {"unknown_model"} and r.json()["decision"] == "deny"
    r = client.get("/api/v1/gate/", {"model": launch.version.model.slug, "version": "9.9", "stage": "shadow"})
    assert codes(r.json()) == {"unknown_version"}
    from tests.factories import ModelVersionFactory

    bare = ModelVersionFactory(model=launch.version.model)
    r = client.get("/api/v1/gate/", {"model": bare.model.slug, "version": bare.version, "stage": "shadow"})
    assert codes(r.json()) == {"no_launch"}


def test_gate_explains_every_gap_of_a_draft(api_client, token_for, people):
    launch = make_launch(author=people["author"], third_party=True)
    _, secret = token_for("gate:read")
    body = ask(bearer(api_client, secret), launch).json()
    assert {"missing_signoff", "blocking_check_failed", "not_approved"} <= codes(body)
    assert body["launch"] == launch.pk and body["content_hash"] == launch.content_hash


def test_inconclusive_fairness_check_is_its_own_code(api_client, token_for, people):
    launch = approved_launch(people)
    services.submit_evaluation(launch, actor=people["data_science"], metrics={
        "psi.max": 0.05, "fairness.air": 0.82, "fairness.air.ci_low": 0.75, "fairness.air.ci_high": 0.9,
        "fairness.eod": 0.01, "fairness.eod.ci_low": 0, "fairness.eod.ci_high": 0.02})
    _, secret = token_for("gate:read")
    assert "blocking_check_inconclusive" in codes(ask(bearer(api_client, secret), launch).json())


def test_approved_launch_allows_only_the_first_stage(api_client, token_for, people):
    launch = approved_launch(people)
    _, secret = token_for("gate:read")
    client = bearer(api_client, secret)
    assert ask(client, launch, "shadow").json()["decision"] == "allow"
    body = ask(client, launch, "canary").json()
    # the shadow's fairness comparison is attested once the shadow has run: it holds back every later stage
    assert codes(body) == {"stage_not_reached", "stage_result_not_attested"}
    assert codes(ask(client, launch, "moon").json()) == {"unknown_stage"}


def test_gate_query_count_is_constant(api_client, token_for, people, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = approved_launch(people)
    big = approved_launch(people, third_party=True)
    for _ in range(6):
        services.submit_evaluation(big, actor=people["data_science"], metrics={"psi.max": 0.1, "auc": 0.7})
    _, secret = token_for("gate:read")
    client = bearer(api_client, secret)
    ask(client, small)  # token last_used_at write happens once a minute
    counts = []
    for launch in (small, big):
        params = {"model": launch.version.model.slug, "version": launch.version.version, "stage": "shadow"}
        with CaptureQueriesContext(connection) as ctx:
            client.get("/api/v1/gate/", params)
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 9, counts


def test_gate_fails_closed_on_internal_error(api_client, token_for, people, monkeypatch):
    launch = approved_launch(people)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(gate, "evaluate", broken)
    _, secret = token_for("gate:read")
    response = ask(bearer(api_client, secret), launch)
    assert response.status_code == 503 and response["Retry-After"] == str(gate.RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["decision"] == "deny" and codes(body) == {"internal_error"}
    assert gate.verify_receipt(body["receipt"]).verdict["reasons"] == ["internal_error"]


def test_gate_answers_503_not_200_deny_when_the_receipt_cannot_be_signed(api_client, token_for, people, settings):
    """A verdict without its receipt is no decision a deploy step may rely on: 503 internal_error, never 200."""
    launch = approved_launch(people)
    _, secret = token_for("gate:read")
    settings.GATE_SIGNING_KEY = "not an Ed25519 key"  # a misconfigured key: signing raises
    response = ask(bearer(api_client, secret), launch)
    assert response.status_code == 503 and response["Retry-After"] == str(gate.RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["decision"] == "deny" and codes(body) == {"internal_error"} and body["receipt"] is None
    assert body["launch"] is None and body["model"] == launch.version.model.slug


def test_decide_raises_gate_undecided_for_every_caller_to_answer_503(people, settings):
    """The rule sits in the gate, not in one view: deploy-tool contracts calling ``decide`` get the same signal."""
    launch = approved_launch(people)
    settings.GATE_SIGNING_KEY = "not an Ed25519 key"
    with pytest.raises(gate.GateUndecided) as caught:
        gate.decide(launch.version.model.slug, launch.version.version, "shadow")
    assert caught.value.verdict["decision"] == "deny"
    assert [r["code"] for r in caught.value.verdict["reasons"]] == ["internal_error"]


def test_gate_requires_parameters_and_scope(api_client, token_for, people):
    _, secret = token_for("evaluations:write")
    client = bearer(api_client, secret)
    assert client.get("/api/v1/gate/", {"model": "m", "version": "1", "stage": "s"}).status_code == 403
    _, secret = token_for("gate:read")
    response = bearer(api_client, secret).get("/api/v1/gate/", {"model": "m", "stage": "s"})
    assert response.status_code == 400 and response.json()["field"] == "version"


def test_gate_refuses_a_token_limited_to_other_models(api_client, token_for, people):
    launch = approved_launch(people)
    other = make_launch(author=people["author"])
    _, secret = token_for("gate:read", models=[other.version.model])
    response = ask(bearer(api_client, secret), launch)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_receipt_verification_command(api_client, token_for, people, capsys):
    launch = approved_launch(people)
    _, secret = token_for("gate:read")
    receipt = ask(bearer(api_client, secret), launch).json()["receipt"]
    call_command("verify_gate_receipt", receipt)
    assert '"decision": "allow"' in capsys.readouterr().out
    header, body, signature = receipt.split(".")
    forged = header + "." + body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + signature
    with pytest.raises(CommandError) as caught:
        call_command("verify_gate_receipt", forged)
    assert caught.value.code == "receipt_invalid"


# -- evaluations: bad input is a 4xx naming the problem, and nothing is stored ---------------------------

@pytest.fixture
def eval_client(api_client, token_for):
    _, secret = token_for("evaluations:write")
    return bearer(api_client, secret)


def post_csv(client, launch, content, name="predictions"):
    upload = io.BytesIO(content)
    upload.name = f"{name}.csv"
    return client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {name: upload}, format="multipart")


@pytest.mark.parametrize("body,field", [
    ({"metrics": {"auc": "high"}}, "metrics.auc"),
    ({"metrics": {"auc": None}}, "metrics.auc"),
    ({"metrics": {}}, "metrics"),
    ({"metrics": [1, 2]}, "metrics"),
    ({"nonsense": 1}, "nonsense"),
])
def test_bad_json_metrics(eval_client, people, body, field):
    launch = make_launch(author=people["author"])
    response = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field, response.json()
    assert not Evaluation.objects.exists()


def test_nan_in_json_is_refused(eval_client, people):
    launch = make_launch(author=people["author"])
    response = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", data='{"metrics": {"auc": NaN}}',
                                content_type="application/json")
    assert response.status_code == 400 and not Evaluation.objects.exists()


@pytest.mark.parametrize("content,field,code", [
    (b"", "predictions", "no_rows"),
    (b"group,y_pred\n", "predictions", "no_rows"),
    (b"group,y_true\na,1\n", "y_pred", "missing_column"),
    (b"group,y_pred,y_true\na,1,2\n", "y_true", "not_binary"),
])
def test_bad_predictions_files(eval_client, people, content, field, code):
    launch = make_launch(author=people["author"])
    response = post_csv(eval_client, launch, content)
    assert response.status_code == 400, response.json()
    assert (response.json()["field"], response.json()["code"]) == (field, code)
    assert not Evaluation.objects.exists()


def test_a_group_column_with_100000_values_is_refused(eval_client, people):
    launch = make_launch(author=people["author"])
    content = ("group,y_pred\n" + "".join(f"g{i},1\n" for i in range(100_000))).encode()
    response = post_csv(eval_client, launch, content)
    assert response.status_code == 400 and response.json()["field"] == "group"
    assert not Evaluation.objects.exists()


def test_oversized_upload_is_413(eval_client, people, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    launch = make_launch(author=people["author"])
    response = post_csv(eval_client, launch, predictions_csv({"a": 0.5}, n_per_group=200))
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert not Evaluation.objects.exists()


def test_evaluation_for_another_teams_model_is_403(api_client, token_for, people):
    launch = make_launch(author=people["author"])
    other = make_launch(author=people["author"])
    _, secret = token_for("evaluations:write", models=[other.version.model])
    response = bearer(api_client, secret).post(f"/api/v1/launches/{launch.pk}/evaluations/",
                                               {"metrics": {"auc": 0.8}}, format="json")
    assert response.status_code == 403 and not Evaluation.objects.exists()


def test_idempotent_evaluation_is_stored_once(eval_client, people):
    launch = make_launch(author=people["author"])
    first = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": {"psi.max": 0.1}},
                             format="json", HTTP_IDEMPOTENCY_KEY="build-881")
    again = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": {"psi.max": 0.1}},
                             format="json", HTTP_IDEMPOTENCY_KEY="build-881")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Evaluation.objects.count() == 1


def test_drift_files_produce_psi_metrics(eval_client, people):
    launch = make_launch(author=people["author"])
    rng = np.random.default_rng(3)
    baseline = "income,device\n" + "".join(f"{v:.2f},{d}\n" for v, d in zip(rng.normal(50, 10, 2000),
                                                                          rng.choice(["ios", "android"], 2000), strict=True))
    current = "income,device\n" + "".join(f"{v:.2f},{d}\n" for v, d in zip(rng.normal(60, 10, 2000),
                                                                         rng.choice(["ios", "web"], 2000), strict=True))
    b, c = io.BytesIO(baseline.encode()), io.BytesIO(current.encode())
    b.name, c.name = "b.csv", "c.csv"
    response = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"baseline": b, "current": c},
                                format="multipart")
    assert response.status_code == 201, response.json()
    metrics = response.json()["metrics"]
    assert metrics["psi.income"] > 0.2 and metrics["new_categories.device"] == 1
    assert launch.items.get(key="dataset_diff_psi").status == "FAIL"


def test_fairness_answer_states_its_family_wise_method_and_confidence(eval_client, people, client):
    launch = make_launch(author=people["author"])
    model = launch.version.model
    model.protected_attributes = ["sex", "age_band"]
    model.save()
    rng = np.random.default_rng(3)
    rows = ["sex,age_band,y_pred"] + [
        f"{rng.choice(['F', 'M'])},{rng.choice(['18-30', '31-50'])},{int(rng.random() < 0.5)}" for _ in range(800)
    ]
    response = post_csv(eval_client, launch, ("\n".join(rows) + "\n").encode())
    assert response.status_code == 201, response.json()
    fairness = Evaluation.objects.get().report["fairness"]
    assert fairness["family_wise"]["method"] == "Šidák" and fairness["family_wise"]["confidence"] == 0.95
    assert [a["attribute"] for a in fairness["by_attribute"]] == ["sex", "age_band", "sex × age_band"]
    client.force_login(people["author"])
    page = client.get(f"/launches/{launch.pk}/").content.decode()
    assert "Šidák-adjusted intervals" in page and "family-wise confidence" in page
    assert "closed form, no resamples" in page


def test_the_reference_group_can_be_named_and_an_unknown_one_is_refused(eval_client, people):
    launch = make_launch(author=people["author"])
    content = predictions_csv({"a": 0.5, "b": 0.4}, n_per_group=200)
    upload = io.BytesIO(content)
    upload.name = "predictions.csv"
    response = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/",
                                {"predictions": upload, "reference_group": "b"}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["report"]["fairness"]["reference_group"] == "b"
    upload = io.BytesIO(content)
    upload.name = "predictions.csv"
    response = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/",
                                {"predictions": upload, "reference_group": "group_z"}, format="multipart")
    body = response.json()
    assert (response.status_code, body["field"], body["code"]) == (400, "reference_group", "unknown_group")
    assert "group_z" in body["detail"]
    assert Evaluation.objects.count() == 1


def test_a_reference_group_without_predictions_is_refused(eval_client, people):
    launch = make_launch(author=people["author"])
    response = eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/",
                                {"metrics": {"auc": 0.8}, "reference_group": "a"}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "reference_group")
    assert not Evaluation.objects.exists()


def test_the_per_group_table_downloads_as_csv_from_the_api_and_the_page(eval_client, token_for, people, client):
    launch = make_launch(author=people["author"])
    response = post_csv(eval_client, launch, predictions_csv({"a": 0.5, "=b": 0.4, "c": 0.45}, n_per_group=200))
    assert response.status_code == 201, response.json()
    evaluation = Evaluation.objects.get()
    url = f"/api/v1/launches/{launch.pk}/evaluations/{evaluation.pk}/groups.csv"
    reader = bearer(eval_client, token_for("launches:read")[1])
    answer = reader.get(url)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    groups = {g["group"]: g for g in evaluation.report["fairness"]["groups"]}
    assert [r["group"] for r in rows] == ["'=b", "a", "c"]  # a formula-like name stays text
    a = next(r for r in rows if r["group"] == "a")
    assert float(a["selection_rate"]) == groups["a"]["selection_rate"]["estimate"]
    assert float(a["fnr_ci_high"]) == groups["a"]["fnr"]["ci_high"] and a["n"] == "200"
    client.force_login(people["author"])
    assert url in client.get(f"/launches/{launch.pk}/").content.decode()
    assert client.get(url).status_code == 200


def test_the_per_group_csv_needs_a_fairness_report_and_the_launch(eval_client, token_for, people):
    launch = make_launch(author=people["author"])
    eval_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": {"auc": 0.8}}, format="json")
    evaluation = Evaluation.objects.get()
    reader = bearer(eval_client, token_for("launches:read")[1])
    assert reader.get(f"/api/v1/launches/{launch.pk}/evaluations/{evaluation.pk}/groups.csv").status_code == 404
    other = make_launch(author=people["author"])
    assert reader.get(f"/api/v1/launches/{other.pk}/evaluations/{evaluation.pk}/groups.csv").status_code == 404


def test_each_declared_attribute_is_evaluated_or_inconclusive_with_its_reason(eval_client, people, client):
    launch = make_launch(author=people["author"])
    model = launch.version.model
    model.protected_attributes = ["sex", "race", "age_band"]
    model.save()
    rng = np.random.default_rng(4)
    rows = ["sex,age_band,y_pred"] + [
        f"{rng.choice(['F', 'M'])},{rng.choice(['18-30', '31-50'])},{int(rng.random() < 0.5)}" for _ in range(600)
    ]
    response = post_csv(eval_client, launch, ("\n".join(rows) + "\n").encode())
    assert response.status_code == 201, response.json()
    fairness = response.json()["report"]["fairness"]
    declared = {a["attribute"]: a for a in fairness["declared_attributes"]}
    assert declared["sex"]["evaluated"] and declared["age_band"]["evaluated"]
    assert (declared["race"]["evaluated"], declared["race"]["verdict"]) == (False, "INCONCLUSIVE")
    assert "'race'" in declared["race"]["reason"]
    assert response.json()["metrics"]["fairness.attributes.not_evaluated"] == 1
    client.force_login(people["author"])
    page = client.get(f"/launches/{launch.pk}/").content.decode()
    assert "Protected attribute race" in page and "no &#x27;race&#x27; column" in page
