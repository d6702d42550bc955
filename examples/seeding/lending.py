"""E1 (the fair-lending proxy incident and the relaunch it forced) and E4 (ship, hold or mitigate under a noisy
fairness signal)."""

import copy
from typing import Any

import numpy as np

from examples.demo_users import DEMO_PASSWORD
from examples.seeding import model_risk
from examples.seeding.common import (
    SEEDER,
    as_of,
    attest_manual,
    days,
    days_ago,
    digest,
    hours,
    local_day,
    model_with_version,
    sign,
    story,
    submit_metrics,
)
from governance.inventory.services import update_feature
from governance.models import PolicyChange
from governance.policies import services as policies
from governance.policies.defaults import DEFAULTS, ITEMS
from postmortems import services as pm
from postmortems.models import ActionItem
from readiness import rollouts, services
from reporting.regimes.services import declare_regimes

LEGACY_TIER_1_KEYS = ["model_card", "design_review", "temporal_cv", "feature_schema", "dataset_diff_psi",
                      "slice_metrics", "calibration_by_group", "fairness_air", "fairness_eod", "rollback_plan",
                      "on_call", "comms_template"]
LEGACY_TIER_2_KEYS = ["model_card", "design_review", "temporal_cv", "feature_schema", "dataset_diff_psi",
                      "slice_metrics", "fairness_air", "third_party_controls", "rollback_plan", "on_call",
                      "comms_template"]


def _items(keys, non_blocking=()):
    return [{"key": k, **{"blocking": k not in non_blocking, "rule": "", **ITEMS[k]}} for k in keys]


def ensure_legacy_policies():
    """The rules in force before the lending incident: one Data Science signature for credit models, no shadow,
    no third-party controls; and a TIER_2 checklist without the shadow requirement E2's review added."""
    tier1 = copy.deepcopy(DEFAULTS["TIER_1"])
    tier1.update(required_roles=["DATA_SCIENCE"], checklist=_items(LEGACY_TIER_1_KEYS), rollout={
        "min_shadow_minutes": 0,
        "stages": [{"name": "canary", "traffic_percent": 5, "min_duration_minutes": 1440, "approval_role": ""},
                   {"name": "full", "traffic_percent": 100, "min_duration_minutes": 10080, "approval_role": ""}],
        "guardrails": [{"metric": "psi_max", "comparator": "<=", "threshold": 0.2, "window_minutes": 1440,
                        "failure_limit": 1, "sustain_minutes": 0, "action": "PAUSE", "stage": ""}]})
    policies.ensure_policy("TIER_1", tier1, actor=SEEDER)
    tier2 = copy.deepcopy(DEFAULTS["TIER_2"])
    tier2["checklist"] = _items(LEGACY_TIER_2_KEYS, non_blocking=("slice_metrics",))
    policies.ensure_policy("TIER_2", tier2, actor=SEEDER)


E1_MECHANISMS = [
    # (action item, kind, policy operation, payload)
    ("Require sign-off by Compliance, Legal and Model Risk for every credit model, not Data Science alone",
     "PROCESS", "SET_REQUIRED_ROLES", {"required_roles": ["DATA_SCIENCE", "COMPLIANCE", "LEGAL", "MODEL_RISK"]}),
    ("Proxy-risk assessment before any third-party-derived feature reaches a credit model", "PREVENT",
     "ADD_CHECKLIST_ITEM", {"key": "third_party_controls", **{k: v for k, v in ITEMS["third_party_controls"].items()},
                            "blocking": True, "rule": ""}),
    ("Vendor schema-stability SLA on file for every third-party data source", "PREVENT", "ADD_CHECKLIST_ITEM",
     {"key": "vendor_schema_sla", "title": "Vendor schema-stability SLA on file for every third-party source",
      "category": "third_party", "kind": "MANUAL", "blocking": True, "rule": "",
      "guidance": "The vendor commits in writing to announce changes in how any field is populated, with notice "
                  "long enough to re-run the proxy-risk assessment before the change reaches scoring."}),
    ("Thirty-day shadow with a per-group comparison against the champion before any credit traffic", "PREVENT",
     "SET_ROLLOUT", {k: v for k, v in DEFAULTS["TIER_1"]["rollout"].items() if k != "guardrails"}
     | {"guardrails": [g for g in DEFAULTS["TIER_1"]["rollout"]["guardrails"] if g["metric"] == "psi_max"]}),
    ("Drift monitor that pauses scoring when a feature's null rate moves more than 5 points", "DETECT",
     "ADD_GUARDRAIL", {"metric": "null_rate_delta_max", "comparator": "<=", "threshold": 0.05,
                       "window_minutes": 1440, "failure_limit": 1, "sustain_minutes": 0, "action": "PAUSE",
                       "stage": ""}),
    ("Attest the shadow fairness comparison as a blocking item once the shadow stage has run", "PROCESS", "ADD_CHECKLIST_ITEM",
     {"key": "shadow_fairness", **ITEMS["shadow_fairness"], "blocking": True, "rule": ""}),
    ("Fairness circuit breaker: halt scoring when the approval-rate adverse-impact ratio falls below 0.8",
     "MITIGATE", "ADD_GUARDRAIL", {"metric": "approval_air", "comparator": ">=", "threshold": 0.8,
                                   "window_minutes": 1440, "failure_limit": 2, "sustain_minutes": 0,
                                   "action": "ROLLBACK", "stage": ""}),
]


