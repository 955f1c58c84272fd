"""Ticket numbers (docs/contract.md §2) and the masking of citizens' phone numbers."""

from __future__ import annotations

import re


def format_number(prefix: str, ticket_id: int) -> str:
    """`ICT-000042` for ticket 42."""
    return f"{prefix}-{ticket_id:06d}"


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}[\s\-_]*0*(\d{{1,9}})\b", re.IGNORECASE)


def parse_number(prefix: str, text: str) -> int | None:
    """The ticket id typed as `ICT-000042`, `ict000042`, `ICT 42` or `42`; else None."""
    cleaned = text.strip()
    if cleaned.isdecimal() and len(cleaned) <= 9:  # isdigit() would take "²", which int() refuses
        value = int(cleaned)
        return value if value > 0 else None
    match = _pattern(prefix).fullmatch(cleaned)
    if match:
        value = int(match.group(1))
        return value if value > 0 else None
    return None


def parse_id(text: str) -> int | None:
    """The ticket id in a button's data (`claim:42` -> `42`): ASCII digits, at most 9."""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def find_number(prefix: str, text: str) -> int | None:
    """The first ticket number (with its prefix) mentioned anywhere in `text`."""
    match = _pattern(prefix).search(text)
    if match:
        value = int(match.group(1))
        return value if value > 0 else None
    return None


def mask_phone(phone: str) -> str:
    """`+6281234567890` -> `+62 812-****-7890`; the agency sees enough to recognise, not to call."""
    digits = re.sub(r"[^0-9]", "", phone)  # any channel prefix or punctuation goes
    if len(digits) < 10:  # the first 5 and last 4 digits would be all of it
        return "****"
    if digits.startswith("62"):
        country, rest = "62", digits[2:]
    else:
        country, rest = digits[:2], digits[2:]
    return f"+{country} {rest[:3]}-****-{rest[-4:]}"
