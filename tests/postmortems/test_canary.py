"""The canary: nothing from a restricted incident reaches anyone outside its circle, on any surface.

A unique marker is planted in every free-text field of a restricted incident and of every record derived from it
(timeline events, contributing factors, action items, the policy change an action item proposed, postmortem
sections, the launch's rollback reason). Reports are made while the incident is still open to all, and the
incident is restricted afterwards, so visibility must be decided when a thing is read. Then every role, an
administrator outside the circle and two API tokens (one limited to another model) request:

- every page the URLconf names (admin included), with its URL arguments filled from the objects in the database,
  and every argument-free page again with a search for the markers;
- every GET operation in the OpenAPI schema, with its path parameters filled the same way and each query
  parameter tried;
- every report file they may download (PDF text read with pypdf), and every report kind for every subject
  rendered first for a reader in the circle and then for each outsider who may ask for reports (the planted world
  holds a later version of the model whose launch the incident rolled back, so fields a report takes from another
  record are crawled too);
- every admin change, history and delete page by the id of every row, and every admin action run on every row, as
  a superuser outside the circle;
- and the e-mail outbox after the incident was restricted.

Nothing is listed by hand: a page or endpoint added later is crawled without touching this test. Those in the
circle (a named member, Legal, Compliance) must find the markers; nobody else may find any of them anywhere.
"""

import io
import itertools
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from pypdf import PdfReader

from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from governance.kernel.services import issue_api_token
from governance.models import MLModel, PolicyChange
from governance.policies.services import ensure_default_policies
from postmortems import services as pm
from postmortems.models import NARRATIVE_FIELDS, ActionItem
from readiness import rollouts, services
from reporting import reports
from reporting.models import Report
from tests.factories import PASSWORD, make_launch, make_people, make_user, pass_everything
from tests.governance.test_reports import LATENCY_PLAN

pytestmark = pytest.mark.django_db

TEXT_FIELDS = ("title", "summary", "impact", "timeline", "factor", "actionitem", "rationale", "rollbackreason",
               *(f"pm{name.replace('_', '')}" for name in NARRATIVE_FIELDS))
MARKERS = {name: f"canary{name}zq" for name in TEXT_FIELDS}
# An unrestricted incident on the launch's model: everyone reads it except a token limited to another model.
MARKERS["foreign"] = "canaryforeignmodelzq"
IN_THE_CIRCLE = ("member", "legal", "compliance")
OUTSIDE = ("viewer", "data_science", "model_risk", "product", "engineering", "admin", "token", "limited_token")
SKIP_NAMES = ("logout",)  # a GET that ends the session would stop the crawl, not test it


def M(name: str) -> str:
    return MARKERS[name]


