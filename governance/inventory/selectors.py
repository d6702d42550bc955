"""Read queries of the governance app, with their joins decided here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from governance.inventory.models import ASSESSED_OK, Feature, FeatureSource, MLModel, ModelVersion

if TYPE_CHECKING:
    from governance.kernel.models import User


def unassessed_third_party_features() -> QuerySet[Feature]:
    return Feature.objects.filter(source=FeatureSource.THIRD_PARTY).exclude(proxy_risk_status__in=ASSESSED_OK)


def inventory(*, tier: str | None = None, owner: User | int | None = None, unassessed: bool | None = False,
              q: str | None = None) -> QuerySet[MLModel]:
    qs = (
        MLModel.objects.select_related("owner")
        .annotate(
            version_count=Count("versions", distinct=True),
            has_unassessed=Exists(unassessed_third_party_features().filter(version__model=OuterRef("pk"))),
        )
        .order_by("slug")
    )
    if tier:
        qs = qs.filter(risk_tier=tier)
    if owner:
        qs = qs.filter(owner=owner)
    if unassessed:
        qs = qs.filter(has_unassessed=True)
    if q:
        qs = qs.filter(Q(slug__icontains=q) | Q(name__icontains=q) | Q(business_use__icontains=q))
    return qs


def model_detail(slug: str) -> MLModel:
    return MLModel.objects.select_related("owner").get(slug=slug)


def model_versions(model: MLModel) -> QuerySet[ModelVersion]:
    """A model's versions, newest first, with their features: the model page shows them a page at a time."""
    return (ModelVersion.objects.filter(model=model).select_related("created_by")
            .prefetch_related(Prefetch("features", queryset=Feature.objects.select_related("proxy_risk_assessed_by")))
            .order_by("-created_at", "-pk"))
