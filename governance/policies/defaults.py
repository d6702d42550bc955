"""Default tier policies, from documented practice. Guidance is written for the people who attest the item.

Each checklist item: key, title, category, blocking, kind (MANUAL attestation or AUTOMATIC rule over an
evaluation metric), rule, guidance. Items are copied onto a launch when it is created, so a later policy
change governs later launches and leaves launches in flight as they were signed.
"""

from typing import Any

CATEGORIES = {
    "documentation": "Documentation",
    "data": "Data and leakage",
    "fairness": "Fairness",
    "third_party": "Third-party features",
    "rollout": "Rollout",
    "operations": "Operations",
    "governance": "Governance",
}

ITEMS: dict[str, dict[str, Any]] = {
    "model_card": dict(
        title="Model card complete", category="documentation", kind="MANUAL",
        guidance="The card states what the model decides, its precision, recall and F1, calibration, metrics per "
                 "slice including sensitive groups, latency and cost per thousand predictions. Reviewers cannot "
                 "weigh a model whose behaviour is not written down.",
    ),
    "design_review": dict(
        title="Design review signed off", category="governance", kind="MANUAL",
        guidance="Problem framing, offline and online metric alignment, data lineage, leakage checks, ablation "
                 "plan, failure modes and privacy constraints were reviewed by someone outside the team. Link the "
                 "review record.",
    ),
    "temporal_cv": dict(
        title="Temporal cross-validation and leakage check", category="data", kind="MANUAL",
        guidance="Validation folds respect time and no feature uses information from after the decision point. "
                 "A near-real-time feature that includes same-day outcomes inflates offline scores and collapses "
                 "in production.",
    ),
    "feature_schema": dict(
        title="Feature schema validation", category="data", kind="MANUAL",
        guidance="Every serving feature matches its training definition: type, range, window length and null "
                 "handling. A 24-hour window in training against a 1-hour window in serving is a silent skew.",
    ),
    "dataset_diff_psi": dict(
        title="Training–serving dataset diff: PSI ≤ 0.2 on critical features", category="data",
        kind="AUTOMATIC", rule="psi.max <= 0.2",
        guidance="The population stability index between training data and a recent serving sample stays at or "
                 "below 0.2 for every critical feature. Above that the model is scoring a population it was not "
                 "trained on.",
    ),
    "slice_metrics": dict(
        title="Slice metrics for protected groups, including FPR and FNR", category="fairness", kind="MANUAL",
        guidance="Error rates are reported per protected group, not only overall. An aggregate metric can improve "
                 "while one group's false-negative rate doubles.",
    ),
    "calibration_by_group": dict(
        title="Calibration by group", category="fairness", kind="MANUAL",
        guidance="Predicted probabilities mean the same thing for every group. A score that is well calibrated "
                 "overall but not within groups leads to unequal treatment at a shared cut-off.",
    ),
    "fairness_air": dict(
        title="Adverse-impact ratio at or above the floor for every group", category="fairness", kind="AUTOMATIC",
        rule="fairness.air >= 0.8",
        guidance="Each group's selection rate divided by the reference group's must stay at or above the policy "
                 "floor across the whole 95 % interval. When the interval straddles the floor the check is "
                 "inconclusive, and the report says how many more rows would settle it.",
    ),
    "fairness_eod": dict(
        title="Equal-opportunity difference within limit", category="fairness", kind="AUTOMATIC",
        rule="fairness.eod <= 0.1",
        guidance="Among applicants who would repay, approval rates differ by at most the policy limit between "
                 "groups, across the whole 95 % interval.",
    ),
    "third_party_controls": dict(
        title="Proxy-risk assessment, vendor SLA and drift monitor for every third-party feature",
        category="third_party", kind="MANUAL",
        guidance="A vendor can change how a field is populated without notice; a harmless field can then become a "
                 "proxy for a protected class. Gatehouse adds one blocking item per missing control per "
                 "third-party feature; attest here that the list of third-party features is complete.",
    ),
    "shadow_fairness": dict(
        title="Shadow test completed with a fairness comparison", category="rollout", kind="MANUAL", stage="shadow",
        guidance="The model scored live traffic in shadow, without acting, for at least the policy's minimum "
                 "shadow window, and its decisions were compared with the champion's per protected group. "
                 "High-impact launches shadow at least 5 % of traffic; lending models shadow longer.",
    ),
    "rollback_plan": dict(
        title="Rollback plan and runbook", category="operations", kind="MANUAL",
        guidance="The previous version can be restored in minutes, the runbook says who does it and how, and the "
                 "guardrails that trigger it are in the rollout plan.",
    ),
    "on_call": dict(
        title="On-call staffed for the launch window", category="operations", kind="MANUAL",
        guidance="A named person who can roll back is on call from the first stage until the launch completes.",
    ),
    "comms_template": dict(
        title="Communication template ready", category="operations", kind="MANUAL", blocking=False,
        guidance="Stakeholder updates during an incident follow a prepared template, so the first update goes out "
                 "in minutes rather than after a meeting.",
    ),
    "data_contracts": dict(
        title="Data contracts and drift baselines in place", category="data", kind="MANUAL",
        guidance="Upstream producers have agreed the schema and freshness of every input, and drift baselines are "
                 "recorded, so late or unstable identifiers are caught before they skew training and serving.",
    ),
}


