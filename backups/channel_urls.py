"""The delivery channels' pages, mounted at /alerts/channels/ (namespace
``channels``) beside the alert pages."""

from django.urls import path

from .views import channels

app_name = "channels"

urlpatterns = [
    path("", channels.channel_list, name="list"),
    path("new/", channels.channel_create, name="create"),
    path("<int:pk>/edit/", channels.channel_edit, name="edit"),
    path("<int:pk>/rotate/", channels.channel_rotate, name="rotate"),
    path("<int:pk>/test/", channels.channel_test, name="test"),
    path("<int:pk>/", channels.channel_log, name="log"),
]
