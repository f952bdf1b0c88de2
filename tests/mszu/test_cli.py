"""``otklik mszu``: bad input is a plain Russian message and a non-zero exit code."""

from __future__ import annotations

from typer.testing import CliRunner

from otklik.cli import app


def test_close_quarter_needs_a_quarter() -> None:
    result = CliRunner().invoke(app, ["mszu", "close-quarter", "2026-11"])
    assert result.exit_code == 2
    assert "укажите квартал в виде 2026-Q3" in result.output
    result = CliRunner().invoke(app, ["mszu", "close-quarter", "2026-Q5"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
