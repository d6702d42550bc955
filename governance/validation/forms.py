"""Forms for the validator's pages. They parse input only; ``governance.validation.services`` (and the inventory's
classification services) decide and write."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from governance.inventory.materiality import Exposure, Purpose
from governance.kernel.models import User
from governance.validation.models import FindingSeverity, Outcome, ScopeArea
from governance.validation.services import WAIVABLE_CODES


def _people() -> Any:
    return User.objects.filter(is_active=True).order_by("username")


class _Reauthenticated(forms.Form):
    """A step that carries the signer's name: the password is asked again unless the identity provider confirmed
    it (``governance.kernel.reauth``)."""

    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}), strip=False,
                               help_text="Re-enter your password: this step is recorded in your name.")

    def __init__(self, *args: Any, sso: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sso:
            del self.fields["password"]


class StartValidationForm(forms.Form):
    scope = forms.MultipleChoiceField(choices=ScopeArea.choices, widget=forms.CheckboxSelectMultiple,
                                      help_text="The areas this validation covers; the model's materiality says "
                                                "which it must.")
    version = forms.ChoiceField(required=False, label="Version validated",
                                help_text="Leave empty to validate the model as a whole.")

    def __init__(self, *args: Any, versions: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["version"]).choices = [("", "—"), *versions]


class FindingForm(forms.Form):
    severity = forms.ChoiceField(choices=FindingSeverity.choices)
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), help_text="The person who must remediate it.")
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = _people()


class CompleteValidationForm(_Reauthenticated):
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Conclusions")
    report = forms.FileField(help_text="The validation report; its sha256 is recorded with it.")
    field_order = ["outcome", "summary", "report", "password"]


class RemediateForm(forms.Form):
    evidence = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                               help_text="What remediated it: a link, a commit, a report.")


class RetestForm(forms.Form):
    passed = forms.TypedChoiceField(choices=[("yes", "Passed: close the finding"),
                                             ("no", "Failed: back to its owner")],
                                    coerce=lambda value: value == "yes", widget=forms.RadioSelect,
                                    label="Re-test result")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What the re-test showed")


class DelegateForm(forms.Form):
    delegate = forms.ModelChoiceField(queryset=User.objects.none(), required=False,
                                      help_text="May remediate on your behalf; leave empty to remove the delegate.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["delegate"]).queryset = _people()


class ReopenForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why re-open it")
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="New due date")


class MaterialityForm(_Reauthenticated):
    exposure = forms.ChoiceField(choices=Exposure.choices, help_text="The size of what the model's output moves.")
    purpose = forms.ChoiceField(choices=Purpose.choices, help_text="What the output is used for.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why this exposure and purpose.")


class IsModelForm(forms.Form):
    is_model = forms.TypedChoiceField(choices=[("yes", "Yes: a model in the guidance's sense"),
                                               ("no", "No: a tool or rule outside model risk management")],
                                      coerce=lambda value: value == "yes", widget=forms.RadioSelect,
                                      label="Is this a model?")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


CODE_LABELS = {
    "revalidation_overdue": "Revalidation overdue",
    "finding_overdue": "Overdue open finding",
    "action_item_overdue": "Overdue incident action item",
    "no_current_validation": "No current validation",
}
assert set(CODE_LABELS) == WAIVABLE_CODES


class GateWaiverForm(_Reauthenticated):
    code = forms.ChoiceField(choices=sorted(CODE_LABELS.items()), label="Reason to waive")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why waive it")
    expires_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     label="Expires at")
    field_order = ["code", "reason", "expires_at", "password"]


class RevokeWaiverForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class DismissNeedForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5_000,
                             label="Why no revalidation is needed")
    back = forms.ChoiceField(choices=[("queue", "queue"), ("model", "model")], required=False)
