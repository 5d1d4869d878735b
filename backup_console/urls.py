from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from backups.views.prometheus import metrics_view

from .accounts import ConsoleLoginView, ConsoleLogoutView, FaviconView, set_language_anyone
from .views import frame_not_allowed

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="backups:overview", permanent=False)),
    path("favicon.ico", FaviconView.as_view()),
    path("accounts/login/", ConsoleLoginView.as_view(), name="login"),
    path("accounts/logout/", ConsoleLogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language_anyone, name="set_language"),
    path("admin/", admin.site.urls),
    path("backups/", include("backups.urls")),
    path("clusters/", include("clusters.urls")),
    path("metrics", metrics_view, name="metrics"),
    # Where alert notifications go (admins); the alert pages are under /alerts/ too.
    path("alerts/channels/", include("backups.channel_urls")),
    path("alerts/", include("backups.alert_urls")),
]

# Error pages in the console's frame (backup_console/views.py); Django has no
# handler405, so every view's bare 405 answer is framed here.
handler403 = "backup_console.views.permission_denied"
handler404 = "backup_console.views.page_not_found"
handler500 = "backup_console.views.server_error"
frame_not_allowed(urlpatterns)
