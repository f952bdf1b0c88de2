"""Shared building blocks: base model, repository helpers, pagination, page helpers."""
