"""Read Moodle's config.php without running PHP.

config.php settings override the database (moodle-facts §6.3), so the audit needs them, but
executing an arbitrary PHP file would break the tool's read-only promise. This module lexes the
file and evaluates only literal ``$CFG->name = ...;`` assignments; anything computed at runtime
becomes ``Unknown`` and any other statement is recorded, never evaluated.
"""

from __future__ import annotations

import math
import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from moodle_soc.errors import ConfigPhpError
from moodle_soc.site.secrets import MASK, is_secret_setting, reveals

__all__ = [
    "DynamicStatement",
    "PhpConfig",
    "Unknown",
    "load_config_php",
    "parse_config_php",
    "redacted",
    "redacted_values",
]

_PHP_INT_MAX = 2**63 - 1
_MAX_DEPTH = 100  # parser recursion and value nesting; real configs nest about four levels


@dataclass(frozen=True)
class Unknown:
    """A value only PHP can compute (getenv, __DIR__, constants), so the audit must not guess it."""

    expression: str
    line: int

    def __str__(self) -> str:
        return f"<computed at runtime: {self.expression}>"


@dataclass(frozen=True)
class DynamicStatement:
    """A statement left unevaluated; listed so an auditor knows what the tool could not see."""

    line: int
    text: str


@dataclass
class PhpConfig:
    """The statically known ``$CFG`` values of one config.php, plus what was skipped."""

    path: str | None
    values: dict[str, Any]
    dynamic: list[DynamicStatement] = field(default_factory=list)
    after_setup: list[DynamicStatement] = field(default_factory=list)
    reached_setup: bool = False

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.values

    @property
    def forced_plugin_settings(self) -> dict[str, dict[str, Any]]:
        """Per-plugin overrides, which win over config_plugins (moodle-facts §6.3)."""
        forced = self.values.get("forced_plugin_settings")
        if not isinstance(forced, dict):
            return {}
        # array() exports as [], so an empty plugin entry is a list here
        return {p: s or {} for p, s in forced.items() if isinstance(s, dict) or s == []}


def redacted(value: Any, key: str) -> Any:
    """A display-safe copy: secrets masked at any depth (``secrets.py`` decides what is secret),
    Unknown shown as its expression.

    An empty or null secret stays visible, since "no upgrade key is set" is evidence.
    """
    if isinstance(value, Unknown):
        return str(value)  # its literals were already masked when the statement was secret
    if is_secret_setting(key) and reveals(value):
        return MASK
    if isinstance(value, dict):
        return {k: redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v, key) for v in value]
    return value


def redacted_values(cfg: PhpConfig) -> dict[str, Any]:
    return {name: redacted(value, name) for name, value in cfg.values.items()}


# --- lexer -----------------------------------------------------------------------------------


class _Tok(NamedTuple):
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


def _fail(where: str, line: int, what: str) -> ConfigPhpError:
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
    if value <= _PHP_INT_MAX:
        return value
    return float(value) if value < 2**1023 else math.inf  # PHP turns int overflow into float


