"""The insights CLI: evaluate on a small labelled file, and bad files fail cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from otklik.cli import app

DATA = Path(__file__).parent / "data"
runner = CliRunner(env={"OTKLIK_ENV": "test"})  # the start-up check passes (issue 21)


def test_evaluate_prints_per_topic_and_overall_figures() -> None:
    result = runner.invoke(app, ["insights", "evaluate", "--labels", str(DATA / "labels.csv")])
    assert result.exit_code == 0, result.output
    assert "micro F1" in result.output
    assert "macro F1" in result.output
    assert "sentiment accuracy" in result.output
    assert "train 44, test 11" in result.output  # 55 rows, 20 % held out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,topics\nДолго ждали,waiting;bogus\n", "неизвестные темы bogus"),
        ("words,labels\nx,y\n", "Нет обязательных столбцов: text, topics"),
        ("text,topics,sentiment\nДолго,waiting,angry\n", "тональность «angry»"),
        ("", "Нет обязательных столбцов"),
        ("text,topics\n", "нет размеченных комментариев"),
    ],
)
def test_bad_label_files_fail_with_a_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["insights", "evaluate", "--labels", str(path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_binary_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b"\xff\xfe\x00bad")
    result = runner.invoke(app, ["insights", "evaluate", "--labels", str(path)])
    assert result.exit_code == 2
    assert "UTF-8" in result.output
    result = runner.invoke(app, ["insights", "evaluate", "--labels", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "не найден" in result.output
