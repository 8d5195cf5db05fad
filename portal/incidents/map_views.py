"""The maps of incidents and tips: a commune's items clustered, the city's as a heat map or
counts per village, filtered through HTMX."""

from __future__ import annotations

from portal.incidents.views import bp  # noqa: F401
