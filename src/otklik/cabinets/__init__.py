"""Cabinets: role-scoped pages."""
