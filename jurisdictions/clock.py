"""Today, once (issue 16): the date every answer defaults to and every "marked today" writes."""

from __future__ import annotations

import datetime

from django.utils import timezone


def today() -> datetime.date:
    """Today's date in the site's time zone (``settings.TIME_ZONE``, UTC): the default
    ``as_of`` of every answer."""
    return timezone.localdate()
