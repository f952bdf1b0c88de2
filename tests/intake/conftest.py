"""The JetStream connection of the stream tests (skipped, with the reason, without a server)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NATS

from otklik.intake.stream import ensure_stream

NATS_URL = os.environ.get("OTKLIK_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
async def nc() -> AsyncIterator[NATS]:
    import nats

    try:
        client = await asyncio.wait_for(
            nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False), timeout=5
        )
    except Exception as exc:  # any failure to connect means "no server here"
        pytest.skip(f"NATS JetStream is not reachable at {NATS_URL}: {exc!r}")
    try:
        await ensure_stream(client)
    except Exception as exc:
        await client.close()
        pytest.skip(f"NATS at {NATS_URL} has no JetStream: {exc!r}")
    yield client
    await client.close()
