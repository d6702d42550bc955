"""Pages of model risk validation."""

from django.urls import path

from governance.validation import views

app_name = "validation"

urlpatterns = [
    path("validations/", views.validation_list, name="validation_list"),
    path("validations/<int:validation_id>/", views.validation_detail, name="validation_detail"),
    path("validations/<int:validation_id>/findings/new/", views.finding_add, name="finding_add"),
    path("validations/<int:validation_id>/sign/", views.validation_complete, name="validation_complete"),
    path("revalidation-needs/<int:need_id>/dismiss/", views.need_dismiss, name="need_dismiss"),
    path("findings/<int:finding_id>/", views.finding_detail, name="finding_detail"),
    path("findings/<int:finding_id>/remediate/", views.finding_remediate, name="finding_remediate"),
    path("findings/<int:finding_id>/retest/", views.finding_retest, name="finding_retest"),
    path("findings/<int:finding_id>/delegate/", views.finding_delegate, name="finding_delegate"),
    path("findings/<int:finding_id>/reopen/", views.finding_reopen, name="finding_reopen"),
    path("models/<slug:slug>/model-risk/", views.model_risk, name="model_risk"),
    path("models/<slug:slug>/model-risk/materiality/", views.materiality_set, name="materiality_set"),
    path("models/<slug:slug>/model-risk/is-model/", views.is_model_decide, name="is_model_decide"),
    path("models/<slug:slug>/model-risk/validations/new/", views.validation_start, name="validation_start"),
    path("models/<slug:slug>/model-risk/waive/", views.waive, name="waive"),
    path("models/<slug:slug>/model-risk/waivers/<int:waiver_id>/revoke/", views.waiver_revoke,
         name="waiver_revoke"),
]
