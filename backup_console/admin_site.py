"""The Django admin, for admins only (SPEC section 1).

Django's own site lets in any ``is_staff`` user; this one lets in superusers
and members of the admin group, whatever their ``is_staff`` says, so putting
a user in or out of the group is the only switch.  Its login form asks the
same, so a viewer who signs in at /admin/login/ is told no.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from .auth import BoundedUsernameMixin
from .roles import can_use_admin


class ConsoleAdminAuthenticationForm(BoundedUsernameMixin, AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        if not can_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": self.username_field.verbose_name}
            )


class ConsoleAdminSite(admin.AdminSite):
    login_form = ConsoleAdminAuthenticationForm

    def has_permission(self, request):
        return can_use_admin(request.user)
