"""Schemathesis against the application: every operation of the OpenAPI document, 25 generated
examples each, with valid credentials for each API family (personal token, source key, delivery
callback token). No 5xx, no undocumented status, every answer matches its schema.

Runs in its own pytest session (``make test``'s third step): the app commits for real through its
own engine, so its rows must not meet the rolled-back tests of the main run.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.pool import NullPool

from otklik.app import create_app
from otklik.config import Settings
from otklik.db import create_engine, session_factory, transaction
from otklik.identity.roles import Role
from otklik.identity.service import create_api_token
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from tests.factories import create_organization, create_source, create_user

CALLBACK = "callback-" + "c" * 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def _seed(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with transaction(session_factory(engine)) as session:
            await seed_reference(session)
            await seed_catalogue(session)
            await create_organization(session, region="77")
            user = await create_user(session, Role.coordinator)
            token = await create_api_token(session, user, "schemathesis")
            _, key = await create_source(session, "schemathesis")
        return {"personal": token, "source": key, "callback": CALLBACK}
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def api(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[FastAPI, dict[str, str]]:
    credentials = asyncio.run(_seed(database_url))
    app = create_app(
        Settings(
            env="test",
            data_dir=Path(tmp_path_factory.mktemp("fuzz")),
            secret_key="t" * 40,
            pii_key="p" * 40,
            delivery_callback_token=CALLBACK,
            quiet_hours_start=0,
            quiet_hours_end=0,
        )
    )
    # Each ASGI call of the test client runs in an event loop of its own: no pooled connections.
    app.state.sessionmaker = session_factory(create_engine(database_url, poolclass=NullPool))
    return app, credentials


# The credentials are the test's: valid ones for each API family, sent with every case. Drawing
# random values for each operation's security schemes (a bearer header, the session cookie) only
# to override them cost generation time on each of the ~1 150 valid cases; the authorization
# matrix test covers wrong and missing credentials. The operations themselves are unchanged.
def _without_credentials(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    document.pop("security", None)
    for path in document["paths"].values():
        for operation in path.values():
            operation.pop("security", None)
    return document


def _credential(path: str, credentials: dict[str, str]) -> str:
    if path == "/api/v1/service-records":
        return credentials["source"]
    if path == "/api/v1/outreach/delivery-status":
        return credentials["callback"]
    return credentials["personal"]


def _fuzz(strategy: Any, headers: dict[str, str], examples: int) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _operations(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    schema = schemathesis.openapi.from_dict(document)
    schema.app, schema.location = app, "/openapi.json"
    return {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


def _breakable(document: dict[str, Any], operation: Any) -> bool:
    """Whether an invalid case exists: parameters, a body or credentials to get wrong (an
    anonymous operation without parameters, like the open-data dictionary, has none)."""
    spec = document["paths"][operation.path][operation.method.lower()]
    security = spec.get("security", document.get("security", []))
    return bool(spec.get("parameters") or spec.get("requestBody") or any(req for req in security))


def test_api_conforms_to_its_schema(api: tuple[FastAPI, dict[str, str]]) -> None:
    app, credentials = api
    document = app.openapi()
    # valid cases from the document without security schemes (the test sends the credentials);
    # invalid ones from the full document: for an operation whose only parameters are its
    # credentials, those are what an invalid case can break
    positive = _operations(app, _without_credentials(document))
    negative = _operations(app, document)
    assert positive.keys() == negative.keys()
    assert len(positive) >= 40
    failures: list[str] = []
    for label, operation in positive.items():
        headers = {"Authorization": f"Bearer {_credential(operation.path, credentials)}"}
        # 25 valid examples per operation, 10 invalid ones (these must get a documented 4xx)
        modes = [(GenerationMode.POSITIVE, 25, operation)]
        if _breakable(document, operation):
            modes.append((GenerationMode.NEGATIVE, 10, negative[label]))
        for mode, examples, op in modes:
            try:
                _fuzz(op.as_strategy(generation_mode=mode), headers, examples)
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failures
                failures.append(f"{label} ({mode.value}): {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
