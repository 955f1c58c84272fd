"""The systemd unit in deploy/ agrees with what serve does."""

from __future__ import annotations

import configparser
from pathlib import Path

import run_bot

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "iceta-bot.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_restarts_serve_gives_it_time_to_stop_and_keeps_secrets_out_of_it() -> None:
    service = unit()["Service"]
    assert service["ExecStart"].endswith("run_bot.py serve")
    assert service["Restart"] == "always"
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"  # serve stops its delivery process and Litestream
    assert service["RestartPreventExitStatus"] == "2"  # a config problem: no restart loop
    assert int(service["TimeoutStopSec"]) > run_bot.STOP_GRACE_SECONDS  # drained, not killed
    assert service["EnvironmentFile"] == "/etc/iceta-bot/env"
    assert service["User"] != "root" and service["NoNewPrivileges"] == "yes"
    assert (
        service["ProtectSystem"] == "strict" and "/var/lib/iceta-bot" in service["ReadWritePaths"]
    )
    assert "TOKEN" not in service.get("Environment", "")  # secrets only in the env file
