"""The codebook: the tree and its file format, edits (add, rename, edit, move), restructuring
(merge, split, delete), the history of edits, and coders' proposals.
Imports ``coding.team`` (access, events, visibility), the store and ``coding.errors``."""
