"""The codebook: the tree and its file format, edits, and coders' proposals.
Imports ``coding.team`` (access, events, visibility), the store and ``coding.errors``."""
