"""Suggestions as a service: the processing cache (processing), units, layers and the trained
model (units), codes for a passage (suggestions), emergent themes (themes), more like a code
(passages), keyphrases, and the recommender measured as a third coder. Imports ``coding.nlp`` (pure), ``coding.team``,
``coding.codebook``, ``coding.work`` and the store."""
