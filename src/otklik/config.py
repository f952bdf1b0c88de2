"""One settings class for the whole application (environment prefix ``OTKLIK_``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"  # noqa: S105 - a marker, refused outside demo/test
DEV_PII_KEY = "dev-pii-key-change-me"

Environment = Literal["production", "demo", "test"]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """``127.0.0.1``, ``10.0.0.0/8``, ``::1``; raises ValueError on anything else."""
    return tuple(ipaddress.ip_network(x.strip(), strict=False) for x in items if x.strip())


class SettingsError(RuntimeError):
    """Raised when the configuration cannot be used; the message is for an operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTKLIK_", env_file=".env", extra="ignore")

    env: Environment = "production"
    database_url: str | None = None
    # a streaming replica for the reads of cabinets, exports and open data (docs/deployment.md,
    # "Read replica"); unset: every read goes to the primary
    database_replica_url: str | None = None
    data_dir: Path = Path(".otklik")
    secret_key: str = DEV_SECRET
    pii_key: str = DEV_PII_KEY
    base_url: str = "http://127.0.0.1:8000"

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    # "auto": STARTTLS when the server offers it; "starttls": required; "ssl": implicit TLS
    # (usually port 465); "none": plain text (a local relay only)
    smtp_security: Literal["auto", "starttls", "ssl", "none"] = "auto"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # the domain of Message-ID (default: the domain of smtp_from)
    email_domain: str | None = None
    # envelope sender (Return-Path) for bounces; default: smtp_from
    smtp_bounce_address: str | None = None
    # a Maildir the bounce address is delivered to; the worker reads DSNs (RFC 3464) from it
    bounce_maildir: Path | None = None
    # optional DKIM signing (RFC 6376): selector and private key file (PEM); the domain
    # defaults to email_domain
    dkim_selector: str | None = None
    dkim_private_key_file: Path | None = None
    dkim_domain: str | None = None
    # who runs the survey and where a person can check that a link is genuine (in every e-mail)
    survey_operator: str = "Министерство экономического развития Российской Федерации"
    verify_url: str = "https://www.gosuslugi.ru"
    sms_gateway_url: str | None = None
    portal_notify_url: str | None = None
    # the portal's batch endpoint (docs/outreach.md): when set, portal messages go there in
    # batches with a result per message; OTKLIK_PORTAL_NOTIFY_URL stays the single-message one
    portal_batch_url: str | None = None

    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    login_lock_failures: int = Field(default=100, ge=1)
    import_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    secure_cookies: bool = True

    intake_max_records: int = Field(default=10_000, ge=1)
    intake_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    intake_requests_per_minute: int = Field(default=120, ge=1)
    retention_days: int = Field(default=45, ge=1, le=365)
    # months of raw answers, service records' deliveries etc. kept in the monthly partitions
    # (ops.maintain_partitions drops older months): at least the current and the two previous
    # calendar years, which the yearly indicators and their year-over-year targets read
    retention_months: int = Field(default=48, ge=36, le=1200)
    nats_url: str = "nats://127.0.0.1:4222"

    invitation_days: int = Field(default=30, ge=1, le=90)
    reminder_after_days: int = Field(default=3, ge=1, le=30)
    # local hours in the recipient's region when nothing is sent; start == end: no quiet hours
    quiet_hours_start: int = Field(default=21, ge=0, le=23)
    quiet_hours_end: int = Field(default=9, ge=0, le=23)
    fatigue_organization_days: int = Field(default=30, ge=0)
    fatigue_organization_max: int = Field(default=1, ge=1)
    fatigue_week_max: int = Field(default=2, ge=1)
    # "service:<code>" or "type:<code>" -> share of records invited (deterministic sample)
    sampling_rates: dict[str, float] = Field(default_factory=dict)
    delivery_callback_token: str | None = None
    channel_rate_per_second: int = Field(default=500, ge=1)
    # per-channel overrides of channel_rate_per_second, e.g. {"sms": 50}
    channel_rates: dict[str, int] = Field(default_factory=dict)
    delivery_batch: int = Field(default=200, ge=1, le=5000)
    channel_timeout_seconds: float = Field(default=10.0, gt=0)
    # the respondent form: token buckets per client address and per link, the body limit
    survey_ip_per_minute: int = Field(default=300, ge=1)
    survey_token_per_minute: int = Field(default=30, ge=1)
    survey_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # every rate limit is shared by the web processes through PostgreSQL (kit/ratelimit.py):
    # a process may spend up to ``chunk`` requests of a key before it hears from the shared
    # bucket, and reports its spending at most every ``sync_ms`` (docs/deployment.md)
    rate_limit_chunk: int = Field(default=10, ge=1, le=1000)
    rate_limit_sync_ms: int = Field(default=100, ge=0, le=10_000)
    # raw comments are sealed for the masking worker (docs/surveys.md, "Masking"): the worker
    # holds the private key, web processes only the public one. Unset: both derive from
    # OTKLIK_PII_KEY (one host, or development).
    comment_key: str | None = None
    comment_public_key: str | None = None
    # open data (docs/opendata.md): requests per minute per client address, API and files
    opendata_requests_per_minute: int = Field(default=120, ge=1)
    # transfer to ИАС МКГУ: unset URL -> answers wait in the queue (docs/exchange.md)
    iasmkgu_url: str | None = None
    iasmkgu_token: str | None = None
    iasmkgu_batch: int = Field(default=1000, ge=1, le=50_000)

    # operations (docs/deployment.md): proxies, logs, metrics, readiness, API docs
    # addresses/networks whose X-Forwarded-For / X-Forwarded-Proto are believed, comma-separated
    trusted_proxies: str = ""
    public_docs: bool = False  # /docs, /redoc, /openapi.json in production
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics: a bearer token, or client addresses/networks allowed without one
    metrics_token: str | None = None
    metrics_allow: str = "127.0.0.1,::1"
    metrics_dir: Path | None = None  # shared by serve and worker; default <data_dir>/metrics
    # /readyz answers 503 when a queue's oldest due item waits longer than this
    ready_max_lag_seconds: int = Field(default=3600, ge=1)

    @property
    def is_dev(self) -> bool:
        return self.env in ("demo", "test")

    @property
    def quiet_hours(self) -> tuple[int, int] | None:
        """(start, end) local hours when messages wait; None when switched off."""
        if self.quiet_hours_start == self.quiet_hours_end:
            return None
        return self.quiet_hours_start, self.quiet_hours_end

    @property
    def mail_domain(self) -> str:
        """The domain of Message-ID and of the DKIM signature."""
        if self.email_domain:
            return self.email_domain
        sender = self.smtp_from or ""
        return sender.rpartition("@")[2].strip(" >") or "otklik.local"

    @property
    def docs_enabled(self) -> bool:
        return self.is_dev or self.public_docs

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        try:
            return parse_networks(self.trusted_proxies.split(","))
        except ValueError as exc:
            raise SettingsError(f"OTKLIK_TRUSTED_PROXIES: {exc}") from None

    @property
    def metrics_networks(self) -> tuple[Network, ...]:
        try:
            return parse_networks(self.metrics_allow.split(","))
        except ValueError as exc:
            raise SettingsError(f"OTKLIK_METRICS_ALLOW: {exc}") from None

    def check_networks(self) -> None:
        """Raise SettingsError on an unreadable address list (before any process starts)."""
        _ = (self.trusted_proxy_networks, self.metrics_networks)

    @property
    def metrics_folder(self) -> Path:
        return self.metrics_dir or self.data_dir / "metrics"

    @property
    def log_channel_enabled(self) -> bool:
        return self.is_dev

    def check_secrets(self) -> None:
        """Refuse to start outside demo/test with missing or default secrets (Russian message:
        an operator reads it). Every entry point calls it: ``serve``, ``worker`` and every CLI
        command (``otklik.cli``'s root callback), and ``create_app``."""
        if self.is_dev:
            return
        problems = []
        for name, value, default in (
            ("OTKLIK_SECRET_KEY", self.secret_key, DEV_SECRET),
            ("OTKLIK_PII_KEY", self.pii_key, DEV_PII_KEY),
        ):
            if not value or value == default:
                problems.append(f"{name} не задан (или оставлен ключ для разработки)")
            elif len(value) < 32:
                problems.append(f"{name} слишком короткий: нужно не меньше 32 случайных символов")
        if problems:
            raise SettingsError(
                "Запуск в рабочем режиме невозможен: "
                + "; ".join(problems)
                + ". Создать ключ: "
                + "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
