from django.urls import path

from backups.views.recovery import cluster_recovery

from . import views

app_name = "clusters"

urlpatterns = [
    path("", views.ClusterListView.as_view(), name="list"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
    path("<int:pk>/recovery/", cluster_recovery, name="recovery"),
]
