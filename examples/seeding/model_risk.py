"""Model risk records of the documented stories: Model Risk's validation of the credit model 4.2 before its launch,
with the findings that the fair-lending incident (E1) re-opened, and the fraud model of E9, which never had a
launch in Gatehouse, in the inventory with its validation and its training–serving skew finding."""

from django.core.files.base import ContentFile

from examples.demo_users import DEMO_PASSWORD
from examples.seeding.common import as_of, days, hours, local_day
from governance.inventory.services import decide_is_model, set_materiality
from governance.models import Finding
from governance.validation.models import ScopeArea
from governance.validation.services import (
    add_finding,
    complete_validation,
    remediate_finding,
    reopen_finding,
    retest_finding,
    start_validation,
)

E1_PROXY_FINDING = "device_trust_score enters without a proxy-risk assessment"
E1_ALERTS_FINDING = "Distribution-shift alerts are tuned for performance, not fairness"


def _report(name: str, text: str) -> ContentFile:
    return ContentFile(text.encode(), name=name)


def e1_validate_v42(model, v42, launch_day, people):
    """Thirty-five days before the 4.2 launch Model Risk validates the refresh; its two findings are remediated on
    paper and re-tested before the launch, and the validation is signed with conditions. (The launch itself was
    signed by Data Science alone, as the incident's factors say.)"""
    dana, mara = people["dana"], people["mara"]
    with as_of(launch_day - days(35)):
        set_materiality(model, actor=mara, exposure="HIGH", purpose="CUSTOMER_DECISION", password=DEMO_PASSWORD,
                        reason="Decides credit lines for every applicant; consumer lending under fair-lending law.")
        decide_is_model(model, actor=mara, is_model=True,
                        reason="Gradient-boosted trees turning application data into credit decisions.")
        validation = start_validation(model, actor=mara, scope=list(ScopeArea.values), version=v42)
    with as_of(launch_day - days(30)):
        proxy = add_finding(validation, actor=mara, severity="HIGH", title=E1_PROXY_FINDING, owner=dana,
                            due_date=local_day(launch_day - days(5)),
                            description="The third-party device-trust score has no proxy-risk assessment, no "
                                        "vendor schema-stability SLA and no drift monitor of its own.")
        alerts = add_finding(validation, actor=mara, severity="MEDIUM", title=E1_ALERTS_FINDING, owner=dana,
                             due_date=local_day(launch_day - days(3)),
                             description="Drift alerts watch AUC and score stability; none watches approval "
                                         "rates or calibration by protected group.")
    with as_of(launch_day - days(9)):
        remediate_finding(proxy, actor=dana, evidence="Vendor drift monitor DM-114 enabled on device_trust_score.")
        remediate_finding(alerts, actor=dana, evidence="Alert thresholds reviewed with the monitoring team.")
    with as_of(launch_day - days(6)):
        retest_finding(proxy, actor=mara, passed=True, note="Monitor DM-114 fires on a synthetic shift.")
        retest_finding(alerts, actor=mara, passed=True, note="Thresholds documented in the monitoring plan.")
    with as_of(launch_day - days(4)):
        complete_validation(validation, actor=mara, outcome="APPROVED_WITH_CONDITIONS", password=DEMO_PASSWORD,
                            report=_report("validation-credit-line-4.2.0.txt",
                                           "Validation of the credit line model 4.2.0 before its refresh.\n"),
                            summary="Sound for use on condition that the device-trust feature's monitor stays "
                                    "in place and the vendor is asked for a schema-stability SLA.")
    return validation


def e1_incident_reopens(incident, launch_day, people):
    """Sixteen days after launch the incident shows both weaknesses were back: Model Risk re-opens the findings,
    naming the incident (its reason is the incident's content, seen only by its circle)."""
    mara = people["mara"]
    with as_of(launch_day + days(16) + hours(6)):
        for finding in Finding.objects.filter(model__slug="credit-line-decisioning").order_by("pk"):
            reopen_finding(finding, actor=mara, source_incident_id=incident.pk,
                           due_date=local_day(launch_day + days(90)),
                           reason="The vendor's field change made the feature a proxy; the monitor saw the "
                                  "shift and its alert was closed as benign.")


def e1_remediated_by_v5(day, people):
    """The 5.0 rebuild remediates the proxy finding, which Model Risk re-tests before validating 5.0; the alerts
    finding is remediated and waits for its re-test (a validator's work in hand)."""
    dana, mara = people["dana"], people["mara"]
    proxy = Finding.objects.get(model__slug="credit-line-decisioning", title=E1_PROXY_FINDING)
    alerts = Finding.objects.get(model__slug="credit-line-decisioning", title=E1_ALERTS_FINDING)
    with as_of(day - hours(2)):
        remediate_finding(proxy, actor=dana, evidence="5.0 rebuilds device_trust_score from fields the proxy-risk "
                                                      "assessment PRA-7 cleared; vendor SLA VS-22 signed.")
        remediate_finding(alerts, actor=dana, evidence="Approval-rate AIR and calibration by group are now "
                                                       "guardrails that halt scoring (policy TIER_1 v3).")
    with as_of(day - hours(1)):
        retest_finding(proxy, actor=mara, passed=True, note="PRA-7 reviewed; shadow AIR within limits.")


def e9_fraud_validation(model, version, began, people):
    """Model Risk validates the fraud model after the skew incident: the skew finding is remediated with
    feature-parity tests and closed; live monitoring of every windowed feature stays an open condition."""
    mara, dana, eli = people["mara"], people["dana"], people["eli"]
    with as_of(began + days(5)):
        set_materiality(model, actor=mara, exposure="LOW", purpose="CUSTOMER_DECISION", password=DEMO_PASSWORD,
                        reason="Flags card transactions for review: a flag delays a payment, a person decides.")
        decide_is_model(model, actor=mara, is_model=True, reason="A learned classifier scoring transactions.")
        validation = start_validation(model, actor=mara, version=version, scope=[
            ScopeArea.CONCEPTUAL_SOUNDNESS, ScopeArea.DATA, ScopeArea.OUTCOMES_ANALYSIS, ScopeArea.MONITORING_PLAN])
        skew = add_finding(validation, actor=mara, severity="HIGH", owner=dana,
                           title="Training–serving skew in txn_count_window", due_date=local_day(began + days(25)),
                           description="The feature counts transactions over 24 hours in training and over one "
                                       "hour in serving, so production precision falls below the offline figure.")
        add_finding(validation, actor=mara, severity="MEDIUM", owner=eli,
                    title="No live distribution monitor on windowed features", due_date=local_day(began + days(154)),
                    description="Only precision is monitored; a window change shows first as lost precision.")
    with as_of(began + days(18) + hours(3)):
        remediate_finding(skew, actor=dana, evidence="Feature-parity test FP-12 compares both code paths; the "
                                                     "serving window is 24 hours.")
    with as_of(began + days(19)):
        retest_finding(skew, actor=mara, passed=True, note="FP-12 fails on the old serving code, passes on the new.")
    with as_of(began + days(21)):
        complete_validation(validation, actor=mara, outcome="APPROVED_WITH_CONDITIONS", password=DEMO_PASSWORD,
                            report=_report("validation-fraud-detection-5.1.0.txt",
                                           "Validation of the card fraud model 5.1.0 after the skew incident.\n"),
                            summary="Sound once the feature windows agree; live distribution monitoring of every "
                                    "windowed feature is a condition.")
