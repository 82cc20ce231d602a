"""`intake retriage` reuses what was read from the bytes alone (forms, message facts, lists),
judges everything that depends on the campaign again, and never meets a stale entry."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.model import DEFAULT_FORM_FIELDS
from intake import derived as derived_module
from intake import workers as workers_module
from intake.app import App
from intake.derived import Derived, MessageBytes
from intake.workers import retriage_all
from parsers.model import (
    ArchiveDamage,
    ArchiveProblem,
    ArchiveProblemKind,
    CloudLink,
    Expiry,
)
from samples.cases import case_zip, submission
from samples.forms import make_form_docx
from store import models as m
from store.blobs import BlobStore
from tests.conftest import make_app
from tests.test_pipeline import cases, codes
from tests.test_triage import candidate_list_docx


def _ingest(app: App, **kw: object) -> m.Case:
    zips = [case_zip("北京市", "光伏园区", **kw)]  # type: ignore[arg-type]
    assert app.pipeline.ingest(submission("北京市", zips=zips)) == "processed"
    return cases(app)[-1]


def _findings(app: App) -> list[tuple[str | None, str, str]]:
    with app.sessions() as s:
        rows = s.scalars(select(m.Finding)).all()
        return sorted((f.level, f.code, f.detail) for f in rows)


def _raw_sha(app: App) -> str:
    with app.sessions() as s:
        return s.scalars(select(m.Message.raw_sha256)).one()


def _form_sha(case: m.Case) -> str:
    return next(f.sha256 for f in case.files if f.role == "form_word")


def _entries(app: App, kind: str, sha256: str) -> list[Path]:
    return sorted((app.blobs.root / "derived" / kind / sha256[:2]).glob(f"{sha256}.*.json"))


def _campaign_with_form(app: App, tmp_path: Path, aliases: dict[str, list[str]]) -> str:
    """The app's campaign file with a [form] of the default fields plus `aliases`."""
    text = app.settings.campaign.read_text(encoding="utf-8").replace(
        'previously_selected = "selected-2021-2022.csv"', ""
    )
    lines = ["", "[form]"]
    for f in DEFAULT_FORM_FIELDS:
        lines += [
            "[[form.fields]]",
            f"key = {json.dumps(f.key, ensure_ascii=False)}",
            f"label = {json.dumps(f.label, ensure_ascii=False)}",
            f"aliases = {json.dumps([*f.aliases, *aliases.get(f.key, [])], ensure_ascii=False)}",
            f"required = {'true' if f.required else 'false'}",
            f"fallback_aliases = {json.dumps(list(f.fallback_aliases), ensure_ascii=False)}",
        ]
    path = tmp_path / "edited.toml"
    path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_retriage_reads_neither_the_raw_mail_nor_the_form_again(sqlite_app: App) -> None:
    app = sqlite_app
    case = _ingest(app, fields={"联系人": ""})  # a finding for retriage to find again
    before = _findings(app)
    assert ("case", "FIELD_MISSING", "联系人") in before
    raw, form = _raw_sha(app), _form_sha(case)
    assert _entries(app, "message", raw) and _entries(app, "form", form)
    # Without the kept reads retriage would have to parse these: take them away.
    app.blobs.path_for(raw).unlink()
    app.blobs.path_for(form).unlink()
    assert app.pipeline.retriage() == 1
    assert _findings(app) == before


def test_a_changed_form_spec_reads_the_form_again(sqlite_app: App, tmp_path: Path) -> None:
    # The unit's form prints 地址 as 详细住址, a label the 2023 form does not know.
    form = make_form_docx(
        fields={"案例名称": "光伏园区", "申报单位": "北京市光伏园区管理有限公司"},
        labels={"地址": "详细住址"},
    )
    case = _ingest(sqlite_app, form=form)
    assert ("case", "FIELD_MISSING", "地址") in _findings(sqlite_app)
    edited = make_app(
        tmp_path, campaign=_campaign_with_form(sqlite_app, tmp_path, {"地址": ["详细住址"]})
    )
    try:
        assert edited.pipeline.retriage() == 1
        assert "FIELD_MISSING" not in codes(edited)
        [again] = cases(edited)
        assert again.address  # read from the form under the new label
        # Each spec has its own entry; the first campaign's is still there, not overwritten.
        assert len(_entries(edited, "form", _form_sha(case))) == 2
    finally:
        edited.engine.dispose()


