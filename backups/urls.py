from django.urls import path

from . import action_urls, views

app_name = "backups"

urlpatterns = [
    # The overview opens on its first tab, data backup tasks.
    path("", views.DataBackupTaskListView.as_view(), name="overview"),
    path("data/", views.DataBackupTaskListView.as_view(), name="data_list"),
    path("data/<int:pk>/", views.data_detail, name="data_detail"),
    path("logs/", views.LogBackupTaskListView.as_view(), name="log_list"),
    path("cleanups/", views.CleanupTaskListView.as_view(), name="cleanup_list"),
    path("secondary/data/", views.SecondaryDataBackupTaskListView.as_view(), name="secondary_data_list"),
    path("secondary/logs/", views.SecondaryLogBackupTaskListView.as_view(), name="secondary_log_list"),
] + action_urls.urlpatterns