def _lex(text: str, where: str) -> tuple[list[_Tok], int | None]:
    """Tokens up to ``?>`` (which acts as ``;``) and the line of any PHP reopened after it."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect_right(newlines, pos - 1) + 1

    head = re.match(r"\s*<\?php(?=\s|$)", text, re.IGNORECASE)
    if head is None:
        raise ConfigPhpError(f"{where} line 1: does not start with <?php, so it is not PHP.")
    toks: list[_Tok] = []
    pos, size, reopened = head.end(), len(text), None
    while True:
        while pos < size and text[pos] in " \t\n\r":
            pos += 1
        if pos >= size:
            break
        c, line = text[pos], line_of(pos)
        if text.startswith("?>", pos):
            toks.append(_Tok("op", ";", pos, pos + 2, line))
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
                raise _fail(where, line, "a /* comment is never closed")
            pos = end + 2
            continue
        tok: _Tok | None = None
        if c in "'\"":
            m = (_SQ if c == "'" else _DQ).match(text, pos)
            if m is None:
                raise _fail(where, line, "a quoted string is never closed")
            body = m.group()[1:-1]
            try:
                value = re.sub(r"\\([\\'])", r"\1", body) if c == "'" else _unescape_dq(body)
            except ValueError:
                raise _fail(where, line, "a string has an invalid \\u{...} escape") from None
            tok = _Tok("str", value, pos, m.end(), line)
        elif c in "0123456789." and (m := _NUM.match(text, pos)):
            try:
                if re.match(f"[{_IDC}]", text[m.end() : m.end() + 1]):
                    raise ValueError
                tok = _Tok("num", _number(m.group()), pos, m.end(), line)
            except ValueError:
                raise _fail(where, line, "invalid numeric literal") from None
        elif m := _VAR.match(text, pos):
            tok = _Tok("var", m.group(1), pos, m.end(), line)
        elif m := _IDENT.match(text, pos):
            tok = _Tok("id", m.group(), pos, m.end(), line)
        elif text.startswith("<<<", pos):
            raise _fail(where, line, "heredoc and nowdoc strings are not supported")
        elif m := _OP.match(text, pos):
            tok = _Tok("op", m.group(), pos, m.end(), line)
        else:
            shown = repr(c) if c.isprintable() and c.isascii() else f"U+{ord(c):04X}"
            raise _fail(where, line, f"unexpected character {shown}")
        toks.append(tok)
        pos = tok.end
    toks.append(_Tok("eof", None, size, size, line_of(size)))
    return toks, reopened


# --- expressions -----------------------------------------------------------------------------

_BINARY: dict[str, int] = {
    "or": 1, "xor": 2, "and": 3,
    **dict.fromkeys(("=", "+=", "-=", "*=", "/=", ".=", "%=", "**=", "&=", "|=", "^="), 4),
    "<<=": 4, ">>=": 4, "??=": 4,
    "?": 5, "??": 6, "||": 7, "&&": 8, "|": 9, "^": 10, "&": 11,
    **dict.fromkeys(("==", "!=", "===", "!==", "<>", "<=>"), 12),
    **dict.fromkeys(("<", "<=", ">", ">="), 13),
    ".": 14, "<<": 15, ">>": 15, "+": 16, "-": 16, "*": 17, "/": 17, "%": 17,
    "instanceof": 18, "**": 19,
}  # fmt: skip
_RIGHT_ASSOC = {4, 6, 19}
_CASTS = {"int", "integer", "bool", "boolean", "float", "double", "real", "string", "array"}
_CASTS |= {"object", "unset", "binary"}
_PREFIX_KEYWORDS = {"include", "include_once", "require", "require_once", "print", "clone"}
_PREFIX_KEYWORDS |= {"throw", "yield"}
_UNSUPPORTED = {"function", "fn", "match", "class"}
_KEY_INT = re.compile(r"0|-?[1-9][0-9]{0,18}")


def _is(tok: _Tok, *ops: str) -> bool:
    return tok.kind == "op" and tok.value in ops


def _describe(tok: _Tok, secret: bool) -> str:
    """A token for an error message; never a literal's value, which might be a password."""
    if tok.kind in ("str", "num", "eof"):
        return {"str": "a string", "num": "a number", "eof": "the end of the file"}[tok.kind]
    if secret and tok.kind in ("id", "var"):
        return "a name"
    return f"${tok.value}" if tok.kind == "var" else f"'{tok.value}'"


def _php_key(key: Any) -> int | str | None:
    """PHP's array-key casts ("5" -> 5, true -> 1, null -> ""); None when not a literal."""
    if type(key) in (bool, int):
        return int(key)
    if type(key) is float:
        return int(key) if math.isfinite(key) else None
    if key is None:
        return ""
    if isinstance(key, str):
        return int(key) if _KEY_INT.fullmatch(key) and abs(int(key)) <= _PHP_INT_MAX else key
    return None


