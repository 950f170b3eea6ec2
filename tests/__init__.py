"""The test suite: one folder per sub-package of ``coding`` (browser tests apart)."""
