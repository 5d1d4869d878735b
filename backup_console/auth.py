"""Sign-in: django-axes' failed-login throttling, and the sign-in form."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


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


class BoundedUsernameMixin:
    """Refuse a user name longer than the user model allows, before authenticate().

    Django's AuthenticationForm sets the field's max_length after building it,
    so the length is never checked; an over-long name went on to axes, whose
    failed-attempt row (255 characters) then failed to save: a 500.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length or 150))


class ConsoleAuthenticationForm(BoundedUsernameMixin, AuthenticationForm):
    pass
