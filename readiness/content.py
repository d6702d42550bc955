"""The content hash: sha256 of the canonical JSON of everything a signer vouches for.

Covered: the model version and artifact digest, its features' provenance, the governing policy version,
the decision memo, the checklist (definition and state, except items a signer's own conditions added),
the latest evaluation, and the rollout plan. Not covered: waivers (a separate, audited decision by a risk
role with its own expiry) and sign-offs themselves.
"""

from governance.kernel.canonical import canonical_json, content_hash, sha256_hex

from .models import ItemSource

MEMO_FIELDS = ("title", "summary", "options_considered", "expected_value", "risks", "decision", "rationale")


def launch_content(launch, *, items, evaluation, plan, stages=(), guardrails=()) -> dict:
    version = launch.version
    return {
        "launch": launch.pk,
        "model": version.model.slug,
        "version": version.version,
        "artifact_sha256": version.artifact_sha256,
        "git_commit": version.git_commit,
        "training_data_ref": version.training_data_ref,
        "model_card_sha256": sha256_hex(version.model_card or ""),
        "features": sorted(
            ({"name": f.name, "source": f.source, "vendor": f.vendor, "proxy_risk_status": f.proxy_risk_status,
              "vendor_sla_ref": f.vendor_sla_ref, "drift_monitor_ref": f.drift_monitor_ref}
             for f in version.features.all()), key=lambda f: f["name"]),
        "policy": {"tier": launch.policy_version.policy.tier, "version": launch.policy_version.number,
                   "content_hash": launch.policy_version.content_hash},
        "required_roles": sorted(launch.required_roles),
        "memo": {name: getattr(launch, name) for name in MEMO_FIELDS},
        "checklist": [_item_content(i) for i in sorted(items, key=lambda i: i.key) if i.source != ItemSource.CONDITION],
        "evaluation": None if evaluation is None else {
            "id": evaluation.pk, "metrics_sha256": sha256_hex(canonical_json(evaluation.metrics)),
            "source_sha256": evaluation.source_sha256,
        },
        "rollout": None if plan is None else plan_content(stages, guardrails),
    }


def _item_content(item) -> dict:
    """An item as signers vouch for it. An item attesting a rollout stage's result is signed for what it asks,
    not for its outcome: that comes after approval, while the stage runs."""
    if item.stage:
        return {"key": item.key, "title": item.title, "blocking": item.blocking, "kind": item.kind,
                "stage": item.stage}
    return {"key": item.key, "title": item.title, "blocking": item.blocking, "kind": item.kind, "rule": item.rule,
            "status": item.status, "evidence_url": item.evidence_url, "evidence_text": item.evidence_text}


def stage_content(stage) -> dict:
    return {"name": stage.name, "traffic_percent": stage.traffic_percent,
            "min_duration_minutes": stage.min_duration_minutes, "approval_role": stage.approval_role}


def guardrail_content(guardrail) -> dict:
    content = {"metric": guardrail.metric, "comparator": guardrail.comparator, "threshold": guardrail.threshold,
               "window_minutes": guardrail.window_minutes, "failure_limit": guardrail.failure_limit,
               "sustain_minutes": guardrail.sustain_minutes, "action": guardrail.action,
               "stage": guardrail.stage.name if guardrail.stage_id else ""}
    if guardrail.segment:  # only when set, so that the hashes signed before segments existed still hold
        content["segment"] = guardrail.segment
    return content


def plan_content(stages, guardrails) -> dict:
    """A rollout plan as signers vouch for it (guardrails in a canonical order)."""
    return {"stages": [stage_content(s) for s in sorted(stages, key=lambda s: s.position)],
            "guardrails": sorted((guardrail_content(g) for g in guardrails), key=canonical_json)}


def compute_content_hash(launch, **parts) -> str:
    return content_hash(launch_content(launch, **parts))
