"""Every page and every GET API route the URLconf names costs the same at five times the history: the same number of
queries, and a response of about the same size rendering about the same number of records. Each route is asked
about its heaviest subject (the model with most launches, the launch with most observations, the incident with the
longest timeline), on the skewed generated history, where a page that lists history instead of what is live grows.

Nothing is listed by hand: a route added later is measured without touching this test, unless it does not answer a
GET here, and then it must be named in NOT_A_PAGE with the reason.
"""

import json
import re
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse

from examples.scale import Sizes, generate
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from governance.kernel.services import issue_api_token
from governance.models import ApiToken, MLModel, PolicyChange, User
from postmortems.models import ActionItem, Incident, Postmortem, PostmortemStatus
from readiness.models import Evaluation, LaunchRequest

# both tests read one generation of each size: on one xdist worker
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("every_route_bounded")]

# Large enough at 1× that every bounded list already shows its most (a page of launches or incidents, a dashboard
# panel's rows), so growth past the bound shows. The history grows five times over the same inventory and the same
# people: more years of launches, incidents, observations, audit events and policy changes for the same models.
BASE = dict(models=30, launches=150, incidents=60, observations=2_000, audit_events=600, rollouts_in_progress=10,
            policy_changes=45, years=3)
SAME_AT_EVERY_SIZE = ("models", "years", "rollouts_in_progress")

# Routes that do not answer a GET with a page here, and why. A new route that does not answer 200 fails the test
# until it is named here, so nothing slips out of the measurement unnoticed.
NOT_A_PAGE = {
    "logout": "signs the reader out",
    "sso_login": "redirects to the identity provider (not configured in tests)",
    "sso_callback": "completes a sign-in started at the identity provider",
    "launch_submit": "POST only", "launch_withdraw": "POST only", "launch_revise": "POST only",
    "sign": "a GET goes back to the launch page, where the signature form is",
    "decide_pending": "POST only", "rollout_start": "POST only",
    "rollout_advance": "POST only", "rollout_approve_stage": "POST only", "rollout_rollback": "POST only",
    "incident_transition": "POST only", "timeline_add": "POST only", "factor_add": "POST only",
    "action_item_add": "POST only", "obligation_add": "POST only", "token_revoke": "POST only",
    "postmortem_check": "POST only",
    "postmortem_submit": "POST only", "postmortem_review": "POST only", "postmortem_publish": "POST only",
    "postmortem_amend": "POST only", "policy_decide": "POST only",
    "mlflow_webhook": "POST only (MLflow's webhook deliveries)",
    "report_download": "the generated history holds no rendered report",
    "validation_report_download": "the generated history holds no validation report (one stored file, streamed)",
    "ask_resign": "POST only",
    "declare_regimes": "POST only (the examiner's file page holds the form)",
    "evidence_bundle": "POST only (asks for the bundle of one model, not a page)",
    "api-model-evidence-bundle": "POST only (asks for the bundle of one model)",
    "bundle_download": "the generated history holds no built evidence bundle (one stored file, streamed)",
    "api-evidence-bundle-detail": "the generated history holds no evidence bundle",
    "finding_remediate": "POST only", "finding_retest": "POST only", "finding_delegate": "POST only",
    "finding_reopen": "POST only", "waiver_revoke": "POST only",
    "api-model-materiality": "POST only", "api-model-is-model": "POST only",
    "api-model-validation-waivers": "POST only", "api-validation-findings": "POST only",
    "api-validation-sign": "POST only", "api-finding-remediate": "POST only", "api-finding-retest": "POST only",
    "api-finding-delegate": "POST only", "api-finding-reopen": "POST only",
    "need_dismiss": "POST only", "api-revalidation-need-dismiss": "POST only",
    "api-evaluation-groups-csv": "the generated evaluations carry no per-group fairness table (a row a group: "
                                 "bounded by the groups, not the history)",
    "api-report-detail": "the generated history holds no rendered report",
    "api-gate-flagger": "POST only (Flagger's webhooks post their payload)",
    "api-gate-spinnaker": "POST only (Spinnaker's webhook stage posts its request)",
    "api-gate-spinnaker-status": "the generated history holds no Spinnaker check",
    "api-gate-github": "POST only (GitHub's deployment protection rule webhook)",
    "api-receipt-verify": "POST only (the receipt to verify is the body)",
    "api-launch-advance": "POST only", "api-launch-rollback": "POST only",
    "api-incident-timeline": "POST only (the timeline is read in the incident's own answer)",
    "api-launch-evaluations": "POST only (evaluations are read in the launch's own answer)",
    "api-launch-observations": "POST only (observations are read in the launch's own answer)",
}


