"""Large files straight into the blob store as they are read (issue 13), byte for byte.

`parse_mail` and `expand` with a sink must hand on exactly the bytes they hand on without one:
the chunked base64 decode cuts the body wherever its steps end, and a member streamed into the
store must be the member.  Failures of the store are the service's, never the message's.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import os
import signal
import tracemalloc
from pathlib import Path

import pytest

import parsers.mail as mail_module
import parsers.mail_blobs as blobs_module
import parsers.payload as payload_module
from parsers.archives import ArchiveLimits, expand
from parsers.mail import parse_mail
from parsers.model import ArchiveProblemKind, Attachment
from parsers.payload import Payload, SinkFailed, Spool
from programs import unar
from samples.archives import make_7z, make_rar5, make_zip
from samples.mail import build_submission
from store.blobs import BlobStore

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpus"
MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(store: BlobStore) -> list[Path]:
    return list(store.root.rglob(".tmp-*"))


@pytest.mark.parametrize("extra", [0, 1, 2])  # no padding, "==", "="
@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_large_attachment_is_decoded_into_the_store_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: int, newline: bytes
) -> None:
    video = os.urandom(5 * MiB + extra)
    raw = build_submission(attachments=[("北京市视频.mp4", video), ("说明.txt", b"short")])
    raw = raw.replace(b"\r\n", newline)
    store = BlobStore(tmp_path / "blobs")
    # Steps that end mid-line and mid-quartet, so the carry between steps is exercised.
    monkeypatch.setattr(blobs_module, "_DECODE_STEP", 1_000_003)

    stored = parse_mail(raw, store)
    plain = parse_mail(raw)

    assert [(a.name, a.content_type) for a in stored.attachments] == [
        (a.name, a.content_type) for a in plain.attachments
    ]
    big = stored.attachments[0].payload
    assert big.stored and big.size == len(video)
    assert big.sha256 == sha(video) and big.path == store.path_for(sha(video))
    assert big.path.read_bytes() == video == plain.attachments[0].data
    assert big.sample() == video[: payload_module.HEAD] + video[-payload_module.TAIL :]
    assert not stored.attachments[1].payload.stored  # small files stay in memory
    assert stored.attachments[1].data == b"short"
    assert leftovers(store) == []


def test_bodies_run_together_decode_as_the_stdlib_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Padding in the middle of a body (two encoders' output pasted together): one lenient call
    # decodes that, never the chunked path, whose steps could read it differently.
    first, second = os.urandom(3 * MiB + 1), os.urandom(2 * MiB)
    body = base64.encodebytes(first) + base64.encodebytes(second)
    raw = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n'
        b"hello\r\n--B\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="a.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body.replace(b"\n", b"\r\n") + b"--B--\r\n"
    )
    monkeypatch.setattr(blobs_module, "_DECODE_STEP", 65_537)
    stored = parse_mail(raw, BlobStore(tmp_path / "blobs"))
    monkeypatch.setattr(mail_module, "BLOB_MIN", 10**12)  # the stdlib's own parse and decode
    plain = parse_mail(raw)
    assert [a.data for a in stored.attachments] == [a.data for a in plain.attachments]


def test_zip_member_is_streamed_into_the_store(tmp_path: Path) -> None:
    video = os.urandom(3 * MiB)
    zipped = make_zip({"材料/视频.mp4": video, "材料/表.txt": b"form"})
    store = BlobStore(tmp_path / "blobs")
    spool = Spool(store)
    spool.write(zipped)
    archive = spool.finish()
    assert archive.stored

    result = expand([Attachment("材料.zip", "application/zip", archive)], sink=store)

    files = {f.path: f.payload for f in result.files}
    member = files[("材料.zip", "材料", "视频.mp4")]
    assert member.stored and member.sha256 == sha(video) and member.read() == video
    assert files[("材料.zip", "材料", "表.txt")].read() == b"form"
    assert leftovers(store) == []


def test_7z_member_is_streamed_into_the_store(tmp_path: Path) -> None:
    video = os.urandom(3 * MiB)
    store = BlobStore(tmp_path / "blobs")
    archive = Payload.of(make_7z({"材料/视频.mp4": video, "材料/表.txt": b"form"}))

    result = expand([Attachment("材料.7z", "application/x-7z-compressed", archive)], sink=store)

    files = {f.path: f.payload for f in result.files}
    member = files[("材料.7z", "材料", "视频.mp4")]
    assert member.stored and member.sha256 == sha(video) and member.read() == video
    assert files[("材料.7z", "材料", "表.txt")].read() == b"form"
    assert leftovers(store) == []


def stand_in_rar_tool(tmp_path: Path, writes: int) -> unar.RarTool:
    """A "RAR tool" that writes `writes` zero bytes, whatever it is asked: nothing here can make
    a compressed RAR, so the member it "decompresses" is stored zeros the headers call method 3.
    How its writing ended (head's exit status) goes to `status` beside it."""
    tool = tmp_path / "unar"
    status = tmp_path / "status"
    tool.write_text(f"#!/bin/sh\nhead -c {writes} /dev/zero\necho $? > {status}\n")
    tool.chmod(0o755)
    return unar.RarTool("unar", str(tool))


def test_compressed_rar_member_goes_from_the_tool_to_the_store_in_chunks(tmp_path: Path) -> None:
    # Before: the archive read whole, the member's bytes copied out for the tool, and the
    # tool's output captured whole, then joined: a 40 MB member cost this process ~160 MB.
    video = bytes(40 * MiB)
    store = BlobStore(tmp_path / "blobs")
    spool = Spool(store)
    spool.write(make_rar5({"材料/视频.mp4": video}, method=3))
    archive = spool.finish()
    reader = functools.partial(unar.read_member, tool=stand_in_rar_tool(tmp_path, len(video)))

    tracemalloc.start()
    try:
        result = expand([Attachment("材料.rar", "", archive)], rar=reader, sink=store)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.problems == []
    [member] = [f.payload for f in result.files]
    assert member.stored and member.sha256 == sha(video)
    assert peak < 8 * MiB, f"{peak / MiB:.0f} MiB held while expanding"
    assert leftovers(store) == []


def test_rar_tool_writing_past_the_member_cap_is_stopped(tmp_path: Path) -> None:
    # A tool that writes on and on (a lying header, a decoder bug) is stopped by the kernel one
    # byte past the cap: the member is over its limit, and the disk is not filled.
    archive = Payload.of(make_rar5({"材料/视频.mp4": bytes(1000)}, method=3))
    reader = functools.partial(unar.read_member, tool=stand_in_rar_tool(tmp_path, 100 * MiB))
    limits = ArchiveLimits(max_member_bytes=4000)

    result = expand([Attachment("材料.rar", "", archive)], limits, rar=reader)

    assert result.files == []
    [problem] = result.problems
    assert problem.kind == ArchiveProblemKind.MEMBER_TOO_LARGE
    assert problem.members == ("材料/视频.mp4",)
    # 128 + SIGXFSZ: head was stopped at the cap, not left to write its 100 MB.
    assert (tmp_path / "status").read_text().strip() == str(128 + signal.SIGXFSZ)


def test_spool_keeps_small_files_in_memory_and_abort_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    small = Spool(store)
    small.write(b"x" * 1000)
    kept = small.finish()
    assert not kept.stored and kept.read() == b"x" * 1000
    assert Spool(store).finish().read() == b""

    big = Spool(store, spool_max=10)
    big.write(b"y" * 100)
    assert len(leftovers(store)) == 1  # written to a temporary file as it came
    big.abort()
    assert leftovers(store) == []
    assert not any(p.is_file() for p in store.root.rglob("*"))


def test_a_failing_store_is_the_services_failure_not_the_messages(tmp_path: Path) -> None:
    # A store whose folder cannot be made (a file sits at its place): as a full disk would.
    (tmp_path / "blobs").write_bytes(b"")
    broken = BlobStore(tmp_path / "blobs")
    raw = build_submission(attachments=[("北京市视频.mp4", os.urandom(2 * MiB))])
    with pytest.raises(SinkFailed):  # an OSError: the pipeline keeps the claim and retries
        parse_mail(raw, broken)
    zipped = make_zip({"视频.mp4": os.urandom(2 * MiB)})
    attachment = Attachment("材料.zip", "application/zip", Payload.of(zipped))
    with pytest.raises(SinkFailed):
        expand([attachment], sink=broken)


def _corpus_files() -> list[Path]:
    found = []
    for name in ("public", "real2"):
        manifest = CORPORA / name / "MANIFEST.tsv"
        if manifest.exists():
            with manifest.open(encoding="utf-8", newline="") as fh:
                found += [CORPORA / name / r["file"] for r in csv.DictReader(fh, delimiter="\t")]
    return found


CORPUS = _corpus_files()


@pytest.mark.skipif(not CORPUS, reason=f"corpus not present at {CORPORA}")
def test_real_mail_gives_the_same_files_through_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every body and member through the store, the decode in small steps: the 1,276 real and
    # broken messages must give the same files, byte for byte, as the in-memory path.
    store = BlobStore(tmp_path / "blobs")

    def files(raw: bytes, sink: BlobStore | None) -> list[tuple[object, ...]]:
        mail = parse_mail(raw, sink)
        expanded = expand([a for a in mail.attachments if not a.inline], sink=sink)
        return [(a.name, a.content_type, a.inline, sha(a.data)) for a in mail.attachments] + [
            (f.path, sha(f.data)) for f in expanded.files
        ]

    differ = []
    for path in CORPUS:
        raw = path.read_bytes()
        with monkeypatch.context() as patch:
            patch.setattr(mail_module, "BLOB_MIN", 1)
            plain = files(raw, None)
            patch.setattr(payload_module, "SPOOL_MAX", 0)
            patch.setattr(blobs_module, "_DECODE_STEP", 4099)
            if files(raw, store) != plain:
                differ.append(path.name)
    assert differ == []
    assert leftovers(store) == []
