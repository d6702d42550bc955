"""Forms parse input; the rules live in postmortems.services."""

import json
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name

from governance.kernel.errors import ValidationFailed
from governance.kernel.roles import Role
from governance.models import MLModel, PolicyChange, RiskTier, User
from governance.policies.defaults import CATEGORIES
from governance.policies.rules import GUARDRAIL_ACTIONS
from readiness.models import LaunchRequest, LaunchStatus

from . import inputs
from .models import (
    NARRATIVE_FIELDS,
    REQUIRED_FOR_REVIEW,
    ActionItem,
    AffectedMeasure,
    AskKind,
    DetectionSource,
    FactorCategory,
    IncidentStatus,
    PostmortemReview,
    RemediationStatus,
    Severity,
    TimelineEvent,
)

MOMENT = "%Y-%m-%dT%H:%M"


def moment_field(label, *, required=False, help_text=""):
    return forms.DateTimeField(
        label=label, required=required, help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MOMENT),
    )


def people():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *IncidentStatus.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    q = forms.CharField(required=False, label="Search", max_length=200)


class ImpactFiguresMixin(forms.Form):
    """The structured impact figures as three plain inputs, checked together against their one declaration
    (postmortems.inputs), so a fault shows beside the input it comes from."""

    decisions_affected = forms.IntegerField(required=False, min_value=0, label="Decisions affected")
    revenue_impact = forms.DecimalField(required=False, label="Revenue impact",
                                        help_text="Negative for a loss, e.g. -450000.")
    approval_rate_shift = forms.CharField(
        required=False, label="Approval-rate shift by segment", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One segment per line: “segment: shift in percentage points”, e.g. “segment A: +4.1”.",
    )

    def clean_approval_rate_shift(self):
        rows = []
        for number, line in enumerate((self.cleaned_data.get("approval_rate_shift") or "").splitlines(), 1):
            if not line.strip():
                continue
            segment, sep, shift = line.rpartition(":")
            try:
                value = float(shift.strip().replace("%", "").replace("+", ""))
            except ValueError:
                value = None
            if not sep or not segment.strip() or value is None:
                raise ValidationError(f"Line {number}: write “segment: shift”, e.g. “segment A: -3.5”.")
            rows.append({"segment": segment.strip(), "shift_pct": value})
        return rows

    def clean(self):
        data = super().clean()
        try:
            inputs.impact_figures(self.impact_figures())
        except ValidationFailed as error:
            # impact_figures.approval_rate_shift[0].shift_pct -> the approval_rate_shift input
            name = (error.field or "").removeprefix(f"{inputs.FIELD}.").split(".")[0].split("[")[0]
            self.add_error(name if name in self.fields else None, error.message)
        return data

    def impact_figures(self) -> dict:
        data = self.cleaned_data
        figures = {}
        if data.get("decisions_affected") is not None:
            figures["decisions_affected"] = data["decisions_affected"]
        if data.get("revenue_impact") is not None:
            figures["revenue_impact"] = float(data["revenue_impact"])
        if data.get("approval_rate_shift"):
            figures["approval_rate_shift"] = data["approval_rate_shift"]
        return figures

    @staticmethod
    def initial_figures(figures: dict) -> dict:
        return {
            "decisions_affected": figures.get("decisions_affected"),
            "revenue_impact": figures.get("revenue_impact"),
            "approval_rate_shift": "\n".join(f"{row['segment']}: {row['shift_pct']:+g}"
                                             for row in figures.get("approval_rate_shift", [])),
        }


OFFERED_LAUNCHES = 100


