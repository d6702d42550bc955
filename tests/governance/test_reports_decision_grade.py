"""Reports a board risk committee, model risk management and an examiner would accept, read on the seeded E1, E3
and E4: document identity, zoned times, labels and units, tagged PDFs; the dossier's provenance, MRM sections,
evidence hashes, safeguard flags and DRAFT marking; the incident report's impact and obligations; the pack's
committee summary.

The stories are seeded once per module inside a transaction that is rolled back at the end, and each report is
rendered once; the tests read the PDFs' text (poppler's pdftotext) and structure (pypdf).
"""

import io
import re
import subprocess
import tempfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from pypdf import PdfReader

from governance.kernel.principals import SystemActor
from postmortems.models import Incident
from readiness.models import LaunchRequest
from reporting import reports
from reporting.present import render

SYSTEM = SystemActor("tests")


def _text(content: bytes) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        out = subprocess.run(["pdftotext", handle.name, "-"], check=True, capture_output=True, text=True).stdout
    return [" ".join(page.split()) for page in out.split("\f")[:-1]]


def _launch(slug, version):
    return LaunchRequest.objects.get(version__model__slug=slug, version__version=version)


def _incident(slug):
    return Incident.objects.get(launch__version__model__slug=slug)


# both tests read the module's one seeding: on one worker, it is done once
pytestmark = pytest.mark.xdist_group("reports_decision_grade")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed the documented examples once; gather and render the reports the tests read."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            call_command("seed_examples", verbosity=0)
            today = timezone.localdate()
            period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
            subjects = {
                "e1_dossier": ("LAUNCH_DOSSIER", {"launch_id": _launch("credit-line-decisioning", "5.0.0").pk}),
                "e4_dossier": ("LAUNCH_DOSSIER", {"launch_id": _launch("content-recommender", "7.0.0").pk}),
                "e1_incident": ("INCIDENT_REPORT", {"incident_id": _incident("credit-line-decisioning").pk}),
                "e3_incident": ("INCIDENT_REPORT", {"incident_id": _incident("propensity-model").pk}),
                "pack": ("GOVERNANCE_PACK", {"params": reports.pack_params({"period": period})}),
            }
            docs = {}
            for name, (kind, subject) in subjects.items():
                data = reports.gather(kind, viewer=SYSTEM, **subject)
                result, _digest = render(data, requested_by="tests", document_version=2)
                docs[name] = {"data": data, "pdf": result.content, "pages": _text(result.content)}
            yield docs
            transaction.set_rollback(True)


@pytest.fixture
def docs(seeded, db):
    return seeded


def text(doc) -> str:
    return " ".join(doc["pages"])


# -- every report ------------------------------------------------------------------------------------------

def test_every_report_names_its_kind_subject_and_version_and_the_zone_of_its_times(docs):
    e1 = docs["e1_dossier"]["data"]
    assert f"GH-LD-{e1['launch']['id']}-v2" in docs["e1_dossier"]["pages"][0]
    assert f"launch #{e1['launch']['id']} · version 2" in docs["e1_dossier"]["pages"][0]
    assert f"GH-IR-{docs['e3_incident']['data']['incident']['id']}-v2" in docs["e3_incident"]["pages"][0]
    assert "GH-GP-" in docs["pack"]["pages"][0]
    for doc in docs.values():
        assert "all times in this document are UTC" in doc["pages"][0]
        # the identifier is in every page's footer
        assert all("GH-" in page for page in doc["pages"])


def test_times_in_tables_carry_their_zone(docs):
    assert re.search(r"\d{1,2} \w{3} \d{4} \d\d:\d\d UTC", text(docs["e1_incident"]))
    assert re.search(r"\d{1,2} \w{3} \d{4} \d\d:\d\d UTC", text(docs["e1_dossier"]))


def test_every_report_is_a_tagged_pdf_with_its_language(docs):
    for doc in docs.values():
        root = PdfReader(io.BytesIO(doc["pdf"])).trailer["/Root"]
        assert "/StructTreeRoot" in root
        assert bool(root["/MarkInfo"]["/Marked"])
        assert str(root["/Lang"]).lower().startswith("en")


