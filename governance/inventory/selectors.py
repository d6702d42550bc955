"""Read queries of the governance app, with their joins decided here."""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from governance.inventory.models import ASSESSED_OK, Feature, FeatureSource, MLModel, ModelVersion


def unassessed_third_party_features():
    return Feature.objects.filter(source=FeatureSource.THIRD_PARTY).exclude(proxy_risk_status__in=ASSESSED_OK)


def inventory(*, tier=None, owner=None, unassessed=False, q=None):
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
    return (
        MLModel.objects.select_related("owner")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ModelVersion.objects.select_related("created_by")
                .prefetch_related("features")
                .order_by("-created_at"),
            )
        )
        .get(slug=slug)
    )
