"""The warm converter (unoserver over a real LibreOffice, and a fake server for hangs), PyAV
probes on hostile files, and the caches that let `intake retriage` convert and probe nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.app import App
from intake.videos import probe_video, probe_video_inprocess
from programs import pyav_probe
from programs.libreoffice import Document
from programs.warm_converter import WarmConverter, WarmUnavailable, find_unoserver
from samples.cases import case_zip, submission
from samples.forms import make_form_docx
from samples.photos import make_gif, make_jpeg
from samples.videos import make_audio_only, make_mp4
from samples.word97 import make_form_docs, soffice_path
from store import models as m
from tests.conftest import make_app
from validators.rules import media_check_unavailable, video_unreadable

needs_warm = pytest.mark.skipif(
    soffice_path() is None or find_unoserver() is None,
    reason="LibreOffice or unoserver (.venv-uno) not installed",
)
needs_av = pytest.mark.skipif(not pyav_probe.available(), reason="PyAV not installed")

# A stand-in for unoserver: same command line, XML-RPC `convert`; hangs on b"HANG" (with a child,
# to see the whole group die), and counts its starts.
FAKE_SERVER = """#!{python}
import os, subprocess, sys, time, xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
with open(os.environ["FAKE_STARTS"], "a") as f:
    f.write(str(os.getpid()) + "\\n")
docx = open(os.environ["FAKE_DOCX"], "rb").read()
def convert(inpath, indata, outpath, convert_to, *rest):
    data = indata.data
    if b"HANG" in data:
        child = subprocess.Popen(["sleep", "120"])
        open(os.environ["FAKE_CHILD"], "w").write(str(child.pid))
        time.sleep(120)
    return xmlrpc.client.Binary(docx)
