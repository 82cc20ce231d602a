"""Local message sources for `intake ingest`: .eml files, folders, Maildirs and mbox files."""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Extensions under which real mail is saved; anything else in a folder is not taken for mail.
MAIL_SUFFIXES = {".eml", ".msg", ".txt", ".box", ".mbox", ".mbx", ".mail", ""}


@dataclass(frozen=True)
class LocalMessage:
    key: str
    raw: bytes


def is_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def is_maildir(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("cur", "new", "tmp"))


def collect(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Mail files and Maildirs under the given paths, plus what was skipped as not mail."""
    found: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir() and is_maildir(path):
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                here = Path(root)
                if is_maildir(here):
                    found.append(here)
                    dirs[:] = []
                    continue
                for name in sorted(files):
                    p = here / name
                    if name.startswith(".") or p.suffix.lower() not in MAIL_SUFFIXES:
                        skipped.append(p)
                    else:
                        found.append(p)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(path)
    return found, skipped


def read_messages(path: Path) -> Iterator[LocalMessage]:
    """The raw messages at a path: one for a file, many for an mbox or a Maildir."""
    if path.is_dir():
        md = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(md.iterkeys()):
            with md.get_file(key) as fh:
                yield LocalMessage(f"maildir:{path.resolve()}:{key}", fh.read())
    elif is_mbox(path):
        box = mailbox.mbox(path, factory=None, create=False)
        for i, key in enumerate(box.iterkeys()):
            yield LocalMessage(f"mbox:{path.resolve()}#{i}", box.get_bytes(key))
    else:
        yield LocalMessage(f"file:{path.resolve()}", path.read_bytes())