def sizes(factor: int) -> Sizes:
    return Sizes(**{k: v if k in SAME_AT_EVERY_SIZE else v * factor for k, v in BASE.items()})


def routes():
    """(name, route, parameter names) of every non-admin route in the URLconf."""
    def walk(patterns, prefix="", namespace=""):
        for entry in patterns:
            if hasattr(entry, "url_patterns"):
                if str(entry.pattern).startswith("admin/"):
                    continue
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif entry.name:
                yield namespace + entry.name, prefix + str(entry.pattern), tuple(entry.pattern.converters)
    return sorted(set(walk(get_resolver().url_patterns)))


def heaviest() -> dict:
    model = MLModel.objects.annotate(n=Count("versions__launches")).order_by("-n", "pk").first()
    version = model.versions.annotate(n=Count("launches")).order_by("-n", "-pk").first()
    launch = LaunchRequest.objects.annotate(n=Count("observations")).order_by("-n", "pk").first()
    incident = Incident.objects.annotate(n=Count("timeline")).order_by("-n", "pk").first()
    # A token is outside every restricted incident's circle: the API is asked about the heaviest open one.
    unrestricted = Incident.objects.filter(restricted=False).annotate(n=Count("timeline")).order_by("-n", "pk").first()
    evaluation = (Evaluation.objects.filter(launch=launch).order_by("-pk").first()
                  or Evaluation.objects.order_by("-pk").first())
    return {"unrestricted": unrestricted, "evaluation": evaluation, "model": model, "version": version, "launch": launch, "incident": incident,
            "feature": version.features.order_by("pk").first() or model.versions.filter(features__isnull=False)
            .first().features.first(),
            "item": launch.items.order_by("pk").first(), "change": PolicyChange.objects.order_by("-pk").first(),
            "action": ActionItem.objects.filter(incident=incident).first() or ActionItem.objects.first(),
            "draft": draft_postmortem()}


def draft_postmortem() -> Incident:
    """The postmortem editor opens on a draft (a published one changes by amendment); the generated history
    publishes every postmortem, so the one with the longest incident timeline is set back to draft here."""
    incident = (Incident.objects.filter(postmortem__isnull=False).annotate(n=Count("timeline"))
                .order_by("-n", "pk").first())
    Postmortem.objects.filter(incident=incident).update(status=PostmortemStatus.DRAFT)
    return incident


def model_risk_records(model: MLModel) -> dict:
    """The validator's pages are a validation's, a finding's, a waiver's and a need's: one of each on the heaviest model, the
    same at every size (the generated history holds no model risk records)."""
    from datetime import timedelta

    from governance.kernel import clock
    from governance.validation.models import Finding, GateWaiver, RevalidationNeed, Validation

    validator = User.objects.filter(memberships__role=Role.MODEL_RISK).order_by("pk").first()
    validation = Validation.objects.create(model=model, validator=validator, scope=["CONCEPTUAL_SOUNDNESS"])
    finding = Finding.objects.create(validation=validation, model=model, severity="HIGH", title="Scale finding",
                                     description="Measured.", owner=model.owner, due_date=clock.today())
    waiver = GateWaiver.objects.create(model=model, code="finding_overdue", reason="Measured.", granted_by=validator,
                                       role=Role.MODEL_RISK, expires_at=clock.now() + timedelta(days=5))
    need = RevalidationNeed.objects.create(model=model, trigger="DRIFT", source_type="readiness.evaluation",
                                           source_id="scale", source_label="Measured.", due_date=clock.today())
    return {"validation": validation, "finding": finding, "waiver": waiver, "need": need}


