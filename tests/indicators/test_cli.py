"""``otklik indicators compute``: a bad period is a plain message and exit code 1."""

from __future__ import annotations

from typer.testing import CliRunner

from otklik.cli import app

# development secrets pass the start-up check only in test mode (issue 21)
TEST_ENV = {"OTKLIK_ENV": "test"}


def test_bad_period_is_a_clear_error() -> None:
    result = CliRunner(env=TEST_ENV).invoke(app, ["indicators", "compute", "--period", "2026-13"])
    assert result.exit_code == 1
    assert "Месяц 13 не существует" in result.output
    assert "Traceback" not in result.output
