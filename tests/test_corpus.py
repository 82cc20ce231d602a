"""The public robustness corpus (/work/shared/corpus/public): 676 real and broken messages.

parse_mail must never raise on any of them, and classify_automatic must agree with the label the
source itself gives (`expected_kind` in MANIFEST.tsv; `unknown` rows are only parsed).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

import parsers.mail as mail_module
from parsers.classify import classify_automatic
from parsers.mail import parse_mail

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "public"
MANIFEST = CORPUS / "MANIFEST.tsv"

# Labelled files we classify differently on purpose, with the kind we do give them.
KNOWN_EXCEPTIONS: dict[str, tuple[str, str]] = {
    "sisimai/bsd/lhost-fml-02.eml": (
        "auto_reply",
        "an fml mailing-list robot's 'you are not a member' notice: sisimai counts the rejection "
        "as a bounce, but nothing in it says delivery failed; its list headers make it auto_reply, "
        "so it is still never answered",
    ),
}


def _rows() -> list[dict[str, str]]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _rows()
LABELLED = [r for r in ROWS if r["expected_kind"] in {"bounce", "auto_reply", "other"}]

pytestmark = pytest.mark.skipif(not ROWS, reason=f"corpus not present at {CORPUS}")


def _ids(rows: list[dict[str, str]]) -> list[str]:
    return [r["file"] for r in rows]


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_parse_never_raises(row: dict[str, str]) -> None:
    mail = parse_mail((CORPUS / row["file"]).read_bytes())
    for text in (
        mail.subject,
        mail.text,
        mail.html,
        mail.from_name,
        *[a.name for a in mail.attachments],
    ):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: everything must be storable


@pytest.mark.parametrize("row", LABELLED, ids=_ids(LABELLED))
def test_classification_matches_label(row: dict[str, str]) -> None:
    got = classify_automatic(parse_mail((CORPUS / row["file"]).read_bytes())) or "other"
    expected = row["expected_kind"]
    if row["file"] in KNOWN_EXCEPTIONS:
        expected = KNOWN_EXCEPTIONS[row["file"]][0]
    assert got == expected


def test_agreement_summary(capsys: pytest.CaptureFixture[str]) -> None:
    table: Counter[tuple[str, str]] = Counter()
    for row in LABELLED:
        got = classify_automatic(parse_mail((CORPUS / row["file"]).read_bytes())) or "other"
        table[(row["expected_kind"], got)] += 1
    agree = sum(n for (exp, got), n in table.items() if exp == got)
    never_answered = sum(n for (exp, got), n in table.items() if exp != "other" and got != "other")
    automatic = sum(n for (exp, _), n in table.items() if exp != "other")
    with capsys.disabled():
        print(f"\ncorpus agreement {agree}/{len(LABELLED)}; automatic never answered "
              f"{never_answered}/{automatic}; by (label, got): {dict(sorted(table.items()))}")  # fmt: skip
    assert agree >= len(LABELLED) - len(KNOWN_EXCEPTIONS)
    assert never_answered == automatic
    assert table[("other", "bounce")] == table[("other", "auto_reply")] == 0


@pytest.mark.parametrize(
    "name",
    ["mimekit/tnef/rich-text.eml", "spamscope-mail-parser/mail_test_11", "zammad/mail001.box"],
)
def test_large_body_path_matches_stdlib_path_on_real_mail(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{name} not in corpus")
    raw = path.read_bytes()

    def summary() -> tuple[object, ...]:
        mail = parse_mail(raw)
        return (mail.subject, mail.text, mail.html, [(a.name, a.data) for a in mail.attachments])

    monkeypatch.setattr(mail_module, "BLOB_MIN", 10**12)
    plain = summary()
    monkeypatch.setattr(mail_module, "BLOB_MIN", 1)
    assert summary() == plain
