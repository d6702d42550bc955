from django.urls import path

from . import views

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
    path("launches/<int:pk>/items/<int:item_id>/attest/", views.attest, name="attest"),
    path("launches/<int:pk>/items/<int:item_id>/waive/", views.waive, name="waive"),
]
