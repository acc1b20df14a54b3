"""A registry zip unpacked with every member checked: run in the import process.

No absolute paths, no `..`, no links, only `.csv` and `.xlsx` files, a bounded count.  Size and
rows are measured on the bytes actually unpacked, not on the sizes the zip declares (which an
attacker writes): past the limits the upload is refused before the import reads it.  The
limits come from the server with each request (`ZipLimits`), so the server's settings, not
the child's, decide.  Read from the spooled file on disk, never from a copy in memory.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from renalpath.errors import Refusal


@dataclass(frozen=True)
class ZipLimits:
    max_unpacked_bytes: int
    max_rows: int  # lines over all files
    max_members: int


class UploadRefused(Refusal, ValueError):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _safe_members(zf: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    members = [m for m in zf.infolist() if not m.is_dir()]
    if not members:
        raise UploadRefused("file: the zip is empty (expected the CSV files of a registry folder)")
    if len(members) > limits.max_members:
        raise UploadRefused(
            f"file: {len(members)} files in the zip (allowed: at most {limits.max_members})"
        )
    total = 0
    for m in members:
        name = m.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
            raise UploadRefused(f"file: unsafe path {name!r} in the zip (zip-slip refused)")
        mode = m.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRefused(f"file: {name!r} is a symbolic link (refused)")
        if path.suffix.lower() not in (".csv", ".xlsx") and not path.name.startswith("."):
            raise UploadRefused(
                f"file: {name!r} is not a .csv or .xlsx file (allowed: registry CSV files or "
                "workbooks)"
            )
        total += m.file_size
    if total > limits.max_unpacked_bytes:
        raise UploadRefused(
            f"file: the zip unpacks to {total} bytes (allowed: at most {limits.max_unpacked_bytes})"
        )
    return [m for m in members if not PurePosixPath(m.filename).name.startswith(".")]


def unpack(source: Path, dest: Path, limits: ZipLimits) -> Path:
    """Unpack the checked members of the zip at `source` into `dest` (returned)."""
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile as err:
        raise UploadRefused(f"file: not a zip archive ({err})") from err
    try:
        with zf:
            return _unpack_members(zf, dest, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        # a corrupt or falsified member (bad CRC, bad local header, unknown compression)
        raise UploadRefused(f"file: the zip cannot be unpacked ({err})") from err


def _unpack_members(zf: zipfile.ZipFile, dest: Path, limits: ZipLimits) -> Path:
    """Unpack the checked members, measuring bytes and rows as they are written."""
    members = _safe_members(zf, limits)
    folders = {PurePosixPath(m.filename).parent for m in members}
    if len(folders) != 1:
        raise UploadRefused(
            "file: the CSV files must all be in one folder of the zip "
            f"(found {', '.join(sorted(str(f) for f in folders))})"
        )
    total = rows = 0
    for m in members:
        target = dest / PurePosixPath(m.filename).name
        with zf.open(m) as src, target.open("wb") as out:
            written = 0
            while chunk := src.read(1 << 20):
                written += len(chunk)
                total += len(chunk)
                rows += chunk.count(b"\n")
                if written > m.file_size:  # a lying header: stop, do not trust it
                    raise UploadRefused(f"file: {m.filename!r} is larger than declared")
                if total > limits.max_unpacked_bytes:
                    raise UploadRefused(
                        f"file: the zip unpacks to more than {limits.max_unpacked_bytes} bytes "
                        f"(allowed: at most {limits.max_unpacked_bytes})"
                    )
                if rows > limits.max_rows:
                    raise UploadRefused(
                        f"file: the CSV files hold more than {limits.max_rows} rows "
                        f"(allowed: at most {limits.max_rows})"
                    )
                out.write(chunk)
    return dest
