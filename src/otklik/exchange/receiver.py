"""A reference ИАС МКГУ receiver: what the tests send to, and the demo's local receiver.

It honours ``Idempotency-Key`` (a repeated key gets the first receipt and stores nothing),
checks the manifest's count and SHA-256 and refuses what does not match. ``faults`` lets a test
make it misbehave, one planned fault per request: ``error`` (500, nothing stored), ``lost``
(stored, then 500 — the reply is lost), ``slow`` (stored, then the reply is late),
``garbage`` (stored, then a 200 that is not JSON), ``too_large`` (413).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from otklik.exchange.service import decode


@dataclass
class ReceiverState:
    token: str | None = None
    faults: list[str] = field(default_factory=list)
    slow_seconds: float = 5.0
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepted: Counter[str] = field(default_factory=Counter)  # response_key -> times stored
    requests: int = 0


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_receiver(state: ReceiverState) -> Starlette:
    async def batches(request: Request) -> Response:
        state.requests += 1
        fault = state.faults.pop(0) if state.faults else None
        if state.token and request.headers.get("authorization") != f"Bearer {state.token}":
            return _error(401, "unauthorized", "Неверный токен.")
        key = request.headers.get("idempotency-key", "")
        if not key:
            return _error(400, "idempotency_key_required", "Нет заголовка Idempotency-Key.")
        if fault == "error":
            return _error(500, "internal_error", "Сбой получателя.")
        if fault == "too_large":
            return _error(413, "too_large", "Пакет слишком велик.")
        if key in state.receipts:
            return JSONResponse(state.receipts[key])
        try:
            head, lines = decode(await request.body())
        except ValueError as exc:
            return _error(400, "malformed", f"Пакет не читается: {exc}.")
        records = "".join(line + "\n" for line in lines).encode()
        if (
            head.get("count") != len(lines)
            or head.get("sha256") != hashlib.sha256(records).hexdigest()
        ):
            return _error(
                422, "manifest_mismatch", "Число строк или SHA-256 не совпадают с манифестом."
            )
        keys = []
        for line in lines:
            record = _json(line)
            if record is None or "response_key" not in record:
                return _error(422, "malformed_record", "Строка пакета не читается.")
            keys.append(str(record["response_key"]))
        for k in keys:
            state.accepted[k] += 1
        receipt = {
            "batch_id": head.get("batch_id"),
            "accepted": len(lines),
            "receipt_id": str(uuid.uuid4()),
        }
        state.receipts[key] = receipt
        if fault == "lost":
            return _error(500, "internal_error", "Сбой после сохранения.")
        if fault == "slow":
            await asyncio.sleep(state.slow_seconds)
        if fault == "garbage":
            return PlainTextResponse("OK?")
        return JSONResponse(receipt)

    return Starlette(routes=[Route("/batches", batches, methods=["POST"])])


def _json(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
