"""Attachments: PDF, DOCX, XLSX, PNG, JPEG up to 20 MB, recognised by their bytes, not names."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import PayloadTooLarge, ValidationFailed
from otklik.improvement.models import Attachment

MAX_BYTES = 20 * 1024 * 1024
TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
ALLOWED = "PDF, DOCX, XLSX, PNG или JPEG"


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


def sniff(data: bytes) -> str | None:
    """The real type of ``data`` (``pdf``, ``docx``, ``xlsx``, ``png``, ``jpg``) or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return None


def safe_name(filename: str) -> str:
    name = re.sub(r"[^\w.\- ]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return (name or "file")[:200]


async def read_limited(file: Readable) -> bytes:
    """The whole upload, refusing (413) as soon as it passes 20 MB."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(1 << 20):
        size += len(chunk)
        if size > MAX_BYTES:
            raise PayloadTooLarge(
                "Файл больше 20 МБ. Уменьшите его или разделите на части.", code="file_too_large"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def validate(filename: str, data: bytes) -> tuple[str, str]:
    """``(safe file name, content type)``; a disguised or unknown file is a precise 422."""
    if not data:
        raise ValidationFailed("Файл пуст.", code="empty_file")
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge("Файл больше 20 МБ.", code="file_too_large")
    name = safe_name(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in TYPES:
        raise ValidationFailed(
            f"Можно приложить только {ALLOWED}; у файла «{name}» другое расширение.",
            code="file_type_not_allowed",
        )
    real = sniff(data)
    if real is None or TYPES[real] != TYPES[ext]:
        raise ValidationFailed(
            f"Содержимое файла «{name}» не соответствует расширению .{ext}: "
            f"можно приложить только {ALLOWED}.",
            code="file_disguised",
        )
    return name, TYPES[ext]


async def attach(
    session: AsyncSession,
    entity: str,
    entity_id: int,
    user_id: int | None,
    filename: str,
    data: bytes,
) -> Attachment:
    name, content_type = validate(filename, data)
    att = Attachment(
        entity=entity,
        entity_id=entity_id,
        filename=name,
        content_type=content_type,
        size=len(data),
        data=data,
        uploaded_by=user_id,
    )
    session.add(att)
    await session.flush()
    return att
