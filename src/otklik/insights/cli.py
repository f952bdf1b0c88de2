"""``otklik insights``: evaluate on a labelled file, train and store a model, analyse now.

Heavy imports (scikit-learn) happen inside the commands, so other commands stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from otklik.insights.evaluate import Report

insights_app = typer.Typer(help="Анализ комментариев: темы, тональность, срочные сигналы.")
out = Console(width=120)
err = Console(stderr=True)
Labels = Annotated[Path, typer.Option("--labels", help="CSV с разметкой (наш формат или NHS)")]


def _fail(message: str) -> None:
    err.print(f"[red]Ошибка:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def print_report(report: Report) -> None:
    """Per-topic precision / recall / F1, micro and macro F1, sentiment accuracy."""
    out.print(f"{'topic':<58} {'P':>5} {'R':>5} {'F1':>5} {'n':>5}", highlight=False)
    for topic, p, r, f, n in report.topics:
        out.print(f"{topic[:58]:<58} {p:5.2f} {r:5.2f} {f:5.2f} {n:5d}", highlight=False)
    from otklik.insights.evaluate import COMPARABLE_SUPPORT, macro_f1_at_least

    out.print(f"micro F1 {report.micro_f1:.3f}  macro F1 {report.macro_f1:.3f}", highlight=False)
    common, k = macro_f1_at_least(report)
    if k:
        out.print(
            f"macro F1 over the {k} topics with >= {COMPARABLE_SUPPORT} test positives "
            f"{common:.3f}",
            highlight=False,
        )
    if report.sentiment_accuracy is not None:
        three = report.sentiment_accuracy_3
        extra = f"  (3 classes: {three:.3f})" if three is not None else ""
        out.print(f"sentiment accuracy {report.sentiment_accuracy:.3f}{extra}", highlight=False)
    out.print(
        f"train {report.n_train}, test {report.n_test}, training {report.train_seconds:.1f} s",
        highlight=False,
    )


@insights_app.command("evaluate")
def evaluate_cmd(labels: Labels) -> None:
    """Обучить на 80 % файла и показать метрики на отложенных 20 % (seed 42)."""
    from otklik.insights import labels as labels_mod
    from otklik.insights.evaluate import evaluate, score_rules, split_examples
    from otklik.insights.taxonomy import load

    try:
        examples, topics, lang = labels_mod.load(labels, load().codes)
    except labels_mod.LabelsError as exc:
        _fail(exc.message)
        return
    if len(examples) < 10:
        _fail("Слишком мало размеченных комментариев для оценки (нужно ≥ 10) / too few rows.")
    print_report(evaluate(examples, topics, lang))
    if lang == "ru":
        out.print("\nRussian lemma rules (the default model) on the same test part:")
        print_report(score_rules(split_examples(examples)[1], topics))


@insights_app.command("train")
def train_cmd(
    labels: Annotated[
        Path | None, typer.Option("--labels", help="CSV с разметкой; исправления из базы добавятся")
    ] = None,
) -> None:
    """Обучить модель на разметке и исправлениях, сохранить её версию и сделать активной."""
    from otklik.config import get_settings
    from otklik.insights import service
    from otklik.kit.cli import run_in_session

    async def go(session: AsyncSession) -> tuple[str, Report]:
        return await service.train_and_store(session, labels)

    version, report = run_in_session(get_settings(), go)  # bad labels: message, exit 1
    print_report(report)
    out.print(f"Модель сохранена и включена: {version}", highlight=False)


@insights_app.command("analyse")
def analyse_cmd(
    limit: Annotated[int, typer.Option(help="Сколько комментариев за один пакет")] = 500,
) -> None:
    """Разобрать новые комментарии сейчас (то же, что делает периодическая задача)."""
    from otklik.config import get_settings
    from otklik.insights.service import analyse_pending
    from otklik.kit.cli import run_in_session

    settings = get_settings()
    total = 0
    while True:
        done = run_in_session(settings, lambda s: analyse_pending(s, limit))
        total += done
        if done == 0:
            break
    out.print(f"Разобрано комментариев: {total}.")
