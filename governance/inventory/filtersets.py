"""The model inventory list's declared query parameters. Filters only: which models a token may list is
decided in the view's scope check, never here."""

import django_filters

from governance.inventory.models import MLModel, RiskTier
from governance.kernel.api_inputs import StrictFilterSet


class ModelFilterSet(StrictFilterSet):
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices)

    class Meta:
        model = MLModel
        fields = ["risk_tier"]
