"""Fast date display for pages that show many dates (a 1,000-row work item list).

Django's `date` filter costs tens of microseconds a call (format parsing and translation lookups);
these two cost a few. The app's interface is English, so month abbreviations come from strftime
in the C locale.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


def _local(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter
def day(value: object) -> str:
    """28 Nov 2026"""
    moment = _local(value)
    return f"{moment.day} {moment:%b %Y}" if moment else ""


@register.filter
def minute(value: object) -> str:
    """28 Nov 2026, 18:47"""
    moment = _local(value)
    return f"{moment.day} {moment:%b %Y, %H:%M}" if moment else ""
