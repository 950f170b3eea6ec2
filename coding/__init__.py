"""Qualitative interview coding workbench: the engine (no UI imports)."""

__version__ = "0.1.0"
