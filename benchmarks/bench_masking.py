"""Comment masking throughput on one core, against the regex-only pass, in one run.

A fixed corpus of ``CORPUS`` realistic comments of 100-300 characters is generated from
templates (seeded): about half name a person, a third carry a phone, e-mail, card, SNILS or
address, some are all lower case (no NER pass). The process is pinned to one CPU. Figures:

1. model load time (natasha NER + pymorphy3, first call);
2. ``REPEATS`` interleaved runs of (a) the regex-only pass — markup, e-mails, numbers,
   addresses: everything ``mask_personal_data`` does except names — and (b) the full
   ``mask_personal_data``; medians of comments/s and the ratio full / regex-only;
3. BLAS threads: the full pass in two child processes, not pinned, one with the default
   cap (``OPENBLAS_NUM_THREADS=1``, set by ``otklik/__init__``) and one with 2 threads;
   CPU milliseconds per comment and CPU/wall of each.

Found by ``benchmarks/run.py`` (``make bench``) like every ``bench_*.py``.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from otklik.surveys import masking
from otklik.surveys.masking import mask_personal_data

CORPUS = 400
REPEATS = 5
SEED = 882

OPENINGS = [
    "Спасибо врачу {name}, очень внимательная и всё объяснила.",
    "Доктор {surname} принял вовремя, а медсестра {first} была груба.",
    "Хочу поблагодарить {name} за помощь с документами.",
    "в регистратуре долго ждали, талон на 10:30, приняли в 11:15, кабинет 203.",
    "Очередь в МФЦ больше часа, окно 5 не работало, сотрудники вежливые.",
    "Поликлиника № 5 на хорошем уровне, но запись через портал неудобная.",
    "всё понравилось, спасибо коллективу отделения! 👍",
]
DETAILS = [
    " Перезвоните мне: {phone}.",
    " Ответ пришлите на {email}.",
    " Деньги списали с карты {card} дважды.",
    " Мой СНИЛС {snils}, проверьте запись.",
    " Живу по адресу {address}, соцработник приходит редко.",
    " Оплатила 500 рублей 15.11.2026, чек сохранила.",
    " В целом нормально, но в коридоре холодно и нет стульев.",
    "",
]
NAMES = ["Иванова Мария Петровна", "Смирнову Анну Викторовну", "Сергея Александровича"]
SURNAMES = ["Петров", "Кузнецова", "Соколов"]
FIRSTS = ["Оля", "Наталья", "Игорь"]


def comment(rng: random.Random) -> str:
    text = rng.choice(OPENINGS) + rng.choice(DETAILS) + rng.choice(DETAILS)
    return text.format(
        name=rng.choice(NAMES),
        surname=rng.choice(SURNAMES),
        first=rng.choice(FIRSTS),
        phone=rng.choice(["+7 (900) 123-45-67", "89001234567", "8 495 123-45-67"]),
        email="ivan.petrov@mail.ru",
        card="4111 1111 1111 1111",
        snils="123-456-789 64",
        address=rng.choice(["ул. Ленина, д. 5, кв. 12", "проспект Мира 10-25"]),
    )


def regex_only(text: str) -> str:
    """Everything mask_personal_data does except the names (private steps, on purpose)."""
    text = masking._plain_text(text)
    text = masking._EMAIL.sub(masking.EMAIL, text)
    text = masking._RUN.sub(masking._mask_run, text)
    return masking._ADDRESS.sub(masking.ADDRESS, text)


def rate(function: Callable[[str], str], corpus: list[str]) -> tuple[float, float]:
    """Comments per wall-clock second and per CPU second of this (pinned) process."""
    started, cpu = time.perf_counter(), time.process_time()
    for text in corpus:
        function(text)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(corpus) / wall, len(corpus) / cpu


def corpus() -> list[str]:
    rng = random.Random(SEED)
    texts: list[str] = []
    while len(texts) < CORPUS:
        text = comment(rng)
        if 100 <= len(text) <= 300:
            texts.append(text)
    return texts


def child() -> None:
    """Full pass, not pinned: CPU ms per comment and CPU/wall (run with a BLAS setting)."""
    texts = corpus()
    mask_personal_data(texts[0])
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(3):
        for text in texts:
            mask_personal_data(text)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(f"{cpu / (3 * len(texts)) * 1000:.2f} {cpu / wall:.2f}")


def blas_threads() -> None:
    results = {}
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        out = subprocess.run(  # noqa: S603 - this very script
            [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True
        )
        cpu_ms, ratio = (float(x) for x in out.stdout.split())
        results[threads] = cpu_ms
        print(f"  BLAS threads {threads}: {cpu_ms:.2f} ms CPU per comment, CPU/wall {ratio:.2f}")
    print(f"  CPU per comment, 2 threads / 1 thread: {results['2'] / results['1']:.2f}x")


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    texts = corpus()
    with_ner = sum(bool(masking._CAPITALISED.search(t)) for t in texts)
    print(f"corpus: {len(texts)} comments, {statistics.mean(map(len, texts)):.0f} chars mean,")
    print(f"  {with_ner} ({with_ner / len(texts):.0%}) hold a capitalised Cyrillic word (NER pass)")
    started = time.perf_counter()
    mask_personal_data("Доктор Петров")
    print(f"model load (first call): {time.perf_counter() - started:.2f} s")
    baseline, full = [], []
    for _ in range(REPEATS):
        baseline.append(rate(regex_only, texts))
        full.append(rate(mask_personal_data, texts))
    for label, index in (("wall-clock", 0), ("CPU-time", 1)):
        base = statistics.median(r[index] for r in baseline)
        result = statistics.median(r[index] for r in full)
        print(f"{label}, medians of {REPEATS}, one core:")
        print(f"  regex-only pass (baseline): {base:,.0f} comments/s")
        print(
            f"  mask_personal_data:         {result:,.0f} comments/s ({1000 / result:.2f} ms each)"
        )
        print(f"  ratio to baseline: {result / base:.3f}x")
    print("BLAS threads (full pass, 3 x corpus, not pinned):")
    blas_threads()


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    else:
        main()
