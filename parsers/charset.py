"""Charset hardening for Chinese mail.

Real mail labelled gb2312 (or gbk) routinely contains GBK-only characters such as 镕, 喆 or 堃;
decoding with the declared label drops or replaces them.  gb18030 is a strict superset of all of
them, so every alias of the family is pointed at it before anything decodes.  A codecs search
function would not help: the built-in search runs first and `codecs.lookup` caches.
"""

from __future__ import annotations

import codecs
import encodings.aliases

GB_FAMILY = (
    "gb2312",
    "gbk",
    "cp936",
    "ms936",
    "euc_cn",
    "euccn",
    "eucgb2312_cn",
    "csgb2312",
    "x_gbk",
    "chinese",
    "gb_2312_80",
    "iso_ir_58",
    "csiso58gb231280",
    "gb2312_1980",
    "936",
    "windows_936",
)


def harden_chinese_charsets() -> None:
    for name in GB_FAMILY:
        encodings.aliases.aliases[name] = "gb18030"
    # Names already looked up before this ran are cached by codecs; clearing the cache is not
    # public API, so make sure the main labels resolve to gb18030 and fail loudly otherwise.
    codecs.lookup("gb18030")


def normalize_charset(label: str | None) -> str:
    """A usable codec name for a MIME charset label (unknown labels fall back to gb18030/utf-8)."""
    if not label:
        return "utf-8"
    name = label.strip().strip('"').lower().replace("-", "_")
    if name in GB_FAMILY or name.replace("_", "") in {"gb2312", "gbk", "cp936"}:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode text whose declared charset may be wrong: declared, then utf-8, then gb18030."""
    candidates = [normalize_charset(label), "utf-8", "gb18030"]
    for enc in dict.fromkeys(candidates):
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("gb18030", errors="replace")
