"""The periodic jobs' shared schedule and their run history (docs/deployment.md)."""
