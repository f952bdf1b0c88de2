from __future__ import annotations

import pytest

from otklik.config import Settings, SettingsError


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(SettingsError, match="Запуск в рабочем режиме невозможен") as raised:
        Settings(env="production").check_secrets()
    assert "OTKLIK_SECRET_KEY не задан" in str(raised.value)
    assert "OTKLIK_PII_KEY не задан" in str(raised.value)


def test_production_refuses_short_secrets() -> None:
    with pytest.raises(SettingsError, match="OTKLIK_SECRET_KEY слишком короткий"):
        Settings(env="production", secret_key="short", pii_key="p" * 40).check_secrets()


def test_production_accepts_real_secrets_and_dev_modes_accept_defaults() -> None:
    Settings(env="production", secret_key="s" * 40, pii_key="p" * 40).check_secrets()
    Settings(env="demo").check_secrets()
    Settings(env="test").check_secrets()


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_BASE_URL", "https://otklik.example")
    assert Settings().base_url == "https://otklik.example"
