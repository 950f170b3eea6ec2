"""Agreement between coders: spans to units (units.py), units to coefficients (coefficients.py)."""
