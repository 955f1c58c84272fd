"""The message catalog: both languages say the same things with the same blanks."""

from __future__ import annotations

import string

from bot.catalog import CATALOG, say
from handlers.desk_catalog import DESK_TEXTS


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_language_has_the_same_keys_and_placeholders() -> None:
    for catalog in (CATALOG, DESK_TEXTS):  # the chat's, and the web pages'
        indonesian = catalog["id"]
        for language, messages in catalog.items():
            assert set(messages) == set(indonesian), language
            for key, text in messages.items():
                assert placeholders(text) == placeholders(indonesian[key]), (language, key)


def test_unknown_language_falls_back_to_indonesian() -> None:
    assert say("jv", "menu_new") == "Buat pengaduan baru"
    assert say("en", "menu_new") == "New complaint"