def _predictions(spec: dict, seed: int, champion=False) -> bytes:
    """Deterministic predictions CSV: {group: (rows, approval rate)}; labels at 45 % positives."""
    rng = np.random.default_rng(seed)
    header = "group,y_true,y_pred" + (",y_pred_champion" if champion else "")
    lines = [header]
    for group, values in spec.items():
        rows, rate = values[0], values[1]
        champ = values[2] if len(values) > 2 else rate
        for _ in range(rows):
            y = int(rng.random() < 0.45)
            p = int(rng.random() < rate + (0.08 if y else -0.06))
            row = f"{group},{y},{p}"
            if champion:
                row += f",{int(rng.random() < champ + (0.08 if y else -0.06))}"
            lines.append(row)
    return ("\n".join(lines) + "\n").encode()


# The credit model's declared protected attributes, as the relaunch evaluation's columns. Race is a BISG estimate
# (the model's limitations say so: lenders may not ask it for this product); groups large enough that every race
# group's whole adverse-impact and equal-opportunity interval clears the policy, as the sign-offs record.
E1_ATTRIBUTES = ["race", "sex", "age_band"]
E1_RACE_ROWS = {"White": 9000, "Black": 4200, "Hispanic": 4200, "Asian": 2600}
E1_AGE_BANDS = {"18-29": 0.22, "30-49": 0.45, "50+": 0.33}


def relaunch_predictions() -> bytes:
    """The 5.0 relaunch's pre-shadow sample (20,000 applications): race, sex and age band as columns, the outcome
    (repaid at 12 months), the decision and the model's score, a calibrated probability of repayment; approval at
    a score of 0.44, the same cut-off for everyone. Approval rates come out at 51-52 % in every race group (every
    adverse-impact ratio above 0.9, as the decision memo states); each attribute and each intersection of them is
    assessed, the three-way cells (about 280 to 1,800 rows) too small to settle."""
    rng = np.random.default_rng(101)
    race = np.repeat(np.array(list(E1_RACE_ROWS)), list(E1_RACE_ROWS.values()))
    rows = race.size
    sex = rng.choice(["F", "M"], rows)
    age = rng.choice(list(E1_AGE_BANDS), rows, p=list(E1_AGE_BANDS.values()))
    score = np.round(rng.beta(4.5, 5.5, rows), 4)
    repaid = (rng.random(rows) < score).astype(int)
    approved = (score >= 0.44).astype(int)
    lines = [",".join([*E1_ATTRIBUTES, "y_true", "y_pred", "score"])]
    lines += [f"{r},{x},{a},{t},{p},{v:.4f}" for r, x, a, t, p, v in zip(race, sex, age, repaid, approved, score,
                                                                          strict=True)]
    return ("\n".join(lines) + "\n").encode()