def test_a_kept_form_read_is_used_until_the_reader_version_changes(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = sqlite_app
    case = _ingest(app)
    [entry] = _entries(app, "form", _form_sha(case))
    kept = json.loads(entry.read_text(encoding="utf-8"))
    kept["form"]["fields"]["案例名称"] = "改过的名字"
    entry.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    app.pipeline.retriage()
    assert cases(app)[-1].name == "改过的名字"  # the entry, not the form, was read
    monkeypatch.setattr(
        derived_module, "FORM_READER_VERSION", derived_module.FORM_READER_VERSION + 1
    )
    app.pipeline.retriage()
    assert cases(app)[-1].name == "光伏园区"
    assert len(_entries(app, "form", _form_sha(case))) == 2


def test_kept_message_facts_are_used_until_their_version_changes(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = sqlite_app
    _ingest(app)
    [entry] = _entries(app, "message", _raw_sha(app))
    kept = json.loads(entry.read_text(encoding="utf-8"))
    kept["attachment_count"] = 0
    entry.write_text(json.dumps(kept), encoding="utf-8")
    app.pipeline.retriage()
    assert "NO_MATERIALS" in codes(app, "message")
    monkeypatch.setattr(
        derived_module, "MESSAGE_BYTES_VERSION", derived_module.MESSAGE_BYTES_VERSION + 1
    )
    app.pipeline.retriage()
    assert "NO_MATERIALS" not in codes(app, "message")


def test_an_unreadable_entry_is_read_again_and_replaced(sqlite_app: App) -> None:
    app = sqlite_app
    case = _ingest(app, fields={"联系人": ""})
    before = _findings(app)
    [form_entry] = _entries(app, "form", _form_sha(case))
    [message_entry] = _entries(app, "message", _raw_sha(app))
    form_entry.write_bytes(b'{"form": {"fields": ')  # cut off mid-write
    message_entry.write_text('{"subject": "x"}', encoding="utf-8")  # a key missing
    assert app.pipeline.retriage() == 1
    assert _findings(app) == before
    assert json.loads(form_entry.read_text(encoding="utf-8"))["form"]["fields"]
    assert json.loads(message_entry.read_text(encoding="utf-8"))["attachment_count"] == 1


def test_candidate_list_entries_are_kept(sqlite_app: App) -> None:
    app = sqlite_app
    listing = ("江苏省推荐名单.docx", candidate_list_docx(["乙园区", "甲园区"]))
    zips = [case_zip("江苏省", "甲园区"), case_zip("江苏省", "乙园区"), listing]
    app.pipeline.ingest(submission("江苏省", zips=zips))
    orders = {c.name: c.order for c in cases(app)}
    assert orders == {"甲园区": 2, "乙园区": 1}
    with app.sessions() as s:
        sha = s.scalars(select(m.File.sha256).where(m.File.role == "list")).one()
    assert _entries(app, "list", sha)
    app.blobs.path_for(sha).unlink()
    app.pipeline.retriage()
    assert {c.name: c.order for c in cases(app)} == orders


def test_message_bytes_round_trip_and_tool_problems_are_not_kept(tmp_path: Path) -> None:
    derived = Derived(BlobStore(tmp_path / "blobs"))
    said = MessageBytes(
        subject="北京市低碳发展典型案例申报材料",
        attachment_count=2,
        cloud_links=[
            CloudLink(
                "qq",
                "https://mail.qq.com/cgi-bin/ftnExs_download?k=1",
                file_name="材料.zip",
                size="1.2G",
                expiry=Expiry(at=datetime(2023, 12, 30, 8, 0, tzinfo=UTC), day_only=True),
            ),
            CloudLink("baidu", "https://pan.baidu.com/s/1abc", code="x1y2"),
        ],
        archive_problems=[
            ArchiveProblem(
                "案例.zip",
                ArchiveProblemKind.CORRUPT,
                members=("a.docx",),
                damage=ArchiveDamage.CRC,
                label="Bad CRC-32",
            ),
            ArchiveProblem("b.7z", ArchiveProblemKind.RATIO, limit=100.0),
        ],
    )
    derived.keep_message("a" * 64, said)
    assert derived.message("a" * 64) == said
    missing_tool = ArchiveProblem("c.rar", ArchiveProblemKind.TOOL_MISSING)
    derived.keep_message("b" * 64, MessageBytes("s", 1, [], [missing_tool]))
    assert derived.message("b" * 64) is None  # tried again once a tool is installed


def test_retriage_starts_workers_only_when_they_pay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, workers="2")
    try:
        for i, unit in enumerate(["北京市", "天津市", "河北省", "山西省", "辽宁省", "吉林省"]):
            zips = [case_zip(unit, "光伏园区", fields={"联系人": ""} if i % 2 else None)]
            app.pipeline.ingest(submission(unit, zips=zips, message_id=f"<{i}@x>"))
        before = _findings(app)
        caplog.set_level(logging.INFO, logger="intake.workers")
        # Everything read was kept at ingest: judging here beats starting two processes.
        assert retriage_all(app, 2) == 6
        assert "2 more messages in this process" in caplog.text
        assert _findings(app) == before
        caplog.clear()
        monkeypatch.setattr(workers_module, "WORKER_START_S", 0.0)  # as if reading were slow
        assert retriage_all(app, 2) == 6
        assert "2 more messages in 1 workers" in caplog.text
        assert _findings(app) == before
    finally:
        app.engine.dispose()
