"""Operations: liveness, readiness and metrics endpoints (docs/deployment.md)."""
