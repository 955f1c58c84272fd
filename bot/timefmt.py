"""Times and durations shown to people, the Indonesian way (`27 Nov 2026 14.05 WIB`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
_MONTH_NAMES = {
    "id": ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}  # fmt: skip
_ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA"}
_ZONE_NAMES["Asia/Jayapura"] = "WIT"


def format_time(moment: datetime, timezone: str, language: str = "id") -> str:
    """A moment in the service timezone: `27 Nov 2026 14.05 WIB` (English: `14:05`)."""
    local = moment.astimezone(ZoneInfo(timezone))
    month = _MONTHS.get(language, _MONTHS["id"])[local.month - 1]
    zone = _ZONE_NAMES.get(timezone) or local.tzname() or timezone
    separator = "." if language == "id" else ":"
    return f"{local.day} {month} {local.year} {local.hour:02d}{separator}{local.minute:02d} {zone}"


def format_date(day: date, language: str = "id") -> str:
    """A calendar day: `27 Nov 2026`."""
    month = _MONTHS.get(language, _MONTHS["id"])[day.month - 1]
    return f"{day.day} {month} {day.year}"


def format_month(day: date, language: str = "id") -> str:
    """A calendar month: `November 2026`."""
    return f"{_MONTH_NAMES.get(language, _MONTH_NAMES['id'])[day.month - 1]} {day.year}"


def format_duration(span: timedelta, language: str = "id") -> str:
    """`2 hari 3 jam`, `5 jam 20 menit`, `12 menit` (English: days/hours/minutes)."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    words = {"id": ("hari", "jam", "menit"), "en": ("d", "h", "min")}.get(language)
    day_word, hour_word, minute_word = words or ("hari", "jam", "menit")
    parts: list[str] = []
    if days:
        parts.append(f"{days} {day_word}")
    if hours:
        parts.append(f"{hours} {hour_word}")
    if mins and not days:
        parts.append(f"{mins} {minute_word}")
    return " ".join(parts) or f"0 {minute_word}"
