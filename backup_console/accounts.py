"""Signing in and out, and the pages a signed-out visitor may open.

Django's ``LogoutView`` takes only POST: a sign-out link opened by address
answered 405, and a signed-out visitor who opened it was sent to the sign-in
page with ``next`` pointing back at it, so signing in ended on that 405.  Here
GET shows a page that asks (its button posts), a signed-out visitor is sent
straight to the sign-in page, and the sign-in page never sends anyone on to
the sign-out address.  Signing out says so on the sign-in page.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import Resolver404, resolve
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView
from django.views.i18n import set_language

from .auth import ConsoleAuthenticationForm

# Pages never worth going on to after signing in.
NEVER_NEXT = {"logout", "login", "set_language"}


def _is_account_page(url):
    try:
        return resolve(url.split("?", 1)[0]).url_name in NEVER_NEXT
    except Resolver404:
        return False


@method_decorator(login_not_required, name="dispatch")
class ConsoleLoginView(auth_views.LoginView):
    authentication_form = ConsoleAuthenticationForm

    def get_redirect_url(self):
        url = super().get_redirect_url()
        return "" if url and _is_account_page(url) else url


@method_decorator(login_not_required, name="dispatch")
class ConsoleLogoutView(auth_views.LogoutView):
    """POST signs out; GET asks first (a signed-out visitor goes to sign in)."""

    http_method_names = ["get", "post", "options"]
    template_name = "registration/logout_confirm.html"

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            # The session is gone: the message travels in its own cookie.
            messages.success(request, _("You are signed out."))
        return response

    def get_context_data(self, **kwargs):
        # The console's frame, not the admin's: no site name or admin title.
        return {"view": self, **kwargs}


# The sign-in page's language switcher posts here before anyone is signed in.
set_language_anyone = login_not_required(set_language)


@method_decorator(login_not_required, name="dispatch")
@method_decorator(require_GET, name="dispatch")
class FaviconView(RedirectView):
    """``/favicon.ico``, asked for by pages without an icon link (the admin's error pages, a browser's guess)."""

    permanent = False

    def get_redirect_url(self, *args, **kwargs):
        return static("console/favicon.svg")