def test_the_archival_option_writes_pdf_a_3b(docs):
    result, _ = render(docs["e3_incident"]["data"], requested_by="tests", archival=True)
    reader = PdfReader(io.BytesIO(result.content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp)
    assert "/StructTreeRoot" in reader.trailer["/Root"]


def test_an_archival_request_is_a_parameter_of_any_report(docs):
    incident = docs["e3_incident"]["data"]["incident"]["id"]
    report = reports.request_report(actor=SYSTEM, kind="INCIDENT_REPORT", subject_id=incident,
                                    params={"archival": True}, enqueue=False)
    assert report.params == {"archival": True}


def test_reports_speak_in_labels_and_units_not_codes(docs):
    for name, doc in docs.items():
        body = text(doc)
        assert "DATA_SCIENCE" not in body and "TIER_1" not in body and "MODEL_RISK" not in body, name
    e1 = text(docs["e1_dossier"])
    assert "Largest change in a feature's null rate" in e1
    assert "Data Science" in e1
    assert "−18,000 USD" in text(docs["e3_incident"])
    assert "-18,000" not in text(docs["e3_incident"])


def test_the_audit_chain_head_is_printed_on_the_cover(docs):
    result, _ = render(docs["e3_incident"]["data"], requested_by="tests", audit_head={"seq": 4242, "hash": "ab" * 32})
    assert "#4242:" + "ab" * 6 in "".join(_text(result.content)[0].split())


# -- launch dossier ----------------------------------------------------------------------------------------

def test_an_unapproved_launch_is_marked_draft_and_an_approved_one_is_not(docs):
    e4 = docs["e4_dossier"]
    assert "DRAFT — NOT APPROVED" in e4["pages"][0]
    assert docs["e1_dossier"]["data"]["extra"]["approved"]
    assert "DRAFT" not in docs["e1_dossier"]["pages"][0]


def test_a_reported_figure_that_replaced_a_computed_one_says_so_with_both_figures(docs):
    provenance = docs["e1_dossier"]["data"]["extra"]["provenance"]
    assert provenance["psi.max"]["source"] == "overridden"
    computed = provenance["psi.max"]["computed"]
    assert computed < 0.04
    body = text(docs["e1_dossier"])
    assert "Reported, replacing the computed" in body
    assert "psi.max = 0.04, reported by" in body
    assert "Computed: computed by Gatehouse from the predictions file" in body


def test_evidence_is_a_link_with_its_hash(docs):
    reader = PdfReader(io.BytesIO(docs["e1_dossier"]["pdf"]))
    uris = [a.get_object()["/A"]["/URI"] for page in reader.pages for a in page.get("/Annots") or []
            if a.get_object().get("/A", {}).get("/URI")]
    assert any(u.startswith("https://evidence.example.com/credit-line-decisioning/5.0.0/") for u in uris)
    items = [i for g in docs["e1_dossier"]["data"]["checklist"] for i in g["items"] if i["evidence_url"]]
    assert items and all(len(i["evidence_sha256"]) == 64 for i in items)
    assert "see the launch folder" not in text(docs["e1_dossier"])


def test_a_memo_naming_a_safeguard_the_plan_lacks_is_flagged(docs):
    flags = docs["e4_dossier"]["data"]["extra"]["safeguard_flags"]
    assert any("names a fairness guardrail" in f for f in flags)
    assert "SAFEGUARDS NAMED BUT NOT IN THE PLAN" in text(docs["e4_dossier"])
    assert not any("fairness guardrail" in f for f in docs["e1_dossier"]["data"]["extra"]["safeguard_flags"])


def test_the_e1_relaunch_watches_the_drift_of_the_feature_that_caused_e1(docs):
    metrics = {g["metric"] for g in docs["e1_dossier"]["data"]["rollout"]["guardrails"]}
    assert "psi_device_trust_score" in metrics
    assert not any("device_trust_score" in f for f in docs["e1_dossier"]["data"]["extra"]["safeguard_flags"])


def test_the_dossier_has_the_model_risk_sections(docs):
    extra = docs["e1_dossier"]["data"]["extra"]
    body = text(docs["e1_dossier"])
    for heading in ("INTENDED USE", "OUT-OF-SCOPE USE", "METHODOLOGY", "LIMITATIONS", "TRAINING DATA"):
        assert heading in body
    assert extra["mrm"]["training_data_sha256"] in body.replace(" ", "")
    assert {g["group"]: g["attribute"] for g in extra["mrm"]["group_attributes"]} == {
        "Asian": "race", "Black": "race", "Hispanic": "race", "White": "race"}
    rows = extra["performance"]
    assert rows and all(r["tpr"]["ci_low"] is not None and r["tpr"]["ci_low"] <= r["tpr"]["estimate"]
                        <= r["tpr"]["ci_high"] for r in rows if not r["insufficient"])
    # compared with the version in production, not the rolled-back 4.2.0 created just before it
    assert extra["production"]["version"] == "4.1.3"
    assert "The version in production is 4.1.3" in body
    assert [r["version"] for r in extra["production"]["rolled_back"]] == ["4.2.0"]


# -- incident report ---------------------------------------------------------------------------------------

def test_the_incident_report_states_impact_and_obligations_with_their_sources(docs):
    extra = docs["e1_incident"]["data"]["extra"]
    assert {c["measure"]: (c["count"], c["source"]) for c in extra["impact_counts"]} == {
        "CUSTOMERS": (17_905, "ENTERED"), "DECISIONS": (18_240, "ENTERED")}
    summary = next(p for p in docs["e1_incident"]["pages"] if "WHAT WE ASK OF THE COMMITTEE" in p)
    assert "EXECUTIVE SUMMARY" in summary, "the executive summary is one page"
    assert "18,240 decisions affected" in summary and "workpaper" in summary
    assert "Remediation for 2,310 customers" in summary
    assert "Notification to Prudential supervisor" in summary
    # the ask says what the record says: the freeze covered every segment
    assert "Decide whether automated decisioning, frozen for every segment" in " ".join(summary.split())
    assert "for the affected segment" not in summary
    # E1's action items are all complete on their documented dates, so the entered asks are the committee's.
    assert "Approve the remediation plan" in " ".join(summary.split())


def test_decisions_affected_are_counted_from_observations_where_gatehouse_holds_them(docs):
    counts = {c["measure"]: c for c in docs["e3_incident"]["data"]["extra"]["impact_counts"]}
    decisions = counts["DECISIONS"]
    assert decisions["source"] == "COUNTED" and decisions["count"] > 0 and decisions["count"] % 820 == 0
    assert "observations of launch" in decisions["source_detail"]


def test_what_happened_is_the_postmortem_narrative_with_its_root_cause(docs):
    summary = next(p for p in docs["e3_incident"]["pages"] if "WHAT HAPPENED" in p)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", summary)
    assert "Root cause: A near-real-time feature's window included same-day outcomes" in summary


def test_ongoing_monitoring_shows_the_version_now_served_not_the_rolled_back_one(docs):
    now = docs["e1_incident"]["data"]["extra"]["monitoring_now"]
    assert now["version"] == "5.0.0" and now["replaced"] == "4.2.0"
    monitoring = next(p for p in docs["e1_incident"]["pages"] if "ONGOING MONITORING" in p)
    # 5.0 is rolling out beside the version in production, 4.1.3, which serves the decisions
    assert now["production"]["version"] == "4.1.3"
    assert "Version 4.2.0 was rolled back; the version in production is 4.1.3" in monitoring
    assert "and beside it launch" in monitoring


# -- governance pack ---------------------------------------------------------------------------------------

def test_the_pack_opens_with_a_one_page_committee_summary(docs):
    page = docs["pack"]["pages"][1]
    assert "COMMITTEE SUMMARY" in page and "KEY RISK INDICATORS" in page
    assert "Decide whether the home-feed recommender 7.0 may ship" in page
    assert "COMMITTEE SUMMARY" not in docs["pack"]["pages"][2]
    assert [k["label"] for k in docs["pack"]["data"]["extra"]["kri"]][:2] == ["Incidents detected",
                                                                            "SEV 1 and SEV 2 incidents"]


def test_the_pack_lists_inventory_waivers_fairness_monitors_and_overdue_actions(docs):
    extra = docs["pack"]["data"]["extra"]
    credit = next(m for m in extra["inventory"] if m["slug"] == "credit-line-decisioning")
    assert credit["tier"] == "TIER_1" and credit["validated"] and credit["launch"]["version"] == "5.0.0"
    assert any(m["metric"] == "approval_air" and m["version"] == "5.0.0" for m in extra["fairness_monitors"])
    body = text(docs["pack"])
    for heading in ("MODEL INVENTORY BY TIER", "FAIRNESS MONITORS", "OPEN WAIVERS", "OVERDUE ACTION ITEMS"):
        assert heading in body
    assert all(w["expires_at"] > timezone.now() - timedelta(seconds=1) for w in extra["waivers"])


def test_the_dossier_shows_calibration_per_group_and_the_reliability_plot(docs):
    body = text(docs["e1_dossier"])
    fairness = docs["e1_dossier"]["data"]["evaluation"]["fairness"]
    assert fairness["calibration"]["assessed"]
    assert "Calibration across groups" in body and "expected calibration error" in body
    assert "Reliability per group in ten score bins" in body
