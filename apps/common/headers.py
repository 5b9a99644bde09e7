"""Security headers on every response: one middleware, one policy (docs/security.md).

- ``Content-Security-Policy``: our own origin only. No inline scripts or styles anywhere
  (pages, both admin sites, the API docs' self-hosted Swagger UI); images may also be ``data:``
  URIs (Swagger UI's icons, inline SVG charts' fallbacks); nothing may frame our pages.
- ``Permissions-Policy``: every powerful browser feature off.
- ``Cache-Control: no-store`` on every response to an authenticated user (session or token):
  pages, API answers and downloads (trade files, Form 8949, PDFs, audit exports) never rest in a
  browser or proxy cache. Static files are served before this middleware (WhiteNoise) and keep
  their long-lived caching.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    """Adds the policy headers above to every response that reaches Django's views."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        """Wrap the next handler."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """The view's response with the headers set."""
        response = self.get_response(request)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Permissions-Policy"] = PERMISSIONS_POLICY
        user = getattr(request, "user", None)
        # DRF copies a token's user onto the Django request, so API answers count too.
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response
