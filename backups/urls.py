from django.urls import path

from . import action_urls, views

app_name = "backups"

urlpatterns = [
    path("", views.overview, name="overview"),
] + action_urls.urlpatterns
