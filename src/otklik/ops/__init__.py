"""Operations: liveness, readiness and metrics endpoints, key rotation, the monthly partitions
of the big tables (docs/deployment.md)."""
