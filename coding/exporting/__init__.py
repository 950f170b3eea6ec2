"""Retrieve and export: the excerpts query (the blind rule applied), matrices over it,
and writers (CSV, XLSX, Markdown, DOCX) over its records."""
