"""PHP tokens of a config.php: strings (with PHP's escapes), numbers, names, variables and
operators, with their lines; comments dropped. Lexing stops at ``?>``."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from moodle_soc.errors import ConfigPhpError

PHP_INT_MAX = 2**63 - 1


class Tok(NamedTuple):
    kind: str  # str num id var op eof; a str token's value is None when it interpolates
    value: Any
    start: int
    end: int
    line: int


_IDC = "A-Za-z0-9_\x80-\U0010ffff"
_ID = rf"[A-Za-z_\x80-\U0010ffff][{_IDC}]*"
_IDENT = re.compile(rf"\\?{_ID}(?:\\{_ID})*")
_D = r"[0-9]+(?:_[0-9]+)*"
_NUM = re.compile(
    r"0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|0[bB][01]+(?:_[01]+)*|0[oO][0-7]+(?:_[0-7]+)*"
    rf"|(?:{_D})?\.{_D}(?:[eE][+-]?{_D})?|{_D}(?:\.(?:{_D})?)?(?:[eE][+-]?{_D})?"
)
_SQ = re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'", re.S)
_DQ = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_LINE_COMMENT = re.compile(r"[^\n?]*(?:\?(?!>)[^\n?]*)*")  # PHP: `?>` ends a // comment too
_OPS = re.findall(
    r"\S+",
    "=== !== <=> **= ... <<= >>= ??= ?-> -> => :: == != <> <= >= && || ?? ++ -- += -= *= /= .= "
    "%= &= |= ^= << >> ** ; , ( ) [ ] { } = . + - * / % ! ? : < > & | ^ ~ @ $",
)
_ID_CHAR = re.compile(f"[{_IDC}]")
#: One match per token, whitespace before it included; the alternatives are tried in this order.
_TOKEN = re.compile(
    r"[ \t\n\r]*(?:"
    r"(?P<close>\?>)|(?P<comment>\#|//)|(?P<block>/\*)"
    rf"|(?P<sq>{_SQ.pattern})|(?P<dq>{_DQ.pattern})|(?P<unclosed>['\"])"
    rf"|(?P<num>{_NUM.pattern})|(?P<var>\${_ID})|(?P<id>{_IDENT.pattern})|(?P<heredoc><<<)"
    rf"|(?P<op>{'|'.join(re.escape(o) for o in _OPS)})|(?P<other>.)|(?P<eof>\Z))",
    re.S,
)
_DQ_PART = re.compile(
    r"\\(?:([nrtvef\\$\"])|([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u\{([0-9A-Fa-f]+)\})"
    r"|(\$[A-Za-z_\x80-\U0010ffff{]|\{\$)"
)
_DQ_SIMPLE = dict(zip('nrtvef\\$"', '\n\r\t\v\x1b\f\\$"', strict=True))


def fail(where: str, line: int, what: str) -> ConfigPhpError:
    return ConfigPhpError(f"{where} line {line}: {what}.")


def _unescape_dq(body: str) -> str | None:
    """A double-quoted string's value, or None when it interpolates variables."""
    out, pos = bytearray(), 0
    for m in _DQ_PART.finditer(body):
        out += body[pos : m.start()].encode("utf-8", "surrogatepass")
        pos = m.end()
        simple, octal, hexa, uni, interpolation = m.groups()
        if interpolation:
            return None
        if simple:
            out += _DQ_SIMPLE[simple].encode()
        elif octal or hexa:
            out.append(int(octal, 8) & 0xFF if octal else int(hexa, 16))
        elif (codepoint := int(uni, 16)) > 0x10FFFF:
            raise ValueError("\\u{...} escape beyond U+10FFFF")
        else:
            out += chr(codepoint).encode("utf-8", "surrogatepass")
    out += body[pos:].encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "replace")  # PHP strings are bytes; \x escapes may split UTF-8


def _number(literal: str) -> int | float:
    digits = literal.replace("_", "")
    prefix = digits[:2].lower()
    if prefix in ("0x", "0b", "0o"):
        value = int(digits[2:], {"0x": 16, "0b": 2, "0o": 8}[prefix])
    elif "." in digits or "e" in digits.lower():
        return float(digits)
    else:  # PHP quirk: a leading zero means octal (02777 == 1535)
        value = int(digits, 8 if digits.startswith("0") else 10)
    if value <= PHP_INT_MAX:
        return value
    return float(value) if value < 2**1023 else math.inf  # PHP turns int overflow into float


def lex(text: str, where: str) -> tuple[list[Tok], int | None]:
    """Tokens up to ``?>`` (which acts as ``;``) and the line of any PHP reopened after it."""
    head = re.match(r"\s*<\?php(?=\s|$)", text, re.IGNORECASE)
    if head is None:
        raise ConfigPhpError(f"{where} line 1: does not start with <?php, so it is not PHP.")
    toks: list[Tok] = []
    append, match, count = toks.append, _TOKEN.match, text.count
    pos, reopened = head.end(), None
    line, counted = 1, 0  # newlines are counted once, up to each token: linear in the file size
    while True:
        m = match(text, pos)
        if m is None:  # pragma: no cover - `other` and `eof` match anything that is left
            raise fail(where, line, "unreadable text")
        kind = m.lastgroup or "eof"
        start, pos = m.start(kind), m.end()
        line += count("\n", counted, start)
        counted = start
        if kind == "var":
            append(Tok(kind, m.group(kind)[1:], start, pos, line))
        elif kind in ("id", "op"):
            append(Tok(kind, m.group(kind), start, pos, line))
        elif kind == "sq":
            append(Tok("str", re.sub(r"\\([\\'])", r"\1", m.group(kind)[1:-1]), start, pos, line))
        elif kind == "dq":
            try:
                append(Tok("str", _unescape_dq(m.group(kind)[1:-1]), start, pos, line))
            except ValueError:
                raise fail(where, line, "a string has an invalid \\u{...} escape") from None
        elif kind == "num":
            try:
                if _ID_CHAR.match(text, pos):
                    raise ValueError
                append(Tok("num", _number(m.group(kind)), start, pos, line))
            except ValueError:
                raise fail(where, line, "invalid numeric literal") from None
        elif kind == "comment":
            comment = _LINE_COMMENT.match(text, start)
            pos = comment.end() if comment else len(text)
        elif kind == "block":
            end = text.find("*/", pos)
            if end < 0:
                raise fail(where, line, "a /* comment is never closed")
            pos = end + 2
        elif kind == "close":
            append(Tok("op", ";", start, pos, line))
            later = text.find("<?", pos)
            reopened = None if later < 0 else line + count("\n", start, later)
            break
        elif kind == "eof":
            break
        else:
            raise fail(where, line, _LEX_ERRORS.get(kind) or _unexpected(m.group(kind)))
    end = len(text)
    append(Tok("eof", None, end, end, line + count("\n", counted, end)))
    return toks, reopened


_LEX_ERRORS = {
    "unclosed": "a quoted string is never closed",
    "heredoc": "heredoc and nowdoc strings are not supported",
}


def _unexpected(c: str) -> str:
    shown = repr(c) if c.isprintable() and c.isascii() else f"U+{ord(c):04X}"
    return f"unexpected character {shown}"
