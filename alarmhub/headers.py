"""Security header policies, as data (imported by the settings; no Django imports here)."""

from __future__ import annotations

from typing import Any

from csp.constants import NONCE, NONE, SELF

# django-csp. No inline script or style anywhere: badge colours come from a stylesheet view
# (alarms/console/css.py). The Swagger page's inline init script and style carry the request's
# nonce (templates/drf_spectacular/swagger_ui.html); django-csp names it only when a page used it.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    },
}

# Browser features the console never uses: deny them to any script that might get in.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
