"""Insights: what people write, turned into the few problems to fix."""
