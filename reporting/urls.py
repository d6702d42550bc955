"""Pages of the reports: the list, the request form, the rows that refresh while a report renders, downloads
(reports and evidence files)."""

from django.urls import path

from reporting import views
from reporting.regimes import views as file_views

app_name = "reporting"

urlpatterns = [
    path("reports/", views.report_list, name="report_list"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/rows/", views.report_rows, name="report_rows"),
    path("reports/<int:pk>/download/", views.report_download, name="report_download"),
    path("models/<slug:slug>/file/", file_views.examiner_file, name="examiner_file"),
    path("models/<slug:slug>/file/regimes/", file_views.declare, name="declare_regimes"),
    path("models/<slug:slug>/file/bundle/", file_views.evidence_bundle, name="evidence_bundle"),
    path("evidence/bundles/<int:pk>/download/", file_views.bundle_download, name="bundle_download"),
    path("evidence/validations/<int:pk>/report/", views.validation_report_download, name="validation_report_download"),
]
