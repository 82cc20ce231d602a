"""HTML as text in reading order: the one HTML reader for mail bodies and link blocks.

Owns turning an HTML part into text.  `html_to_text` gives the visible text for mail that has
no text/plain part (QQ, 163 webmail); `linearize` gives the same walk with every link written
after its text as ` <URL> ` and the anchors kept, for the large-attachment reader.  Style and
script are dropped: QQ's template carries `#divNeteaseBigAttach{display:none}` in CSS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

BLOCK_TAGS = frozenset({
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt",
})  # fmt: skip
SKIP_TAGS = frozenset({"style", "script", "head", "title", "template"})


@dataclass
class Anchor:
    """A link in the HTML, with its attributes and the title of the QQ box around it."""

    href: str
    attrs: dict[str, str]
    box_title: str | None
    text: str = ""


class Linearizer(HTMLParser):
    """HTML as text in reading order.  A link is written after its text as ` <URL> `, which is
    also how webmail writes its plain-text alternative, so one reader handles both."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.anchors: list[Anchor] = []
        # Indexes into `out` of the ` <URL> ` pieces, left out of the visible text.
        self._link_pieces: set[int] = set()
        self._skip = 0
        # Open links: (anchor or None, index into `out` where its text starts).
        self._open: list[tuple[Anchor | None, int]] = []
        self._div_titles: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in SKIP_TAGS:
            self._skip += 1
            return
        if tag in BLOCK_TAGS:
            self.out.append("\n")
        if tag == "div":
            title = a.get("title")
            self._div_titles.append(title if title and "文件大小" in title else None)
        if tag == "td":
            self.out.append(" ")
        if tag == "a":
            href = a.get("href", "").strip()
            anchor = None
            if href:
                box = next((t for t in reversed(self._div_titles) if t), None)
                anchor = Anchor(href, a, box)
                self.anchors.append(anchor)
            self._open.append((anchor, len(self.out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag == "a" and self._open:
            anchor, start = self._open.pop()
            if anchor is not None:
                anchor.text = re.sub(r"\s+", " ", "".join(self.out[start:])).strip()
                self._link_pieces.add(len(self.out))
                self.out.append(f" <{anchor.href}> ")
        if tag == "div" and self._div_titles:
            self._div_titles.pop()
        if tag in BLOCK_TAGS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)

    def text(self) -> str:
        """The text with links as ` <URL> `, blank-line runs shortened to one."""
        joined = "".join(self.out).replace("\u00a0", " ")
        joined = re.sub(r"[ \t\r\f\v]+", " ", joined)
        return re.sub(r"\n\s*\n(?:\s*\n)+", "\n\n", joined).strip()

    def visible_text(self) -> str:
        """What a reader sees: no link targets, every line's spacing collapsed, no empty lines."""
        joined = "".join(p for i, p in enumerate(self.out) if i not in self._link_pieces)
        lines = (" ".join(line.split()) for line in joined.replace("\xa0", " ").splitlines())
        return "\n".join(line for line in lines if line)


def linearize(html: str) -> Linearizer:
    parser = Linearizer()
    try:
        parser.feed(html or "")
        parser.close()
    except AssertionError:  # pragma: no cover - html.parser only asserts on absurd input
        pass
    return parser


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, for mail that has no text/plain part (QQ, 163 webmail)."""
    try:
        return linearize(html).visible_text()
    except Exception:
        text = re.sub(r"<[^>]*>", " ", html).replace("\xa0", " ")
        lines = (" ".join(line.split()) for line in text.splitlines())
        return "\n".join(line for line in lines if line)
