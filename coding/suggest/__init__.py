"""Suggestions as a service: the processing cache, code and theme suggestions, and the
recommender measured as a third coder. Imports ``coding.nlp`` (pure), ``coding.team``,
``coding.codebook``, ``coding.work`` and the store."""