def _php_string(value: Any) -> str | None:
    """PHP's string conversion for concatenation; None for floats (PHP's `precision` rules)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "1" if value else ""
    return str(value) if type(value) is int else None


class _Parser:
    """Recursive descent over one PHP expression, evaluating literals only."""

    def __init__(self, src: str, toks: list[_Tok], i: int, where: str, secret: bool) -> None:
        self.src, self.toks, self.i, self.where, self.secret = src, toks, i, where, secret
        self.depth = 0

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def at(self, op: str, ahead: int = 0) -> bool:
        return _is(self.peek(ahead), op)

    def eat(self, op: str) -> bool:
        found = self.at(op)
        self.i += found
        return found

    def fail(self, what: str) -> ConfigPhpError:
        return _fail(self.where, self.peek().line, what)

    def expect(self, op: str) -> None:
        if not self.eat(op):
            raise self.fail(f"expected '{op}' but found {_describe(self.peek(), self.secret)}")

    def unknown(self, start: int) -> Unknown:
        text = _render(self.src, self.toks, start, self.i, self.secret)
        return Unknown(text, self.toks[start].line)

    def expr(self, min_prec: int = 0) -> Any:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail("an expression is nested too deeply")
        start, value = self.i, self.unary()
        pieces = [_php_string(value)]  # joined once at the end: long chains stay linear
        while True:
            t = self.peek()
            op = t.value.lower() if t.kind == "id" else t.value if t.kind == "op" else ""
            prec = _BINARY.get(op, -1)
            if prec < min_prec:
                break
            self.i += 1
            if op == "?" and not self.at(":"):
                self.expr()
            if op == "?":
                self.expect(":")
            right = self.expr(prec if prec in _RIGHT_ASSOC else prec + 1)
            pieces.append(_php_string(right) if op == "." else None)
        self.depth -= 1
        if len(pieces) == 1:
            return value
        return self.unknown(start) if None in pieces else "".join(pieces)  # type: ignore[arg-type]

    def unary(self) -> Any:
        start, t = self.i, self.peek()
        if _is(t, "-", "+", "!", "~", "@", "&", "++", "--"):
            self.i += 1
            operand = self.expr(_BINARY["**"])
            if t.value == "@" or (t.value == "+" and type(operand) in (int, float)):
                return operand
            return (
                -operand
                if t.value == "-" and type(operand) in (int, float)
                else self.unknown(start)
            )
        cast = self.peek(1)
        if _is(t, "(") and cast.kind == "id" and cast.value.lower() in _CASTS and self.at(")", 2):
            self.i += 3
            self.expr(_BINARY["**"])
            return self.unknown(start)
        if t.kind == "id" and t.value.lower() in _PREFIX_KEYWORDS:
            self.i += 1
            self.expr(_BINARY["="])
            return self.unknown(start)
        return self.postfix()

    def postfix(self) -> Any:
        start, value, chained = self.i, self.primary(), False
        while True:
            t = self.peek()
            if _is(t, "["):
                self.i += 1
                if self.at("]"):
                    raise self.fail("'[]' cannot be read, only assigned to")
                self.expr()
                self.expect("]")
            elif _is(t, "->", "?->", "::"):
                self.i += 1
                if self.eat("{"):
                    self.expr()
                    self.expect("}")
                elif self.peek().kind in ("id", "var"):
                    self.i += 1
                else:
                    raise self.fail(f"expected a name after '{t.value}'")
            elif _is(t, "("):
                self.arguments()
            elif _is(t, "++", "--"):
                self.i += 1
            else:
                return self.unknown(start) if chained else value
            chained = True

    def arguments(self) -> None:
        self.expect("(")
        while not self.at(")"):
            if self.at("...") and self.at(")", 1):  # first-class callable: strlen(...)
                self.i += 1
                break
            if self.peek().kind == "id" and self.at(":", 1):  # named argument
                self.i += 2
            self.eat("...")
            self.expr()
            if not self.eat(","):
                break
        self.expect(")")

    def primary(self) -> Any:
        start, t = self.i, self.peek()
        if t.kind not in ("str", "num", "var", "id") and not _is(t, "[", "(", "$"):
            raise self.fail(f"expected a value but found {_describe(t, self.secret)}")
        self.i += 1
        if t.kind == "str":
            return self.unknown(start) if t.value is None else t.value
        if t.kind == "num":
            return t.value
        if _is(t, "["):
            return self.array(start, "]")
        if _is(t, "("):
            value = self.expr()
            self.expect(")")
            return self.unknown(start) if isinstance(value, Unknown) else value
        if _is(t, "$"):  # variable variable: $$name or ${expr}
            if self.eat("{"):
                self.expr()
                self.expect("}")
            else:
                self.primary()
            return self.unknown(start)
        word = t.value.lower().lstrip("\\") if t.kind == "id" else ""
        if word in ("true", "false", "null") and not self.at("(") and not self.at("::"):
            return {"true": True, "false": False, "null": None}[word]
        if word == "array" and self.eat("("):
            return self.array(start, ")")
        if word == "new":
            if self.peek().kind in ("id", "var") and self.peek().value.lower() != "class":
                self.i += 1
            elif self.eat("("):
                self.expr()
                self.expect(")")
            else:
                raise self.fail("expected a class name after 'new'")
            if self.at("("):
                self.arguments()
        elif word in _UNSUPPORTED or (word == "static" and self.peek().kind == "id"):
            self.i -= 1
            raise self.fail(f"'{t.value}' cannot be read without running PHP")
        return self.unknown(start)  # a variable, or a constant such as __DIR__ or E_ALL

    def array(self, start: int, close: str) -> Any:
        items: dict[int | str, Any] = {}
        next_key, known = 0, True
        while not self.at(close):
            if self.eat("..."):
                self.expr()
                known = False
            else:
                key: int | str | None = next_key
                value = self.expr()
                if self.eat("=>"):
                    key, value = _php_key(value), self.expr()
                if key is None:
                    known = False
                else:
                    items[key] = value
                    next_key = max(next_key, key + 1) if isinstance(key, int) else next_key
            if not self.eat(","):
                break
        self.expect(close)
        return items if known else self.unknown(start)


def _render(src: str, toks: list[_Tok], start: int, end: int, secret: bool) -> str:
    """Source of toks[start:end], comments dropped, whitespace collapsed.

    In a statement that mentions a secret setting every literal is masked except array keys and
    getenv() names, so Unknown and DynamicStatement texts can be shown in reports.
    """
    parts: list[str] = []
    for k in range(start, end):
        t, before, after = toks[k], toks[k - 1], toks[k + 1]
        if k > start and t.start > before.end:
            parts.append(" ")
        text = src[t.start : t.end]
        if secret and t.kind in ("str", "num"):
            named = _is(after, "=>") or (_is(before, "[") and _is(after, "]"))
            call = toks[k - 2]
            getenv = _is(before, "(") and call.kind == "id" and call.value.lower() == "getenv"
            if not (named or getenv):
                text = MASK if t.kind == "num" else text[0] + MASK + text[0]
        parts.append(text)
    return "".join(parts)


def _mentions_secret(toks: list[_Tok], start: int, end: int) -> bool:
    return any(
        t.kind in ("id", "var", "str") and t.value is not None and is_secret_setting(t.value)
        for t in toks[start:end]
    )


# --- statements ------------------------------------------------------------------------------

_BLOCKS = {"if", "elseif", "else", "while", "for", "foreach", "switch", "declare", "do", "try"}
_BLOCKS |= {"function", "class", "interface", "trait", "enum", "abstract", "final", "namespace"}
_CONTINUATIONS = {"else", "elseif", "catch", "finally"}
_INCLUDES = {"require", "require_once", "include", "include_once"}
_BOILERPLATE = {"unset ( $CFG ) ;", "global $CFG ;"} | {
    f"$CFG = new {cls}{args} ;" for cls in ("stdclass", "\\stdclass") for args in ("", " ( )")
}
_ASSIGNMENTS = {op for op, prec in _BINARY.items() if prec == _BINARY["="]} | {"++", "--"}
_SETUP_ENDINGS = ("/lib/setup.php'", '/lib/setup.php"', "'lib/setup.php'", '"lib/setup.php"')


class _Statements:
    """Finds where each top-level statement ends, jumping over blocks without reading them."""

    def __init__(self, toks: list[_Tok], where: str) -> None:
        self.toks, self.where, self.match = toks, where, dict[int, int]()
        opened: list[int] = []
        for i, t in enumerate(toks):
            if _is(t, "(", "[", "{"):
                opened.append(i)
            elif _is(t, ")", "]", "}"):
                if not opened or "([{"[")]}".index(t.value)] != toks[opened[-1]].value:
                    raise _fail(where, t.line, f"unexpected '{t.value}'")
                self.match[opened.pop()] = i
        if opened:
            t = toks[opened[-1]]
            raise _fail(where, t.line, f"this '{t.value}' is never closed")

    def word(self, i: int) -> str:
        t = self.toks[i]
        return t.value.lower() if t.kind == "id" else ""

    def alternative_syntax(self, i: int) -> bool:
        """``if (...):`` -- PHP's block syntax closed by ``endif;`` instead of braces."""
        return _is(self.toks[i + 1], "(") and _is(self.toks[self.match[i + 1] + 1], ":")

    def skip(self, i: int) -> int:
        """Index just after the statement starting at ``i`` (if/else chains included)."""
        toks, word, j, nested = self.toks, self.word(i), i, 0
        alternative = word in _BLOCKS and self.alternative_syntax(i)
        while True:
            if toks[j].kind == "eof":
                what = f"this '{word}' has no end{word}" if alternative else "missing ';'"
                raise _fail(self.where, toks[i if alternative else j - 1].line, what)
            if alternative:
                nested += self.word(j) == word and self.alternative_syntax(j)
                nested -= self.word(j) == f"end{word}"
                j = self.match.get(j, j) + 1
                if nested == 0:
                    if not _is(toks[j], ";"):
                        raise _fail(self.where, toks[j - 1].line, f"missing ';' after end{word}")
                    return j + 1
            elif _is(toks[j], ";") or (_is(toks[j], "{") and (word in _BLOCKS or j == i)):
                j = self.match.get(j, j) + 1
                if word == "do" and self.word(j) == "while":
                    word = "do-while"  # ends at the next ';'
                elif word not in _BLOCKS or self.word(j) not in _CONTINUATIONS:
                    return j
            else:
                j = self.match.get(j, j) + 1