def arguments(name: str, params: tuple, subject: dict) -> dict:
    short = name.split(":")[-1]
    values = {"slug": subject["model"].slug, "version": subject["version"].version, "tier": "TIER_1",
              "feature_id": subject["feature"].pk, "item_id": subject["item"].pk, "item_pk": subject["action"].pk, "pending_id": 1,
              "change_id": subject["change"].pk if subject["change"] else 1, "operation": "SET_THRESHOLDS",
              "hook": "confirm-rollout", "check": 1, "kind": "count", "token_id": 1,
              "evaluation_id": subject["evaluation"].pk if subject["evaluation"] else 1,
              "validation_id": subject["validation"].pk, "finding_id": subject["finding"].pk,
              "waiver_id": subject["waiver"].pk, "need_id": subject["need"].pk}
    if "pk" in params:
        incident_route = short.startswith(("incident", "timeline", "factor", "action_item", "postmortem",
                                           "api-incident"))
        values["pk"] = subject["incident"].pk if incident_route else subject["launch"].pk
        if short.startswith("api-incident"):
            values["pk"] = subject["unrestricted"].pk
        if short == "action_item":
            values["pk"] = subject["action"].incident_id
        if short == "postmortem_edit":
            values["pk"] = subject["draft"].pk
    if short in ("feature_edit", "feature_assess"):
        values["version"] = subject["feature"].version.version
    return {p: values[p] for p in params}


def records(response) -> int:
    """Rows a response renders: table rows and list items of a page, objects of a JSON answer."""
    if response["Content-Type"].startswith("application/json"):
        def count(value):
            if isinstance(value, dict):
                return 1 + sum(count(v) for v in value.values())
            if isinstance(value, list):
                return sum(count(v) for v in value)
            return 0
        return count(json.loads(response.content))
    text = response.content.decode()
    return len(re.findall(r"<(?:tr|li)\b", text))


def measure(factor: int) -> dict[str, dict]:
    from registry.models import RegistryLink

    subject = heaviest()
    # The registry's pages are a linked model's: link the heaviest one to an MLflow registered model.
    RegistryLink.objects.create(model=subject["model"], registered_model=subject["model"].slug, created_by="tests")
    subject.update(model_risk_records(subject["model"]))
    _, secret = issue_api_token(actor=SystemActor("tests"), name=f"scale-{factor}",
                                scopes=list(ApiToken.Scope.values))
    # Compliance sees restricted incidents, signs TIER_1 launches and reviews postmortems: the fullest pages.
    # Forms that only the owners of a record open are read as the launch's author or the model's owner.
    readers = []
    # The validator's forms are Model Risk's: read as the validator of the heaviest model's validation.
    for user in (User.objects.filter(memberships__role=Role.COMPLIANCE).order_by("pk").first(),
                 subject["launch"].author, subject["model"].owner, subject["validation"].validator):
        reader = Client()
        reader.force_login(user)
        readers.append(reader)
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    gate_launch = LaunchRequest.objects.filter(status="ROLLING_OUT").select_related("version__model").first()
    asked = {"model": gate_launch.version.model.slug, "version": gate_launch.version.version,
             "stage": gate_launch.plan.stages.order_by("position").first().name}
    queries = {"api-gate": asked, "api-gate-argo": asked, "api-gate-kargo": asked}
    found = {}
    for name, _route, params in routes():
        if name.split(":")[-1] in NOT_A_PAGE:
            if "POST only" in NOT_A_PAGE[name.split(":")[-1]]:
                # Still POST only: a GET added later is measured once its name leaves the list.
                url = reverse(name, kwargs=arguments(name, params, subject))
                client = api_client if name.startswith("api") else readers[0]
                found[name] = {"status": client.get(url).status_code, "url": url, "declared": True}
            continue
        url = reverse(name, kwargs=arguments(name, params, subject))
        for client in [api_client] if name.startswith("api") or name == "schema" else readers:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, queries.get(name, {}))
            if response.status_code != 403:
                break
        import os
        if os.environ.get("SCALE_DUMP"):
            Path(os.environ["SCALE_DUMP"], f"{factor}-{name.replace(':', '_')}.out").write_bytes(response.content)
        found[name] = {"status": response.status_code, "queries": len(captured), "url": url,
                       "bytes": len(response.content), "records": records(response)}
    return found


