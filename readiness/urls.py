"""URLs of the launch pages and rollout actions. Routing only."""

from django.urls import path

from . import rollout_views, views

app_name = "readiness"

urlpatterns = [
    path("launches/", views.launch_list, name="launch_list"),
    path("launches/new/", views.launch_create, name="launch_create"),
    path("launches/<int:pk>/", views.launch_detail, name="launch_detail"),
    path("launches/<int:pk>/memo/", views.memo_edit, name="memo_edit"),
    path("launches/<int:pk>/submit/", views.launch_submit, name="launch_submit"),
    path("launches/<int:pk>/withdraw/", views.launch_withdraw, name="launch_withdraw"),
    path("launches/<int:pk>/revise/", views.launch_revise, name="launch_revise"),
    path("launches/<int:pk>/sign/", views.sign, name="sign"),
    path("launches/<int:pk>/ask-resign/", views.ask_resign, name="ask_resign"),
    path("launches/<int:pk>/deploy-decisions/<int:pending_id>/", views.decide_pending, name="decide_pending"),
    path("launches/<int:pk>/items/<int:item_id>/attest/", views.attest, name="attest"),
    path("launches/<int:pk>/items/<int:item_id>/waive/", views.waive, name="waive"),
    path("launches/<int:pk>/rollout/plan/", rollout_views.plan_edit, name="plan_edit"),
    path("launches/<int:pk>/rollout/start/", rollout_views.start, name="rollout_start"),
    path("launches/<int:pk>/rollout/advance/", rollout_views.advance, name="rollout_advance"),
    path("launches/<int:pk>/rollout/approve-stage/", rollout_views.approve_stage, name="rollout_approve_stage"),
    path("launches/<int:pk>/rollout/rollback/", rollout_views.rollback, name="rollout_rollback"),
]
