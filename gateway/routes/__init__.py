"""The public API, one module per area; importing them registers their routes on `api`."""

from gateway.routes import accounts, admin, directory, holds, logs, purchases  # noqa: F401
from gateway.routes.registry import api

__all__ = ["api"]
