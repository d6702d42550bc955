"""The registry's page forms: the guard's mode for a model, and the "where did an alias point on a day" question."""

from typing import Any, cast

from django import forms

from .models import GuardMode

TIER_DEFAULT = "DEFAULT"


class GuardModeForm(forms.Form):
    mode = forms.ChoiceField(label="Guard mode", choices=[(TIER_DEFAULT, "The tier's default"), *GuardMode.choices],
                             help_text="Revert: a hand move to a version without a current allow is put back, "
                                       "with an incident. Report: it is recorded and shown only.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               strip=False, help_text="Re-enter your password to change the guard.")

    def __init__(self, *args: Any, sso: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sso:  # confirmed with the identity provider instead (governance.kernel.reauth)
            del self.fields["password"]

    def service_mode(self) -> str:
        mode = self.cleaned_data["mode"]
        return "" if mode == TIER_DEFAULT else mode


class AliasOnDayForm(forms.Form):
    alias = forms.ChoiceField(label="Alias")
    date = forms.DateField(label="Date", input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD, in the site's time zone.",
                           widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"invalid": "Give the date as YYYY-MM-DD, for example 2026-03-31."})

    def __init__(self, *args: Any, aliases: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["alias"]).choices = [(a, f"@{a}") for a in aliases]
        self.fields["alias"].error_messages["invalid_choice"] = (
            "%(value)s is not a governed alias of this model (choose one from the list).")
