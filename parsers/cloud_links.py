"""Large-attachment links (超大附件/云附件) in a message body (FIELD-NOTES "Large-attachment links").

Webmail replaces big files with a block of links; people also paste cloud-drive shares.  Owns
finding those links in the text and HTML parts, with the file name, size, extraction code and
expiry each block states, as typed data: the expiry is an `Expiry` (a Shanghai time, 无限期, or
the words the mail used), never a sentence.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from parsers.html_text import Anchor, linearize
from parsers.model import CloudLink, Expiry


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


_MARKER_RE = re.compile(r"从(.{1,12}?)邮箱发来的(超大|云)附件")
# URL characters only: webmail's plain text butts Chinese right against a link
# (`…&code=7684decd进入`), and wraps links in <…> or (…).
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]"
_ANY_URL_RE = re.compile(rf"https?://{_URL_CHARS}+", re.IGNORECASE)


@dataclass(frozen=True)
class _Provider:
    name: str
    pattern: re.Pattern[str]


_PROVIDERS = (
    _Provider(
        "QQ邮箱超大附件",
        re.compile(
            r"^https?://(?:mail\.qq\.com/cgi-bin/ftnExs_download\?"
            r"|i?wx\.mail\.qq\.com/ftn/download\?)",
            re.I,
        ),
    ),
    _Provider(
        "腾讯企业邮箱超大附件",
        re.compile(r"^https?://exmail\.qq\.com/cgi-bin/ftnExs_download\?", re.I),
    ),
    _Provider(
        "网易企业邮箱",
        re.compile(
            r"^https?://(?:edisk\.qiye\.163\.com/api/biz/attachment/download\?identity="
            r"|fs\.qiye\.163\.com/fs/display/\?p=X-(?:NETEASE|NTES)-HUGE-ATTACHMENT)",
            re.I,
        ),
    ),
    _Provider(
        "网易邮箱超大附件",
        re.compile(
            r"^https?://(?:mail\.(?:163|126|yeah)\.(?:com|net)/large-attachment-download/"
            r"|(?:[\w-]+\.)*(?:163|126|yeah)\.(?:com|net)/[^?]*\?(?:[^#]*&)?"
            r"p=X-(?:NETEASE|NTES)-HUGE-ATTACHMENT)",
            re.I,
        ),
    ),
    _Provider(
        "天翼云盘",
        re.compile(r"^https?://download\.cloud\.189\.cn/file/downloadFile\.action\?dt=", re.I),
    ),
    _Provider(
        "新浪邮箱", re.compile(r"^https?://mail\.sina\.com\.cn/filecenter/download\.php\?id=", re.I)
    ),
    _Provider(
        "OneDrive",
        re.compile(
            r"^https?://(?:1drv\.ms/|onedrive\.live\.com/|[\w-]+-my\.sharepoint\.com/:\w:/)", re.I
        ),
    ),
    _Provider("百度网盘", re.compile(r"^https?://pan\.baidu\.com/(?:s/|share/init\?surl=)", re.I)),
)
# Links inside a large-attachment block that are not the file: 163's "推荐客户端极速下载" promo,
# online previews, icons.
_NOT_A_FILE_RE = re.compile(
    r"^https?://(?:u\.163\.com/|[\w.-]*/fs/preview/"
    r"|[\w.-]*/(?:edisk/)?api/biz/attachment/generic/preview)"
    r"|\.(?:gif|png|jpe?g|css|js)(?:\?|$)",
    re.I,
)
_SIZE = r"\d+(?:\.\d+)?\s*(?:[KMGT]i?B?|B|字节)"
_EXPIRY = (
    r"无限期|永久有效|永久"
    r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
)
# `(3.61M, 2022年11月25日 13:35 到期)` (163, QQ), `(128.03M, 无限期)` (QQ),
# `20.49K | 过期时间：2024年8月4日 23:48` (网易企业邮箱).
_SIZE_EXP_RE = re.compile(
    rf"\(\s*(?P<size>{_SIZE})\s*,\s*(?:(?P<exp>{_EXPIRY})\s*(?:到期)?)?[^)]{{0,20}}\)"
    rf"|(?P<size2>{_SIZE})\s*\|\s*(?:过期时间|到期时间|有效期至)\s*:\s*(?P<exp2>{_EXPIRY})",
    re.IGNORECASE,
)
_EXP_ONLY_RE = re.compile(rf"(?:有效时间到|到期时间|过期时间|有效期至)\s*:\s*(?P<exp>{_EXPIRY})")
_CODE_RE = re.compile(r"(?:提取码|提取密码|访问码|密码)\s*[:：]?\s*([A-Za-z0-9]{4})(?![A-Za-z0-9])")
_GENERIC_LINK_TEXT = re.compile(
    r"^(?:下载|在线预览|预览|查看下载信息|进入下载页面|点击下载|点击这里|点击此处|这里|此处|链接|推荐客户端极速下载|\||:)*$"
)
# Webmail states expiry times in China Standard Time.
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _provider_of(url: str) -> str | None:
    return next((p.name for p in _PROVIDERS if p.pattern.match(url)), None)


def _clean_url(url: str) -> str:
    url = _nfkc(html_lib.unescape(url)).strip()
    # Trailing sentence punctuation is never part of these links.
    return url.rstrip(".,;:!?)")


def parse_expiry(raw: str | None) -> Expiry | None:
    """`2022年11月25日 13:35` → 2022-11-25 13:35 Shanghai time; `无限期` never; other words kept."""
    if not raw:
        return None
    raw = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw)).strip()
    if not raw:
        return None
    if raw in ("无限期", "永久", "永久有效"):
        return Expiry(never=True)
    m = re.match(
        r"^(\d{4})\s*(?:年|-)\s*(\d{1,2})\s*(?:月|-)\s*(\d{1,2})\s*日?"
        r"(?:\s*(\d{1,2}):(\d{2})(?::\d{2})?)?$",
        raw,
    )
    if not m:
        return Expiry(as_written=raw)
    y, mo, d, h, mi = m.groups()
    try:
        if h is None:
            return Expiry(at=datetime(int(y), int(mo), int(d), tzinfo=SHANGHAI), day_only=True)
        return Expiry(at=datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=SHANGHAI))
    except ValueError:
        # `2024年13月45日`: no such day; staff still see what the mail said.
        return Expiry(as_written=raw)


def _expiry_from_epoch(value: str, *, millis: bool) -> Expiry | None:
    try:
        stamp = int(value)
    except ValueError:
        return None
    if stamp < 0:
        return Expiry(never=True)
    if millis:
        stamp //= 1000
    if stamp <= 0:
        return None
    try:
        return Expiry(at=datetime.fromtimestamp(stamp, SHANGHAI))
    except (OverflowError, OSError, ValueError):
        return None


def _size_from_bytes(value: str) -> str | None:
    try:
        n = int(value)
    except ValueError:
        return None
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.2f}{unit}"
    return f"{n}B"


@dataclass
class _Found:
    provider: str
    url: str
    file_name: str | None = None
    size: str | None = None
    expiry: Expiry | None = None
    code: str | None = None

    def merge(self, *, file_name: str | None = None, size: str | None = None,
              expiry: Expiry | None = None, code: str | None = None) -> None:  # fmt: skip
        self.file_name = self.file_name or file_name
        self.size = self.size or size
        self.expiry = self.expiry or expiry
        self.code = self.code or code


_FILE_LIKE_RE = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _name_from(before: str) -> str | None:
    """File name from the text just before a link in webmail's plain text: `北京市XX.zip <URL>`
    (163), `北京市XX.zip (1.2G, 2024年1月18日 15:05 到期)进入下载页面：URL` (QQ), or the name on
    the line above `下载地址：URL`.  Only something that looks like a file name counts, so prose
    such as `材料见天翼云盘：` is not taken for one (link texts in HTML are read separately)."""
    before = _SIZE_EXP_RE.sub("", before)
    for line in reversed(before.splitlines()):
        line = re.sub(
            r"(?:进入下载页面|下载地址|下载链接|链接|link)\s*:?\s*$", "", line.strip(), flags=re.I
        )
        line = line.strip(" \t<>|:*")
        if not line:
            continue
        if _MARKER_RE.search(line) or len(line) > 120 or not _FILE_LIKE_RE.search(line):
            return None
        return line
    return None


def _scan_text(text: str, found: dict[str, _Found], marker_spans: list[tuple[int, int]]) -> None:
    """Every large-attachment link in linear text, with what the text around it says."""
    matches = list(_ANY_URL_RE.finditer(text))
    for i, m in enumerate(matches):
        url = _clean_url(m.group(0))
        provider = _provider_of(url)
        if provider is None:
            # A link of an unknown host counts only inside a marked block (government Coremail
            # systems write `从XX邮箱发来的超大附件` with their own download host).
            block = next((s for s in marker_spans if s[0] <= m.start() <= s[1]), None)
            if block is None or _NOT_A_FILE_RE.search(url):
                continue
            marker = _MARKER_RE.search(text, block[0])
            provider = f"{marker.group(1)}邮箱{marker.group(2)}附件" if marker else "超大附件"
        item = found.setdefault(url, _Found(provider, url))
        prev_end = matches[i - 1].end() if i else 0
        line_start = text.rfind("\n", 0, m.start()) + 1
        # The name and size may sit on the line above (`…zip (500M, …)\n下载地址：URL`), and
        # 163 wraps `(3.61M, \n2022年…到期)`: read this line and the one before.
        above = text.rfind("\n", 0, max(line_start - 1, 0)) + 1 if line_start else 0
        before = text[max(prev_end, above) : m.start()]
        after = text[m.end() : m.end() + 120]
        if i + 1 < len(matches):
            after = text[m.end() : min(m.end() + 120, matches[i + 1].start())]
        after = after.lstrip(">").lstrip()
        size = exp = None
        sm = _SIZE_EXP_RE.match(after) or _SIZE_EXP_RE.search(before)
        if sm:
            size = re.sub(r"\s+", "", sm.group("size") or sm.group("size2"))
            exp = parse_expiry(sm.group("exp") or sm.group("exp2"))
        else:
            em = _EXP_ONLY_RE.search(after)
            exp = parse_expiry(em.group("exp")) if em else None
        cm = _CODE_RE.search(after) or _CODE_RE.search(before)
        code = cm.group(1) if cm else None
        if code is None:
            q = re.search(r"[?&]pwd=([A-Za-z0-9]{4})", url)
            code = q.group(1) if q else None
        if exp is None and provider == "天翼云盘":
            # 189 puts the expiry in the link itself: `…&expired=1703900460000&…` (ms).
            q = re.search(r"[?&]expired=(\d{10,13})", url)
            exp = _expiry_from_epoch(q.group(1), millis=len(q.group(1)) > 11) if q else None
        name = _name_from(before)
        if name is None:
            # Baidu's share text: `通过百度网盘分享的文件：北京市案例材料\n链接：… 提取码：…`.
            shared = re.search(
                r"分享的文件\s*:\s*([^\n]{1,120})\s*$", text[max(0, m.start() - 200) : line_start]
            )
            name = shared.group(1).strip() if shared else None
        item.merge(file_name=name, size=size, expiry=exp, code=code)


def _marker_spans(text: str) -> list[tuple[int, int]]:
    """From each marker to the next marker, bounded: links far below a marker are signatures."""
    starts = [m.start() for m in _MARKER_RE.finditer(text)]
    return [
        (s, min(starts[i + 1] if i + 1 < len(starts) else len(text), s + 4000))
        for i, s in enumerate(starts)
    ]


def _merge_anchor_attrs(anchor: Anchor, found: dict[str, _Found]) -> None:
    item = found.get(_clean_url(anchor.href))
    if item is None:
        return
    a = anchor.attrs
    # 163 writes filename/filesize/expiretime(ms) on the link; 网易企业邮箱 file-name/file-size/
    # expired(ms); QQ's `span.qqmailbgattach` expiretime is in seconds (-1 = 无限期).
    name = a.get("filename") or a.get("file-name") or None
    size = _size_from_bytes(a.get("filesize") or a.get("file-size") or "")
    exp = None
    if a.get("expiretime"):
        exp = _expiry_from_epoch(a["expiretime"], millis=len(a["expiretime"].lstrip("-")) > 11)
    elif a.get("expired"):
        exp = _expiry_from_epoch(a["expired"], millis=True)
    if anchor.box_title:
        # QQ: <div class="bigatt_bt" title="名称&#10;&#13;文件大小：12M&#10;&#13;到期时间：…">
        lines = [ln.strip() for ln in re.split(r"[\r\n]+", _nfkc(anchor.box_title)) if ln.strip()]
        title_name = lines[0] if lines and "文件大小" not in lines[0] else None
        sm = re.search(r"文件大小\s*:\s*(\S+)", anchor.box_title.replace("：", ":"))
        em = re.search(r"到期时间\s*:\s*(.+)", _nfkc(anchor.box_title))
        item.merge(
            file_name=title_name,
            size=sm.group(1) if sm else None,
            expiry=parse_expiry(em.group(1)) if em and em.group(1).strip() else None,
        )
    item.merge(file_name=name, size=size, expiry=exp)
    # OneDrive and mail-client links carry the file or folder name as their text.
    label = anchor.text
    if (
        label
        and len(label) <= 120
        and not _GENERIC_LINK_TEXT.match(label)
        and not _ANY_URL_RE.match(label)
    ):
        item.merge(file_name=label)


def find_cloud_links(text: str, html: str) -> list[CloudLink]:
    """Large-attachment links (超大附件/云附件) in a message's text and HTML parts.

    A link counts when its URL is one of the known providers', or when it sits in a block
    introduced by the webmail marker `从…邮箱发来的超大附件`; a CSS id never counts.  Each file is
    reported once (webmail repeats every link three times).  A marker with no link at all gives
    one entry with an empty `url`, so staff still learn that materials were sent that way.
    """
    found: dict[str, _Found] = {}
    parts: list[str] = []
    # Forwarded large-attachment mail keeps the block in the quoted part: read quotes too.
    plain = re.sub(r"(?m)^(?:[ \t]*>)+[ \t]?", "", _nfkc(text or ""))
    parts.append(plain)
    parser = linearize(html or "") if html else None
    if parser is not None:
        parts.append(_nfkc(parser.text()))
    for part in parts:
        _scan_text(part, found, _marker_spans(part))
    if parser is not None:
        for anchor in parser.anchors:
            _merge_anchor_attrs(anchor, found)

    links = [
        CloudLink(f.provider, f.url, f.file_name, f.size, f.expiry, f.code) for f in found.values()
    ]
    if not links:
        for part in parts:
            marker = _MARKER_RE.search(part)
            if marker:
                links.append(CloudLink(f"{marker.group(1)}邮箱{marker.group(2)}附件", ""))
                break
    return links
