from django.urls import path

from . import action_views as views

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
]
