"""PHP tokens of a config.php: strings (with PHP's escapes), numbers, names, variables and
operators, with their lines; comments dropped. Lexing stops at ``?>``."""

from __future__ import annotations

import math
import re
from bisect import bisect_right
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
_VAR = re.compile(rf"\$({_ID})")
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
_OP = re.compile("|".join(re.escape(o) for o in _OPS))
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
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect_right(newlines, pos - 1) + 1

    head = re.match(r"\s*<\?php(?=\s|$)", text, re.IGNORECASE)
    if head is None:
        raise ConfigPhpError(f"{where} line 1: does not start with <?php, so it is not PHP.")
    toks: list[Tok] = []
    pos, size, reopened = head.end(), len(text), None
    while True:
        while pos < size and text[pos] in " \t\n\r":
            pos += 1
        if pos >= size:
            break
        c, line = text[pos], line_of(pos)
        if text.startswith("?>", pos):
            toks.append(Tok("op", ";", pos, pos + 2, line))
            later = text.find("<?", pos + 2)
            reopened = None if later < 0 else line_of(later)
            break
        if c == "#" or text.startswith("//", pos):
            comment = _LINE_COMMENT.match(text, pos)
            pos = comment.end() if comment else size
            continue
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise fail(where, line, "a /* comment is never closed")
            pos = end + 2
            continue
        tok: Tok | None = None
        if c in "'\"":
            m = (_SQ if c == "'" else _DQ).match(text, pos)
            if m is None:
                raise fail(where, line, "a quoted string is never closed")
            body = m.group()[1:-1]
            try:
                value = re.sub(r"\\([\\'])", r"\1", body) if c == "'" else _unescape_dq(body)
            except ValueError:
                raise fail(where, line, "a string has an invalid \\u{...} escape") from None
            tok = Tok("str", value, pos, m.end(), line)
        elif c in "0123456789." and (m := _NUM.match(text, pos)):
            try:
                if re.match(f"[{_IDC}]", text[m.end() : m.end() + 1]):
                    raise ValueError
                tok = Tok("num", _number(m.group()), pos, m.end(), line)
            except ValueError:
                raise fail(where, line, "invalid numeric literal") from None
        elif m := _VAR.match(text, pos):
            tok = Tok("var", m.group(1), pos, m.end(), line)
        elif m := _IDENT.match(text, pos):
            tok = Tok("id", m.group(), pos, m.end(), line)
        elif text.startswith("<<<", pos):
            raise fail(where, line, "heredoc and nowdoc strings are not supported")
        elif m := _OP.match(text, pos):
            tok = Tok("op", m.group(), pos, m.end(), line)
        else:
            shown = repr(c) if c.isprintable() and c.isascii() else f"U+{ord(c):04X}"
            raise fail(where, line, f"unexpected character {shown}")
        toks.append(tok)
        pos = tok.end
    toks.append(Tok("eof", None, size, size, line_of(size)))
    return toks, reopened
