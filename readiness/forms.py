"""Forms for the launch pages: they parse and validate input only; the readiness services decide and
write. May not import above the readiness layer.
"""

from typing import cast

from django import forms

from governance.kernel.roles import Role
from governance.models import ModelVersion

from .models import Decision, LaunchRequest, LaunchStatus, SignDecision

OFFERED_VERSIONS = 100


class LaunchCreateForm(forms.Form):
    version = forms.ModelChoiceField(queryset=ModelVersion.objects.select_related("model"), label="Model version",
                                     help_text=f"The {OFFERED_VERSIONS} newest versions are offered; a version's "
                                               "own page opens this form with it chosen.")
    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every version ever registered would make the list as long as the history: offer the newest (and the one
        # asked for); any version is still accepted.
        offered = list(ModelVersion.objects.select_related("model").order_by("-created_at", "-pk")[:OFFERED_VERSIONS])
        asked = str(self.initial.get("version") or "")
        if asked.isdigit() and all(str(v.pk) != asked for v in offered):
            offered += list(ModelVersion.objects.select_related("model").filter(pk=int(asked)))
        offered.sort(key=lambda v: (v.model.slug, -v.created_at.timestamp(), -v.pk))
        self.fields["version"].widget.choices = [("", "---------"), *((v.pk, str(v)) for v in offered)]


class MemoForm(forms.ModelForm):
    class Meta:
        model = LaunchRequest
        fields = ["title", "summary", "options_considered", "expected_value", "risks", "decision", "rationale"]
        widgets = {name: forms.Textarea(attrs={"rows": 4}) for name in
                   ["summary", "options_considered", "expected_value", "risks", "rationale"]}
        help_texts = {
            "options_considered": "What else could be done: ship, hold, mitigate, a smaller canary…",
            "expected_value": "What shipping is worth, with figures.",
            "risks": "Who could be harmed and how; what would tell us.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["decision"]).choices = [("", "—"), *Decision.choices]

    def _post_clean(self):
        pass


class SignOffForm(forms.Form):
    role = forms.ChoiceField(choices=[])
    decision = forms.ChoiceField(choices=SignDecision.choices, widget=forms.RadioSelect)
    conditions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                 help_text="One condition per line; each becomes a blocking checklist item.")
    dissent = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              help_text="Disagree and commit: your disagreement is recorded with your approval.")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              help_text="Required when rejecting.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               help_text="Re-enter your password to sign.")
    content_hash = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, roles=(), sso=False, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [(r, Role(r).label) for r in roles]
        if sso:  # confirmed with the identity provider instead (governance.kernel.reauth)
            del self.fields["password"]
        if len(roles) == 1:
            self.fields["role"].initial = roles[0]


class AttestForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("PASS", "Pass"), ("FAIL", "Fail")], widget=forms.RadioSelect)
    evidence_url = forms.CharField(required=False, max_length=500, label="Evidence link",
                                   widget=forms.URLInput(attrs={"placeholder": "https://…"}))
    evidence_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Evidence")


class WaiverForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    expires_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     label="Expires at", required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               strip=False, help_text="Re-enter your password to grant the waiver.")

    def __init__(self, *args, sso=False, **kwargs):
        super().__init__(*args, **kwargs)
        if sso:  # confirmed with the identity provider instead (governance.kernel.reauth)
            del self.fields["password"]


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class LaunchFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *LaunchStatus.choices], required=False)
    tier = forms.ChoiceField(choices=[("", "All tiers"), ("TIER_1", "Tier 1"), ("TIER_2", "Tier 2"),
                                      ("TIER_3", "Tier 3")], required=False)
    mine = forms.BooleanField(required=False, label="Awaiting my signature")
    q = forms.CharField(required=False, label="Search")


class PendingDecisionForm(forms.Form):
    """A person's answer to an inconclusive gate decision: allow this stage for this content, or deny it."""

    decision = forms.ChoiceField(choices=[("allow", "Allow this stage for this content"), ("deny", "Deny")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    password = forms.CharField(required=False, widget=forms.PasswordInput, strip=False)