server = SimpleXMLRPCServer(("127.0.0.1", port), allow_none=True, logRequests=False)
server.register_function(convert)
server.serve_forever()
"""


@pytest.fixture
def fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "unoserver"
    script.write_text(FAKE_SERVER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "result.docx").write_bytes(make_form_docx())
    monkeypatch.setenv("FAKE_STARTS", str(tmp_path / "starts"))
    monkeypatch.setenv("FAKE_DOCX", str(tmp_path / "result.docx"))
    monkeypatch.setenv("FAKE_CHILD", str(tmp_path / "child.pid"))
    return script


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def test_a_doc_that_hangs_the_converter_times_out_and_the_next_converts(
    fake_server: Path,
) -> None:
    warm = WarmConverter(server=str(fake_server), soffice=sys.executable, timeout=2)
    try:
        started = time.monotonic()
        a, hang, c = warm.convert(
            [
                Document("a.doc", OLE + b"a", "doc"),
                Document("b.doc", OLE + b"HANG", "doc"),
                Document("c.doc", OLE + b"c", "doc"),
            ]
        )
        assert time.monotonic() - started < 30
        assert a.ok and c.ok
        assert not hang.ok and not hang.file_fault and "timed out" in (hang.error or "")
        starts = (fake_server.parent / "starts").read_text().split()
        assert len(starts) == 2  # a fresh server after the hang
        assert not _alive(int(starts[0]))
        child = int((fake_server.parent / "child.pid").read_text())
        assert not _alive(child), "the hung server's process group was not killed"
    finally:
        warm.close()
    assert warm.pid is None


def test_no_server_means_unavailable_and_the_cold_path_takes_over(tmp_path: Path) -> None:
    missing = WarmConverter(server=str(tmp_path / "no-unoserver"), soffice=sys.executable)
    with pytest.raises(WarmUnavailable):
        missing.convert([Document("a.doc", OLE, "doc")])


@pytest.fixture(scope="module")
def docs() -> list[bytes]:
    if soffice_path() is None:
        pytest.skip("LibreOffice not installed")
    return make_form_docs([make_form_docx(category=c) for c in ("park", "enterprise", "community")])


class _KillsMidBatch(WarmConverter):
    """Kills its own server (the whole group, LibreOffice included) before the 3rd conversion."""

    calls = 0

    def _call(self, data: bytes, timeout: float) -> bytes:
        if data.startswith(OLE):
            self.calls += 1
            if self.calls == 3 and self.pid is not None:
                os.killpg(self.pid, signal.SIGKILL)
        return super()._call(data, timeout)


@needs_warm
def test_converter_killed_mid_batch_is_restarted_and_the_file_retried(docs: list[bytes]) -> None:
    warm = _KillsMidBatch(timeout=60)
    try:
        batch = [Document(f"{i}.doc", d, "doc") for i, d in enumerate(docs * 2)]
        results = warm.convert(batch)
        assert [r.ok for r in results] == [True] * 6, [r.error for r in results]
        assert warm.restarts == 1
    finally:
        warm.close()


@needs_warm
def test_message_survives_a_killed_converter_and_retriage_converts_nothing(
    tmp_path: Path, docs: list[bytes]
) -> None:
    app = make_app(tmp_path)
    warm = _KillsMidBatch(timeout=60)
    app.pipeline.warm = warm
    try:
        zips = [
            case_zip("广东省", f"旧表格{i}", form=d, form_ext=".doc", category=c)
            for i, (d, c) in enumerate(zip(docs, ("park", "enterprise", "community"), strict=True))
        ]
        assert app.pipeline.ingest(submission("广东省", zips=zips)) == "processed"
        with app.sessions() as s:
            rows = s.scalars(select(m.Case).order_by(m.Case.id)).all()
            assert [c.category for c in rows] == ["park", "enterprise", "community"]
            found = s.scalars(select(m.Finding.code)).all()
        assert "CONVERTER_UNAVAILABLE" not in found
        assert warm.restarts == 1
        # The converted forms are kept by the .doc's sha256: retriage needs no converter.
        app.pipeline.warm = None
        app.settings.libreoffice = str(tmp_path / "no-soffice")
        app.pipeline.libreoffice = app.settings.libreoffice
        assert app.pipeline.retriage() == 1
        with app.sessions() as s:
            assert "CONVERTER_UNAVAILABLE" not in s.scalars(select(m.Finding.code)).all()
            assert [c.category for c in s.scalars(select(m.Case).order_by(m.Case.id))] == [
                "park",
                "enterprise",
                "community",
            ]
        thumbs = list((app.settings.reports / ".thumb-cache").iterdir())
        assert len(thumbs) >= 3  # made at ingest, for the report to link
    finally:
        warm.close()
        app.engine.dispose()


# -- PyAV ----------------------------------------------------------------------------------------

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


@pytest.fixture
def prober() -> Iterator[None]:
    yield
    pyav_probe.shared().close()


@needs_av
@needs_ffmpeg
def test_pyav_agrees_with_ffprobe_on_good_and_hostile_files(tmp_path: Path, prober: None) -> None:
    files = {
        "-concat:x.mp4": None,
        "audio.mp4": None,
        "cover.mp3": None,
        "still.mp4": make_jpeg(64, 48),
        "anim.mp4": make_gif(),
        "random.mp4": os.urandom(5000),
        "empty.mp4": b"",
        "ftyp.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500,
    }
    make_mp4(tmp_path / "-concat:x.mp4", 10)
    make_audio_only(tmp_path / "audio.mp4", 3)
    make_audio_only(tmp_path / "cover.mp3", 3, cover_art=True)
    for name, data in files.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    for name in files:
        ours, theirs = probe_video_inprocess(tmp_path / name), probe_video(tmp_path / name)
        assert ours.error == theirs.error, name
        assert (ours.container, ours.video_codec, ours.audio_codec) == (
            theirs.container,
            theirs.video_codec,
            theirs.audio_codec,
        ), name
        if name != "cover.mp3":  # mp3 durations are estimates, and differ by a frame or two
            assert ours.duration_s == theirs.duration_s, name
    assert probe_video_inprocess(tmp_path / "random.mp4").error is not None
    assert video_unreadable.detail_for(probe_video_inprocess(tmp_path / "anim.mp4").error) == (
        "这是 GIF 动图，不是视频"
    )


@needs_av
def test_live_playlist_named_mp4_is_refused_at_once(tmp_path: Path, prober: None) -> None:
    path = tmp_path / "live.mp4"
    path.write_bytes(b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://x/seg.ts\n")
    started = time.monotonic()
    info = probe_video_inprocess(path, timeout=20)
    assert info.error is not None and not info.error.ours
    assert time.monotonic() - started < 10


@needs_av
@needs_ffmpeg
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a fifo")
def test_probe_that_blocks_costs_one_worker_and_the_next_file_probes(
    tmp_path: Path, prober: None
) -> None:
    fifo = tmp_path / "blocks.mp4"
    os.mkfifo(fifo)  # the demuxer's open() waits for ever for a writer

    def unblock() -> None:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    rescue = threading.Timer(10, unblock)
    rescue.start()
    try:
        started = time.monotonic()
        info = probe_video_inprocess(fifo, timeout=1)
    finally:
        rescue.cancel()
    assert media_check_unavailable.detail_for(info.error) == "视频探测超时"
    assert time.monotonic() - started < 6
    good = tmp_path / "good.mp4"
    make_mp4(good, 3)
    assert probe_video_inprocess(good).duration_s == pytest.approx(3, abs=0.2)


def test_app_uses_the_warm_converter_unless_told_cold(tmp_path: Path) -> None:
    assert make_app(tmp_path).pipeline.warm is not None
    app: App = make_app(tmp_path, converter="cold")
    assert app.pipeline.warm is None
