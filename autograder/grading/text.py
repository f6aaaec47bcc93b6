"""Text a student can influence (names, messages, output), made safe for where it is shown.

Strings from a worker are valid Unicode once decoded (``autograder.sandbox.wire``); what
they may still carry is meant for the terminal or spreadsheet that shows them: escape
sequences that clear the screen or fake a line, bidirectional overrides, formulas.
"""

from __future__ import annotations

import re

# C0 and C1 controls (ESC, CR, BEL, ...), DEL, bidirectional controls, lone surrogates
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                         "\ud800-\udfff]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")  # what a spreadsheet may run as a formula


def printable(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``)."""
    return UNPRINTABLE.sub(lambda match: ascii(match.group())[1:-1], text)


def terminal_line(text: str, width: int | None = None) -> str:
    """``text`` as one printable line of at most ``width`` characters."""
    text = printable(" ".join(str(text).split()))
    return text if width is None or len(text) <= width else text[:width - 3] + "..."


def spreadsheet_cell(value) -> str:
    """A CSV cell that a spreadsheet shows as the text it is, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
