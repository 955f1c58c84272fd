"""The shape of docs/architecture.md, kept by reading the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CORE = {
    "flask",
    "telegram",
    "twilio",
    "apscheduler",
    "sqlite3",
    "sqlite_utils",
    "waitress",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def top_levels(package: str) -> dict[Path, set[str]]:
    return {
        path: {name.split(".")[0] for name in imports_of(path)}
        for path in (ROOT / package).rglob("*.py")
    }


def test_core_imports_no_io_library() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(names & FORBIDDEN_IN_CORE)
        for path, names in top_levels("bot").items()
        if names & FORBIDDEN_IN_CORE
    }
    assert offenders == {}


def test_core_imports_nothing_of_ours_outside_bot() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(names & {"handlers", "storage", "run_bot", "tests"})
        for path, names in top_levels("bot").items()
        if names & {"handlers", "storage", "run_bot", "tests"}
    }
    assert offenders == {}


def test_storage_knows_only_the_cores_types() -> None:
    for path in (ROOT / "storage").rglob("*.py"):
        for name in imports_of(path):
            if name.split(".")[0] == "bot":
                assert name in {"bot.model", "bot.store"}, f"{path.name} imports {name}"
            assert name.split(".")[0] not in {
                "handlers",
                "run_bot",
                "flask",
                "telegram",
                "twilio",
            }, f"{path.name} imports {name}"


def test_the_check_itself_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlite3\nfrom flask import Flask\nfrom .x import y\n")
    assert imports_of(sample) == {"sqlite3", "flask"}


PROVIDERS = ("telegram", "whatsapp", "twilio")


def test_the_core_names_no_provider_outside_its_config_types() -> None:
    """Staff sit wherever the channels put them: the core (code, comments and texts alike)
    never names a chat provider. Only bot/config.py, which types the providers' config
    sections, may."""
    offenders = {
        f"{path.relative_to(ROOT)}:{number}": line.strip()
        for path in (ROOT / "bot").rglob("*.py")
        if path.name != "config.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if any(provider in line.lower() for provider in PROVIDERS)
    }
    assert offenders == {}


def test_channels_are_plug_ins_the_composition_root_does_not_name() -> None:
    """Adding a channel is adding a module that exposes `CHANNEL` (docs/architecture.md,
    "Adding a channel"): the composition root finds it, and names none itself."""
    from handlers.channels import Channel
    from run_bot import channel_plugins

    plugins = channel_plugins()
    # the desk's is phone; Open311's has its clients' keys but no provider
    assert [p.name for p in plugins] == ["phone", "open311", "telegram", "whatsapp"]
    for plugin in plugins:
        assert isinstance(plugin, Channel), plugin.name  # every member is there
        assert isinstance(plugin.secrets, tuple), plugin.name
        if plugin.external:
            assert plugin.secrets, plugin.name  # a provider has keys
        assert isinstance(plugin.hosts_staff, bool), plugin.name
    source = (ROOT / "run_bot.py").read_text(encoding="utf-8").lower()
    offenders = [p for p in PROVIDERS if f"handlers.{p}" in source or f"import {p}" in source]
    assert offenders == []


def test_the_conversation_is_a_visible_state_table_with_one_owner() -> None:
    """Every state the code moves to is a row of `bot.conversation.STATES` (what it
    accepts, where it goes, its handler), and only bot/conversation.py writes the
    conversation row: lifecycle returns what the citizen must be asked instead."""
    import re

    from bot import conversation

    source = (ROOT / "bot" / "conversation.py").read_text(encoding="utf-8")
    moved_to = set(re.findall(r"\.state = ([A-Z_]+)", source))
    assert moved_to, "states are assigned through their names"
    assert {getattr(conversation, name) for name in moved_to} <= set(conversation.STATES)
    for name, state in conversation.STATES.items():
        assert state.accepts and callable(state.handle), name
        assert set(state.goes_to) <= set(conversation.STATES), name
    for path in (ROOT / "bot").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r'\.state = "', text), f"{path.name} writes a bare state string"
        if path.name not in ("conversation.py", "store.py"):
            assert "save_conversation" not in text, f"{path.name} writes the conversation row"


def test_the_edges_enter_the_core_through_engine_only() -> None:
    """No edge builds the core's working context itself: every event goes through
    bot/engine.py (handle, scan_deadlines, send_digest, delivery_failed, tell_holder)."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "handlers").rglob("*.py")
        if "bot.session" in imports_of(path)
    ]
    assert offenders == []
