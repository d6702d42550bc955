"""What the committee reports need beyond the stories themselves: the model risk documentation of E1, E3 and E4's
versions, and the impact and obligations of the E1 and E3 incidents, entered through the services.

Run after the stories; each part is skipped when already present, so seeding twice changes nothing. All names of
organisations are fictional.
"""

from datetime import date, timedelta
from typing import Any

from examples.seeding.common import SEEDER, as_of, days_ago, digest
from governance.inventory.services import document_model_risk
from governance.models import ModelVersion
from postmortems import obligations
from postmortems import services as pm
from postmortems.models import CommitteeAsk, Incident


def _quarter(today: date) -> tuple[date, date]:
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = date(today.year, first_month, 1)
    following = date(today.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return start, following - timedelta(days=1)


MRM: dict[tuple[str, str], dict[str, Any]] = {
    ("credit-line-decisioning", "5.0.0"): dict(
        intended_use="Decide applications for unsecured consumer credit lines from existing and new customers in "
                     "the United States, and set the initial limit, with a manual-review path for declines.",
        out_of_scope_use="Pricing, limit increases on existing lines, collections, marketing eligibility, and any "
                         "applicant population outside the training data (small-business credit, thin-file "
                         "applicants under 18 months of history without the manual-review path).",
        methodology="Gradient-boosted trees on 2022–2025 applications with outcomes at 12 months. Temporal "
                    "validation (train to 2024-06, test after). Fairness assessed per protected group with "
                    "bootstrap intervals; the device-trust feature rebuilt from fields the proxy-risk assessment "
                    "cleared.",
        limitations="Outcomes for the rebuilt device-trust feature cover nine months only. Protected attributes are "
                    "inferred (BISG for race and ethnicity), not self-reported. Performance on applicants with "
                    "fewer than six months of credit history is not validated.",
        training_data_sha256=digest("warehouse://credit/applications/2022-2025"),
        fairness_group_attributes={"Asian": "race", "Black": "race", "Hispanic": "race", "White": "race"}),
    ("credit-line-decisioning", "4.2.0"): dict(
        intended_use="Decide applications for unsecured consumer credit lines and set the initial limit.",
        methodology="Gradient-boosted trees on 2022–2024 applications; random cross-validation folds.",
        limitations="Third-party device-metadata feature without a proxy-risk assessment.",
        training_data_sha256=digest("warehouse://credit/applications/2022-2024")),
    ("propensity-model", "2.0.0"): dict(
        intended_use="Order recommendations and offers by predicted purchase propensity for signed-in shoppers.",
        out_of_scope_use="Credit, pricing or eligibility decisions; any use that excludes a shopper from an offer.",
        methodology="Gradient-boosted trees on 90 days of sessions; random folds (later found to hide a leak).",
        limitations="A near-real-time feature's window included same-day outcomes: offline F1 is inflated by "
                    "about 0.07.",
        training_data_sha256=digest("warehouse://sessions/2026-90d")),
    ("content-recommender", "7.0.0"): dict(
        intended_use="Rank articles and offers on the home feed for signed-in users.",
        out_of_scope_use="Eligibility for financial products; ranking of regulated disclosures.",
        methodology="Two-tower retrieval with a re-ranker; A/B test against 6.4 for two weeks; fairness audit of "
                    "serving rates by age band on an audit sample with a champion column.",
        limitations="The audit sample for the under-served segment is small (220 rows); the adverse-impact "
                    "interval straddles the floor.",
        training_data_sha256=digest("warehouse://feed/interactions/2026-q2"),
        fairness_group_attributes={"segment_a": "age_band", "segment_b": "age_band", "segment_c": "age_band"}),
}


def add_report_facts() -> None:
    for (slug, number), fields in MRM.items():
        version = ModelVersion.objects.filter(model__slug=slug, version=number).first()
        if version is not None and not version.intended_use:
            document_model_risk(version, actor=SEEDER, **fields)
    _e1_obligations()
    _e3_obligations()
    _pack_asks()


def _e1_obligations():
    """E1's impact and obligations, each entered on the day of the story it belongs to: the counts once the audit
    of the window had run, the remediation begun with that audit and finished before the incident was resolved,
    the asks put to the board risk committee the day before it met (day 45 of the story)."""
    incident = Incident.objects.filter(launch__version__model__slug="credit-line-decisioning").first()
    if incident is None or incident.impact_counts.exists():
        return
    detected = incident.detected_at
    began = incident.began_at or detected
    with as_of(detected + timedelta(days=1)):
        obligations.add_notification(
            incident, actor=SEEDER, recipient="Prudential supervisor (fictional: Federal Lending Supervisor)",
            basis="Supervisory expectation to report fair-lending matters promptly",
            due_at=detected + timedelta(days=30), sent_at=detected + timedelta(days=12),
            reference="Letter FLS-2026-118")
        obligations.add_notification(
            incident, actor=SEEDER, recipient="State banking department (fictional)",
            basis="State fair-lending statute: notice of remediation to affected residents",
            due_at=detected + timedelta(days=60), sent_at=detected + timedelta(days=41), reference="Notice SBD-77")
    with as_of(began + timedelta(days=21, hours=2)):  # the audit of every decision in the window begins
        review = obligations.add_remediation(
            incident, actor=SEEDER, action="Manual re-review of every application declined by 4.2.0 in the "
                                           "affected segment", customers=2_310, status="IN_PROGRESS",
            due_date=(began + timedelta(days=55)).date())
    with as_of(began + timedelta(days=35)):
        obligations.enter_affected_count(
            incident, actor=SEEDER, measure="DECISIONS", count=18_240,
            source_detail="Decision log of version 4.2.0 for the sixteen days it served, reconciled by Compliance "
                          "(decision-audit workpaper DA-031)")
        obligations.enter_affected_count(
            incident, actor=SEEDER, measure="CUSTOMERS", count=17_905,
            source_detail="Applicants with at least one decision by 4.2.0 in the window, de-duplicated by customer "
                          "number (same workpaper)")
    with as_of(began + timedelta(days=44)):
        notices = obligations.add_remediation(
            incident, actor=SEEDER, action="Adverse-action notices re-sent with corrected principal reasons",
            customers=2_310, status="IN_PROGRESS", due_date=(began + timedelta(days=65)).date())
        obligations.add_incident_ask(
            incident, actor=SEEDER, kind="DECIDE",
            text="Decide whether automated decisioning, frozen for every segment on detection because a freeze "
                 "for one segment could itself look like disparate treatment, stays on the reverted 4.1.3 until "
                 "the rebuilt model has passed a thirty-day shadow comparison by group.")
        obligations.add_incident_ask(
            incident, actor=SEEDER, kind="APPROVE",
            text="Approve the remediation plan: the manual re-review of 2,310 declined applications, under way "
                 "since day 21, and corrected adverse-action notices to the same applicants within three weeks.")
    with as_of(began + timedelta(days=52)):
        obligations.update_remediation(review, actor=SEEDER, status="DONE")
        pm.update_incident(
            incident, actor=SEEDER, reason="The re-review of the window is complete.",
            impact_text="Applications decided by 4.2 during sixteen days were affected. Every decision in the "
                        "window was re-reviewed; applicants declined in the affected segment were offered a manual "
                        "review. Counts are from the decision-audit workpaper DA-031; approval-rate shifts are "
                        "measured by segment.")
    with as_of(began + timedelta(days=58)):
        obligations.update_remediation(notices, actor=SEEDER, status="DONE")


def _e3_obligations():
    incident = Incident.objects.filter(launch__version__model__slug="propensity-model").first()
    if incident is None or incident.impact_counts.exists():
        return
    with as_of(incident.detected_at + timedelta(days=2)):  # counted from the decision volume the day after next
        obligations.count_affected_decisions(incident, actor=SEEDER)
        obligations.enter_affected_count(
            incident, actor=SEEDER, measure="CUSTOMERS", count=9_870,
            source_detail="Signed-in shoppers served by 2.0 in the canary hour (web analytics export, session ids "
                          "de-duplicated by account)")
        obligations.add_incident_ask(
            incident, actor=SEEDER, kind="NOTE",
            text="Note that the guardrail rolled the canary back without a human and that no customer remediation "
                 "or regulatory notification is owed: no decision about credit, price or eligibility was made.")


def _pack_asks():
    start, end = _quarter(date.today())
    if CommitteeAsk.objects.filter(incident__isnull=True, period_start=start).exists():
        return
    with as_of(days_ago(2, hour=11)):  # entered by the working group ahead of this quarter's meeting
        _add_pack_asks(start, end)


def _add_pack_asks(start, end):
    obligations.add_pack_ask(
        actor=SEEDER, period_start=start, period_end=end, kind="DECIDE",
        text="Decide whether the home-feed recommender 7.0 may ship with re-weighting before its fairness audit "
             "sample is large enough to settle the adverse-impact check.")
    obligations.add_pack_ask(
        actor=SEEDER, period_start=start, period_end=end, kind="NOTE",
        text="Note the credit line 5.0 relaunch in shadow under the revised Tier 1 policy.")