def _store(values: dict[str, Any], name: str, path: list[int | str | None], value: Any) -> bool:
    """Apply ``$CFG->name[k1][k2] = value``; False where PHP would not build arrays (a string)."""
    container: dict[Any, Any] = values
    key: int | str = name
    for step in path:
        current = container.get(key)
        if current is None:
            current = container[key] = {}
        if not isinstance(current, dict):
            return False
        container = current
        key = max([0, *(k + 1 for k in current if isinstance(k, int))]) if step is None else step
    container[key] = value
    return True


def _export(value: Any, where: str, depth: int = 0) -> Any:
    """PHP arrays as json_encode shows them: a list when keys are 0..n-1, else str keys."""
    if not isinstance(value, dict):
        return value
    if depth > _MAX_DEPTH:
        raise ConfigPhpError(f"{where}: a $CFG value is nested too deeply.")
    items = [(k, _export(v, where, depth + 1)) for k, v in value.items()]
    if all(k == n for n, (k, _) in enumerate(items)):
        return [v for _, v in items]
    return {str(k): v for k, v in items}


def _parse(text: str, path: str | None) -> tuple[PhpConfig, list[str], int]:
    """The config, the arguments of other files it requires, and how many settings it assigns."""
    where = path or "config.php"
    text = text.removeprefix("\ufeff")
    toks, reopened = _lex(text, where)
    statements = _Statements(toks, where)
    cfg, values = PhpConfig(path, {}), dict[str, Any]()
    requires: list[str] = []
    variables: dict[str, str] = {}
    assigned, i = 0, 0
    while toks[i].kind != "eof":
        if _is(toks[i], ";"):
            i += 1
            continue
        end = statements.skip(i)
        secret = _mentions_secret(toks, i, end)
        rendered = _render(text, toks, i, end, secret)
        statement = DynamicStatement(
            toks[i].line, rendered[:119] + "…" if len(rendered) > 120 else rendered
        )
        shape = " ".join(
            f"${t.value}" if t.kind == "var" else str(t.value).lower() if t.kind != "str" else "S"
            for t in toks[i : min(end, i + 9)]
        )
        first, second = toks[i], toks[i + 1]
        if cfg.reached_setup:
            cfg.after_setup.append(statement)
        elif shape in _BOILERPLATE:
            if not shape.startswith("global"):
                values.clear()  # PHP: unset($CFG) and a new stdClass both discard earlier settings
        elif first.kind == "id" and first.value.lower() in _INCLUDES:
            whole = _is(second, "(") and statements.match[i + 1] == end - 2
            argument = _render(text, toks, i + 1 + whole, end - 1 - whole, False)
            if argument.endswith(_SETUP_ENDINGS):
                cfg.reached_setup = True
            else:
                cfg.dynamic.append(statement)
                requires.append(variables.get(argument, argument))
        elif first.kind == "var" and first.value == "CFG" and _is(second, "->"):
            if _assignment(text, toks, i, end, where, secret, values):
                assigned += 1
            else:
                cfg.dynamic.append(statement)
        else:
            if first.kind == "var" and _is(second, "="):
                variables[f"${first.value}"] = _render(text, toks, i + 2, end - 1, False)
            cfg.dynamic.append(statement)
        i = end
    if reopened is not None:
        note = DynamicStatement(reopened, "PHP code after the closing ?> tag (not read)")
        (cfg.after_setup if cfg.reached_setup else cfg.dynamic).append(note)
    cfg.values = {name: _export(value, where) for name, value in values.items()}
    return cfg, requires, assigned


