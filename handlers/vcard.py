"""Reading a shared contact card (vCard 2.1/3.0/4.0, as WhatsApp sends it)."""

from __future__ import annotations

import re

_MAX_CARD = 64 * 1024


def parse_vcard(data: bytes) -> tuple[str, str] | None:
    """The contact's name and first phone number, or None when the card has no number.

    Folded lines (a line break followed by a space) are joined; parameters such as
    `TEL;type=CELL;waid=62812…:` are ignored; quoted-printable names are left as they are.
    """
    text = data[:_MAX_CARD].decode("utf-8", "replace")
    text = re.sub(r"\r?\n[ \t]", "", text)
    name = number = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        field = key.split(";", 1)[0].split(".")[-1].strip().upper()  # "item1.TEL" -> "TEL"
        value = value.strip()
        if field == "FN" and not name:
            name = value
        elif field == "N" and not name:
            name = " ".join(part for part in reversed(value.split(";")[:2]) if part)
        elif field == "TEL" and not number:
            number = value.removeprefix("tel:")
    number = re.sub(r"[^0-9+]", "", number)
    if len(re.sub(r"\D", "", number)) < 3:
        return None
    return name[:128], number[:32]
