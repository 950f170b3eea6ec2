"""The coded work: documents, codings, memos, rounds, adjudication, snapshots and
counts. Imports ``coding.team``, ``coding.codebook``, ``coding.text``, ``coding.importing``
and the store."""