def _assignment(
    src: str, toks: list[_Tok], i: int, end: int, where: str, secret: bool, values: dict[str, Any]
) -> bool:
    """Apply one ``$CFG->name[...] = <expr>;``; False when the statement is something else."""
    if toks[i + 2].kind != "id":
        return False
    name, parser = toks[i + 2].value, _Parser(src, toks, i + 3, where, secret)
    path: list[int | str | None] = []
    while parser.eat("["):
        if parser.eat("]"):
            path.append(None)  # $CFG->name[] appends
            continue
        key = _php_key(parser.expr())
        parser.expect("]")
        if key is None:
            return False
        path.append(key)
    op = parser.peek()
    if not (op.kind == "op" and op.value in _ASSIGNMENTS):
        if op.kind == "op" or str(op.value).lower() in _BINARY:
            return False  # a method call, a property of a property, a comparison...
        raise parser.fail(f"expected '=' after $CFG->{name} but found {_describe(op, secret)}")
    parser.i += 1
    value = None if _is(op, "++", "--") else parser.expr()
    if parser.i != end - 1:
        found = _describe(parser.peek(), secret)
        raise _fail(
            where, toks[parser.i - 1].line, f"expected ';' after $CFG->{name} but found {found}"
        )
    if not _is(op, "="):
        value = Unknown(_render(src, toks, i, end - 1, secret), toks[i].line)
    return _store(values, name, path, value)


