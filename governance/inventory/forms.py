"""Forms for the inventory pages (models, versions, features, the inventory filter). They parse and
validate input only; the inventory services write. May not import above the inventory layer.
"""

from typing import cast

from django import forms

from governance.inventory.models import Feature, MLModel, ModelVersion, ProxyRiskStatus, RiskTier
from governance.kernel.models import User


class MLModelForm(forms.ModelForm):
    protected_attributes = forms.CharField(
        required=False, help_text="Comma-separated, e.g. race, sex, age.",
        widget=forms.TextInput(attrs={"placeholder": "race, sex, age"}),
    )

    class Meta:
        model = MLModel
        fields = ["slug", "name", "owner", "business_use", "risk_tier", "regulatory_scope", "protected_attributes"]
        widgets = {"business_use": forms.Textarea(attrs={"rows": 3})}

    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-enter your password if you change the risk tier: it decides the policy every launch passes.",
    )

    def __init__(self, *args, sso: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = User.objects.filter(is_active=True)
        if self.instance.pk:
            self.fields["slug"].disabled = True
            self.initial["protected_attributes"] = ", ".join(self.instance.protected_attributes or [])
        if not self.instance.pk or sso:  # a new model has no tier to change; SSO confirms at the provider
            del self.fields["password"]

    def clean_protected_attributes(self):
        raw = self.cleaned_data.get("protected_attributes") or ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    def _post_clean(self):
        # Uniqueness and model validation are the service's job; the form only parses input.
        pass


class ModelVersionForm(forms.ModelForm):
    class Meta:
        model = ModelVersion
        fields = ["version", "artifact_sha256", "git_commit", "training_data_ref", "model_card"]
        widgets = {"model_card": forms.Textarea(attrs={"rows": 10})}
        labels = {"artifact_sha256": "Artifact sha256", "training_data_ref": "Training data reference"}

    def _post_clean(self):
        pass


class FeatureForm(forms.ModelForm):
    class Meta:
        model = Feature
        fields = ["name", "description", "source", "vendor", "is_critical", "proxy_risk_status",
                  "proxy_risk_ref", "vendor_sla_ref", "drift_monitor_ref"]

    def _post_clean(self):
        pass


class InventoryFilterForm(forms.Form):
    tier = forms.ChoiceField(choices=[("", "All tiers"), *RiskTier.choices], required=False)
    owner = forms.ModelChoiceField(queryset=User.objects.all(), required=False, empty_label="Any owner")
    unassessed = forms.BooleanField(required=False, label="Third-party features without a proxy-risk assessment")
    q = forms.CharField(required=False, label="Search")


class ProxyRiskAssessmentForm(forms.Form):
    """What Compliance, Legal or Model Risk record about a third-party feature (governance.inventory.services)."""

    status = forms.ChoiceField(choices=ProxyRiskStatus.choices, label="Outcome")
    reference = forms.CharField(max_length=300, required=False, label="Assessment document",
                                help_text="Where the assessment is written up, e.g. “Legal memo LM-2026-14”. "
                                          "Required for an outcome.")
