"""A cache of parsed entry files, so that the terminal commands need not parse 600 YAML files
with node positions on every run (about half of `kb query`'s time).

It maps each entry file's path and the sha256 of its bytes to the data parsed from it, for files
that parsed and validated; a file that changed, or any file of a parser of another version, is
parsed again. What it gives is validated by the schema again, so a damaged or forged cache can
never make an entry that the schema refuses, only stale one as far as the YAML rules go: kb check
(and kb build through it) never reads it, and parses every file afresh with its positions.
The file is ``<cache_dir>/entries.json``, replaced atomically; one that cannot be read or written
is left alone and the files are parsed, as with no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

# Bump when what kb.yamlpos makes of a file changes in a way its source does not show (a rule of
# pyyaml's, say); its source, kb.chars' and pyyaml's version are part of the key too.
FORMAT = 1
CACHE_FILE = "entries.json"
MAX_BYTES = 200_000_000  # about 1 kB an entry: far more than any knowledge base needs


def _parser_version() -> str:
    import yaml

    import kb.chars
    import kb.yamlpos

    source = Path(kb.yamlpos.__file__).read_bytes() + Path(kb.chars.__file__).read_bytes()
    return f"{FORMAT}:{yaml.__version__}:{hashlib.sha256(source).hexdigest()[:16]}"


def digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


class ParseCache:
    """Parsed data by (path relative to the root, sha256 of the file's bytes)."""

    def __init__(self, folder: Path, *, fresh: bool = False):
        """``fresh``: read nothing from the file, only fill it (kb check parses every file anew, with
        the positions its problems are placed by, and leaves what it parsed for the next command)."""
        self.path = folder / CACHE_FILE
        self.version = _parser_version()
        self.rows: dict[str, tuple[str, dict[str, Any]]] = {}
        self.used: set[str] = set()
        self.changed = False
        # kb check's findings beyond the schema, as (fingerprint of what they were found in, rows of
        # [path, field, message]): see ``notes_key``.
        self.notes: tuple[str, list[list[str]]] | None = None
        # Whatever is there (a link to /dev/zero, a FIFO, JSON nested past the recursion limit, rows
        # of other shapes) means no cache, never a hang or a traceback.
        with contextlib.suppress(Exception):
            self.rows = {} if fresh else self._read()

    def _read(self) -> dict[str, tuple[str, dict[str, Any]]]:
        if not stat.S_ISREG(self.path.stat().st_mode):
            return {}
        with self.path.open("rb") as fh:
            text = fh.read(MAX_BYTES + 1)
        data = json.loads(text) if len(text) <= MAX_BYTES else {}
        if not isinstance(data, dict) or data.get("version") != self.version:
            return {}
        notes = data.get("notes")
        if isinstance(notes, list) and len(notes) == 2 and isinstance(notes[0], str) and isinstance(notes[1], list):
            rows = notes[1]
            if all(isinstance(r, list) and len(r) == 3 and all(isinstance(x, str) for x in r) for r in rows):
                self.notes = (notes[0], rows)
        return {
            rel: (sha, parsed)
            for rel, (sha, parsed) in data["files"].items()
            if isinstance(sha, str) and isinstance(parsed, dict)
        }

    def get(self, rel: str, sha: str) -> dict[str, Any] | None:
        row = self.rows.get(rel)
        if row is None or row[0] != sha:
            return None
        self.used.add(rel)
        return row[1]

    def put(self, rel: str, sha: str, parsed: dict[str, Any]) -> None:
        self.rows[rel] = (sha, parsed)
        self.used.add(rel)
        self.changed = True

    def fingerprint(self, *also: str) -> str:
        """A digest of every file this run used, as read (path and sha256), and of ``also``."""
        h = hashlib.sha256("\0".join(also).encode())
        for rel in sorted(self.used):
            h.update(f"\n{rel}\0{self.rows[rel][0]}".encode())
        return h.hexdigest()

    def notes_key(self, files: int, taxonomies: str, day: str) -> str | None:
        """What kb check's notes on the knowledge base are remembered by: the entry files as this
        run read them, the taxonomies' digest and the day (a date in the future becomes one that is
        not); None unless all ``files`` of the knowledge base were read through this cache and the
        taxonomies were read from files."""
        if len(self.used) != files or not taxonomies:
            return None
        return self.fingerprint(taxonomies, day)

    def known_notes(self, key: str) -> list[list[str]] | None:
        return self.notes[1] if self.notes is not None and self.notes[0] == key else None

    def remember_notes(self, key: str, rows: list[list[str]]) -> None:
        self.notes = (key, rows)
        self.changed = True

    def save(self) -> None:
        """Write what this run used (files gone or edited drop out), when anything changed; a
        cache that cannot be written is no error: the files are parsed next time, as now."""
        if not self.changed and set(self.rows) == self.used:
            return
        files = {rel: list(self.rows[rel]) for rel in sorted(self.used)}
        data: dict[str, Any] = {"version": self.version, "files": files}
        if self.notes is not None:
            data["notes"] = list(self.notes)
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is as readable as the KB
            os.replace(tmp, self.path)
            self.rows, self.changed = {rel: self.rows[rel] for rel in self.used}, False
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
