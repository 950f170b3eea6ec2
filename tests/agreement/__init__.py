"""Tests of units, coefficients (against published values), unitizing, project agreement."""
