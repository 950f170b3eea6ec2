"""Agreement between coders: spans to units (units.py with characters.py, sentences.py,
segments.py; unitizing.py for u-alpha), units to coefficients (coefficients.py, alpha.py,
intervals.py, two_by_two.py), and project.py joining them to the stored codings (tables.py
writes its reports)."""
