"""parsers.archives: what comes out of zip, 7z and rar attachments, and what is refused."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import parsers.payload as payload_module
from parsers.archive_names import split_name
from parsers.archive_run import read_capped
from parsers.archives import ArchiveLimits, RarReader, archive_format, expand
from parsers.model import ArchiveProblem, ArchiveProblemKind, Attachment, Expanded
from parsers.payload import Payload, Spool
from programs import unar
from samples.archives import (
    RAR4_IMAGES,
    RAR5_SOLID_IMAGES,
    RAR_IMAGES_SHA256,
    make_7z,
    make_rar4,
    make_rar5,
    make_zip,
)
from store.blobs import BlobStore
from validators.rules import archive_tool_unavailable as tool_unavailable
from validators.rules import archive_unreadable as unreadable

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
DOCX_MEMBERS = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}


# Every test runs twice: files in memory, and files streamed into a real blob store the way the
# service runs (issue 13), each archive then read from its stored file.
SINK: BlobStore | None = None


@pytest.fixture(autouse=True, params=["memory", "store"])
def sink(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    store = BlobStore(tmp_path_factory.mktemp("blobs"))
    if request.param == "store":
        monkeypatch.setattr(payload_module, "SPOOL_MAX", 0)
        monkeypatch.setitem(globals(), "SINK", store)
    yield
    # A member refused or damaged half-way leaves nothing half-written behind.
    assert not list(store.root.rglob(".tmp-*"))


def payload(data: bytes) -> Payload:
    """An attachment as the service hands it on: in the sink's store when there is one."""
    spool = Spool(SINK)
    spool.write(data)
    return spool.finish()


def run(
    name: str,
    data: bytes,
    limits: ArchiveLimits | None = None,
    rar: RarReader | None = unar.read_member,
) -> Expanded:
    attachments = [Attachment(name, "application/octet-stream", payload(data))]
    return expand(attachments, limits or ArchiveLimits(), rar=rar, sink=SINK)


def files_of(result: Expanded) -> dict[tuple[str, ...], bytes]:
    return {f.path: f.data for f in result.files}


def detail(problem: ArchiveProblem) -> str:
    """The sentence the rules put in the notice (or the staff line) for this problem."""
    return tool_unavailable.detail_for(problem) if problem.ours else unreadable.detail_for(problem)


def reasons(result: Expanded) -> list[str]:
    return [detail(p) for p in result.problems]


def described(problems: list[ArchiveProblem]) -> list[tuple[str, str, bool]]:
    return [(p.name, detail(p), p.encrypted) for p in problems]


def problem(name: str, reason: str, encrypted: bool = False) -> tuple[str, str, bool]:
    return (name, reason, encrypted)


def rar_tool_or_skip() -> None:
    if unar.find_tool() is None:
        pytest.skip("no RAR tool (unrar, unar, 7z or bsdtar) installed")


# --- detection ----------------------------------------------------------------------------------


def test_archive_format_reads_magic_bytes() -> None:
    assert archive_format(make_zip({"a.txt": b"a"})) == "zip"
    assert archive_format(make_zip({})) == "zip"  # an empty zip starts with PK\x05\x06
    assert make_zip({}).startswith(b"PK\x05\x06")
    assert archive_format(RAR4_IMAGES) == "rar"
    assert archive_format(RAR5_SOLID_IMAGES) == "rar"
    assert archive_format(make_7z({"a.txt": b"a"})) == "7z"
    assert archive_format(b"%PDF-1.7\n") is None
    assert archive_format(b"") is None


def test_zip_based_documents_are_not_archives() -> None:
    docx = make_zip(DOCX_MEMBERS)
    assert archive_format(docx) is None
    assert (
        archive_format(make_zip({"mimetype": b"application/vnd.oasis.opendocument.text"})) is None
    )
    result = run("推荐表.docx", docx)
    assert files_of(result) == {("推荐表.docx",): docx}
    assert result.problems == []