class IncidentForm(ImpactFiguresMixin):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=Severity.choices)
    detection_source = forms.ChoiceField(choices=DetectionSource.choices)
    began_at = moment_field("Began", help_text="When the harm started, if known.")
    detected_at = moment_field("Detected", help_text="Leave empty for now.")
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    impact_text = forms.CharField(required=False, label="Impact", widget=forms.Textarea(attrs={"rows": 3}))
    models = forms.ModelMultipleChoiceField(queryset=MLModel.objects.order_by("name"), required=False,
                                            label="Affected models")
    launch = forms.ModelChoiceField(queryset=LaunchRequest.objects.select_related("version__model"),
                                    required=False, empty_label="No launch",
                                    help_text=f"The {OFFERED_LAUNCHES} newest launches that reached review are "
                                              "offered; the API links any launch by its number.")
    fair_lending = forms.BooleanField(required=False, label="Fair-lending matter")
    consumer_harm = forms.BooleanField(required=False, label="Consumer harm")
    restricted = forms.BooleanField(required=False, label="Restricted (legal privilege)",
                                    help_text="Only named members, Legal and Compliance will see it.")
    members = forms.ModelMultipleChoiceField(queryset=people(), required=False, label="Members",
                                             help_text="People who may see a restricted incident.")

    field_order = ["title", "severity", "detection_source", "began_at", "detected_at", "summary", "impact_text",
                   "decisions_affected", "revenue_impact", "approval_rate_shift", "models", "launch",
                   "fair_lending", "consumer_harm", "restricted", "members"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Years of launches would make this list as long as the history: offer the newest ones (and the one linked
        # now); the field still accepts any launch, as the API does.
        current = self.initial.get("launch")
        offered = (LaunchRequest.objects.exclude(status__in=(LaunchStatus.DRAFT, LaunchStatus.WITHDRAWN))
                   .select_related("version__model").order_by("-created_at", "-pk")[:OFFERED_LAUNCHES])
        choices = [(launch.pk, str(launch)) for launch in offered]
        current_pk = getattr(current, "pk", current)
        if current_pk and all(pk != current_pk for pk, _ in choices):
            linked = LaunchRequest.objects.select_related("version__model").filter(pk=current_pk).first()
            if linked:
                choices.insert(0, (linked.pk, str(linked)))
        self.fields["launch"].widget.choices = [("", "No launch"), *choices]

    def service_arguments(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items()
                if k not in ("decisions_affected", "revenue_impact", "approval_rate_shift")}
        data["impact_figures"] = self.impact_figures()
        data["models"] = list(data["models"])
        data["members"] = list(data["members"])
        return data


class IncidentEditForm(IncidentForm):
    detected_at = moment_field("Detected", required=True)
    mitigated_at = moment_field("Mitigated", help_text="Set when the incident moves to mitigated.")
    resolved_at = moment_field("Resolved", help_text="Set when the incident moves to resolved.")

    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             label="Why the circle changes",
                             help_text="Legal or Compliance: required when changing members or lifting the restriction.")

    field_order = ["title", "severity", "detection_source", "began_at", "detected_at", "mitigated_at",
                   "resolved_at", *IncidentForm.field_order[5:], "reason"]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=IncidentStatus.choices)
    at = moment_field("At", help_text="Leave empty for now.")


class TimelineEventForm(forms.Form):
    at = moment_field("When", required=True)
    kind = forms.ChoiceField(choices=TimelineEvent.Kind.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class FactorForm(forms.Form):
    category = forms.ChoiceField(choices=FactorCategory.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=300)
    kind = forms.ChoiceField(choices=ActionItem.Kind.choices)
    owner = forms.ModelChoiceField(queryset=people())
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    priority = forms.ChoiceField(choices=ActionItem.Priority.choices, initial=ActionItem.Priority.P2)


class ActionItemUpdateForm(ActionItemForm):
    status = forms.ChoiceField(choices=ActionItem.Status.choices)


class PolicyChangeForm(forms.Form):
    """A proposed addition to a tier's template: a checklist item or a guardrail. Field names follow the
    policy payload's keys, so a refusal naming ``payload.key`` is shown next to ``key``."""

    tier = forms.ChoiceField(choices=RiskTier.choices)
    operation = forms.ChoiceField(choices=[(op.value, op.label) for op in (
        PolicyChange.Operation.ADD_CHECKLIST_ITEM, PolicyChange.Operation.ADD_GUARDRAIL)])
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                                help_text="Why this mechanism would have reduced the blast radius or detection time.")
    # checklist item
    key = forms.CharField(required=False, max_length=80, help_text="e.g. vendor_schema_sla")
    title = forms.CharField(required=False, max_length=200, label="Item title")
    category = forms.ChoiceField(required=False, choices=[("", "—"), *CATEGORIES.items()])
    guidance = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    blocking = forms.BooleanField(required=False, initial=True)
    # guardrail
    metric = forms.CharField(required=False, max_length=100, help_text="e.g. fairness.air")
    comparator = forms.ChoiceField(required=False, choices=[("", "—"), ("<", "<"), ("<=", "≤"), (">", ">"),
                                                            (">=", "≥")])
    threshold = forms.FloatField(required=False)
    window_minutes = forms.IntegerField(required=False, min_value=1, initial=60)
    failure_limit = forms.IntegerField(required=False, min_value=1, initial=1)
    action = forms.ChoiceField(required=False, choices=[("", "—"), *((a, a.title()) for a in GUARDRAIL_ACTIONS)])

    COMMON_FIELDS = ("tier", "operation", "rationale")
    CHECKLIST_FIELDS = ("key", "title", "category", "guidance", "blocking")
    GUARDRAIL_FIELDS = ("metric", "comparator", "threshold", "window_minutes", "failure_limit", "action")

    def groups(self) -> list[tuple[str, list]]:
        """The fields in three groups, so the page can show which belong to which operation."""
        return [(legend, [self[name] for name in names]) for legend, names in (
            ("", self.COMMON_FIELDS), ("Checklist item", self.CHECKLIST_FIELDS),
            ("Guardrail", self.GUARDRAIL_FIELDS))]

    def payload(self) -> dict:
        data = self.cleaned_data
        if data["operation"] == PolicyChange.Operation.ADD_CHECKLIST_ITEM:
            payload = {name: data.get(name) for name in self.CHECKLIST_FIELDS}
            payload["kind"] = "MANUAL"
            return payload
        payload = {name: data.get(name) for name in self.GUARDRAIL_FIELDS}
        payload["window_minutes"] = payload["window_minutes"] or 60
        payload["failure_limit"] = payload["failure_limit"] or 1
        return payload


