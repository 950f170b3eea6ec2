"""Tests of documents, codings, memos, rounds, adjudication, snapshots, counts, staged imports."""
