"""Pure reading: raw mail, subjects, bodies, archives and forms into plain dataclasses.

Importing the package hardens the Chinese charset aliases first (see `charset`), because every
later decode depends on it.
"""

from parsers import charset as _charset

_charset.harden_chinese_charsets()