def test_truncated_docx_is_still_a_document() -> None:
    docx = make_zip(DOCX_MEMBERS, compression=zipfile.ZIP_STORED)
    assert archive_format(docx[:60]) is None


def test_zip_named_dat_is_expanded_and_fake_zip_is_a_file() -> None:
    zipped = make_zip({"照片/1.jpg": JPEG})
    fake = b"this is not a zip at all"
    result = expand(
        [
            Attachment("材料.dat", "application/octet-stream", payload(zipped)),
            Attachment("材料.zip", "application/zip", payload(fake)),
        ]
    )
    assert files_of(result) == {("材料.dat", "照片", "1.jpg"): JPEG, ("材料.zip",): fake}
    assert result.problems == []


def test_plain_attachment_keeps_its_name_as_path() -> None:
    result = run("北京市A推荐表.pdf", b"%PDF-1.7 ...")
    assert [f.path for f in result.files] == [("北京市A推荐表.pdf",)]


def test_unsupported_compression_format_is_reported() -> None:
    result = run("材料.tar.gz", gzip.compress(b"tar bytes"))
    assert result.files == []
    assert described(result.problems) == [problem("材料.tar.gz", "不支持的压缩格式（gzip）")]


# --- names --------------------------------------------------------------------------------------


def test_path_runs_from_attachment_through_member_folders() -> None:
    zipped = make_zip({"北京市A推荐材料/照片/1.jpg": JPEG, "北京市A推荐材料/推荐表.doc": b"doc"})
    result = run("北京市A推荐材料.zip", zipped)
    assert files_of(result) == {
        ("北京市A推荐材料.zip", "北京市A推荐材料", "照片", "1.jpg"): JPEG,
        ("北京市A推荐材料.zip", "北京市A推荐材料", "推荐表.doc"): b"doc",
    }
    assert result.problems == []


@pytest.mark.parametrize("backslashes", [False, True])
def test_gbk_names_without_utf8_flag(backslashes: bool) -> None:
    # 誠 and 淺 end in byte 0x5C ("\"): splitting before decoding would cut them in two.
    names = {"北京市A推荐材料/誠信照片.jpg": JPEG, "北京市A推荐材料/淺色/说明.txt": b"txt"}
    zipped = make_zip(names, gbk_names=True, backslashes=backslashes)
    assert "誠".encode("gbk")[1:] == b"\\"
    result = run("a.zip", zipped)
    assert files_of(result) == {
        ("a.zip", "北京市A推荐材料", "誠信照片.jpg"): JPEG,
        ("a.zip", "北京市A推荐材料", "淺色", "说明.txt"): b"txt",
    }
    assert result.problems == []


def test_utf8_names_without_flag() -> None:
    zipped = make_zip({"上海/照片（说明）.jpg": JPEG}, utf8_flag=False)
    assert files_of(run("a.zip", zipped)) == {("a.zip", "上海", "照片（说明）.jpg"): JPEG}


def test_unicode_path_field_gives_the_real_name() -> None:
    # "📷" has no GBK code: WinRAR writes "?" in the raw name and the real one in 0x7075.
    zipped = make_zip({"天津/📷照片.jpg": JPEG}, unicode_path_field=True)
    assert files_of(run("a.zip", zipped)) == {("a.zip", "天津", "📷照片.jpg"): JPEG}


def test_stale_unicode_path_field_is_ignored() -> None:
    zipped = make_zip({"天津/📷照片.jpg": JPEG}, stale_unicode_path=True)
    assert files_of(run("a.zip", zipped)) == {("a.zip", "天津", "?照片.jpg"): JPEG}


def test_backslash_separators_are_folders() -> None:
    zipped = make_zip({"重庆/照片/1.jpg": JPEG}, backslashes=True)
    assert files_of(run("a.zip", zipped)) == {("a.zip", "重庆", "照片", "1.jpg"): JPEG}


