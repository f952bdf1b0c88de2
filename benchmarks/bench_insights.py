"""Insights: comment classification throughput, NHS training time, loaded model memory.

All on one core (``sched_setaffinity`` to one CPU, BLAS threads 1). Figures are medians of
``REPEATS`` runs, interleaved with their baselines so machine noise hits both alike:

* analysis with the default trained model, as the job runs it (``default_model.analyse_batch``
  in batches of 500: TF-IDF + navec features, topic SVMs, sentiment, urgent rules), and the
  rules analysis alone (``insights.analysis.analyse``), of ``N`` demo comments
  (``demo.comments``), against the baseline of plain razdel tokenisation of the same comments;
  wall time and CPU time of the process (CPU time is the per-core figure on a loaded machine);
  the token cache is cleared before each run (a worker sees new texts), the lemma cache is warm;
* training the default model (1 855 Russian comments) against the same baseline's run on them;
* trained-model topic prediction (batch) of the NHS test comments, against the same baseline;
* training the NHS model (80 % of the file, seeded split) against the baseline of building its
  TF-IDF features only;
* memory of a loaded model: the pickled size and the Python heap taken by unpickling it
  (tracemalloc).

``OTKLIK_BENCH_INSIGHTS_N`` overrides the number of comments (default 5 000).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from otklik.demo.comments import demo_comment
from otklik.insights import default_model, labels
from otklik.insights.analysis import analyse
from otklik.insights.evaluate import split_examples
from otklik.insights.model import Features, TopicModel, train
from otklik.insights.taxonomy import load
from otklik.insights.text import _words, normalize, words

# The public NHS file (../shared/data/SOURCES.md next to the repository), or OTKLIK_NHS_FILE.
NHS = Path(
    os.environ.get("OTKLIK_NHS_FILE")
    or Path(__file__).resolve().parents[1].parent
    / "shared/data/nhs-fft-pxtextmining-v6framework_230831.csv.gz"
)
N = int(os.environ.get("OTKLIK_BENCH_INSIGHTS_N", "5000"))
REPEATS = 5
TRAIN_REPEATS = 3


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def timed_both(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn`` (the token cache cleared first: new texts)."""
    _words.cache_clear()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def tokenise(texts: list[str]) -> None:
    from razdel import tokenize

    for t in texts:
        list(tokenize(normalize(t)))


def comments(seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    out: list[tuple[str, int]] = []
    sectors = ("healthcare", "education", "sport", "social")
    while len(out) < N:
        overall = rng.randint(1, 5)
        text = demo_comment(rng, rng.choice(sectors), overall)
        if text:
            out.append((text, overall))
    return out


def batches(data: list[tuple[str, int]]) -> None:
    for k in range(0, len(data), 500):
        default_model.analyse_batch(data[k : k + 500])


def rules_throughput() -> None:
    data = comments(1)
    texts = [t for t, _ in data]
    started = time.process_time()
    default_model.default_model()
    print(f"default model trained at first use: {time.process_time() - started:.1f} s CPU")
    batches(data)  # warm the lemma and vector caches, as a running worker has
    for text, overall in data:
        analyse(text, overall)
    figures: dict[str, list[tuple[float, float]]] = {"base": [], "model": [], "rules": []}
    for _ in range(REPEATS):
        figures["base"].append(timed_both(lambda: tokenise(texts)))
        figures["model"].append(timed_both(lambda: batches(data)))
        figures["rules"].append(timed_both(lambda: [analyse(t, o) for t, o in data]))
    rate = {
        k: (N / statistics.median(w for w, _ in v), N / statistics.median(c for _, c in v))
        for k, v in figures.items()
    }
    base_wall, base_cpu = rate["base"]
    for key, name in (("model", "default-model analysis"), ("rules", "rules analysis")):
        wall, cpu = rate[key]
        print(f"{name}: {cpu:,.0f} comments/s of CPU ({wall:,.0f}/s wall) (goal >= 2 000 per core)")
        print(
            f"  baseline razdel tokenisation: {base_cpu:,.0f}/s of CPU ({base_wall:,.0f}/s wall); "
            f"ratio {cpu / base_cpu:.2f} (wall {wall / base_wall:.2f})"
        )
    examples, groups = default_model.training_examples()
    train_texts = [e.text for e in examples]
    runs, base = [], []
    for _ in range(TRAIN_REPEATS):
        base.append(timed_both(lambda: tokenise(train_texts))[1])
        runs.append(timed_both(lambda: train(examples, load().codes, groups=groups))[1])
    t, b = statistics.median(runs), statistics.median(base)
    print(f"default model training ({len(examples)} comments): {t:.1f} s CPU (goal < 120)")
    print(f"  baseline razdel tokenisation of them: {b:.2f} s CPU; ratio {t / b:.0f}")


def nhs() -> None:
    if not NHS.exists():
        print(f"NHS file missing ({NHS}); skipping the training figures")
        return
    examples, topics, lang = labels.load(NHS, [])
    train_part, test_part = split_examples(examples)
    train_s, feat_s = [], []
    model: TopicModel | None = None
    for _ in range(TRAIN_REPEATS):
        feat_s.append(timed(lambda: Features(lang).fit_transform(train_part)))
        started = time.perf_counter()
        model = train(train_part, topics, lang=lang)
        train_s.append(time.perf_counter() - started)
    assert model is not None
    t, f = statistics.median(train_s), statistics.median(feat_s)
    print(f"NHS training ({len(train_part)} comments, {len(topics)} labels): {t:.1f} s (goal < 60)")
    print(f"  baseline TF-IDF features only: {f:.1f} s; ratio {t / f:.1f}")
    texts = [e.text for e in test_part]
    runs, base = [], []
    for _ in range(REPEATS):
        _words.cache_clear()
        base.append(len(texts) / timed(lambda: [words(x, "en") for x in texts]))
        runs.append(len(texts) / timed(lambda: model.predict_topics(test_part)))
    rate, baseline = statistics.median(runs), statistics.median(base)
    print(f"trained-model prediction: {rate:,.0f} comments/s; tokenisation {baseline:,.0f}/s; "
          f"ratio {rate / baseline:.2f}")  # fmt: skip
    blob = model.dumps()
    tracemalloc.start()
    TopicModel.loads(blob)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"loaded model: pickle {len(blob) / 2**20:.1f} MiB, "
        f"heap when unpickled {peak / 2**20:.1f} MiB"
    )


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"one core; {N} comments; medians of {REPEATS} runs ({TRAIN_REPEATS} for training)")
    rules_throughput()
    nhs()


if __name__ == "__main__":
    main()
