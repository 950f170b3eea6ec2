"""Tests of offsets."""
