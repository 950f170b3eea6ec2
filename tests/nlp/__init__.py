"""Tests of spaCy pipelines, analysis and the evaluation of suggestions."""