def e4_predictions() -> bytes:
    """The recommendation audit sample: the protected segment is under-served, but the sample is small."""
    return _predictions({"segment_a": (1400, 0.52, 0.50), "segment_b": (220, 0.43, 0.47),
                         "segment_c": (24, 0.50, 0.50)}, seed=404, champion=True)


def _feature_table(columns: dict, rows: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    data = {name: make(rng, rows) for name, make in columns.items()}
    lines = [",".join(columns)]
    for i in range(rows):
        lines.append(",".join("" if data[c][i] is None else str(data[c][i]) for c in columns))
    return ("\n".join(lines) + "\n").encode()


def relaunch_drift() -> tuple[bytes, bytes]:
    columns = {
        "income": lambda rng, n: [round(float(v), 0) for v in rng.lognormal(10.8, 0.45, n)],
        "employment_type": lambda rng, n: list(rng.choice(["salaried", "self_employed", "contract"], n,
                                                          p=[0.7, 0.2, 0.1])),
        "region": lambda rng, n: list(rng.choice(["north", "south", "east", "west"], n)),
        "device_trust_score": lambda rng, n: [round(float(v), 3) for v in rng.beta(5, 2, n)],
    }
    return _feature_table(columns, 3000, seed=7), _feature_table(columns, 3000, seed=8)


@story("credit-line-decisioning")
def e1_fair_lending(people):
    dana, sam, cole, lee, mara = (people[u] for u in ("dana", "sam", "cole", "lee", "mara"))
    # "Nine months ago": the refresh went live about 270 days before the seeding day.
    launch_day = days_ago(270, hour=10)
    features = [
        {"name": "income", "is_critical": True}, {"name": "debt_to_income", "is_critical": True},
        {"name": "credit_history_months"},
        {"name": "device_trust_score", "source": "THIRD_PARTY", "vendor": "Signalgrid Devices (fictional)",
         "description": "Score derived from device metadata supplied by a vendor", "is_critical": True},
    ]
    model = _register_v413(dana, launch_day - days(200))  # its launch: ensure_production_v413
    with as_of(launch_day - days(40)):
        v42 = _register_v42(model, features)
        # The examiner's file: the credit model falls under the EU AI Act (Annex III 5(b)) and the US guidance.
        declare_regimes(model, actor=people["cole"], regimes=["eu-ai-act", "us-model-risk-2026"])
    model_risk.e1_validate_v42(model, v42, launch_day, people)
    legacy = policies.get_policy("TIER_1").versions.get(number=1)
    # Imported as it was decided on paper: one Data Science signature the day before launch.
    with as_of(launch_day - days(12)):
        original = services.import_historical_launch(
            v42, actor=SEEDER, policy_version=legacy, title="Credit line 4.2 refresh", author=sam,
            status="LAUNCHED", summary="Quarterly refresh adding a device-trust feature from a third-party vendor.",
            options_considered="Ship the refresh as planned; delay a quarter for more validation.",
            expected_value="Higher approval rate at equal expected loss.",
            risks="None identified beyond model drift.", decision="SHIP",
            rationale="Offline performance and fairness validation passed; timelines were set by the business plan.",
            approved_at=launch_day - days(1), launched_at=launch_day,
            signoffs=[(dana, "DATA_SCIENCE", "APPROVE", launch_day - days(1))])
    # Sixteen days after launch: the kill switch, which opens the incident; then the incident gets its real shape.
    with as_of(launch_day + days(16)):
        rollback = rollouts.rollback(original, actor=dana, now=launch_day + days(16),
                                     reason="Approval rates diverged by demographic segment; reverting to 4.1.3 "
                                            "while every decision in the window is audited.")
        incident = _shape_e1_incident(pm_incident(rollback["incident"]), launch_day, dana, cole, lee, mara)
        pm.transition_incident(incident, actor=cole, to="MITIGATED", at=launch_day + days(16))
    model_risk.e1_incident_reopens(incident, launch_day, people)
    for offset, kind, text in E1_TIMELINE:
        # The team wrote the timeline up the day after the revert; later entries were added as they happened.
        with as_of(max(launch_day + days(17), launch_day + days(offset))):
            pm.add_timeline_event(incident, actor=cole, at=launch_day + days(offset), kind=kind, text=text)
    with as_of(launch_day + days(20)):
        for category, description in E1_FACTORS:
            pm.add_contributing_factor(incident, actor=cole, category=category, description=description)
    with as_of(launch_day + days(21)):
        doc = pm.start_postmortem(incident, actor=dana)
    # The mechanisms: one action item each, proposed as a policy change and approved by a second person over the
    # following week; each item is done when its change is in the policy.
    for n, (title, kind, operation, payload) in enumerate(E1_MECHANISMS):
        opened = launch_day + days(25) + hours(n)
        with as_of(opened):
            item = pm.add_action_item(incident, actor=cole, title=title, kind=kind, owner=mara,
                                      due_date=local_day(opened) + days(45), priority="P1")
            change = pm.propose_policy_change_for_action_item(
                item, actor=cole, tier="TIER_1", operation=operation, payload=payload,
                rationale=f"Lending proxy incident: {title.lower()}.")
        with as_of(launch_day + days(32 + n)):
            policies.approve_change(PolicyChange.objects.get(pk=change.pk), actor=mara, password=DEMO_PASSWORD,
                                    note="Agreed at the model governance working group.")
            pm.update_action_item(item, actor=mara, status=ActionItem.Status.DONE)
    with as_of(launch_day + days(25)):
        group = pm.add_action_item(incident, actor=cole, title="Weekly model governance working group reviews "
                                   "every credit model's fairness monitors", kind="PROCESS", owner=cole,
                                   due_date=local_day(launch_day + days(25)) + days(14), priority="P2")
    with as_of(launch_day + days(31)):
        pm.update_action_item(group, actor=cole, status=ActionItem.Status.DONE)
    _postmortem_e1(doc, launch_day, dana, cole, mara)
    with as_of(launch_day + days(60)):
        pm.transition_incident(incident, actor=cole, to="RESOLVED", at=launch_day + days(60))
    _relaunch_e1(model, people)


E1_TIMELINE = [
    (3, "OTHER", "The vendor changes how it populates one device field; no notice reaches the model team."),
    (9, "OTHER", "The drift monitor flags a distribution shift in device_trust_score; the alert is tuned "
                 "for performance and is closed as benign."),
    (14, "DETECTION", "A compliance analyst reviewing approvals by segment finds one segment's approval rate "
                      "rising and another's falling since the refresh."),
    (14.1, "ESCALATION", "Chief Compliance Officer and General Counsel briefed; the matter is placed under "
                         "legal privilege."),
    (14.2, "DECISION", "Automated decisioning is frozen for every segment, not only the affected one — a "
                       "freeze for one segment could itself look like disparate treatment. Sales are offered "
                       "a manual-review path."),
    (16, "MITIGATION", "Model reverted to 4.1.3, 48 hours after detection."),
    (21, "OTHER", "Audit of every decision made in the window begins."),
    (45, "COMMUNICATION", "Root-cause analysis and remediation plan presented to the board risk committee."),
]

E1_FACTORS = [
    ("DATA_VENDOR_CHANGE", "The vendor changed how a device field was populated without notice."),
    ("MONITORING_GAP", "Distribution-shift alerts were tuned for performance, not for fairness; the shift "
                       "was seen and closed."),
    ("MODEL", "A third-party-derived feature entered a credit model with no proxy-risk assessment."),
    ("PROCESS", "The launch readiness document needed one Data Science signature; Compliance, Legal and "
                "Model Risk did not review it."),
    ("ORGANISATIONAL_PRESSURE", "An inherited, fragile pipeline, aggressive timelines set by earlier "
                                "leadership, and pressure to keep approval volume up."),
]


E1_413_FEATURES: list[dict[str, Any]] = [{"name": "income", "is_critical": True}, {"name": "debt_to_income", "is_critical": True},
                   {"name": "credit_history_months"}]


def ensure_production_v413(people):
    """4.1.3 is the version in production before the 4.2 refresh and again after its rollback: what 5.0 is compared
    with. Its launch, decided on paper under the legacy policy, is imported after the stories (so the stories'
    launch numbers stay as documented), and a store seeded before 4.1.3 was part of the story gets the version too."""
    from governance.inventory.services import create_version
    from governance.models import MLModel
    from readiness.models import LaunchRequest

    model = MLModel.objects.filter(slug="credit-line-decisioning").first()
    if model is None:
        return
    launched = days_ago(270, hour=10) - days(180)
    v413 = model.versions.filter(version="4.1.3").first()
    if v413 is None:
        with as_of(launched - days(20)):
            v413 = create_version(model, actor=SEEDER, version="4.1.3", artifact_sha256=digest(
                "credit-line-decisioning:4.1.3"), git_commit=digest("commit:credit-line-decisioning:4.1.3")[:12],
                training_data_ref="warehouse://credit/applications/2021-2023", model_card=E1_413_CARD,
                features=E1_413_FEATURES)
    if LaunchRequest.objects.filter(version=v413).exists():
        return
    legacy = policies.get_policy("TIER_1").versions.get(number=1)
    with as_of(launched - days(5)):
        services.import_historical_launch(
            v413, actor=SEEDER, policy_version=legacy, title="Credit line 4.1.3", author=people["dana"],
            status="LAUNCHED", summary="Maintenance release of the credit line model: recalibrated on the 2021-2023 "
            "applications.", options_considered="Recalibrate; keep 4.1.2.",
            expected_value="Calibration restored at equal approval rate.", risks="Model drift.", decision="SHIP",
            rationale="Recalibration only; no new feature.", approved_at=launched - days(1), launched_at=launched,
            signoffs=[(people["dana"], "DATA_SCIENCE", "APPROVE", launched - days(1))])


def _register_v413(dana, created):
    """The credit model as it served before the 4.2 refresh: version 4.1.3, no third-party feature."""
    with as_of(created):
        return model_with_version(
            slug="credit-line-decisioning", name="Consumer credit line decisioning", owner=dana, tier="TIER_1",
            business_use="Approves or declines applications for unsecured consumer credit lines and sets the "
                         "initial limit.", regulatory_scope="ECOA / Regulation B, FCRA, state fair-lending law",
            protected=E1_ATTRIBUTES, version="4.1.3", features=E1_413_FEATURES,
            training_data_ref="warehouse://credit/applications/2021-2023", model_card=E1_413_CARD)[0]


E1_413_CARD = ("## Credit line model 4.1.3\n\nGradient-boosted trees on bureau and application data; recalibrated "
               "on the 2021-2023 applications. No third-party feature.")


def _register_v42(model, features):
    from governance.inventory.services import create_version

    return create_version(
        model, actor=SEEDER, version="4.2.0", artifact_sha256=digest("credit-line-decisioning:4.2.0"),
        git_commit=digest("commit:credit-line-decisioning:4.2.0")[:12], features=features,
        training_data_ref="warehouse://credit/applications/2022-2024",
        model_card="## Credit line model 4.2\n\nGradient-boosted trees. Offline AUC 0.79. Passed offline fairness "
                   "validation (adverse-impact ratio ≥ 0.85 for all monitored groups on the holdout).\n\n"
                   "New in 4.2: a device-trust score from a third-party device-metadata vendor.")


def _shape_e1_incident(incident, launch_day, dana, cole, lee, mara):
    return pm.update_incident(
        incident, actor=cole, title="Device-metadata feature became a proxy for a "
        "protected class", severity="SEV1", restricted=True, fair_lending=True, consumer_harm=True,
        detection_source="COMPLIANCE_REVIEW", began_at=launch_day, detected_at=launch_day + days(14),
        summary="After the 4.2 refresh, the vendor behind the device-trust feature changed how one field was "
                "populated. The feature drifted and began to track a protected class: approval rates rose for "
                "one demographic segment and fell for another until Compliance noticed the pattern.",
        impact_text="Applications decided by 4.2 during sixteen days were affected. Every decision in the window "
                    "is being re-reviewed; applicants declined in the affected segment are offered a manual "
                    "review. Counts are from the decision-audit workpaper DA-031; approval-rate shifts are "
                    "measured by segment.",
        impact_figures={"approval_rate_shift": [{"segment": "segment A", "shift_pct": 3.1},
                                                {"segment": "segment B", "shift_pct": -4.2}]},
        members=[dana, cole, lee, mara],
        reason="Placed under legal privilege; the people working the matter are named members.")


def pm_incident(pk):
    from postmortems.models import Incident

    return Incident.objects.get(pk=pk)


def _postmortem_e1(doc, launch_day, author, compliance, model_risk):
    with as_of(launch_day + days(40)):
        _write_e1_postmortem(doc, author)
    with as_of(launch_day + days(42)):
        pm.submit_postmortem(doc, actor=author)
    with as_of(launch_day + days(43) + hours(3)):
        pm.review_postmortem(doc, actor=compliance, role="COMPLIANCE", decision="APPROVE",
                             comment="Accurate, blameless, and the mechanisms are in the TIER_1 policy.")
    with as_of(launch_day + days(44)):
        pm.review_postmortem(doc, actor=model_risk, role="MODEL_RISK", decision="APPROVE")
    with as_of(launch_day + days(46)):
        pm.publish_postmortem(doc, actor=author)


def _write_e1_postmortem(doc, author):
    pm.edit_postmortem(doc, actor=author, summary=(
        "A refreshed credit model used a feature built from a vendor's device metadata. Two weeks after launch, "
        "Compliance found that approval rates had moved in opposite directions for two demographic segments. "
        "We froze automated decisioning, reverted within 48 hours, audited every affected decision and briefed "
        "the board risk committee."),
        impact="Sixteen days of credit decisions were made by a model whose inputs had shifted. Applicants in the "
               "disadvantaged segment were more likely to be declined; each affected applicant is offered a "
               "manual review.",
        root_cause="The vendor changed how it populated a device field. Our pipeline accepted the change silently, "
                   "the feature drifted, and it came to track a protected class. Nothing in our launch process "
                   "asked whether a third-party feature could act as a proxy, nothing bound the vendor to announce "
                   "schema changes, and our drift alerts measured performance rather than fairness.",
        what_went_well="- The compliance review of approvals by segment worked as intended.\n"
                       "- The freeze covered every segment, avoiding a second disparate-treatment problem.\n"
                       "- Reverting took 48 hours because the previous version was still deployable.",
        what_went_badly="- A distribution-shift alert fired on day nine and was closed as benign.\n"
                        "- A single signature was enough to launch a credit model.\n"
                        "- No proxy-risk assessment existed for third-party features.",
        where_we_got_lucky="The pattern was visible in a routine segment review; a slower drift could have stayed "
                           "below that review's notice for months.",
        lessons="We now require Compliance, Legal and Model Risk sign-off for credit models, a proxy-risk "
                "assessment, a vendor schema SLA and a drift monitor for every third-party feature, a 30-day "
                "shadow with a per-group comparison, and a fairness circuit breaker that halts scoring. These "
                "reduce how far a similar failure can spread and how long it stays unseen; they do not make it "
                "impossible, so the weekly governance working group reviews fairness monitors for every credit "
                "model.")


def _relaunch_e1(model, people):
    """The relaunch is recent: approved three weeks before the seeding day, in its 30-day shadow since ten days."""
    dana, sam, cole, lee, mara = (people[u] for u in ("dana", "sam", "cole", "lee", "mara"))
    from governance.inventory.services import create_version

    with as_of(days_ago(60)):
        v5 = _register_v5(model, sam, create_version)
    with as_of(days_ago(55, hour=14)):
        feature = v5.features.get(name="device_trust_score")
        update_feature(feature, actor=cole, proxy_risk_status="ASSESSED_MITIGATED",
                       proxy_risk_ref="Proxy-risk assessment PRA-2025-014 (two fields removed)",
                       vendor_sla_ref="Vendor schema-stability SLA, 60-day change notice",
                       drift_monitor_ref="Null-rate and PSI monitor on device_trust_score")
    with as_of(days_ago(50)):
        launch = _create_relaunch(v5, sam)
        rollouts.update_plan(launch, actor=sam, **RELAUNCH_PLAN)
    baseline, current = relaunch_drift()
    with as_of(days_ago(40, hour=11)):
        submit_metrics(launch, sam, predictions=relaunch_predictions(), baseline=baseline, current=current,
                       metrics={"psi.max": 0.04})
    with as_of(days_ago(35, hour=15)):
        attest_manual(launch, dana)
    with as_of(days_ago(30, hour=10)):
        services.submit_for_review(launch, actor=sam)
    with as_of(days_ago(29, hour=16)):
        sign(launch, dana, "DATA_SCIENCE")
    with as_of(days_ago(27, hour=14)):
        sign(launch, cole, "COMPLIANCE", decision="APPROVE_WITH_CONDITIONS",
             conditions="Adverse-action notice templates reviewed for the rebuilt feature")
    with as_of(days_ago(26, hour=11)):
        for item in launch.items.filter(source="CONDITION"):
            services.attest_item(item, actor=cole, outcome="PASS", evidence_text="Templates reviewed with Legal.")
    with as_of(days_ago(24, hour=11)):
        sign(launch, lee, "LEGAL")
    model_risk.e1_remediated_by_v5(days_ago(23, hour=10), people)
    _validate_v5(model, v5, mara)
    with as_of(days_ago(21, hour=16)):
        sign(launch, mara, "MODEL_RISK")
    with as_of(days_ago(10)):
        rollouts.start_rollout(launch, actor=sam, now=days_ago(10))


def _validate_v5(model, v5, mara):
    """Model Risk's independent validation of 5.0 before its sign-off: it resolves the revalidation that the revised
    Tier 1 policy and the rebuilt feature asked for."""
    from django.core.files.base import ContentFile

    from governance.validation.models import ScopeArea
    from governance.validation.services import complete_validation, start_validation

    with as_of(days_ago(23, hour=10)):
        validation = start_validation(model, actor=mara, scope=list(ScopeArea.values), version=v5)
    with as_of(days_ago(22, hour=15)):
        report = ContentFile(b"Validation of the credit line model 5.0: conceptual soundness, data, implementation, "
                             b"outcomes analysis, monitoring plan and limitations reviewed.\n",
                             name="validation-credit-line-5.0.txt")
        complete_validation(validation, actor=mara, outcome="APPROVED", report=report, password=DEMO_PASSWORD,
                            summary="The rebuilt device-trust feature and the 30-day shadow design are sound; "
                                    "per-group error rates are within the policy's limits.")


def _register_v5(model, sam, create_version):
    return create_version(model, actor=sam, version="5.0.0", artifact_sha256=digest("credit-line:5.0.0"),
                          git_commit=digest("commit:credit-line:5.0.0")[:12],
                          training_data_ref="warehouse://credit/applications/2022-2025",
                          model_card="## Credit line model 5.0\n\nRetrained with the device-trust feature rebuilt "
                                     "from fields the proxy-risk assessment cleared. Calibration and error rates are "
                                     "reported per protected group.",
                          features=[{"name": "income", "is_critical": True},
                                    {"name": "debt_to_income", "is_critical": True},
                                    {"name": "credit_history_months"}, {"name": "employment_type"}, {"name": "region"},
                                    {"name": "device_trust_score", "source": "THIRD_PARTY", "is_critical": True,
                                     "vendor": "Signalgrid Devices (fictional)",
                                     "description": "Rebuilt from fields cleared by the proxy-risk assessment"}])


def _create_relaunch(v5, sam):
    return services.create_launch(
        v5, actor=sam, title="Credit line 5.0 relaunch",
        summary="Relaunch of the credit line model after the proxy incident, under the revised Tier 1 policy.",
        options_considered="1. Relaunch without any third-party feature.\n2. Relaunch with the rebuilt device "
                           "feature after a proxy-risk assessment (chosen).\n3. Stay on 4.1.3 indefinitely.",
        expected_value="Recovers most of the approval-rate gain of 4.2 at equal expected loss, measured in a "
                       "30-day shadow against 4.1.3.",
        risks="A vendor change could again alter the feature; the SLA, the null-rate monitor and the fairness "
              "circuit breaker bound how far and how long.",
        decision="SHIP", rationale="Shadow comparison shows no group's approval-rate ratio below 0.9; every "
                                   "third-party control is in place.")


RELAUNCH_PLAN = {"stages": [
    {"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 43200, "approval_role": "COMPLIANCE"},
    {"name": "pilot", "traffic_percent": 5, "min_duration_minutes": 10080},
    {"name": "ramp-25", "traffic_percent": 25, "min_duration_minutes": 10080},
    {"name": "ramp-50", "traffic_percent": 50, "min_duration_minutes": 10080, "approval_role": "MODEL_RISK"},
    {"name": "full", "traffic_percent": 100, "min_duration_minutes": 20160}],
    "guardrails": [
        {"metric": "approval_air", "comparator": ">=", "threshold": 0.8, "window_minutes": 1440,
         "failure_limit": 2, "action": "ROLLBACK"},
        {"metric": "null_rate_delta_max", "comparator": "<=", "threshold": 0.05, "window_minutes": 1440,
         "failure_limit": 1, "action": "PAUSE"},
        {"metric": "psi_device_trust_score", "comparator": "<=", "threshold": 0.1, "window_minutes": 1440,
         "failure_limit": 1, "action": "PAUSE"},
        {"metric": "psi_income", "comparator": "<=", "threshold": 0.2, "window_minutes": 1440,
         "failure_limit": 1, "action": "PAUSE"},
        {"metric": "psi_employment_type", "comparator": "<=", "threshold": 0.2, "window_minutes": 1440,
         "failure_limit": 1, "action": "PAUSE"},
        {"metric": "psi_region", "comparator": "<=", "threshold": 0.2, "window_minutes": 1440,
         "failure_limit": 1, "action": "PAUSE"},
        {"metric": "early_delinquency_ratio", "comparator": "<=", "threshold": 1.15, "window_minutes": 10080,
         "failure_limit": 1, "action": "ALERT"}]}


@story("content-recommender")
def e4_recommendation_fairness(people):
    """Recent: the audit ran hours before the full rollout planned for tomorrow, and one signature is in."""
    dana, sam, pat = people["dana"], people["sam"], people["pat"]
    with as_of(days_ago(20)):
        _model, version = _register_e4(dana)
    with as_of(days_ago(6, hour=10)):
        launch = _create_e4(version, pat)
    with as_of(days_ago(2, hour=8)):
        submit_metrics(launch, dana, predictions=e4_predictions(), metrics={"psi.max": 0.06})
    with as_of(days_ago(2, hour=11)):
        attest_manual(launch, dana)
    with as_of(days_ago(2, hour=13)):
        services.submit_for_review(launch, actor=pat)
    with as_of(days_ago(1, hour=10)):
        sign(launch, sam, "PRODUCT", comment="Engagement gain verified in the A/B readout.")
    return launch


def _register_e4(dana):
    return model_with_version(
        slug="content-recommender", name="Home feed content recommender", owner=dana, tier="TIER_2",
        business_use="Ranks articles and offers on the home feed.", protected=["age_band", "region"],
        version="7.0.0", features=[{"name": "engagement_history"}, {"name": "content_embedding"},
                                   {"name": "session_context"}],
        model_card="## Recommender 7.0\n\nTwo-tower retrieval with a re-ranker. A/B: +8 % engagement.")


def _create_e4(version, pat):
    return services.create_launch(
        version, actor=pat, title="Recommender 7.0 full rollout",
        summary="The A/B test shows +8 % engagement; full rollout is planned for tomorrow. A fairness audit run "
                "hours ago shows one protected segment served less often, on a small sample.",
        options_considered="**Ship** tomorrow as planned: keeps the +8 % engagement; the product lead reads the "
                           "fairness signal as noise.\n\n**Hold** until the audit sample is large enough to settle "
                           "the check (the evaluation states how many rows): the senior data scientist's position.\n\n"
                           "**Mitigate**: ship with re-weighting for the under-served segment, which the ML engineer "
                           "estimates costs part of the engagement gain, and keep the fairness guardrail live.",
        expected_value="+8 % engagement at full rollout; re-weighting is expected to keep most of it.",
        risks="If the regression is real, a protected segment is systematically under-served, with regulatory and "
              "reputational exposure flagged by responsible-AI counsel.",
        decision="MITIGATE",
        rationale="The adverse-impact interval straddles the floor, so the data cannot yet tell noise from harm. "
                  "Mitigating keeps most of the gain while the sample grows to the size the check asks for; ship "
                  "only behind the fairness guardrail.")

