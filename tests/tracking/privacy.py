"""Privacy check for tracking stores: is any needle (a patient id, say) anywhere on disk?

Used by every test that logs something derived from a cohort::

    hits = scan_tracking_store([tmp_path], ids)
    assert hits == []
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["scan_tracking_store"]

# sqlite keeps recent writes in side files until a checkpoint; scan them with the database.
_SQLITE_SIDE_FILES = ("-wal", "-journal", "-shm")


def scan_tracking_store(paths: Iterable[Path], needles: Iterable[str]) -> list[str]:
    """Every ``"<file>: <needle>"`` where a needle's bytes occur in a file under ``paths``.

    ``paths`` are files (a sqlite database; its ``-wal``/``-journal`` side files are read too)
    or folders, read recursively: databases, artifacts, anything. Each file is read as bytes
    and searched case-sensitively for each needle encoded as UTF-8 (how sqlite, JSON and
    pickles store text) and as UTF-16-LE. Bytes of deleted rows still in the database file
    count as hits. Compressed files (zip, gzip, parquet) are not decompressed.

    Raises ``ValueError`` for an empty needle (it would match everything) and when nothing
    was scanned (a missing path, an empty folder): a privacy check that reads no bytes would
    pass vacuously.
    """
    patterns: list[tuple[str, tuple[bytes, ...]]] = []
    for needle in needles:
        text = str(needle)
        if not text:
            raise ValueError("Empty needle: it would match every file.")
        patterns.append((text, (text.encode("utf-8"), text.encode("utf-16-le"))))
    files = sorted(set(_files(paths)))
    if not files:
        raise ValueError("No files to scan: the paths are missing or empty.")
    hits = []
    for file in files:
        data = file.read_bytes()
        hits.extend(f"{file}: {text}" for text, encoded in patterns
                    if any(e in data for e in encoded))
    return hits


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
            for suffix in _SQLITE_SIDE_FILES:
                side = path.with_name(path.name + suffix)
                if side.is_file():
                    yield side
        else:
            raise ValueError(f"Nothing to scan at {path}: no such file or folder.")
