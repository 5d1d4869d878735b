from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from .auth import ConsoleAuthenticationForm
from .views import frame_not_allowed

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="backups:overview", permanent=False)),
    path(
        "accounts/login/",
        login_not_required(auth_views.LoginView.as_view(authentication_form=ConsoleAuthenticationForm)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("backups/", include("backups.urls")),
    path("clusters/", include("clusters.urls")),
]

# Error pages in the console's frame (backup_console/views.py); Django has no
# handler405, so every view's bare 405 answer is framed here.
handler403 = "backup_console.views.permission_denied"
handler404 = "backup_console.views.page_not_found"
handler500 = "backup_console.views.server_error"
frame_not_allowed(urlpatterns)