def test_junk_and_directory_entries_are_ignored_silently() -> None:
    zipped = make_zip(
        {
            "材料/推荐表.docx": b"docx",
            "__MACOSX/材料/._推荐表.docx": b"resource fork",
            "材料/._照片.jpg": b"appledouble",
            "材料/Thumbs.db": b"thumbs",
            "材料/desktop.ini": b"[.ShellClassInfo]",
            "材料/.DS_Store": b"ds",
        },
        directories=["材料/", "材料/空文件夹/"],
    )
    result = run("a.zip", zipped)
    assert files_of(result) == {("a.zip", "材料", "推荐表.docx"): b"docx"}
    assert result.problems == []


# --- safety -------------------------------------------------------------------------------------


def test_path_escapes_are_refused_member_by_member() -> None:
    zipped = make_zip(
        {
            "../../etc/passwd": b"root",
            "/etc/shadow": b"x",
            "C:\\Windows\\evil.txt": b"x",
            "材料/../../up.txt": b"x",
            "材料/ok.txt": b"ok",
        }
    )
    result = run("a.zip", zipped)
    assert files_of(result) == {("a.zip", "材料", "ok.txt"): b"ok"}
    assert sorted(reasons(result)) == sorted(
        [
            "路径越界：../../etc/passwd",
            "路径越界：/etc/shadow",
            "路径越界：C:\\Windows\\evil.txt",
            "路径越界：材料/../../up.txt",
        ]
    )
    assert {p.name for p in result.problems} == {"a.zip"}


def test_symlink_entries_are_skipped_with_a_problem() -> None:
    zipped = make_zip({"材料/1.jpg": JPEG}, symlinks={"材料/passwd": "/etc/passwd"})
    result = run("a.zip", zipped)
    assert files_of(result) == {("a.zip", "材料", "1.jpg"): JPEG}
    assert reasons(result) == ["已跳过链接文件（不是普通文件）：材料/passwd"]


def test_zip_bomb_is_refused_by_ratio_before_reading() -> None:
    bomb = make_zip({"bomb.bin": bytes(50 * 1024**2), "材料/1.jpg": JPEG})
    assert len(bomb) < 200_000
    started = time.monotonic()
    result = run("a.zip", bomb)
    assert time.monotonic() - started < 2  # refused from the header, not by inflating 50 MB
    assert files_of(result) == {("a.zip", "材料", "1.jpg"): JPEG}
    assert reasons(result) == [
        "压缩包超出安全限制：压缩比异常（bomb.bin 超过 200 倍），疑似压缩炸弹"
    ]


def test_small_files_may_compress_well() -> None:
    zipped = make_zip({"blank.txt": bytes(512 * 1024)})  # 500:1, but under 1 MiB
    result = run("a.zip", zipped)
    assert files_of(result) == {("a.zip", "blank.txt"): bytes(512 * 1024)}


def test_zip_bomb_is_refused_by_total_size() -> None:
    bomb = make_zip({"bomb.bin": bytes(50 * 1024**2)})
    limits = ArchiveLimits(max_total_bytes=10 * 1024**2, max_ratio=1e9)
    result = run("a.zip", bomb, limits)
    assert result.files == []
    assert reasons(result) == ["压缩包超出安全限制：解压后总大小超过 10 MB"]


def test_total_size_is_per_message_and_stops_further_unpacking() -> None:
    limits = ArchiveLimits(max_total_bytes=10_000)
    first = make_zip({"a.bin": b"a" * 4000, "b.bin": b"b" * 4000})
    second = make_zip({"c.bin": b"c" * 4000})
    result = expand(
        [
            Attachment("1.zip", "application/zip", payload(first)),
            Attachment("2.zip", "application/zip", payload(second)),
            Attachment("3.pdf", "application/pdf", payload(b"%PDF")),
        ],
        limits,
        sink=SINK,
    )
    assert [f.path for f in result.files] == [("1.zip", "a.bin"), ("1.zip", "b.bin"), ("3.pdf",)]
    assert described(result.problems) == [
        problem("2.zip", "压缩包超出安全限制：解压后总大小超过 9.8 KB")
    ]


