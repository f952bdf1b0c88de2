"""Indicators: methodology, computation, rollups."""
