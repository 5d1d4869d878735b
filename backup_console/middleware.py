"""The console's own request/response middleware (order and reasons in settings.MIDDLEWARE)."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers

# When a signed-in session last had its expiry pushed back (epoch seconds).
IDLE_STAMP = "_idle_refreshed"
# Push it back at most this often: an idle timeout of N minutes then ends a
# session after between N-1 and N idle minutes, and a burst of pages costs one
# session write instead of one per page.
REFRESH_EVERY_SECONDS = 60


def stamp_session(sender, request, user, **kwargs):
    """On sign-in (user_logged_in): the session was just saved with a full timeout."""
    request.session[IDLE_STAMP] = int(time.time())


class IdleSessionMiddleware:
    """Sign a user out after SESSION_IDLE_MINUTES without a page.

    A session's expiry (SESSION_COOKIE_AGE, from SESSION_IDLE_MINUTES) is set
    when the session is saved; Django saves it only when its data changes, so
    left alone a session expires that long after sign-in whatever the user
    does.  Here a signed-in request that already read its session marks it
    changed once a minute, so SessionMiddleware saves it with a fresh expiry:
    the timeout counts from the last page, not from sign-in.  Anonymous
    sessions are left alone (no row is made for a visitor), and so is a live
    page's own refresh (htmx's ``HX-Request``): a page left open is not the
    operator at work, and would otherwise keep its session alive for ever.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        live_refresh = request.headers.get("HX-Request") == "true"
        if session is not None and session.accessed and SESSION_KEY in session and not live_refresh:
            now = int(time.time())
            if now - session.get(IDLE_STAMP, 0) >= REFRESH_EVERY_SECONDS:
                session[IDLE_STAMP] = now
        return response


class PageHeadersMiddleware:
    """Every page the console answers: never stored, no browser features.

    ``Cache-Control: no-store`` keeps signed-in pages (task lists, the audit
    trail, the admin) out of the browser's and any proxy's cache, so the back
    button after sign-out or a shared machine shows nothing.  It sits after
    WhiteNoise in MIDDLEWARE, so static files keep their own cache headers.
    ``Permissions-Policy`` denies the powerful browser features no page uses.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class RequestBodyLimitMiddleware:
    """Refuse, with 413, a request that says its body is over MAX_REQUEST_BODY_BYTES.

    The console takes no uploads: its largest body is a form of a few
    kilobytes.  Django caps only the non-file part of a body
    (DATA_UPLOAD_MAX_MEMORY_SIZE) and streams files of any size to disk, so
    an anonymous 50 MB multipart POST to the sign-in page was read whole.
    This answers from the Content-Length header alone, before anything reads
    the body.  A body without one (chunked) is never read by Django at all
    (its stream is capped to CONTENT_LENGTH, 0), and the proxy in front
    (deploy/nginx.conf) caps those too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body then either
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return HttpResponse("Request body too large.\n", status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
