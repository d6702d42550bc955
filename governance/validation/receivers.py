"""Events of the layers below (the inventory, the policies) that open revalidation needs. Connected once by the
governance app; each receiver runs inside the sender's transaction, so the need and its cause commit together."""

from __future__ import annotations

from typing import Any

from governance.inventory.models import MLModel, ModelVersion
from governance.inventory.signals import features_changed, model_page_context, version_registered
from governance.policies.signals import policy_changed
from governance.validation.models import Trigger
from governance.validation.selectors import model_risk_summary
from governance.validation.services import open_revalidation_need


def on_features_changed(sender: Any, *, version: ModelVersion, actor: Any, **kwargs: Any) -> None:
    """A feature (a data source) was added to or changed on a version: that version needs revalidating, once."""
    open_revalidation_need(version.model, actor=actor, trigger=Trigger.DATA_SOURCE,
                           source_type="governance.modelversion", source_id=version.pk,
                           source_label=f"Features of {version.model.slug} {version.version} changed")


def on_version_registered(sender: Any, *, version: ModelVersion, actor: Any, **kwargs: Any) -> None:
    """A vendor's new version of a vendor model is a vendor update."""
    if version.model.vendor:
        open_revalidation_need(version.model, actor=actor, trigger=Trigger.VENDOR_UPDATE,
                               source_type="governance.modelversion", source_id=version.pk,
                               source_label=f"{version.model.vendor} shipped {version.model.slug} {version.version}")


def on_policy_changed(sender: Any, *, change: Any, version: Any, tier: str, actor: Any, **kwargs: Any) -> None:
    """A change to a tier's policy touches every model of that tier that is in use."""
    for model in MLModel.objects.filter(risk_tier=tier, retired_at=None).order_by("pk"):
        open_revalidation_need(model, actor=actor, trigger=Trigger.POLICY_CHANGE,
                               source_type="governance.policychange", source_id=change.pk,
                               source_label=f"{tier} policy version {version.number} approved",
                               source_incident_id=getattr(change, "source_incident_id", None))


def model_risk_section(sender: Any, *, model: MLModel, **kwargs: Any) -> dict[str, Any]:
    """The model page's model-risk summary and the link to its validations (one query)."""
    return {"model_sections": [{"template": "validation/_model_section.html", "model": model,
                                "summary": model_risk_summary(model)}]}


def connect() -> None:
    model_page_context.connect(model_risk_section, dispatch_uid="validation.model_page_context")
    features_changed.connect(on_features_changed, dispatch_uid="validation.features_changed")
    version_registered.connect(on_version_registered, dispatch_uid="validation.version_registered")
    policy_changed.connect(on_policy_changed, dispatch_uid="validation.policy_changed")
