"""``otklik mszu``: bad input is a plain Russian message and a non-zero exit code."""

from __future__ import annotations

from typer.testing import CliRunner

from otklik.cli import app

# development secrets pass the start-up check only in test mode (issue 21)
TEST_ENV = {"OTKLIK_ENV": "test"}


def test_close_quarter_needs_a_quarter() -> None:
    result = CliRunner(env=TEST_ENV).invoke(app, ["mszu", "close-quarter", "2026-11"])
    assert result.exit_code == 2
    assert "укажите квартал в виде 2026-Q3" in result.output
    result = CliRunner(env=TEST_ENV).invoke(app, ["mszu", "close-quarter", "2026-Q5"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
