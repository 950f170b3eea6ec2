"""Finding and reading transcript files on disk, refusing what is not a plain file.

A folder is walked without following links. Every entry with a transcript
suffix is returned, whatever it is, so that a link, a named pipe or a device in
the folder is refused by name (:func:`read_regular_file`) instead of being
skipped in silence or read (a link to ``/etc/passwd``, a FIFO that would block
forever). A link to a folder inside a folder is not followed and is reported.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from coding.errors import InputFileError
from coding.importing import limits
from coding.importing.formats import SUPPORTED_SUFFIXES
from coding.importing.limits import display_name, human_size

_KINDS = (
    (stat.S_ISLNK, "a symbolic link, not a file",
     "Import the file it points to, or copy the transcript itself into the folder, and import again"),
    (stat.S_ISDIR, "a folder, not a file", "Give the folder itself to import the transcripts in it"),
    (stat.S_ISFIFO, "a named pipe (FIFO), not a file", "Import a saved transcript file"),
    (stat.S_ISSOCK, "a socket, not a file", "Import a saved transcript file"),
    (stat.S_ISCHR, "a character device, not a file", "Import a saved transcript file"),
    (stat.S_ISBLK, "a block device, not a file", "Import a saved transcript file"),
)


def _not_regular(name: str, mode: int) -> InputFileError:
    for test, problem, fix in _KINDS:
        if test(mode):
            return InputFileError(name, f"is {problem}", fix)
    return InputFileError(name, "is not a regular file", "Import a saved transcript file")


def _unreadable(name: str, exc: OSError) -> InputFileError:
    if exc.errno == errno.ENOENT:
        return InputFileError(name, "no such file", "Check the path")
    if exc.errno == errno.ELOOP:
        return InputFileError(name, "is a symbolic link, not a file", _KINDS[0][2])
    reason = exc.strerror or type(exc).__name__
    return InputFileError(name, f"cannot be read ({reason})",
                          "Check that the file exists and that you may read it (its permissions), and import again")


def _too_big(name: str, size: int) -> InputFileError:
    return InputFileError(
        name, f"is {human_size(size)}, over the import limit of {human_size(limits.MAX_FILE_BYTES)}",
        "Split the transcript into smaller files and import them separately",
    )


def read_regular_file(path: str | Path) -> bytes:
    """The bytes of a regular file, at most :data:`limits.MAX_FILE_BYTES`.

    Refused with :class:`InputFileError` (never an ``OSError``): missing or
    unreadable files, symbolic links, folders, FIFOs, sockets and devices. The
    file is opened without following a link and without blocking, and checked
    again once open, so swapping it for a link or a pipe in between does not help.
    """
    name = display_name(str(path))
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(name, st.st_mode)
    if st.st_size > limits.MAX_FILE_BYTES:
        raise _too_big(name, st.st_size)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(name, st.st_mode)
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limits.MAX_FILE_BYTES:  # a file that grows, or a size the file system got wrong
                raise _too_big(name, total)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    finally:
        os.close(fd)


def expand_paths(paths: list[str | Path], notes: list[str] | None = None) -> list[Path]:
    """Files as given, and the entries with a transcript suffix inside given folders
    (sorted, links not followed). Links to folders found inside are listed in ``notes``."""
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            out.append(p)
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(p, followlinks=False):
            for d in list(dirs):
                if os.path.islink(os.path.join(root, d)):
                    dirs.remove(d)
                    if notes is not None:
                        notes.append(f"{display_name(os.path.join(root, d))}: is a link to a folder; "
                                     "not followed, its files were not imported. Give that folder itself to "
                                     "import them")
            found.extend(Path(root, f) for f in files if Path(f).suffix.lower() in SUPPORTED_SUFFIXES)
        out.extend(sorted(found))
    return out
