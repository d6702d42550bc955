"""E6 (readiness checklist after a missed quarter), E9 (training–serving skew) and E10 (drift after a pricing
change): incidents and policy entries that show the smaller mechanisms."""

from examples.demo_users import DEMO_PASSWORD
from examples.seeding import model_risk
from examples.seeding.common import (
    as_of,
    days,
    days_ago,
    last_completed_quarter,
    local_day,
    model_with_version,
    on_date,
    story,
)
from governance.models import PolicyChange
from governance.policies import services as policies
from governance.policies.defaults import ITEMS
from postmortems import services as pm
from postmortems.models import ActionItem


@story("customer-ltv")
def e6_ltv_readiness(people):
    """Committed for Q2, shipped in Q3: the model is registered when Q2 began, and the checklist change is
    proposed two weeks into Q3 of the most recent year whose Q3 is over."""
    dana, mara = people["dana"], people["mara"]
    q2_start, _ = last_completed_quarter(2)
    q3_start, _ = last_completed_quarter(3)
    with as_of(on_date(q2_start)):
        model_with_version(slug="customer-ltv", name="Customer lifetime value", owner=dana, tier="TIER_3",
                           business_use="Estimates lifetime value for marketing budgets.", version="1.0.0",
                           features=[{"name": "customer_id_stable"}, {"name": "order_events"}])
    with as_of(on_date(q3_start) + days(14)):
        change = _propose_data_contracts(dana)
    with as_of(on_date(q3_start) + days(16)):
        policies.approve_change(PolicyChange.objects.get(pk=change.pk), actor=mara, password=DEMO_PASSWORD)


def _propose_data_contracts(dana):
    return policies.propose_change(
        policies.get_policy("TIER_3"), actor=dana, operation="ADD_CHECKLIST_ITEM",
        payload={"key": "data_contracts", **ITEMS["data_contracts"], "blocking": True, "rule": ""},
        rationale="The LTV model slipped from Q2 to Q3: unstable customer IDs and late-arriving events caused "
                  "training–serving skew. With data contracts, quality checks and watermark backfills it reached "
                  "offline AUC 0.84 and +7 % ROAS, and data incidents fell 60 %.")


@story("fraud-detection")
def e9_fraud_skew(people):
    dana, eli = people["dana"], people["eli"]
    began = days_ago(120, hour=6)
    with as_of(began - days(20)):
        model, version = model_with_version(slug="fraud-detection", name="Card fraud detection", owner=eli,
                                      tier="TIER_2", business_use="Flags card transactions for review.",
                                      version="5.1.0",
                                      features=[{"name": "txn_count_window"}, {"name": "merchant_risk"}])
    # Opened once the champion was back, with the timeline so far.
    with as_of(began + days(3.3)):
        incident = _open_e9(eli, model, began)
        pm.transition_incident(incident, actor=eli, to="MITIGATED", at=began + days(3.2))
    opened = began + days(4)
    with as_of(opened):
        item = pm.add_action_item(incident, actor=eli, title="Feature-parity tests between training and serving",
                                  kind="PREVENT", owner=dana, due_date=local_day(opened) + days(21))
        # Rolling monitoring out to every windowed feature is a longer programme, still under way.
        pm.add_action_item(incident, actor=eli, title="Live distribution monitoring on every windowed feature",
                           kind="DETECT", owner=eli, due_date=local_day(opened) + days(150))
    with as_of(began + days(10)):
        pm.transition_incident(incident, actor=eli, to="RESOLVED", at=began + days(10))
    with as_of(began + days(18)):
        pm.update_action_item(item, actor=eli, status=ActionItem.Status.DONE)
    model_risk.e9_fraud_validation(model, version, began, people)


def _open_e9(eli, model, began):
    return pm.open_incident(
        actor=eli, title="Fraud precision fell in production: a feature window differed between training and "
                         "serving", severity="SEV2", detection_source="MONITORING", began_at=began,
        detected_at=began + days(3), models=[model],
        summary="txn_count_window used a 24-hour window in training and a 1-hour window in serving.",
        timeline=[{"at": began, "kind": "OTHER", "text": "Version 5.1 deployed."},
                  {"at": began + days(3), "kind": "DETECTION", "text": "Precision monitor below its floor."},
                  {"at": began + days(3.2), "kind": "MITIGATION", "text": "Champion restored; challenger kept in "
                                                                          "shadow."}],
        factors=[{"category": "MODEL", "description": "Feature logic diverged between the training and serving "
                                                      "code paths."},
                 {"category": "PROCESS", "description": "No feature-parity test compared the two paths."}])


@story("churn-propensity")
def e10_churn_drift(people):
    sam = people["sam"]
    began = days_ago(75)
    with as_of(began - days(90)):
        model, _ = model_with_version(slug="churn-propensity", name="Churn propensity (weekly batch)", owner=sam,
                                      tier="TIER_3", business_use="Targets retention offers; scored weekly.",
                                      version="3.0.0", features=[{"name": "tenure"}, {"name": "plan_price"}])
    with as_of(began + days(8.05)):
        incident = _open_e10(sam, model, began)
    with as_of(began + days(9)):
        pm.transition_incident(incident, actor=sam, to="MITIGATED", at=began + days(9))
    with as_of(began + days(20)):
        pm.transition_incident(incident, actor=sam, to="RESOLVED", at=began + days(20))


def _open_e10(sam, model, began):
    return pm.open_incident(
        actor=sam, title="Churn scores lost calibration after a pricing change", severity="SEV3",
        detection_source="MONITORING", began_at=began, detected_at=began + days(8), models=[model],
        summary="Retention was +11 % in the targeted population until a pricing change shifted behaviour; the "
                "calibration monitor caught the drift and the model was retrained with pricing features.",
        factors=[{"category": "DATA_VENDOR_CHANGE", "description": "A company pricing change altered customer "
                                                                   "behaviour the model relied on."}])
