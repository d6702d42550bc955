"""The incident list's declared query parameters. Filters only: which incidents a caller may see is decided by
the visibility rule in the selectors, never here."""

import django_filters

from governance.kernel.api_inputs import StrictFilterSet

from .models import Incident, IncidentStatus, Severity


class IncidentFilterSet(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=IncidentStatus.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)

    class Meta:
        model = Incident
        fields = ["status", "severity"]
