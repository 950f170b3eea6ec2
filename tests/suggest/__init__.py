"""Tests of processing, code and theme suggestions, the recommender as a third coder."""
