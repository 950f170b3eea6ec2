"""Tests of excerpts, quote banks, matrices and the one table writer."""
