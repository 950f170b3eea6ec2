"""Storage: the models, the database connection and the migrations."""

from coding.store.db import Store, StoreError, shared_store
from coding.store.engine import resolve_url

__all__ = ["Store", "StoreError", "resolve_url", "shared_store"]