class Discard(Exception):
    pass


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker, tmp_path_factory):
    """Each size generated once for both tests (pages and admin), inside a transaction rolled back once measured;
    the settings are those every test runs with (tests/conftest.py)."""
    from django.conf import settings
    from django.test import override_settings

    found = {}
    with django_db_blocker.unblock(), override_settings(
            CELERY_TASK_ALWAYS_EAGER=True, REPORTS_RENDER_AFTER_RESPONSE=False,
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            MEDIA_ROOT=str(tmp_path_factory.mktemp("media")),
            STORAGES={**settings.STORAGES,
                      "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for factor in (1, 5):
            try:
                with transaction.atomic():
                    generate(sizes(factor))
                    found[factor] = {"routes": measure(factor), "admin": measure_admin(factor)}
                    raise Discard
            except Discard:
                pass
    return found


def test_every_route_costs_the_same_at_five_times_the_history(measured):
    small, large = measured[1]["routes"], measured[5]["routes"]

    answers_get = "; ".join(f"{n} {m['url']} {m['status']}" for n, m in sorted(small.items())
                            if m.get("declared") and m["status"] != 405)
    assert not answers_get, f"named POST only but answer a GET (measure them: take them out of NOT_A_PAGE): {answers_get}"
    small, large = ({n: m for n, m in found.items() if not m.get("declared")} for found in (small, large))
    for found in (small, large):
        failed = "; ".join(f"{n} {m['url']} {m['status']}" for n, m in sorted(found.items()) if m["status"] != 200)
        assert not failed, f"answered other than 200 (name it in NOT_A_PAGE with the reason, or fix it): {failed}"
    grew = {}
    for name, s in small.items():
        g = large[name]
        # No query per row (one would add dozens on a page of 25); a few more only where a kind of record absent
        # at 1× appears at 5× (an empty prefetch runs no query). Rows and bytes may grow a little: bounded lists
        # fill towards their bounds (a dashboard panel shows at most eight launches in review, the follow-through
        # page twenty recurrences), counts and dates print with more digits. A list of k rows at 1× that is not
        # bounded shows 5k at 5×, over 1.25k + 20 from k = 6.
        if (g["queries"] > s["queries"] + 3 or g["records"] > 1.25 * s["records"] + 20
                or g["bytes"] > 1.25 * s["bytes"] + 4000):
            grew[name] = {k: (s[k], g[k]) for k in ("queries", "bytes", "records")}
    assert not grew, "grew with the history (small, large): " + "; ".join(f"{n} {v}" for n, v in sorted(grew.items()))


def test_routes_not_measured_are_named_with_a_reason():
    names = {name.split(":")[-1] for name, _route, _params in routes()}
    assert set(NOT_A_PAGE) <= names, set(NOT_A_PAGE) - names


def measure_admin(factor: int) -> dict[str, dict]:
    from django.contrib import admin

    superuser = User.objects.create_superuser(f"scale-admin-{factor}", f"admin{factor}@example.com", "x")
    reader = Client()
    reader.force_login(superuser)
    found = {}
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        with CaptureQueriesContext(connection) as captured:
            response = reader.get(url)
        found[url] = {"status": response.status_code, "queries": len(captured), "bytes": len(response.content)}
    return found


def test_every_admin_changelist_runs_the_same_queries_at_five_times_the_history(measured):
    """Listed apart from the pages: the admin is for administrators, and Django pages its lists at 100 rows."""
    small, large = measured[1]["admin"], measured[5]["admin"]
    assert {url: m["status"] for url, m in large.items() if m["status"] != 200} == {}
    grew = {url: (small[url]["queries"], m["queries"]) for url, m in large.items()
            if m["queries"] > small[url]["queries"]}
    assert not grew, "admin changelists whose queries grew (1x, 5x): " + "; ".join(f"{u} {v}" for u, v in grew.items())