class PostmortemForm(forms.Form):
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    impact = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    root_cause = forms.CharField(required=False, label="Root cause and contributing factors",
                                 widget=forms.Textarea(attrs={"rows": 6}))
    what_went_well = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    what_went_badly = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    where_we_got_lucky = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    lessons = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, check_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.strip = False  # type: ignore[attr-defined]  # every section is a CharField
            if name in REQUIRED_FOR_REVIEW:  # a draft may leave it empty; submitting for review may not
                field.label = f"{field.label or pretty_name(name)} (required for review)"
                field.widget.attrs["aria-required"] = "true"
            field.widget.attrs.update({
                "hx-post": check_url, "hx-trigger": "keyup changed delay:500ms",
                "hx-target": f"#findings-{name}", "hx-swap": "innerHTML", "hx-vals": json.dumps({"field": name}),
                "aria-describedby": f"findings-{name}",
            })


class ReviewForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, help_text="The role you review as.")
    decision = forms.ChoiceField(choices=PostmortemReview.Decision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Required when you request changes.")

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        held = [(r, Role(r).label) for r in Role.values if r in roles and r != Role.VIEWER]
        cast(forms.ChoiceField, self.fields["role"]).choices = held or Role.choices
        if Role.COMPLIANCE in roles:
            self.fields["role"].initial = Role.COMPLIANCE


class AmendForm(forms.Form):
    field = forms.ChoiceField(label="Section", choices=[(n, n.replace("_", " ").capitalize())
                                                        for n in NARRATIVE_FIELDS])
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False, strip=False,
                           label="New text")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Why the published text changes.")


# -- impact and obligations: the same services the API calls (postmortems.obligations) --------------------------

class ImpactCountForm(forms.Form):
    measure = forms.ChoiceField(choices=AffectedMeasure.choices)
    count = forms.IntegerField(min_value=0, max_value=10**12, required=False)
    source_detail = forms.CharField(max_length=400, required=False, label="Source",
                                    help_text="Where the number comes from, e.g. “decision log extract DL-7”.")
    count_from_observations = forms.BooleanField(
        required=False, label="Count decisions from the launch's observations instead")

    def clean(self):
        data = super().clean() or {}
        if not data.get("count_from_observations") and data.get("count") is None and "count" not in self.errors:
            self.add_error("count", "Give the count, or ask for decisions to be counted from observations.")
        return data


class RemediationForm(forms.Form):
    action = forms.CharField(max_length=300, help_text="What is done for the affected customers.")
    customers = forms.IntegerField(min_value=0, max_value=10**12, required=False)
    status = forms.ChoiceField(choices=RemediationStatus.choices, initial=RemediationStatus.PLANNED)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class NotificationForm(forms.Form):
    recipient = forms.CharField(max_length=200, help_text="To whom, e.g. the prudential supervisor.")
    basis = forms.CharField(max_length=300, required=False, help_text="The rule or agreement that requires it.")
    due_at = moment_field("Due", required=True)
    sent_at = moment_field("Sent")
    reference = forms.CharField(max_length=200, required=False)


class AskForm(forms.Form):
    kind = forms.ChoiceField(choices=AskKind.choices, label="The committee is asked to")
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
