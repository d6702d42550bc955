"""The launch list's declared query parameters. Filters only: which launches a caller may see is decided by the
selector and the permission checks, never here."""

import django_filters

from governance.kernel.api_inputs import StrictFilterSet
from governance.models import RiskTier

from .models import LaunchRequest, LaunchStatus


class LaunchFilterSet(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=LaunchStatus.choices)
    tier = django_filters.ChoiceFilter(field_name="version__model__risk_tier", choices=RiskTier.choices,
                                       label="Risk tier of the launch's model")

    model = django_filters.CharFilter(field_name="version__model__slug", label="The model's slug")
    version = django_filters.CharFilter(field_name="version__version", label="The model version")

    class Meta:
        model = LaunchRequest
        fields = ["status", "tier", "model", "version"]
