"""What a message body says: the responsible person, and webmail large-attachment links.

The call asks every unit to put the 工作负责人's name, phone and email in the body.  People write
that in every layout there is, reply above our own notice (which carries *our* contact), and
send big files as webmail "超大附件" links instead of attachments.  Everything here is pure
string work over the already decoded text and HTML parts.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

from parsers.model import CloudLink, Contact

# ---------------------------------------------------------------------------------------------
# Phone numbers (FIELD-NOTES "Phone numbers")

_MOBILE_FULL_RE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
# In running text: digits may be split by spaces or dashes (138 1234 5678, 138-1234-5678).
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![0-9A-Za-z])")
# Area code 0 + 2–3 digits, optionally in brackets; 7–8 digit number; extension by - or 转.
_LANDLINE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:\(\s*(?P<area_b>0\d{2,3})\s*\)|(?P<area>0\d{2,3}))\s*-?\s*"
    r"(?P<number>\d{7,8})"
    r"(?:\s*(?:-|转|分机|ext\.?)\s*(?P<ext>\d{1,6}))?(?![0-9A-Za-z])",
    re.IGNORECASE,
)
# 010 and 02x are the only three-digit area codes; needed to split `01084665633`.
_THREE_DIGIT_AREA = re.compile(r"^0(?:10|2\d)")
_FAX_BEFORE_RE = re.compile(r"(?:传真|fax)\s*(?:号码)?\s*:?\s*$", re.IGNORECASE)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def is_mainland_mobile(s: str) -> bool:
    """True for a mainland China mobile number, written with full-width digits, spaces, dashes
    or a +86 prefix as people do (`138 1234 5678`, `＋86-13812345678`)."""
    compact = re.sub(r"[\s-]", "", _nfkc(s or ""))
    return bool(_MOBILE_FULL_RE.match(compact))


def _normalise_mobile(raw: str) -> str:
    digits = re.sub(r"[\s+-]", "", raw)
    return digits[-11:]


def _normalise_landline(m: re.Match[str]) -> str:
    area = m.group("area_b") or m.group("area")
    number = m.group("number")
    if m.group("area") and m.end("area") == m.start("number"):
        # `01084665633` written without a dash: the greedy area code may have eaten a digit.
        joined = area + number
        cut = 3 if _THREE_DIGIT_AREA.match(joined) else 4
        area, number = joined[:cut], joined[cut:]
    out = f"{area}-{number}"
    if m.group("ext"):
        out += f"-{m.group('ext')}"
    return out


def _is_fax(before: str) -> bool:
    """`传真：010-…` is not a phone; `电话/传真：010-…` is both, so keep it."""
    return bool(_FAX_BEFORE_RE.search(before)) and not re.search(r"电话\s*[/、及和]\s*传真", before)


# ---------------------------------------------------------------------------------------------
# Quoted parts of replies and forwards

_QUOTE_MARKERS = [
    # QQ Mail / Foxmail: `------------------ 原始邮件 ------------------`; Outlook CN: `-----原始邮件-----`
    re.compile(
        r"^\s*-{2,}\s*(?:原始邮件|原邮件|回复的原邮件|转发邮件信息|转发的邮件|邮件原文)\s*-{2,}"
    ),
    re.compile(
        r"^\s*-{2,}\s*(?:Original Message|Forwarded message|Forwarded Message)\s*-{2,}", re.I
    ),
    # 163/126: `在 2023-12-01 10:00:00，"张三" <x@163.com> 写道：`; Gmail/Thunderbird: `On … wrote:`
    re.compile(r"^\s*在\s*.{4,80}写道\s*:\s*$"),
    re.compile(r"^\s*On\s.{4,200}\swrote:\s*$", re.I),
]
# Outlook and Foxmail quote with a bare header block (`发件人: …` then `发送时间: …`).
_HEADER_LINE_RE = re.compile(
    r"^\s*\**\s*(?:发件人|From|发送时间|发送日期|时间|日期|Date|Sent|收件人|To|抄送|Cc|主题|Subject)\s*\**\s*:",
    re.IGNORECASE,
)
_FROM_LINE_RE = re.compile(r"^\s*\**\s*(?:发件人|From)\s*\**\s*:", re.IGNORECASE)


def _split_quote(text: str) -> tuple[str, str]:
    """(own text, quoted text) of a reply or forward."""
    lines = text.splitlines()
    own: list[str] = []
    quoted: list[str] = []
    cut = len(lines)
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_MARKERS):
            cut = i
            break
        if _FROM_LINE_RE.match(line) and any(
            _HEADER_LINE_RE.match(nxt) and not _FROM_LINE_RE.match(nxt)
            for nxt in lines[i + 1 : i + 4]
        ):
            cut = i
            break
    for line in lines[:cut]:
        (quoted if line.lstrip().startswith(">") else own).append(line)
    quoted.extend(lines[cut:])
    quoted = [re.sub(r"^(?:\s*>)+ ?", "", q) for q in quoted if not _HEADER_LINE_RE.match(q)]
    return "\n".join(own), "\n".join(quoted)


# ---------------------------------------------------------------------------------------------
# Contact


def _spaced(word: str) -> str:
    """`联 系 人`: forms and signatures space out labels to align them."""
    return r"\s*".join(re.escape(ch) for ch in word)


_NAME_LABEL_RE = re.compile(
    r"(?:(?:工作|项目|案例|申报|报送)?"
    + "(?:"
    + "|".join(_spaced(w) for w in ("负责人", "联系人", "联络人", "经办人"))
    + ")"
    + r"(?:员)?(?:姓名)?(?:及(?:其)?(?:联系)?(?:电话|方式))?|"
    + _spaced("姓名")
    + r")\s*(?::|为|是)?\s*"
)
# Where a name segment ends: a phone/email label, a digit, an address, punctuation.
_NAME_STOP_RE = re.compile(
    r"(?:联系|电话|手机|座机|固话|办公|邮箱|电子邮箱|邮件|e-?mail|tel|mobile|phone|"
    r"传真|职务|单位|部门|地址|[0-9@+]|[,;。()/|])",
    re.IGNORECASE,
)
_TITLES = (
    "副处长", "处长", "副科长", "科长", "副主任", "主任", "副局长", "局长", "副厅长", "厅长",
    "副部长", "部长", "工程师", "老师", "同志", "女士", "先生", "经理", "主管", "干部",
)  # fmt: skip
_ORG_SUFFIX = ("处", "科", "室", "局", "厅", "中心", "部", "站", "所", "院", "办", "委", "会", "队")
_NOT_NAMES = {
    "此致", "敬礼", "谢谢", "您好", "你好", "附件", "材料", "联系人", "负责人", "电话", "手机",
    "邮箱", "联系方式", "如下", "详见", "见附件", "无", "暂无", "同上", "签字", "签名", "盖章",
}  # fmt: skip
_CJK_NAME_RE = re.compile(r"^[\u4e00-\u9fff]{2,4}$|^[\u4e00-\u9fff]{1,8}[·•][\u4e00-\u9fff]{1,10}$")
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_EMAIL_LABEL_RE = re.compile(
    r"(?:电子邮箱|邮箱|邮件|e-?mail|mail)\s*(?:地址)?\s*:?\s*$", re.IGNORECASE
)
_URL_RE = re.compile(r"(?:https?|ftp)://\S+", re.IGNORECASE)


def _strip_title(name: str) -> str:
    for title in _TITLES:
        if name.endswith(title) and len(name) - len(title) >= 2:
            return name[: -len(title)]
    return name


def _join_padded(text: str) -> str:
    """`高  月` → `高月`: two-character names are padded with spaces to line up in signatures."""
    return re.sub(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff])\s+([\u4e00-\u9fff])(?![\u4e00-\u9fff])",
                  r"\1\2", text)  # fmt: skip


def _pick_name(segment: str) -> str | None:
    """The person in what follows a 联系人 label: `张三`, `大气处 张三`, `高  月、周恋彤`, `张三处长`.

    The first name-like token wins; department words (`大气处`) are passed over, as are
    people listed after the first (`张三、李四` gives 张三)."""
    for token in _join_padded(segment).split():
        first = _strip_title(token.strip("、").split("、")[0])
        if first in _NOT_NAMES or first.endswith(_ORG_SUFFIX):
            continue
        if _CJK_NAME_RE.match(first):
            return first
    return None


def _labelled_names(text: str) -> list[str]:
    lines = text.splitlines()
    names: list[str] = []
    for i, line in enumerate(lines):
        for m in _NAME_LABEL_RE.finditer(line):
            # A window, not the rest of the line: HTML flattened to one huge line is common.
            rest = line[m.end() : m.end() + 80]
            stop = _NAME_STOP_RE.search(rest)
            segment = rest[: stop.start()] if stop else rest
            name = _pick_name(segment)
            if name is None and not segment.strip() and not rest.strip():
                # Label alone on its line (tables flattened to text): the name is on the next.
                nxt = next((ln for ln in lines[i + 1 : i + 3] if ln.strip()), "")
                stop = _NAME_STOP_RE.search(nxt)
                name = _pick_name(nxt[: stop.start()] if stop else nxt)
            if name:
                names.append(name)
    return names


# Common surnames, for the one guess made without a label: a short line above a phone number
# in a signature.  Department names (`大气处`) and greetings must not pass for a person there.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)


def _looks_like_person(name: str) -> bool:
    return bool(_CJK_NAME_RE.match(name)) and (
        name[0] in _SURNAMES or "·" in name or "•" in name
    ) and name not in _NOT_NAMES  # fmt: skip


def _unlabelled_name(text: str, phone_at: int) -> str | None:
    """`张三 13812345678`, or `张三` alone on the line above the number: the usual signature."""
    line_start = text.rfind("\n", 0, phone_at) + 1
    before = text[line_start:phone_at]
    before = re.sub(
        r"(?:联系电话|电话|手机|座机|联系方式|tel|mobile)\s*:?\s*$", "", before, flags=re.I
    ).strip(" ,;:")
    if before:
        last = _strip_title(_join_padded(before).split()[-1]) if before.split() else ""
        return last if _looks_like_person(last) else None
    prev_lines = [ln.strip() for ln in text[:line_start].splitlines() if ln.strip()]
    if prev_lines:
        candidate = _strip_title(_join_padded(prev_lines[-1]))
        if _looks_like_person(candidate):
            return candidate
    return None


@dataclass
class _Phones:
    mobiles: list[tuple[int, str]] = field(default_factory=list)
    landlines: list[tuple[int, str]] = field(default_factory=list)


def _find_phones(text: str, ignore: set[str]) -> _Phones:
    found = _Phones()
    taken: list[tuple[int, int]] = []
    for m in _MOBILE_RE.finditer(text):
        number = _normalise_mobile(m.group(0))
        if _is_fax(text[max(0, m.start() - 12) : m.start()]) or number in ignore:
            continue
        found.mobiles.append((m.start(), number))
        taken.append(m.span())
    for m in _LANDLINE_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        if _is_fax(text[max(0, m.start() - 12) : m.start()]):
            continue
        number = _normalise_landline(m)
        if number in ignore or number.split("-", 2)[0] + "-" + number.split("-")[1] in ignore:
            continue
        found.landlines.append((m.start(), number))
    return found


def _find_email(text: str, ignore: set[str]) -> str | None:
    emails = [
        (m.start(), m.group(0).rstrip("."))
        for m in _EMAIL_RE.finditer(text)
        if m.group(0).lower().rstrip(".") not in ignore
    ]
    for start, email in emails:
        if _EMAIL_LABEL_RE.search(text[max(0, start - 12) : start]):
            return email
    return emails[0][1] if emails else None


def _contact_in(text: str, ignore: set[str]) -> Contact:
    text = _URL_RE.sub(" ", text)
    email = _find_email(text, ignore)
    # A QQ address is all digits and may look like a phone; take addresses out before phones.
    no_mail = _EMAIL_RE.sub(" ", text)
    phones = _find_phones(no_mail, ignore)
    # A mobile reaches the person; an office line is the fallback.
    best = (
        phones.mobiles[0] if phones.mobiles else phones.landlines[0] if phones.landlines else None
    )
    names = [n for n in _labelled_names(no_mail) if n not in ignore]
    name = names[0] if names else None
    if name is None and best is not None:
        name = _unlabelled_name(no_mail, best[0])
        if name in ignore:
            name = None
    return Contact(name=name, phone=best[1] if best else None, email=email)


def _ignore_set(ignore: Iterable[str]) -> set[str]:
    """Normalised forms of values that are never the unit's: names, phones, addresses."""
    out: set[str] = set()
    for value in ignore:
        value = _nfkc(value or "").strip()
        if "@" in value:
            out |= {m.group(0).lower() for m in _EMAIL_RE.finditer(value)}
            continue
        for part in re.split(r"[、,;/]+", re.sub(r"\s+", "", value)):
            if not part:
                continue
            out.add(part)
            if is_mainland_mobile(part):
                out.add(_normalise_mobile(part))
            elif (m := _LANDLINE_RE.fullmatch(part)) is not None:
                out.add(_normalise_landline(m))
    return out


