"""Counting 字 the way Word's 字数 does for Chinese text, for the case introduction's limit."""

from __future__ import annotations


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x2FDF  # CJK and Kangxi radicals
        or 0x3001 <= code <= 0x303F  # CJK symbols and punctuation (U+3000 is a space)
        or 0x3040 <= code <= 0x31FF  # kana, bopomofo, CJK strokes
        or 0x3200 <= code <= 0x4DBF  # enclosed CJK, compatibility, extension A
        or 0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE10 <= code <= 0xFE1F  # vertical forms
        or 0xFE30 <= code <= 0xFE6F  # compatibility and small forms
        or 0xFF01 <= code <= 0xFF60  # full-width ASCII and brackets
        or 0xFFE0 <= code <= 0xFFE6  # full-width signs (￥, ￡)
        or 0x20000 <= code <= 0x3FFFF  # extensions B and later
        or ch in _CHINESE_PUNCT
    )


# Punctuation from the General Punctuation and Latin-1 blocks that a Chinese input method types
# and that Word, in Chinese text, counts as a Chinese character each.
_CHINESE_PUNCT = frozenset("“”‘’…—–·‖※№℃〃")


def count_chars_like_word(text: str) -> int:
    """Count 字 as Word's 字数 does for Chinese text (中文字符和朝鲜语单词 + 非中文单词).

    - every CJK character counts 1, and so does every full-width or Chinese punctuation mark
      (`，。、；：？！“”‘’（）《》【】…—·`) and every full-width letter or digit;
    - every other run of non-space characters counts 1 as a word: `CO2`, `12.5MW`, `2023`
      (in `2023年` the run ends at 年: 2 in all), `e-mail`, `hello,` (half-width punctuation
      touching a word is part of it);
    - a half-width punctuation mark standing alone between spaces counts 1, as Word counts it;
    - whitespace (including the full-width space U+3000) counts nothing.
    """
    count = 0
    in_word = False
    for ch in text:
        if ch.isspace():
            in_word = False
        elif _is_cjk(ch):
            count += 1
            in_word = False
        elif not in_word:
            count += 1
            in_word = True
    return count
