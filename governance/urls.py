"""Pages of the inventory and the tier policies."""

from django.urls import path

from governance.inventory import token_views, views
from governance.kernel import lockout_views
from governance.policies import views as policy_views

app_name = "governance"

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/new/", views.model_create, name="model_create"),
    path("models/<slug:slug>/", views.model_detail, name="model_detail"),
    path("models/<slug:slug>/edit/", views.model_edit, name="model_edit"),
    path("models/<slug:slug>/versions/new/", views.version_create, name="version_create"),
    path("models/<slug:slug>/versions/<str:version>/features/new/", views.feature_add, name="feature_add"),
    path("models/<slug:slug>/versions/<str:version>/features/<int:feature_id>/", views.feature_edit,
         name="feature_edit"),
    path("models/<slug:slug>/versions/<str:version>/features/<int:feature_id>/assess/", views.feature_assess,
         name="feature_assess"),
    path("lockouts/", lockout_views.lockout_list, name="lockout_list"),
    path("lockouts/lift/", lockout_views.lockout_lift, name="lockout_lift"),
    path("tokens/", token_views.token_list, name="token_list"),
    path("tokens/<int:token_id>/revoke/", token_views.token_revoke, name="token_revoke"),
    path("policies/", policy_views.policy_list, name="policy_list"),
    path("policies/changes/<int:change_id>/decide/", policy_views.decide, name="policy_decide"),
    path("policies/<str:tier>/", policy_views.policy_detail, name="policy_detail"),
    path("policies/<str:tier>/propose/<str:operation>/", policy_views.propose, name="policy_propose"),
]
