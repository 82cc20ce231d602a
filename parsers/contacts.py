"""The responsible person in a message body: name, phone and email, from the unit's own words.

The call asks every unit to put the 工作负责人's name, phone and email in the body.  People write
that in every layout there is, and reply above our own notice (which carries *our* contact).
Owns telling the unit's own text from the quoted part of a reply or forward, and reading the
contact from it; phone numbers themselves are `parsers.phones`'.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from parsers.model import Contact
from parsers.phones import find_phones, normal_form

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
# Only an ASCII character can run into an address: `邮箱majj@…` glues a CJK label to it, and in
# Python every CJK character is a word character, so `\w` must not be the boundary.
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_EMAIL_LABEL_RE = re.compile(
    r"(?:电子邮箱|邮箱|邮件|e-?mail|mail)\s*(?:地址)?\s*:?\s*$", re.IGNORECASE
)
_URL_RE = re.compile(r"(?:https?|ftp)://\S+", re.IGNORECASE)
# `name[at]163.com`, `name (at) 163.com`: spelled out against address harvesters.
_AT_RE = re.compile(r"\s*[\[(<]\s*at\s*[\])>]\s*", re.IGNORECASE)
# `张伟（联系人）`, `刘洋 联系人`: the label after the name, closing the line or the part.
_NAME_THEN_LABEL_RE = re.compile(
    r"([\u4e00-\u9fff·•]{2,12}?)\s*\(?\s*(?:工作)?(?:联系人|负责人|联络人|经办人)\s*\)?"
    r"(?=\s*$|\s*[,;。|\s0-9])",
    re.MULTILINE,
)


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


def _pick_names(segment: str) -> list[str]:
    """Every person in a segment listing several (`吴刚、郑爽`, `高  月、周恋彤`)."""
    out: list[str] = []
    for part in re.split(r"[、]|\s{2,}|和|及", _join_padded(segment)):
        name = _pick_name(part)
        if name and name not in out:
            out.append(name)
    return out


def _labelled_people(text: str) -> list[tuple[int, str]]:
    """(where, name) of every person named after a label, in reading order."""
    lines = text.splitlines(keepends=True)
    people: list[tuple[int, str]] = []
    offset = 0
    for i, line in enumerate(lines):
        for m in _NAME_LABEL_RE.finditer(line):
            # A window, not the rest of the line: HTML flattened to one huge line is common.
            # Table cells arrive as `| 联系人 | 邓超 |` or tab-separated: skip the cell border.
            rest = line[m.end() : m.end() + 80].lstrip(" \t|")
            stop = _NAME_STOP_RE.search(rest)
            segment = rest[: stop.start()] if stop else rest
            at = offset + m.end()
            names = _pick_names(segment)
            if not names and not segment.strip() and not rest.strip():
                # Label alone on its line (tables flattened to text): the name is on the next.
                nxt = next((ln for ln in lines[i + 1 : i + 3] if ln.strip()), "")
                stop = _NAME_STOP_RE.search(nxt)
                names = _pick_names(nxt[: stop.start()] if stop else nxt)
            people.extend((at, name) for name in names)
        offset += len(line)
    if not people:
        for m in _NAME_THEN_LABEL_RE.finditer(text):
            name = _strip_title(_join_padded(m.group(1)).split()[-1])
            if _looks_like_person(name):
                people.append((m.start(1), name))
    return people


def _labelled_names(text: str) -> list[str]:
    return [name for _, name in _labelled_people(text)]


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
    """`张三 13812345678`, `13812345678 张三`, or `张三` on a line above the number (a department
    line may sit between): the usual signature."""
    line_start = text.rfind("\n", 0, phone_at) + 1
    before = text[line_start:phone_at]
    before = re.sub(
        r"(?:联系电话|电话|手机|座机|联系方式|tel|mobile)\s*:?\s*$", "", before, flags=re.I
    ).strip(" ,;:")
    if before:
        last = _strip_title(_join_padded(before).split()[-1]) if before.split() else ""
        return last if _looks_like_person(last) else None
    line_end = text.find("\n", phone_at)
    after = re.sub(r"^[\d\s+-]+", "", text[phone_at : len(text) if line_end < 0 else line_end])
    after_words = _join_padded(after).strip(" ,;:").split()
    if after_words:
        first = _strip_title(after_words[0].strip(",;"))
        return first if _looks_like_person(first) else None
    prev_lines = [ln.strip() for ln in text[:line_start].splitlines() if ln.strip()]
    for line in reversed(prev_lines[-3:]):
        candidate = _strip_title(_join_padded(line))
        if _looks_like_person(candidate):
            return candidate
        if not candidate.endswith(_ORG_SUFFIX):
            break
    return None


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


def _prepared(text: str) -> str:
    return _AT_RE.sub("@", _URL_RE.sub(" ", text))


def _contact_in(text: str, ignore: set[str]) -> Contact:
    text = _prepared(text)
    email = _find_email(text, ignore)
    # A QQ address is all digits and may look like a phone; take addresses out before phones.
    no_mail = _EMAIL_RE.sub(" ", text)
    phones = find_phones(no_mail, ignore)
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
        value = unicodedata.normalize("NFKC", value or "").strip()
        if "@" in value:
            out |= {m.group(0).lower() for m in _EMAIL_RE.finditer(value)}
            continue
        for part in re.split(r"[、,;/]+", re.sub(r"\s+", "", value)):
            if not part:
                continue
            out.add(part)
            phone = normal_form(part)
            if phone is not None:
                out.add(phone)
    return out


def extract_contact(text: str, *, ignore: Iterable[str] = ()) -> Contact:
    """The responsible person's name, phone and email from a plain-text body.

    The unit's own text is read first; the quoted part of a reply is read only when the own text
    names nobody at all, which is what a bare forward of the original submission looks like.
    `ignore` takes values that are never the unit's (our office's names, phone, address), because
    a reply to our notice quotes our own contact block.
    """
    ignore_set = _ignore_set(ignore)
    body = unicodedata.normalize("NFKC", text or "").replace("\u00a0", " ")
    own, quoted = _split_quote(body)
    contact = _contact_in(own, ignore_set)
    if not (contact.name or contact.phone or contact.email) and quoted.strip():
        contact = _contact_in(quoted, ignore_set)
    return contact


def _people_in(text: str, ignore: set[str]) -> list[Contact]:
    """Every person, phone and address in `text`, paired in reading order."""
    text = _prepared(text)
    no_mail = _EMAIL_RE.sub(" ", text)
    phones = find_phones(no_mail, ignore)
    numbers = sorted(phones.mobiles + phones.landlines)
    emails = [
        e.rstrip(".")
        for e in dict.fromkeys(m.group(0) for m in _EMAIL_RE.finditer(text))
        if e.lower().rstrip(".") not in ignore
    ]
    named = [(at, n) for at, n in _labelled_people(no_mail) if n not in ignore]
    for at, _ in numbers:
        guess = _unlabelled_name(no_mail, at)
        if guess and guess not in ignore:
            named.append((at, guess))
    names = list(dict.fromkeys(n for _, n in sorted(named)))
    phone_list = list(dict.fromkeys(p for _, p in numbers))
    count = max(len(names), len(phone_list), len(emails))
    return [
        Contact(
            name=names[i] if i < len(names) else None,
            phone=phone_list[i] if i < len(phone_list) else None,
            email=emails[i] if i < len(emails) else None,
        )
        for i in range(count)
    ]


def extract_people(text: str, *, ignore: Iterable[str] = ()) -> list[Contact]:
    """Every person and number the unit's text names; the first is `extract_contact`'s contact.

    Names, phones and addresses are paired in the order they are written (`联系人：吴刚、郑爽`
    then `电话：…、…`); numbers and addresses beyond the named people are kept nameless, so
    staff see everything the unit wrote."""
    ignore_set = _ignore_set(ignore)
    body = unicodedata.normalize("NFKC", text or "").replace("\u00a0", " ")
    own, quoted = _split_quote(body)
    contact = _contact_in(own, ignore_set)
    source = own
    if not (contact.name or contact.phone or contact.email) and quoted.strip():
        contact = _contact_in(quoted, ignore_set)
        source = quoted
    if not (contact.name or contact.phone or contact.email):
        return []
    others = [
        p
        for p in _people_in(source, ignore_set)
        if (p.name and p.name != contact.name)
        or (p.phone and p.phone != contact.phone)
        or (p.email and p.email != contact.email)
    ]
    rest = [
        Contact(
            p.name if p.name != contact.name else None,
            p.phone if p.phone != contact.phone else None,
            p.email if p.email != contact.email else None,
        )
        for p in others
    ]
    return [contact, *[p for p in rest if p.name or p.phone or p.email]]
