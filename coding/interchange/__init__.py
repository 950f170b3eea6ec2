"""REFI-QDA exchange: import and export of projects (``.qdpx``) and codebooks (``.qdc``)
with NVivo, ATLAS.ti, MAXQDA, QualCoder and any tool that follows the standard.

Positions are converted in :mod:`coding.text.offsets` (``RefiPositions``) by the file's
origin; XML from outside is parsed with defusedxml and validated against the
standard's XSDs, which ship in ``schemas/`` (:mod:`.schema`; known harmless deviations
of real tools are accepted with a warning); archives are read within limits
(:mod:`.archive`). Codebook CSVs of Taguette and QualCoder import like a ``.qdc``
(:mod:`.codebook_csv`).
"""

from coding.interchange.errors import RefiError
from coding.interchange.exporter import LAYERS, TOOLS, export_qdc, export_qdpx
from coding.interchange.importer import import_qdc, import_qdpx
from coding.interchange.plan import read_qdc, read_qdpx
from coding.interchange.report import RefiImportReport

__all__ = ["LAYERS", "TOOLS", "RefiError", "RefiImportReport", "export_qdc", "export_qdpx", "import_qdc",
           "import_qdpx", "read_qdc", "read_qdpx"]
