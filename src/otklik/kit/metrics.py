"""Prometheus metrics of the processes (prometheus-client), shared by the web server's worker
processes and the background worker through a directory of memory-mapped files.

``otklik serve`` and ``otklik worker`` set ``OTKLIK_METRICS_DIR`` (default
``<data dir>/metrics``) before the first metric is made; prometheus-client then runs in its
multi-process mode and ``/metrics`` adds up every process's counters. Without it (tests, one
process) the counters live in the process. ``prometheus_client`` is imported lazily for that
reason: it decides its mode when first imported.

Figures that are rows in the database (queue depths and ages, deliveries by channel and status)
are read at scrape time by ``otklik.ops``, not counted here.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

ENV = "OTKLIK_METRICS_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def use_directory(path: Path) -> None:
    """Switch this process (and the processes it starts) to the shared directory; files left by
    processes that no longer run are removed. Call before the first metric is touched."""
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    for f in path.glob("*.db"):
        pid = f.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            f.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(ENV)


@cache
def _m() -> dict[str, Any]:
    folder = os.environ.get(ENV)
    if folder:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", folder)
        Path(folder).mkdir(parents=True, exist_ok=True)
    from prometheus_client import Counter, Gauge, Histogram

    return {
        "requests": Counter(
            "otklik_http_requests_total",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
        ),
        "latency": Histogram(
            "otklik_http_request_duration_seconds",
            "HTTP request duration by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
        ),
        "intake": Counter(
            "otklik_intake_records_total",
            "Service records received, by outcome (accepted, duplicate, rejected)",
            ["outcome"],
        ),
        "answers": Counter("otklik_answers_total", "Questionnaires submitted by respondents"),
        "job_runs": Counter("otklik_job_runs_total", "Worker job runs", ["job"]),
        "job_failures": Counter("otklik_job_failures_total", "Worker job runs failed", ["job"]),
        "job_items": Counter("otklik_job_items_total", "Items processed by worker jobs", ["job"]),
        "worker_cycle": Gauge(
            "otklik_worker_last_cycle_timestamp_seconds",
            "Unix time of the worker's last completed cycle",
            multiprocess_mode="max",
        ),
    }


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    m = _m()
    m["requests"].labels(method, route, str(status)).inc()
    m["latency"].labels(method, route).observe(seconds)


def count_intake(accepted: int, duplicates: int, rejected: int) -> None:
    c = _m()["intake"]
    for outcome, n in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
        if n:
            c.labels(outcome).inc(n)


def count_answer() -> None:
    _m()["answers"].inc()


def job_ran(job: str, items: int, *, failed: bool = False) -> None:
    m = _m()
    m["job_runs"].labels(job).inc()
    if failed:
        m["job_failures"].labels(job).inc()
    if items:
        m["job_items"].labels(job).inc(items)


def worker_cycle_done(unix_time: float) -> None:
    _m()["worker_cycle"].set(unix_time)


def exposition(extra: list[Any]) -> tuple[bytes, str]:
    """The text format of every process's metrics plus ``extra`` metric families."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    _m()  # the families exist (at zero) even before the first event
    registry: Any
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))

    registry.register(_Fixed(extra))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Fixed:
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


class _Forward:
    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> Any:
        return self.registry.collect()