def extract_contact(text: str, *, ignore: Iterable[str] = ()) -> Contact:
    """The responsible person's name, phone and email from a plain-text body.

    The unit's own text is read first; the quoted part of a reply is read only when the own text
    names nobody at all, which is what a bare forward of the original submission looks like.
    `ignore` takes values that are never the unit's (our office's names, phone, address), because
    a reply to our notice quotes our own contact block.
    """
    ignore_set = _ignore_set(ignore)
    body = _nfkc(text or "").replace("\u00a0", " ")
    own, quoted = _split_quote(body)
    contact = _contact_in(own, ignore_set)
    if not (contact.name or contact.phone or contact.email) and quoted.strip():
        contact = _contact_in(quoted, ignore_set)
    return contact


# ---------------------------------------------------------------------------------------------
# HTML in reading order

_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt",
}  # fmt: skip
_SKIP_TAGS = {"style", "script", "head", "title", "template"}


@dataclass
class _Anchor:
    href: str
    attrs: dict[str, str]
    box_title: str | None
    text: str = ""


class _Linearizer(HTMLParser):
    """HTML as text in reading order.  A link is written after its text as ` <URL> `, which is
    also how webmail writes its plain-text alternative, so one reader handles both.  Style and
    script are dropped: QQ's template carries `#divNeteaseBigAttach{display:none}` in CSS."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.anchors: list[_Anchor] = []
        self._skip = 0
        # Open links: (anchor or None, index into `out` where its text starts).
        self._open: list[tuple[_Anchor | None, int]] = []
        self._div_titles: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in _SKIP_TAGS:
            self._skip += 1
            return
        if tag in _BLOCK_TAGS:
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
                anchor = _Anchor(href, a, box)
                self.anchors.append(anchor)
            self._open.append((anchor, len(self.out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag == "a" and self._open:
            anchor, start = self._open.pop()
            if anchor is not None:
                anchor.text = re.sub(r"\s+", " ", "".join(self.out[start:])).strip()
                self.out.append(f" <{anchor.href}> ")
        if tag == "div" and self._div_titles:
            self._div_titles.pop()
        if tag in _BLOCK_TAGS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)

    def text(self) -> str:
        joined = "".join(self.out).replace("\u00a0", " ")
        joined = re.sub(r"[ \t\r\f\v]+", " ", joined)
        return re.sub(r"\n\s*\n(?:\s*\n)+", "\n\n", joined).strip()


def _linearize(html: str) -> _Linearizer:
    parser = _Linearizer()
    try:
        parser.feed(html or "")
        parser.close()
    except AssertionError:  # pragma: no cover - html.parser only asserts on absurd input
        pass
    return parser


# ---------------------------------------------------------------------------------------------
# Large-attachment links (FIELD-NOTES "Large-attachment links")

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
_CST = timezone(timedelta(hours=8))


def _provider_of(url: str) -> str | None:
    return next((p.name for p in _PROVIDERS if p.pattern.match(url)), None)


def _clean_url(url: str) -> str:
    url = _nfkc(html_lib.unescape(url)).strip()
    # Trailing sentence punctuation is never part of these links.
    return url.rstrip(".,;:!?)")


def normalise_expiry(raw: str | None) -> str | None:
    """`2022年11月25日 13:35` → `2022-11-25 13:35`; `无限期` stays; anything else as written."""
    if not raw:
        return None
    raw = re.sub(r"\s+", " ", _nfkc(raw)).strip()
    if raw in ("无限期", "永久", "永久有效"):
        return "无限期"
    m = re.match(
        r"^(\d{4})\s*(?:年|-)\s*(\d{1,2})\s*(?:月|-)\s*(\d{1,2})\s*日?"
        r"(?:\s*(\d{1,2}):(\d{2})(?::\d{2})?)?$",
        raw,
    )
    if not m:
        return raw
    y, mo, d, h, mi = m.groups()
    date = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
    return f"{date} {int(h):02d}:{mi}" if h is not None else date


def _expiry_from_epoch(value: str, *, millis: bool) -> str | None:
    try:
        stamp = int(value)
    except ValueError:
        return None
    if stamp < 0:
        return "无限期"
    if millis:
        stamp //= 1000
    if stamp <= 0:
        return None
    try:
        return datetime.fromtimestamp(stamp, _CST).strftime("%Y-%m-%d %H:%M")
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
    expires: str | None = None
    code: str | None = None

    def merge(self, *, file_name: str | None = None, size: str | None = None,
              expires: str | None = None, code: str | None = None) -> None:  # fmt: skip
        self.file_name = self.file_name or file_name
        self.size = self.size or size
        self.expires = self.expires or expires
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
            exp = normalise_expiry(sm.group("exp") or sm.group("exp2"))
        else:
            em = _EXP_ONLY_RE.search(after)
            exp = normalise_expiry(em.group("exp")) if em else None
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
        item.merge(file_name=name, size=size, expires=exp, code=code)


def _marker_spans(text: str) -> list[tuple[int, int]]:
    """From each marker to the next marker, bounded: links far below a marker are signatures."""
    starts = [m.start() for m in _MARKER_RE.finditer(text)]
    return [
        (s, min(starts[i + 1] if i + 1 < len(starts) else len(text), s + 4000))
        for i, s in enumerate(starts)
    ]


def _merge_anchor_attrs(anchor: _Anchor, found: dict[str, _Found]) -> None:
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
            expires=normalise_expiry(em.group(1)) if em and em.group(1).strip() else None,
        )
    item.merge(file_name=name, size=size, expires=exp)
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
    parser = _linearize(html or "") if html else None
    if parser is not None:
        parts.append(_nfkc(parser.text()))
    for part in parts:
        _scan_text(part, found, _marker_spans(part))
    if parser is not None:
        for anchor in parser.anchors:
            _merge_anchor_attrs(anchor, found)

    links = [
        CloudLink(f.provider, f.url, f.file_name, f.size, f.expires, f.code) for f in found.values()
    ]
    if not links:
        for part in parts:
            marker = _MARKER_RE.search(part)
            if marker:
                links.append(CloudLink(f"{marker.group(1)}邮箱{marker.group(2)}附件", ""))
                break
    return links