def parse_config_php(text: str, path: str | None = None) -> PhpConfig:
    """Parse config.php source; ``path`` only names the file in error messages."""
    cfg, _, assigned = _parse(text, path)
    if not assigned:
        raise _no_settings(path or "config.php")
    return cfg


def _no_settings(where: str, loader: object = None) -> ConfigPhpError:
    via = f" (reached from the loader {loader})" if loader else ""
    return ConfigPhpError(
        f"{where}: assigns no $CFG settings{via}, so it is not a Moodle config.php."
    )


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigPhpError(f"{path}: the file does not exist.") from None
    except IsADirectoryError:
        raise ConfigPhpError(f"{path}: is a directory, not a config.php file.") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigPhpError(f"{path}: cannot read the file ({reason}).") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # old sites saved config.php in their legacy charset


_LOADER = re.compile(
    r"(__DIR__|dirname\(\s*__FILE__\s*\)|dirname\(\s*__DIR__\s*\)|dirname\(\s*__FILE__\s*,\s*2\s*\)"
    r"|dirname\(\s*dirname\(\s*__FILE__\s*\)\s*\))\s*\.\s*(['\"])(/[^'\"$\\]*)\2",
    re.IGNORECASE,
)


def _loader_target(path: Path, requires: list[str]) -> Path | None:
    """The config.php that a Moodle 5.1 ``public/config.php`` loader requires, if any."""
    here = Path(os.path.abspath(path))
    for argument in requires:
        m = _LOADER.fullmatch(argument)
        if m is None:
            continue
        base = re.sub(r"\s", "", m.group(1)).lower()
        folder = here.parent if base in ("__dir__", "dirname(__file__)") else here.parent.parent
        target = Path(os.path.normpath(f"{folder}{m.group(3)}"))
        siblings_or_parent = (here.parent, here.parent.parent)
        if target.name == "config.php" and target != here and target.parent in siblings_or_parent:
            return target
    return None


def load_config_php(path: str | os.PathLike[str]) -> PhpConfig:
    """Read a site's config.php, following a Moodle 5.1 loader to the real file once."""
    file = Path(path)
    cfg, requires, assigned = _parse(_read(file), str(file))
    if assigned:
        return cfg
    target = _loader_target(file, requires)
    if target is None:
        raise _no_settings(str(file))
    cfg, _, assigned = _parse(_read(target), str(target))
    if not assigned:
        raise _no_settings(str(target), file)
    return cfg