def build_world(client_for_reports=True) -> dict:
    ensure_default_policies()
    people = make_people()
    people["member"] = make_user("mo_member", Role.DATA_SCIENCE, first_name="Mo", last_name="Member",
                                 email="mo@example.com")
    launch = make_launch(author=people["author"], tier="TIER_2", title="Homepage ranking v7")
    other = make_launch(author=people["author"], tier="TIER_3", title="Widget model 2")
    rollouts.update_plan(launch, actor=people["author"], **LATENCY_PLAN)
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    for person, role in (("data_science", "DATA_SCIENCE"), ("product", "PRODUCT")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=2))
    rollouts.rollback(launch, actor=people["engineering"], reason=f"{M('rollbackreason')} approval rates diverged.")
    incident = launch.incidents.get()

    legal = people["legal"]
    pm.update_incident(incident, actor=legal, title=f"{M('title')} proxy matter", summary=M("summary"),
                       impact_text=M("impact"), members=[people["member"]], reason="The people working it.")
    pm.add_timeline_event(incident, actor=legal, at=timezone.now() - timedelta(minutes=5), kind="OTHER",
                          text=M("timeline"))
    pm.add_contributing_factor(incident, actor=legal, category="DATA_VENDOR_CHANGE", description=M("factor"))
    item = pm.add_action_item(incident, actor=legal, title=M("actionitem"), kind="DETECT", owner=people["member"],
                              due_date=timezone.localdate())
    pm.propose_policy_change_for_action_item(
        item, actor=legal, tier="TIER_2", operation="ADD_GUARDRAIL",
        payload={"metric": "p99_latency_ms", "comparator": "<=", "threshold": 400, "window_minutes": 15,
                 "failure_limit": 3, "sustain_minutes": 0, "action": "ROLLBACK", "stage": ""},
        rationale=M("rationale"))
    postmortem = pm.start_postmortem(incident, actor=people["member"])
    pm.edit_postmortem(postmortem, actor=people["member"],
                       **{name: M(f"pm{name.replace('_', '')}") for name in NARRATIVE_FIELDS})
    ActionItem.objects.filter(pk=item.pk).update(due_date=timezone.localdate() - timedelta(days=3))

    if client_for_reports:
        # Made while the incident is open to all: the pack and dossier carry its content.
        quarter = timezone.localdate()
        period = {"period": f"{quarter.year}-Q{(quarter.month - 1) // 3 + 1}"}
        for actor in (people["data_science"], legal):
            reports.request_report(actor=actor, kind="GOVERNANCE_PACK", params=period, enqueue=False)
            reports.request_report(actor=actor, kind="LAUNCH_DOSSIER", subject_id=launch.pk, enqueue=False)
        reports.request_report(actor=legal, kind="INCIDENT_REPORT", subject_id=incident.pk, enqueue=False)
        for report in Report.objects.filter(status="QUEUED"):
            reports.generate_report(report.pk)

    pm.update_incident(incident, actor=legal, restricted=True, reason="Placed under legal privilege.")
    # The model's next version, launched after the restricted incident rolled the first one back: its dossier
    # compares it with the version before, and so reads that launch's rollback reason.
    later = make_version_launch(launch.version.model, author=people["author"], version="2.0.0",
                                title="Homepage ranking v8")
    pm.open_incident(actor=people["engineering"], title=f"{M('foreign')} latency", severity="SEV3", detection_source="ALERT",
                     launch=launch, timeline=[{"at": timezone.now(), "kind": "OTHER", "text": M("foreign")}])

    if client_for_reports:
        # Asked again after the restriction: each audience gets its own rendering.
        for actor in (people["data_science"], legal):
            reports.request_report(actor=actor, kind="GOVERNANCE_PACK", params=period, enqueue=False)
            reports.request_report(actor=actor, kind="LAUNCH_DOSSIER", subject_id=launch.pk, enqueue=False)
        for report in Report.objects.filter(status="QUEUED"):
            reports.generate_report(report.pk)

    tokens = {}
    scopes = [choice for choice, _ in __import__("governance.models", fromlist=["ApiToken"]).ApiToken.Scope.choices]
    _, tokens["token"] = issue_api_token(actor=SystemActor("tests"), name="ci-all", scopes=scopes)
    _, tokens["limited_token"] = issue_api_token(actor=SystemActor("tests"), name="ci-other", scopes=scopes,
                                                 models=[other.version.model])
    return {"people": people, "tokens": tokens, "incident": incident, "launch": launch, "other": other,
            "later": later}


def make_version_launch(model, *, author, version: str, title: str):
    from readiness.services import create_launch
    from tests.factories import FeatureFactory, ModelVersionFactory

    next_version = ModelVersionFactory(model=model, version=version)
    FeatureFactory(version=next_version, name="income")
    return create_launch(next_version, actor=author, title=title, summary="The next version.",
                         options_considered="Ship or hold.", expected_value="Same approval at lower loss.",
                         risks="Proxy drift.", decision="SHIP", rationale="Shadow results hold.")


def client_for(world, who) -> Client:
    if who in world["tokens"]:
        return Client(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][who]}")
    client = Client()
    client.force_login(world["people"][who])
    return client


# -- discovery ---------------------------------------------------------------------------------------------------

