"""Authentication backends: django-axes' failed-login throttling."""

from axes.backends import AxesStandaloneBackend


class ConsoleAxesBackend(AxesStandaloneBackend):
    """Axes' backend, minus its refusal of calls that carry no request.

    Every HTTP login (the console's and the admin's login views) passes the
    request, so every one of them is throttled.  Only code calls
    ``authenticate()`` without one (a management command, the test client's
    ``login()``); there is no client address to throttle on, so this backend
    steps aside and the model backend decides, instead of raising.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
