"""Whether a message belongs to this call: something in it names the call.

The office's inbox serves more than one activity (a 基地 selection ran beside the 2023 call),
and newsletters and spam arrive too.  Only a message that names *this* call may become a
submission and get one of our notices; anything else is kept for staff as 其他来信.

A message names the call when the campaign's `call_keywords` appear in its subject, body, an
attachment or archive member name, or inside a Word document, or when a Word document carries
several of the call's form labels (`call_form_labels`): a unit that writes only `材料` in the
subject but sends the call's 推荐表 is still submitting to the call.

This module owns that decision and where it looks; the words come from the campaign file.
Matching ignores whitespace, case and character width (NFKC), because people pad and mix them
(`绿色低碳 典型案例`, full-width brackets in labels).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from campaign import Campaign
from parsers.form import FormUnreadable
from parsers.form_open import open_body
from parsers.html_text import html_to_text
from parsers.model import ExtractedFile, ParsedMail
from parsers.sniff import WordContainer, word_container
from parsers.subject import is_reply

# A Word document must carry this many of the call's form labels to count as the call's form
# (案例名称, 案例简介 and 推荐单位意见 together are not written by anyone else).
FORM_LABELS_NEEDED = 3
# Reading stops here: a keyword sits in a form's first page, not in a 100 MB video.
_WORD_MAX_BYTES = 32 * 1024 * 1024
_SPACE_RE = re.compile(r"\s+")


def compact(text: str) -> str:
    """NFKC, lower case, no whitespace: how keywords and texts are compared."""
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", text or "")).lower()


@dataclass(frozen=True)
class CallWords:
    """The campaign's marks of the call, compacted once."""

    keywords: tuple[str, ...]
    labels: tuple[str, ...]

    @classmethod
    def of(cls, campaign: Campaign) -> CallWords:
        keywords = {compact(k) for k in campaign.call_keywords} - {""}
        labels = {compact(k) for k in campaign.call_form_labels} - {""}
        return cls(tuple(sorted(keywords)), tuple(sorted(labels)))

    @property
    def empty(self) -> bool:
        return not self.keywords and not self.labels

    def in_text(self, text: str) -> str | None:
        """The first keyword found in `text`, or None."""
        flat = compact(text)
        return next((k for k in self.keywords if k in flat), None)

    def labels_in(self, text: str) -> int:
        flat = compact(text)
        return sum(1 for label in self.labels if label in flat)


def _docx_text(data: bytes) -> str:
    try:
        body, _ = open_body(data)
    except FormUnreadable:
        return ""
    # Runs split words anywhere (`绿色低碳` + `典型案例`), so the text is joined without gaps.
    return "".join(body.itertext())


def _ole_text(data: bytes) -> str:
    """The text of a Word 97 (or WPS) file, near enough to find words in: Chinese text is kept
    as UTF-16LE in the document stream, so decoding the bytes at both alignments finds it."""
    return "\n".join(data[i:].decode("utf-16-le", errors="ignore") for i in (0, 1))


def word_text(data: bytes) -> str:
    """Text of a `.docx` or `.doc` for keyword search; "" for anything else or a damaged one."""
    if len(data) > _WORD_MAX_BYTES:
        return ""
    container = word_container(data)
    if container is WordContainer.ZIP:
        return _docx_text(data)
    if container is WordContainer.OLE:
        return _ole_text(data)
    return ""


def _word_like(name: str) -> bool:
    return name.lower().rsplit(".", 1)[-1] in {"doc", "docx", "wps", "docm", "dot", "dotx"}


def where_named(mail: ParsedMail, files: Sequence[ExtractedFile], campaign: Campaign) -> str | None:
    """Where the message names the call (`subject`, `body`, `name:…`, `form:…`), or None.

    `files` are the message's files with archives expanded (`parsers.archives.expand`)."""
    words = CallWords.of(campaign)
    if words.in_text(mail.subject):
        return "subject"
    if words.in_text(mail.text) or words.in_text(html_to_text(mail.html) if mail.html else ""):
        return "body"
    names: Iterable[str] = [a.name for a in mail.attachments] + ["/".join(f.path) for f in files]
    for name in names:
        if words.in_text(name):
            return f"name:{name}"
    for file in files:
        sample = file.payload.sample()  # not `data`: a 100 MB video is never read for this
        if not _word_like(file.name) and word_container(sample) is not WordContainer.ZIP:
            continue
        text = word_text(file.data)
        if text and (
            words.in_text(text)
            or (
                words.labels and words.labels_in(text) >= min(FORM_LABELS_NEEDED, len(words.labels))
            )
        ):
            return f"form:{'/'.join(file.path)}"
    return None


def submission_or_other(
    mail: ParsedMail,
    files: Sequence[ExtractedFile],
    campaign: Campaign,
    *,
    has_materials: bool,
    subject_unit: str | None,
) -> Literal["submission", "other"]:
    """The kind of a message written by a person (automatic mail is sorted out before).

    A submission names the call and brings materials, or names it in a new message without
    materials yet (the unit gets told what is missing).  A reply that brings nothing ("收到，
    谢谢" to our notice) is for staff: answering it would start a loop.  A campaign file without
    `call_keywords`/`call_form_labels` cannot tell calls apart, so there any materials make a
    submission and a unit or the subject keywords in the subject name the call."""
    if CallWords.of(campaign).empty:
        named = bool(subject_unit) or any(k in mail.subject for k in campaign.subject_keywords)
        if has_materials or (named and not is_reply(mail.subject)):
            return "submission"
        return "other"
    if where_named(mail, files, campaign) is None:
        return "other"
    if has_materials or not is_reply(mail.subject):
        return "submission"
    return "other"