def _arguments(world) -> dict:
    """Values for URL arguments, taken from the objects in the database: the planted records' keys, the models'
    slugs and versions, the tiers."""
    from governance.models import ModelVersion

    incident = world["incident"]
    ints = {incident.pk, world["launch"].pk, world["other"].pk,
            *incident.action_items.values_list("pk", flat=True),
            *PolicyChange.objects.values_list("pk", flat=True), *Report.objects.values_list("pk", flat=True)}
    return {
        "int": [str(i) for i in sorted(ints | {world["later"].pk})],
        "slug": list(MLModel.objects.values_list("slug", flat=True)),
        "version": sorted(set(ModelVersion.objects.values_list("version", flat=True))),
        "tier": ["TIER_1", "TIER_2", "TIER_3"],
        "app_label": ["governance", "postmortems", "readiness", "reporting"],
    }


def _pool(values, name: str, converter: str) -> list[str]:
    if converter == "IntConverter" or name.endswith(("pk", "id")):
        return values["int"]
    for key in ("slug", "version", "tier", "app_label"):
        if key in name:
            return values[key]
    return values["slug"] + values["tier"]


def _admin_keys(name: str) -> list[str] | None:
    """An admin object page (admin:app_model_view) is filled with that model's own keys."""
    from django.apps import apps

    if not name.startswith("admin:") or name.count("_") < 2:
        return None
    app_model = name.removeprefix("admin:").rsplit("_", 1)[0]
    for model in apps.get_models():
        if f"{model._meta.app_label}_{model._meta.model_name}" == app_model:
            # Every row: a page reached by an id the list does not show is where a seal is forgotten.
            return [str(pk) for pk in model.objects.order_by("-pk").values_list("pk", flat=True)[:60]]
    return None


def _names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for key, entries in resolver.reverse_dict.lists():
        if not isinstance(key, str):
            continue
        for possibilities, _pattern, defaults, converters in entries:
            for _format, params in possibilities:
                wanted = tuple(p for p in params if p not in defaults)
                yield namespace + key, tuple((p, type(converters.get(p)).__name__) for p in wanted)
    for name, (_prefix, sub) in resolver.namespace_dict.items():
        yield from _names(sub, f"{namespace}{name}:")


def page_urls(world, *, admin: bool) -> list[str]:
    """Every page the URLconf names, arguments filled from the database. The admin's pages (staff only; everyone
    else is sent to its login) are crawled for staff."""
    values = _arguments(world)
    urls = set()
    for name, params in set(_names()):
        if any(skip in name for skip in SKIP_NAMES) or name.startswith("admin:") and not admin:
            continue
        keys = _admin_keys(name)
        pools = [keys if keys is not None and p == "object_id" else _pool(values, p, converter)
                 for p, converter in params]
        for combo in itertools.product(*pools):
            try:
                url = reverse(name, kwargs=dict(zip([p for p, _ in params], combo, strict=True)))
            except NoReverseMatch:
                continue
            urls.add(url)
            if not params:
                urls.add(url + "?q=canary")  # every list with a search box, searched for the markers
    return sorted(urls)


def api_urls(world) -> list[str]:
    values = _arguments(world)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    urls = set()
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        params = get.get("parameters", [])
        in_path = [p["name"] for p in params if p["in"] == "path"]
        pools = [_pool(values, p, "") for p in in_path]
        for combo in itertools.product(*pools):
            url = path
            for name, value in zip(in_path, combo, strict=True):
                url = url.replace("{" + name + "}", value)
            urls.add(url)
            for query in (p for p in params if p["in"] == "query"):
                schema_of = query.get("schema", {})
                for value in schema_of.get("enum") or ["canary"]:
                    urls.add(f"{url}?{query['name']}={value}")
    return sorted(urls)


# -- reading -------------------------------------------------------------------------------------------------------

