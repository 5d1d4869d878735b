from django.urls import path

from . import views

app_name = "clusters"

urlpatterns = [
    path("", views.ClusterListView.as_view(), name="list"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
]
