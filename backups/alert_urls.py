"""/alerts/: the alert list, an alert's page, acknowledging, and silences (告警)."""

from django.urls import path

from .views import alerts

app_name = "alerts"

urlpatterns = [
    path("", alerts.AlertListView.as_view(), name="list"),
    path("<int:pk>/", alerts.alert_detail, name="detail"),
    path("<int:pk>/acknowledge/", alerts.alert_acknowledge, name="acknowledge"),
    path("silence/<int:cluster_pk>/", alerts.silence_create, name="silence_create"),
    path("silences/<int:pk>/end/", alerts.silence_end, name="silence_end"),
]
