"""What the poller reads from, and does to, the mail on the server.

New UIDs go in batches bounded in count and in bytes; a batch's messages are fetched with
`BODY.PEEK[]` (plain `BODY[]` would mark them read under the staff's eyes); once a message's raw
bytes are stored it may be flagged or moved, as configured.  The poll itself (the mark, the
reconnects, handing messages to the pipeline) is `intake.imap`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from intake.imap_connection import error_text

FETCH_ITEMS = ["BODY.PEEK[]", "INTERNALDATE"]
BODY = b"BODY[]"
# A batch is also bounded in bytes: a season's mail averages 17 MB, with videos far more.
MAX_BATCH_BYTES = 64 * 1024 * 1024
# UIDs per FETCH of sizes, and per query of already-known UIDs (keeps command lines short).
WINDOW = 500


def uid_batches(
    uids: Sequence[int], sizes: dict[int, int], max_count: int, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[list[int]]:
    """UIDs in order, in batches of at most `max_count` messages and `max_bytes` (a single
    larger message goes alone)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= max_count or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    """Each message's size as the server states it, for `uid_batches`."""
    found = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
    return {uid: int(item.get(b"RFC822.SIZE", 0)) for uid, item in found.items()}


def fetch(client: IMAPClient, uids: list[int]) -> Iterator[tuple[int, bytes, datetime | None]]:
    """Each message still there: its UID, raw bytes and when the server received it.  A UID
    expunged by someone since it was found is missing."""
    data: dict[int, dict[bytes, Any]] = client.fetch(uids, FETCH_ITEMS) if uids else {}
    for uid in uids:
        item = data.pop(uid, None) or {}  # pop: let the bytes go as soon as they are handed on
        raw = item.get(BODY)
        if isinstance(raw, bytes):
            yield uid, raw, _utc(item.get(b"INTERNALDATE"))


def mark(client: IMAPClient, uids: list[int], flag: str, target: str) -> str | None:
    """Flag and/or move mail whose raw bytes are stored.  A NO from the server (the target
    folder cannot be created, say) comes back as its text: it must not stop intake."""
    try:
        if flag:
            client.add_flags(uids, [flag], silent=True)
        if target:
            if client.has_capability("MOVE"):
                client.move(uids, target)
            else:
                # Without MOVE: copy, then flag \Deleted and expunge only these UIDs.
                client.copy(uids, target)
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        return error_text(exc)
    return None


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
