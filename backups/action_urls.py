from django.urls import path

from . import action_views as views
from . import audit_views, detail_views

urlpatterns = [
    path("logs/<int:pk>/stop/", views.log_stop, name="log_stop"),
    path("logs/<int:pk>/start/", views.log_start, name="log_start"),
    path("secondary/logs/<int:pk>/stop/", views.secondary_log_stop, name="secondary_log_stop"),
    path("secondary/logs/<int:pk>/start/", views.secondary_log_start, name="secondary_log_start"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<int:pk>/edit/", views.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/pause/", views.policy_pause, name="policy_pause"),
    path("policies/<int:pk>/resume/", views.policy_resume, name="policy_resume"),
    path("instant/", views.instant_backup, name="instant_backup"),
    # Who did what (issue 6), and each task's page with its full history.
    path("audit/", audit_views.AuditListView.as_view(), name="audit_list"),
    path("logs/<int:pk>/", detail_views.log_detail, name="log_detail"),
    path("cleanups/<int:pk>/", detail_views.cleanup_detail, name="cleanup_detail"),
    path("secondary/data/<int:pk>/", detail_views.secondary_data_detail, name="secondary_data_detail"),
    path("secondary/logs/<int:pk>/", detail_views.secondary_log_detail, name="secondary_log_detail"),
]
