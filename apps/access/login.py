"""The sign-in view of firm hosts and the platform host, throttled."""

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from apps.access.throttle import login_failure_record, login_failures_clear, login_is_locked

LOCKED_MESSAGE = "Too many failed sign-ins. Wait a few minutes and try again."


class ThrottledLoginView(LoginView):
    """Django's LoginView that refuses (429) after repeated failures for a username+address."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Refuse early when locked; otherwise count failures and clear them on success."""
        username = str(request.POST.get("username", ""))
        if login_is_locked(request, username):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, LOCKED_MESSAGE)
            response = self.render_to_response(self.get_context_data(form=form, locked=True))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        """Count the failure."""
        login_failure_record(self.request, str(self.request.POST.get("username", "")))
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        """Clear the count."""
        login_failures_clear(self.request, form.get_user().get_username())
        return super().form_valid(form)
