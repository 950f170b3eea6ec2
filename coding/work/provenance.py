"""Where a coding came from: the provenances a coding may have (no imports, so the CLI's
parser can offer them without loading the store)."""

#: Provenance of a coding made by accepting a suggestion (DESIGN.md, Suggestions).
PROVENANCE_SUGGESTED = "suggested"
#: Every provenance a coding may have (the database check ``coding_provenance``).
PROVENANCES = ("typed", PROVENANCE_SUGGESTED, "adjudicated", "imported")
