"""Open data and public pages (issue 15): unauthenticated, suppressed as the cabinets."""