def _items(keys, *, non_blocking=()):
    out = []
    for key in keys:
        spec = dict(ITEMS[key])
        spec.setdefault("blocking", True)
        if key in non_blocking:
            spec["blocking"] = False
        spec.setdefault("rule", "")
        out.append({"key": key, **spec})
    return out


def _stage(name, percent, minutes, approval_role=""):
    return {"name": name, "traffic_percent": percent, "min_duration_minutes": minutes, "approval_role": approval_role}


def _guardrail(metric, comparator, threshold, *, window=60, failure_limit=3, sustain=0, action="ROLLBACK",
               stage=""):
    return {"metric": metric, "comparator": comparator, "threshold": threshold, "window_minutes": window,
            "failure_limit": failure_limit, "sustain_minutes": sustain, "action": action, "stage": stage}


DEFAULTS = {
    "TIER_1": {
        "required_roles": ["DATA_SCIENCE", "COMPLIANCE", "LEGAL", "MODEL_RISK"],
        "roles_if_protected_attributes": [],
        "thresholds": {"air_floor": 0.8, "eo_max_diff": 0.1, "psi_act": 0.2, "psi_watch": 0.1,
                       "min_group_count": 30, "null_rate_tolerance": 0.05},
        "checklist": _items(["model_card", "design_review", "temporal_cv", "feature_schema", "dataset_diff_psi",
                             "slice_metrics", "calibration_by_group", "fairness_air", "fairness_eod",
                             "third_party_controls", "shadow_fairness", "rollback_plan", "on_call",
                             "comms_template"]),
        "rollout": {
            "min_shadow_minutes": 30 * 24 * 60,
            "stages": [_stage("shadow", 0, 30 * 24 * 60, "COMPLIANCE"), _stage("canary", 5, 7 * 24 * 60),
                       _stage("ramp-25", 25, 7 * 24 * 60), _stage("ramp-50", 50, 7 * 24 * 60, "MODEL_RISK"),
                       _stage("full", 100, 14 * 24 * 60)],
            "guardrails": [
                _guardrail("approval_air", ">=", 0.8, window=24 * 60, failure_limit=2, action="ROLLBACK"),
                _guardrail("psi_max", "<=", 0.2, window=24 * 60, failure_limit=1, action="PAUSE"),
                _guardrail("null_rate_delta_max", "<=", 0.05, window=24 * 60, failure_limit=1, action="PAUSE"),
            ],
        },
    },
    "TIER_2": {
        "required_roles": ["DATA_SCIENCE", "PRODUCT"],
        "roles_if_protected_attributes": ["COMPLIANCE"],
        "thresholds": {"air_floor": 0.8, "eo_max_diff": 0.1, "psi_act": 0.2, "psi_watch": 0.1,
                       "min_group_count": 30, "null_rate_tolerance": 0.05},
        "checklist": _items(["model_card", "design_review", "temporal_cv", "feature_schema", "dataset_diff_psi",
                             "slice_metrics", "fairness_air", "third_party_controls", "shadow_fairness",
                             "rollback_plan", "on_call", "comms_template"],
                            non_blocking=("slice_metrics",)),
        "rollout": {
            "min_shadow_minutes": 48 * 60,
            "stages": [_stage("shadow", 0, 48 * 60), _stage("canary", 10, 60), _stage("ramp-50", 50, 24 * 60),
                       _stage("full", 100, 24 * 60)],
            "guardrails": [
                _guardrail("ctr_delta_pct", ">=", -0.5, window=60, failure_limit=1, sustain=30),
                _guardrail("p95_latency_ms", "<=", 200, window=15, failure_limit=3),
            ],
        },
    },
    "TIER_3": {
        "required_roles": ["DATA_SCIENCE"],
        "roles_if_protected_attributes": [],
        "thresholds": {"air_floor": 0.8, "eo_max_diff": 0.1, "psi_act": 0.2, "psi_watch": 0.1,
                       "min_group_count": 30, "null_rate_tolerance": 0.05},
        "checklist": _items(["model_card", "feature_schema", "dataset_diff_psi", "rollback_plan"]),
        "rollout": {
            "min_shadow_minutes": 0,
            "stages": [_stage("canary", 10, 60), _stage("full", 100, 60)],
            "guardrails": [_guardrail("p95_latency_ms", "<=", 300, window=15, failure_limit=3)],
        },
    },
}