def test_member_size_limit_rejects_only_that_member() -> None:
    zipped = make_zip({"big.iso": b"x" * 200, "small.txt": b"ok"}, compression=zipfile.ZIP_STORED)
    result = run("a.zip", zipped, ArchiveLimits(max_member_bytes=100))
    assert files_of(result) == {("a.zip", "small.txt"): b"ok"}
    assert reasons(result) == ["压缩包超出安全限制：单个文件超过 100 字节（big.iso）"]


def test_member_count_limit_refuses_the_archive() -> None:
    zipped = make_zip({f"{i}.jpg": JPEG for i in range(5)}, directories=["a/"])
    result = run("a.zip", zipped, ArchiveLimits(max_members=3))
    assert result.files == []
    assert reasons(result) == ["压缩包超出安全限制：文件数量超过 3 个"]
    assert len(run("a.zip", zipped, ArchiveLimits(max_members=5)).files) == 5


def test_nested_archives_are_expanded_up_to_the_depth_limit() -> None:
    level3 = make_zip({"深处.txt": b"deep"})
    level2 = make_zip({"内层/第三层.zip": level3, "第二层.txt": b"two"})
    level1 = make_zip({"外层/第二层.dat": level2, "第一层.txt": b"one"})
    result = run("第一层.zip", level1)
    assert files_of(result) == {
        ("第一层.zip", "外层", "第二层.dat", "内层", "第三层.zip", "深处.txt"): b"deep",
        ("第一层.zip", "外层", "第二层.dat", "第二层.txt"): b"two",
        ("第一层.zip", "第一层.txt"): b"one",
    }
    assert result.problems == []

    limited = run("第一层.zip", level1, ArchiveLimits(max_depth=2))
    assert ("第一层.zip", "外层", "第二层.dat", "第二层.txt") in files_of(limited)
    assert described(limited.problems) == [
        problem(
            "第一层.zip/外层/第二层.dat/内层/第三层.zip", "压缩包超出安全限制：嵌套层数超过 2 层"
        )
    ]


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("a/b.txt", ("a", "b.txt")),
        ("./a//b.txt", ("a", "b.txt")),
        ("a\\b.txt", ("a", "b.txt")),
        (" /b.txt", (" ", "b.txt")),  # odd, but harmless
        ("../b.txt", None),
        ("a/.. /b.txt", None),  # Windows reads ".. " as ".."
        ("a/.../b.txt", None),
        ("\\\\server\\share\\b.txt", None),
        ("D:b.txt", None),
    ],
)
def test_member_name_splitting(name: str, parts: tuple[str, ...] | None) -> None:
    assert split_name(name) == parts


def test_read_capped_stops_one_byte_over() -> None:
    assert read_capped(io.BytesIO(b"x" * 5000), 100) == b"x" * 101
    assert read_capped(io.BytesIO(b"x" * 100), 100) == b"x" * 100


# --- encryption ---------------------------------------------------------------------------------


def test_encrypted_zip_is_reported_not_guessed() -> None:
    zipped = make_zip({"1.jpg": JPEG, "2.jpg": JPEG}, encrypted=["1.jpg", "2.jpg"])
    result = run("a.zip", zipped)
    assert result.files == []
    assert described(result.problems) == [
        problem("a.zip", "压缩包已加密，无法读取", encrypted=True)
    ]


def test_partly_encrypted_zip_keeps_the_plain_members() -> None:
    zipped = make_zip({"1.jpg": JPEG, "推荐表.doc": b"doc"}, encrypted=["推荐表.doc"])
    result = run("a.zip", zipped)
    assert files_of(result) == {("a.zip", "1.jpg"): JPEG}
    assert described(result.problems) == [
        problem("a.zip", "压缩包中有文件已加密，无法读取：推荐表.doc", encrypted=True)
    ]


