"""Values both store backends must carry exactly."""

from __future__ import annotations

# Each would break, or change, a statement if it were formatted into SQL instead of bound.
HOSTILE_STRINGS = [
    "it's",
    "back\\slash",
    "trailing backslash\\",
    "\\'",
    "two\nlines\r\nand\ttab",
    "nul\0byte",
    "'; DROP TABLE things; --",
    "{name:String}",
    "%(name)s %s 100%",
    '"double" `back`',
    "unicode: ü € 🙂",
    "",
]
