"""NLP for the engine: spaCy pipelines, per-document analysis, themes and code suggestions.

Pure (no store): :mod:`coding.suggest.suggestions` reads and writes the processing cache.
spaCy and scikit-learn are imported only when a function that needs them runs, so
``import coding.nlp`` (and the CLI, and pages without suggestions) stay fast.
"""

from __future__ import annotations

import importlib

# name -> submodule; resolved on first access (PEP 562)
_LAZY = {
    "load_pipeline": "pipeline", "sentence_spans": "pipeline", "pipeline_name": "pipeline",
    "CHUNK_CHARS": "pipeline", "ENGLISH_PACKAGES": "pipeline",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'coding.nlp' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
