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

    from otklik.insights.evaluate import CorpusReport, Ratio, Report

insights_app = typer.Typer(help="Анализ комментариев: темы, тональность, срочные сигналы.")
out = Console(width=120)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]Ошибка:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def print_report(report: Report, *, counts: bool = True) -> None:
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
    if counts:
        out.print(
            f"train {report.n_train}, test {report.n_test}, training {report.train_seconds:.1f} s",
            highlight=False,
        )


@insights_app.command("evaluate")
def evaluate_cmd(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Файлы корпуса для оценки (id,writer,sector,text,topics,...)"),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="CSV с разметкой (наш формат или NHS): обучить и оценить"),
    ] = None,
    mask: Annotated[
        bool, typer.Option("--mask/--no-mask", help="Маскировать тексты и считать маски")
    ] = True,
    rules: Annotated[
        bool, typer.Option("--rules", help="Только правила (прозрачная база), без модели")
    ] = False,
) -> None:
    """Оценить анализаторы на корпусе (FILE...) или обучить на 80 % файла --labels."""
    from otklik.insights import labels as labels_mod
    from otklik.insights.evaluate import evaluate, score_rules, split_examples
    from otklik.insights.taxonomy import load

    if files and labels is not None:
        _fail("Укажите либо файлы корпуса, либо --labels, но не то и другое.")
    if files:
        try:
            rows = labels_mod.load_corpus(files, load().codes)
        except labels_mod.LabelsError as exc:
            _fail(exc.message)
            return
        from otklik.insights.evaluate import evaluate_corpus

        report = evaluate_corpus(rows, mask=mask, trained=not rules)
        print_corpus_report(report, [f.name for f in files], rules=rules)
        return
    if labels is None:
        _fail("Укажите файлы корпуса или --labels с файлом разметки.")
        return
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


def _commit() -> str:
    """The short commit of the running code (``+changes`` if the tree differs), or unknown."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        return "unknown"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - constant arguments
            [git, *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).parent,
        )

    try:
        head = run("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "unknown"
        changed = run("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head.stdout.strip() + ("+changes" if changed else "")


def _ratio(r: Ratio) -> str:
    value = r.value
    return f"{value:.3f} ({r.hits}/{r.total})" if value is not None else f"- (0/{r.total})"


def print_corpus_report(report: CorpusReport, names: list[str], *, rules: bool = False) -> None:
    """Every figure of the corpus evaluation, with the date and the commit."""
    from otklik.insights.default_model import model_version
    from otklik.kit.clock import now_utc

    stamp = now_utc().strftime("%Y-%m-%d %H:%M UTC")
    analyser = "rules analyser" if rules else f"trained model {model_version()}"
    out.print(
        f"{stamp}, commit {_commit()}, {analyser}, {report.n} comments from {', '.join(names)}",
        highlight=False,
    )
    print_report(report.topics, counts=False)
    share = report.negative_without_topic / report.negative if report.negative else 0.0
    out.print(
        f"negative comments with no topic {report.negative_without_topic}/{report.negative} "
        f"({share:.1%})",
        highlight=False,
    )
    out.print(f"sentiment accuracy from text {_ratio(report.sentiment_text)}", highlight=False)
    out.print(
        f"sentiment accuracy, score only (<=2 neg, 3 neu, >=4 pos) "
        f"{_ratio(report.sentiment_score_only)}",
        highlight=False,
    )
    out.print(
        f"sentiment accuracy, lexicon with the score (stored before issue 17) "
        f"{_ratio(report.sentiment_text_and_score)}",
        highlight=False,
    )
    out.print(f"negative recall from text {_ratio(report.negative_recall_text)}", highlight=False)
    out.print(
        f"urgent recall {_ratio(report.urgent_recall)}  "
        f"precision {_ratio(report.urgent_precision)}",
        highlight=False,
    )
    for kind, flagged, same, precision in report.urgent_by_kind:
        out.print(
            f"  {kind:<15} recall {_ratio(flagged)}  same kind {_ratio(same)}  "
            f"precision {_ratio(precision)}",
            highlight=False,
        )
    m = report.masking
    if m is not None:
        out.print(
            f"masks: {m.spans} spans in {m.masked_comments} of {m.comments} comments "
            f"({m.per_200(m.spans):.1f} per 200); spans with a word that is not a "
            f"name (probable false masks) {m.not_a_name} ({m.per_200(m.not_a_name):.1f} per 200)",
            highlight=False,
        )
        for piece in m.examples:
            out.print(f"  masked, not a name: «{piece}»", highlight=False)


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


DEV_PART = Path(__file__).resolve().parents[3] / "data" / "eval" / "ru-comments" / "dev"


@insights_app.command("train-urgent")
def train_urgent_cmd(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Файлы корпуса для обучения (по умолчанию — часть dev, w1–w6)"),
    ] = None,
    reviews: Annotated[
        bool, typer.Option("--reviews/--no-reviews", help="Добавить проверки из очереди")
    ] = True,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Куда записать модель (по умолчанию — в пакет)")
    ] = None,
    cv_only: Annotated[
        bool, typer.Option("--cv-only", help="Только перекрёстная проверка, без записи модели")
    ] = False,
) -> None:
    """Обучить детектор срочных отзывов (разметка корпуса + проверки из очереди).

    Prints the writer-grouped cross-validated figures of the whole detector, then writes
    the model artefact (``insights/data/urgent-model.npz`` unless --out)."""
    from otklik.insights import labels as labels_mod
    from otklik.insights import urgent
    from otklik.insights.taxonomy import load
    from otklik.surveys.masking import mask_personal_data

    paths = files or sorted(DEV_PART.glob("*.csv"))
    if not paths:
        _fail(f"Нет файлов корпуса в {DEV_PART}.")
    try:
        rows = labels_mod.load_corpus(paths, load().codes)
    except labels_mod.LabelsError as exc:
        _fail(exc.message)
        return
    examples = [
        urgent.Example(mask_personal_data(r.text), r.score, r.urgent_kind, r.writer) for r in rows
    ]
    if reviews:
        from otklik.config import get_settings
        from otklik.insights.triage import review_examples
        from otklik.kit.cli import run_in_session

        examples += run_in_session(get_settings(), review_examples)
    cv = urgent.cross_validate(examples)
    hits = sum(u and f for u, f in zip(cv.urgent, cv.flagged, strict=True))
    flagged, total = sum(cv.flagged), sum(cv.urgent)
    out.print(
        f"cross-validated (writer-grouped), {len(examples)} comments: urgent recall "
        f"{hits / max(1, total):.3f} ({hits}/{total})  precision "
        f"{hits / max(1, flagged):.3f} ({hits}/{flagged})",
        highlight=False,
    )
    for kind in urgent.KINDS:
        gold = [i for i, g in enumerate(cv.gold) if g == kind]
        said = [i for i, k in enumerate(cv.kinds) if cv.flagged[i] and k == kind]
        found = sum(cv.flagged[i] for i in gold)
        same = sum(cv.kinds[i] == kind for i in gold if cv.flagged[i])
        right = sum(cv.gold[i] == kind for i in said)
        out.print(
            f"  {kind:<15} recall {found / max(1, len(gold)):.3f} ({found}/{len(gold)})  "
            f"same kind {same / max(1, len(gold)):.3f}  "
            f"precision {right / max(1, len(said)):.3f} ({right}/{len(said)})",
            highlight=False,
        )
    if cv_only:
        return
    model = urgent.train(examples)
    target = out_path or urgent.MODEL_PATH
    model.save(target)
    out.print(f"Модель записана: {target}; {model.meta}", highlight=False)