def text_of(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8", errors="replace")


def markers_in(text: str) -> set[str]:
    lowered = text.lower()
    return {name for name, marker in MARKERS.items() if marker in lowered}


def crawl(client, urls) -> dict[str, set[str]]:
    found = {}
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            found[url] = {"server error"}
            continue
        hits = markers_in(text_of(response))
        if hits:
            found[url] = hits
    return found


def without_foreign(found: dict, who: str) -> dict:
    """The unrestricted incident on another model is for everyone but the limited token."""
    if who == "limited_token":
        return found
    kept = {url: hits - {"foreign"} for url, hits in found.items()}
    return {url: hits for url, hits in kept.items() if hits}


# -- the rule ------------------------------------------------------------------------------------------------------

@pytest.fixture
def world(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return build_world(client_for_reports=False)


@pytest.mark.parametrize("who", IN_THE_CIRCLE + OUTSIDE)
def test_pages_show_restricted_content_only_to_the_circle(world, who):
    found = without_foreign(crawl(client_for(world, who), page_urls(world, admin=who == "admin")), who)
    seen = set().union(*found.values()) if found else set()
    if who in IN_THE_CIRCLE:
        incident_page = reverse("postmortems:incident_detail", args=[world["incident"].pk])
        assert {"title", "summary", "timeline", "factor", "actionitem"} <= found.get(incident_page, set())
        assert "rationale" in seen and "rollbackreason" in seen
    else:
        assert not found, f"{who} reads restricted content at {found}"


@pytest.mark.parametrize("who", IN_THE_CIRCLE + OUTSIDE)
def test_the_api_shows_restricted_content_only_to_the_circle(world, who):
    found = without_foreign(crawl(client_for(world, who), api_urls(world)), who)
    if who in ("legal", "member"):
        detail = f"/api/v1/incidents/{world['incident'].pk}/"
        assert {"title", "summary", "timeline"} <= found.get(detail, set())
    elif who not in IN_THE_CIRCLE:
        assert not found, f"{who} reads restricted content at {found}"


def test_e_mails_carry_nothing_from_a_restricted_incident(world):
    mail.outbox.clear()
    pm.send_overdue_reminders()
    services_sent = len(mail.outbox)
    assert services_sent >= 1, "the member owns an overdue item and is reminded"
    for message in mail.outbox:
        assert not markers_in(f"{message.subject}\n{message.body}"), message.body


@pytest.fixture
def world_with_reports(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return build_world(client_for_reports=True)


def test_reports_carry_restricted_content_only_to_those_who_may_read_all_of_it_now(world_with_reports):
    world = world_with_reports
    done = list(Report.objects.filter(status="DONE"))
    assert len(done) >= 6
    for who in IN_THE_CIRCLE + OUTSIDE:
        client = client_for(world, who)
        listed = client.get(reverse("reporting:report_list")).content.decode() if who not in world["tokens"] else ""
        listed = listed.replace(M("foreign"), "")
        seen = set()
        for report in done:
            response = client.get(reverse("reporting:report_download", args=[report.pk]))
            if response.status_code == 200:
                seen |= markers_in(text_of(response)) - {"foreign"}
        api = without_foreign(crawl(client, [f"/api/v1/reports/{r.pk}/" for r in done] + ["/api/v1/reports/"]), who)
        if who in ("legal", "compliance"):
            assert {"title", "rationale", "rollbackreason", "timeline"} <= seen, who
        elif who not in IN_THE_CIRCLE:
            assert not seen and not markers_in(listed) and not api, f"{who} reads restricted content in reports"
    outsider = world["people"]["data_science"]
    mine = [r for r in reports.visible_reports(outsider) if r.kind == "GOVERNANCE_PACK"]
    assert len(mine) == 1 and world["incident"].pk not in mine[0].source_incident_ids, \
        "the pack made before the restriction is gone; the one asked for since is rendered for the outsider's eyes"


# -- every report kind for every subject, for every audience; every admin action ------------------------------

REPORT_READERS = ("data_science", "model_risk", "product", "engineering", "admin")


def render_every_report(world) -> dict[str, list[Report]]:
    """Every kind for every subject the reader may name, asked for first by Legal (in the circle) and then by each
    outsider who may ask for reports; rendered for real."""
    from postmortems.models import Incident
    from readiness.models import LaunchRequest

    quarter = timezone.localdate()
    period = {"period": f"{quarter.year}-Q{(quarter.month - 1) // 3 + 1}"}
    made: dict[str, list[Report]] = {}
    for who in ("legal", *REPORT_READERS):
        actor = world["people"][who]
        asked = [reports.request_report(actor=actor, kind="GOVERNANCE_PACK", params=period, enqueue=False)]
        asked += [reports.request_report(actor=actor, kind="LAUNCH_DOSSIER", subject_id=pk, enqueue=False)
                  for pk in LaunchRequest.objects.order_by("pk").values_list("pk", flat=True)]
        asked += [reports.request_report(actor=actor, kind="INCIDENT_REPORT", subject_id=pk, enqueue=False)
                  for pk in pm_visible(actor).values_list("pk", flat=True)]
        for report in asked:
            if report.status == "QUEUED":
                reports.generate_report(report.pk)
        made[who] = [Report.objects.get(pk=r.pk) for r in asked]
    assert Incident.objects.filter(restricted=True).count() == 1
    return made


def pm_visible(actor):
    from postmortems.selectors import visible_incidents

    return visible_incidents(actor).order_by("pk")


def test_every_report_for_every_subject_is_sealed_for_each_outsider(world):
    made = render_every_report(world)
    legal_text = {r.pk: text_of(client_for(world, "legal").get(reverse("reporting:report_download", args=[r.pk])))
                  for r in made["legal"]}
    assert any("rollbackreason" in markers_in(t) for t in legal_text.values()), "the circle reads the reason"
    for who in REPORT_READERS:
        client = client_for(world, who)
        for report in made[who]:
            response = client.get(reverse("reporting:report_download", args=[report.pk]))
            assert response.status_code == 200, (who, report.title)
            hits = markers_in(text_of(response)) - {"foreign"}
            assert not hits, f"{who} reads {hits} in {report.title}"
        # An outsider's pack says that restricted matters are left out, as one total; the circle's does not.
        pack = next(r for r in made[who] if r.kind == "GOVERNANCE_PACK")
        text = " ".join(text_of(client.get(reverse("reporting:report_download", args=[pack.pk]))).split())
        assert "1 restricted matter in this period is not shown" in text, who
        assert "NOT THE COMMITTEE'S COMPLETE PACK" in text, who
    legal_pack = next(r for r in made["legal"] if r.kind == "GOVERNANCE_PACK")
    assert "restricted matter" not in " ".join(legal_text[legal_pack.pk].split())


def test_every_admin_action_on_every_row_is_sealed_for_a_superuser_outside_the_circle(world):
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    render_every_report(world)
    superuser = world["people"]["admin"]
    client = client_for(world, "admin")
    found = {}
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in django_admin.site._registry.items():
        actions = [name for name in model_admin.get_actions(request) if name != "delete_selected"]
        actions += ["delete_selected"]  # last: a confirmation page that lists what it would delete
        keys = [str(pk) for pk in model.objects.values_list("pk", flat=True)]
        if not keys:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for action in actions:
            response = client.post(url, {"action": action, "_selected_action": keys, "index": 0}, follow=True)
            if response.status_code >= 500:
                found[(url, action)] = {"server error"}
                continue
            hits = markers_in(text_of(response)) - {"foreign"}
            if hits:
                found[(url, action)] = hits
    assert not found, f"a superuser outside the circle reads restricted content through admin actions: {found}"
    # And every change, history and delete page by id, now that every report kind exists for every subject.
    pages = [u for u in page_urls(world, admin=True) if u.startswith("/admin/") and
             u.rstrip("/").endswith(("/change", "/history", "/delete"))]
    assert len(pages) > 100
    leaks = without_foreign(crawl(client, pages), "admin")
    assert not leaks, f"a superuser outside the circle reads restricted content on admin pages: {leaks}"
