from django.urls import path

from .views import actions, audit, calendar, details, drills, lists, policies, restores

app_name = "backups"

urlpatterns = [
    # The overview: core metrics and charts over its first tab, data backup tasks.
    path("", lists.OverviewView.as_view(), name="overview"),
    path("metrics/", lists.overview_metrics, name="overview_metrics"),
    path("data/", lists.DataBackupTaskListView.as_view(), name="data_list"),
    path("logs/", lists.LogBackupTaskListView.as_view(), name="log_list"),
    path("cleanups/", lists.CleanupTaskListView.as_view(), name="cleanup_list"),
    path("secondary/data/", lists.SecondaryDataBackupTaskListView.as_view(), name="secondary_data_list"),
    path("secondary/logs/", lists.SecondaryLogBackupTaskListView.as_view(), name="secondary_log_list"),
    path("restores/", lists.RestoreTaskListView.as_view(), name="restore_list"),
    # Each task's page with its full history.
    path("data/<int:pk>/", details.data_detail, name="data_detail"),
    path("logs/<int:pk>/", details.log_detail, name="log_detail"),
    path("cleanups/<int:pk>/", details.cleanup_detail, name="cleanup_detail"),
    path("secondary/data/<int:pk>/", details.secondary_data_detail, name="secondary_data_detail"),
    path("secondary/logs/<int:pk>/", details.secondary_log_detail, name="secondary_log_detail"),
    path("restores/<int:pk>/", details.restore_detail, name="restore_detail"),
    path("restores/new/", restores.restore_create, name="restore_create"),
    # Operator actions.
    path("logs/<int:pk>/stop/", actions.log_stop, name="log_stop"),
    path("logs/<int:pk>/start/", actions.log_start, name="log_start"),
    path("secondary/logs/<int:pk>/stop/", actions.secondary_log_stop, name="secondary_log_stop"),
    path("secondary/logs/<int:pk>/start/", actions.secondary_log_start, name="secondary_log_start"),
    path("instant/", actions.instant_backup, name="instant_backup"),
    path("policies/", policies.policy_list, name="policy_list"),
    path("policies/new/", policies.policy_create, name="policy_create"),
    path("policies/<int:pk>/", policies.policy_detail, name="policy_detail"),
    path("policies/<int:pk>/edit/", policies.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/pause/", policies.policy_pause, name="policy_pause"),
    path("policies/<int:pk>/resume/", policies.policy_resume, name="policy_resume"),
    # The schedule ahead: what beat starts in the next seven days.
    path("calendar/", calendar.calendar_page, name="calendar"),
    # Restore drills (恢复抽检): their policies and runs.
    path("drills/", drills.DrillListView.as_view(), name="drill_list"),
    path("drills/new/", drills.drill_create, name="drill_create"),
    path("drills/<int:pk>/edit/", drills.drill_edit, name="drill_edit"),
    path("drills/<int:pk>/enable/", drills.drill_enable, name="drill_enable"),
    path("drills/<int:pk>/disable/", drills.drill_disable, name="drill_disable"),
    path("drills/<int:pk>/delete/", drills.drill_delete, name="drill_delete"),
    path("drills/<int:pk>/run/", drills.drill_run, name="drill_run"),
    # Who did what.
    path("audit/", audit.AuditListView.as_view(), name="audit_list"),
]
