"""Reading a ``.qdpx`` (a zip written by someone else) within limits, and writing ours.

Every member name is checked before anything is read: an absolute name or one with
``..`` refuses the whole file (zip slip). Declared and actual sizes are capped, in
total and as a compression ratio (zip bombs). Only the members the project file
names are ever read.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from coding.interchange.errors import RefiError

#: Members in one archive.
MAX_MEMBERS = 20_000
#: Uncompressed bytes of all members together, as declared and as read.
MAX_TOTAL_BYTES = 512 * 1024 * 1024
#: Uncompressed bytes of the project XML.
MAX_XML_BYTES = 100 * 1024 * 1024
#: Uncompressed / compressed size of a member over RATIO_FROM bytes.
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024

# Archives we write carry this date, so two exports of the same data are byte-identical.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def _unsafe(name: str) -> str | None:
    """Why a member name is refused, or None."""
    n = name.replace("\\", "/")
    if n.startswith("/") or (len(n) > 1 and n[1] == ":") or n.startswith("//"):
        return "is an absolute path"
    if any(part == ".." for part in n.split("/")):
        return "climbs out of the archive with '..'"
    if "\x00" in n:
        return "has a NUL character in its name"
    return None


class QdpxArchive:
    """A checked ``.qdpx``: members by name, each read at most once, within the limits."""

    def __init__(self, data: bytes, filename: str):
        self.filename = filename
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
            raise RefiError(f"{filename}: is not a REFI-QDA project (.qdpx is a zip archive: {exc}); "
                            "export the project again from its tool as REFI-QDA (.qdpx)") from None
        if len(infos) > MAX_MEMBERS:
            raise RefiError(f"{filename}: holds {len(infos)} files, over the limit of {MAX_MEMBERS}; "
                            "this is not a project export")
        total = 0
        for info in infos:
            why = _unsafe(info.filename)
            if why:
                raise RefiError(f"{filename}: member {info.filename[:120]!r} {why}; the archive is refused "
                                "as unsafe and nothing was imported")
            total += info.file_size
            if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise RefiError(
                    f"{filename}: member {info.filename!r} expands {info.file_size // max(info.compress_size, 1)}"
                    f" times (limit {MAX_RATIO}); the archive looks like a zip bomb and was refused")
        if total > MAX_TOTAL_BYTES:
            raise RefiError(f"{filename}: would expand to {total // 2**20} MiB, over the limit of "
                            f"{MAX_TOTAL_BYTES // 2**20} MiB; nothing was imported")
        self.infos = {i.filename: i for i in infos if not i.is_dir()}
        self._read_total = 0

    def project_member(self) -> str:
        """The project XML: ``project.qde``, else the one ``.qde`` at the top (ATLAS.ti 26
        names it after the project)."""
        top = [n for n in self.infos if "/" not in n and n.lower().endswith(".qde")]
        for n in top:
            if n.lower() == "project.qde":
                return n
        if len(top) == 1:
            return top[0]
        raise RefiError(f"{self.filename}: has no project.qde" + (f" (several .qde files: {', '.join(top)})"
                                                                    if top else "")
                        + "; export the project again from its tool as REFI-QDA (.qdpx)")

    def find_source(self, path: str) -> str | None:
        """The member a source path names: ``internal://X`` or a relative ``X`` in
        ``sources/`` or ``Sources/`` (or at the top); None if absent."""
        rel = path.removeprefix("internal://")
        if _unsafe(rel):
            return None
        lower = {n.lower(): n for n in self.infos}
        for cand in (f"sources/{rel}", f"Sources/{rel}", rel):
            if cand in self.infos:
                return cand
            if cand.lower() in lower:
                return lower[cand.lower()]
        return None

    def read(self, name: str, *, limit: int = MAX_TOTAL_BYTES) -> bytes:
        """A member's bytes, never more than declared, ``limit`` or what is left of the total."""
        info = self.infos[name]
        cap = min(limit, MAX_TOTAL_BYTES - self._read_total)
        if info.file_size > cap:
            raise RefiError(f"{self.filename}: member {name!r} is {info.file_size // 2**20} MiB, over what is "
                            "left of the size limit; nothing was imported")
        out = bytearray()
        try:
            with self.zip.open(info) as fh:
                while chunk := fh.read(1 << 16):
                    out += chunk
                    if len(out) > info.file_size or len(out) > cap:
                        raise RefiError(f"{self.filename}: member {name!r} expands past its declared size; "
                                        "the archive is refused as unsafe")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise RefiError(f"{self.filename}: member {name!r} cannot be read ({exc}); export it again") from None
        self._read_total += len(out)
        return bytes(out)


def write_qdpx(project_xml: bytes, sources: dict[str, bytes]) -> bytes:
    """A ``.qdpx``: ``project.qde`` and ``sources/NAME`` for each source, with fixed dates."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("project.qde", project_xml),
                           *((f"sources/{n}", sources[n]) for n in sorted(sources))]:
            info = zipfile.ZipInfo(name, FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def member_stem(name: str) -> str:
    return PurePosixPath(name).stem
