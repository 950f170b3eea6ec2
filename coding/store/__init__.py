"""Storage: the models, the database connection and the migrations."""

from coding.store.db import Store, StoreError, resolve_url, shared_store

__all__ = ["Store", "StoreError", "resolve_url", "shared_store"]
