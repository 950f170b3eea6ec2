"""Tests of the codebook tree, its files, edits and proposals."""