@pytest.mark.parametrize("method", ["ZipCrypto", "AES256"])
def test_zip_encrypted_by_7z(tmp_path: Path, method: str) -> None:
    if shutil.which("7z") is None:
        pytest.skip("7z not installed")
    (tmp_path / "照片.jpg").write_bytes(JPEG)
    out = tmp_path / "out.zip"
    subprocess.run(
        ["7z", "a", "-tzip", "-psecret", f"-mem={method}", str(out), "照片.jpg"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = run("a.zip", out.read_bytes())
    assert result.files == []
    assert described(result.problems) == [
        problem("a.zip", "压缩包已加密，无法读取", encrypted=True)
    ]


@pytest.mark.parametrize("header_encryption", [False, True])
def test_encrypted_7z(header_encryption: bool) -> None:
    data = make_7z({"1.jpg": JPEG}, password="secret", header_encryption=header_encryption)
    result = run("a.7z", data)
    assert result.files == []
    assert described(result.problems) == [problem("a.7z", "压缩包已加密，无法读取", encrypted=True)]


def test_encrypted_rar_member_and_encrypted_rar_headers() -> None:
    rar = make_rar5({"1.jpg": JPEG, "推荐表.doc": b"doc"}, encrypted=["推荐表.doc"])
    result = run("a.rar", rar)
    assert files_of(result) == {("a.rar", "1.jpg"): JPEG}
    assert described(result.problems) == [
        problem("a.rar", "压缩包中有文件已加密，无法读取：推荐表.doc", encrypted=True)
    ]
    hidden = run("b.rar", make_rar5({}, header_encrypted=True))
    assert described(hidden.problems) == [
        problem("b.rar", "压缩包已加密，无法读取", encrypted=True)
    ]


# --- corruption ---------------------------------------------------------------------------------


def test_crc_damage_loses_only_the_damaged_member() -> None:
    zipped = bytearray(
        make_zip({"照片1.jpg": b"A" * 100, "照片2.jpg": b"B" * 100}, compression=zipfile.ZIP_STORED)
    )
    zipped[zipped.index(b"A" * 100) + 50] = ord("Z")
    result = run("a.zip", bytes(zipped))
    assert files_of(result) == {("a.zip", "照片2.jpg"): b"B" * 100}
    assert described(result.problems) == [
        problem("a.zip", "压缩包已损坏（CRC 校验失败：照片1.jpg）")
    ]


def test_truncated_zip_is_reported() -> None:
    zipped = make_zip({f"{i}.jpg": JPEG + bytes([i]) for i in range(4)})
    result = run("a.zip", zipped[: len(zipped) // 2])
    assert result.files == []
    assert reasons(result) == ["压缩包已损坏（无法读取文件目录：File is not a zip file）"]


def test_garbage_after_zip_magic_does_not_crash() -> None:
    result = run("a.zip", b"PK\x03\x04" + bytes(range(200)))
    assert result.files == []
    assert len(result.problems) == 1
    assert detail(result.problems[0]).startswith("压缩包已损坏")


def test_unsupported_zip_method_is_reported() -> None:
    zipped = bytearray(make_zip({"a.txt": b"aaa", "b.txt": b"bbb"}, compression=zipfile.ZIP_STORED))
    struct.pack_into("<H", zipped, 8, 9)  # first local header: method 9 (Deflate64)
    struct.pack_into("<H", zipped, zipped.index(b"PK\x01\x02") + 10, 9)  # its central entry
    result = run("a.zip", bytes(zipped))
    assert files_of(result) == {("a.zip", "b.txt"): b"bbb"}
    assert reasons(result) == ["不支持的压缩方式（Deflate64：a.txt）"]


def test_damaged_and_truncated_7z_do_not_crash() -> None:
    data = make_7z({"1.jpg": JPEG, "2.jpg": JPEG[::-1]})
    damaged = bytearray(data)
    damaged[40] ^= 0xFF  # inside the packed stream, which starts after the 32-byte signature header
    for broken in (bytes(damaged), data[: len(data) // 2], data[:40]):
        result = run("a.7z", broken)
        assert result.files == []
        assert len(result.problems) == 1
        assert detail(result.problems[0]).startswith("压缩包已损坏"), result.problems


def test_damaged_7z_keeps_members_completed_before_the_damage() -> None:
    first, second = random.Random(1).randbytes(20_000), random.Random(2).randbytes(20_000)
    data = bytearray(make_7z({"1.jpg": first, "2.jpg": second}))
    data[32 + 30_000] ^= 0xFF  # incompressible data: this byte belongs to 2.jpg
    result = run("a.7z", bytes(data))
    assert files_of(result) == {("a.7z", "1.jpg"): first}
    assert len(result.problems) == 1
    assert detail(result.problems[0]).startswith("压缩包已损坏（")
    assert "2.jpg" in detail(result.problems[0])


def test_truncated_rar_keeps_members_read_before_the_damage() -> None:
    rar = make_rar5({"1.jpg": JPEG, "2.jpg": JPEG[::-1]})
    result = run("a.rar", rar[: len(rar) - 200])
    assert files_of(result) == {("a.rar", "1.jpg"): JPEG}
    assert len(result.problems) == 1
    assert detail(result.problems[0]).startswith("压缩包已损坏")


# --- 7z -----------------------------------------------------------------------------------------


def test_7z_members_and_a_zip_inside_it() -> None:
    inner = make_zip({"照片/2.jpg": JPEG[::-1]})
    data = make_7z({"河北/推荐表.docx": b"docx", "河北/照片/1.jpg": JPEG, "河北/附件.zip": inner})
    result = run("河北.7z", data)
    assert files_of(result) == {
        ("河北.7z", "河北", "推荐表.docx"): b"docx",
        ("河北.7z", "河北", "照片", "1.jpg"): JPEG,
        ("河北.7z", "河北", "附件.zip", "照片", "2.jpg"): JPEG[::-1],
    }
    assert result.problems == []


def test_7z_path_escape_and_junk() -> None:
    data = make_7z({"../evil.txt": b"x", "a/.DS_Store": b"ds", "a/ok.txt": b"ok"})
    result = run("a.7z", data)
    assert files_of(result) == {("a.7z", "a", "ok.txt"): b"ok"}
    assert reasons(result) == ["路径越界：../evil.txt"]


def test_7z_bomb_is_refused_before_extracting() -> None:
    data = make_7z({"bomb.bin": bytes(20 * 1024**2)})
    result = run("a.7z", data)
    assert result.files == []
    assert reasons(result) == ["压缩包超出安全限制：压缩比超过 200 倍，疑似压缩炸弹"]


def test_7z_total_limit_keeps_the_members_that_fit() -> None:
    data = make_7z({"a.bin": b"a" * 4000, "b.bin": b"b" * 4000, "c.bin": b"c" * 4000})
    result = run("a.7z", data, ArchiveLimits(max_total_bytes=10_000))
    assert [f.path for f in result.files] == [("a.7z", "a.bin"), ("a.7z", "b.bin")]
    assert reasons(result) == ["压缩包超出安全限制：解压后总大小超过 9.8 KB"]


def test_7z_size_limits_come_from_the_listing() -> None:
    data = make_7z({"big.bin": b"x" * 300, "ok.txt": b"ok"})
    result = run("a.7z", data, ArchiveLimits(max_member_bytes=200))
    assert files_of(result) == {("a.7z", "ok.txt"): b"ok"}
    assert reasons(result) == ["压缩包超出安全限制：单个文件超过 200 字节（big.bin）"]


# --- RAR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [RAR4_IMAGES, RAR5_SOLID_IMAGES], ids=["rar4", "rar5-solid"])
def test_compressed_rar_through_the_installed_tool(data: bytes) -> None:
    rar_tool_or_skip()
    result = run("图片.rar", data)
    assert result.problems == []
    assert {f.path[-1]: hashlib.sha256(f.data).hexdigest() for f in result.files} == (
        RAR_IMAGES_SHA256
    )
    assert [f.path[:-1] for f in result.files] == [("图片.rar",), ("图片.rar",)]


def test_rar_tool_temp_files_are_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rar_tool_or_skip()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run("图片.rar", RAR4_IMAGES)
    assert len(result.files) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("no_tool", ["no reader", "no tool installed"])
def test_stored_rar_needs_no_tool(monkeypatch: pytest.MonkeyPatch, no_tool: str) -> None:
    monkeypatch.setattr(unar, "find_tool", lambda: None)
    rar = make_rar5({"山西/照片/1.jpg": JPEG, "山西/推荐表.doc": b"doc"})
    result = run("山西.rar", rar, rar=None if no_tool == "no reader" else unar.read_member)
    assert files_of(result) == {
        ("山西.rar", "山西", "照片", "1.jpg"): JPEG,
        ("山西.rar", "山西", "推荐表.doc"): b"doc",
    }
    assert result.problems == []


@pytest.mark.parametrize("no_tool", ["no reader", "no tool installed"])
def test_missing_rar_tool_is_a_staff_problem(monkeypatch: pytest.MonkeyPatch, no_tool: str) -> None:
    monkeypatch.setattr(unar, "find_tool", lambda: None)
    result = run("图片.rar", RAR4_IMAGES, rar=None if no_tool == "no reader" else unar.read_member)
    assert result.files == []
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.name == "图片.rar"
    assert problem.ours
    assert "服务器缺少 RAR 解压工具" in detail(problem)
    assert "testfile.jpg 等 2 个文件" in detail(problem)
    assert not ArchiveProblem("a.zip", ArchiveProblemKind.ENCRYPTED).ours


def test_rar4_gbk_names_with_backslashes() -> None:
    rar = make_rar4(
        {"北京市A推荐材料/誠信/淺色照片.jpg": JPEG, "北京市A推荐材料/推荐表.doc": b"doc"}
    )
    result = run("a.rar", rar)
    assert files_of(result) == {
        ("a.rar", "北京市A推荐材料", "誠信", "淺色照片.jpg"): JPEG,
        ("a.rar", "北京市A推荐材料", "推荐表.doc"): b"doc",
    }
    assert result.problems == []


def test_rar_path_escape_link_and_junk() -> None:
    rar = make_rar5(
        {"../evil.txt": b"x", "__MACOSX/._a.jpg": b"j", "a/ok.txt": b"ok"},
        symlinks={"a/link": "/etc/passwd"},
    )
    result = run("a.rar", rar)
    assert files_of(result) == {("a.rar", "a", "ok.txt"): b"ok"}
    assert reasons(result) == ["路径越界：../evil.txt", "已跳过链接文件（不是普通文件）：a/link"]


def test_rar_inside_zip() -> None:
    rar = make_rar5({"照片/1.jpg": JPEG})
    result = run("外层.zip", make_zip({"内层.rar": rar}))
    assert files_of(result) == {("外层.zip", "内层.rar", "照片", "1.jpg"): JPEG}


@pytest.mark.skipif(os.name != "posix", reason="the stand-in tool is a shell script")
def test_hanging_rar_tool_is_killed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tool = tmp_path / "unar"
    tool.write_text("#!/bin/sh\nexec sleep 30\n")
    tool.chmod(0o755)
    reader = functools.partial(unar.read_member, tool=unar.RarTool("unar", str(tool)))
    started = time.monotonic()
    result = run("图片.rar", RAR4_IMAGES, ArchiveLimits(tool_timeout_s=0.5), rar=reader)
    assert time.monotonic() - started < 10
    assert result.files == []
    assert reasons(result) == ["压缩包解压超时（超过 0.5 秒：testfile.jpg 等 2 个文件）"]
