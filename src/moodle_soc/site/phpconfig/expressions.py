"""One PHP expression, parsed by recursive descent and evaluated only when it is a literal:
anything else becomes ``Unknown`` with its source text (literals masked in secret statements).
"""

from __future__ import annotations

import math
import re
from typing import Any

from moodle_soc.errors import ConfigPhpError
from moodle_soc.site.phpconfig.lexer import PHP_INT_MAX, Tok, fail
from moodle_soc.site.phpconfig.values import Unknown
from moodle_soc.site.secrets import MASK, is_secret_setting

MAX_DEPTH = 100  # parser recursion and value nesting; real configs nest about four levels

BINARY: dict[str, int] = {
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


def is_op(tok: Tok, *ops: str) -> bool:
    return tok.kind == "op" and tok.value in ops


def describe(tok: Tok, secret: bool) -> str:
    """A token for an error message; never a literal's value, which might be a password."""
    if tok.kind in ("str", "num", "eof"):
        return {"str": "a string", "num": "a number", "eof": "the end of the file"}[tok.kind]
    if secret and tok.kind in ("id", "var"):
        return "a name"
    return f"${tok.value}" if tok.kind == "var" else f"'{tok.value}'"


def php_key(key: Any) -> int | str | None:
    """PHP's array-key casts ("5" -> 5, true -> 1, null -> ""); None when not a literal."""
    if type(key) in (bool, int):
        return int(key)
    if type(key) is float:
        return int(key) if math.isfinite(key) else None
    if key is None:
        return ""
    if isinstance(key, str):
        return int(key) if _KEY_INT.fullmatch(key) and abs(int(key)) <= PHP_INT_MAX else key
    return None


def _php_string(value: Any) -> str | None:
    """PHP's string conversion for concatenation; None for floats (PHP's `precision` rules)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "1" if value else ""
    return str(value) if type(value) is int else None


class Parser:
    """Recursive descent over one PHP expression, evaluating literals only."""

    def __init__(self, src: str, toks: list[Tok], i: int, where: str, secret: bool) -> None:
        self.src, self.toks, self.i, self.where, self.secret = src, toks, i, where, secret
        self.depth = 0

    def peek(self, ahead: int = 0) -> Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def at(self, op: str, ahead: int = 0) -> bool:
        return is_op(self.peek(ahead), op)

    def eat(self, op: str) -> bool:
        found = self.at(op)
        self.i += found
        return found

    def fail(self, what: str) -> ConfigPhpError:
        return fail(self.where, self.peek().line, what)

    def expect(self, op: str) -> None:
        if not self.eat(op):
            raise self.fail(f"expected '{op}' but found {describe(self.peek(), self.secret)}")

    def unknown(self, start: int) -> Unknown:
        text = render(self.src, self.toks, start, self.i, self.secret)
        return Unknown(text, self.toks[start].line)

    def nest(self) -> None:
        """One level deeper; refused past MAX_DEPTH so hostile input cannot exhaust the stack."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"an expression is nested more than {MAX_DEPTH} levels deep")

    def expr(self, min_prec: int = 0) -> Any:
        self.nest()
        start, value = self.i, self.unary()
        pieces = [_php_string(value)]  # joined once at the end: long chains stay linear
        while True:
            t = self.peek()
            op = t.value.lower() if t.kind == "id" else t.value if t.kind == "op" else ""
            prec = BINARY.get(op, -1)
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
        if is_op(t, "-", "+", "!", "~", "@", "&", "++", "--"):
            self.i += 1
            operand = self.expr(BINARY["**"])
            if t.value == "@" or (t.value == "+" and type(operand) in (int, float)):
                return operand
            return (
                -operand
                if t.value == "-" and type(operand) in (int, float)
                else self.unknown(start)
            )
        cast = self.peek(1)
        if is_op(t, "(") and cast.kind == "id" and cast.value.lower() in _CASTS and self.at(")", 2):
            self.i += 3
            self.expr(BINARY["**"])
            return self.unknown(start)
        if t.kind == "id" and t.value.lower() in _PREFIX_KEYWORDS:
            self.i += 1
            self.expr(BINARY["="])
            return self.unknown(start)
        return self.postfix()

    def postfix(self) -> Any:
        start, value, chained = self.i, self.primary(), False
        while True:
            t = self.peek()
            if is_op(t, "["):
                self.i += 1
                if self.at("]"):
                    raise self.fail("'[]' cannot be read, only assigned to")
                self.expr()
                self.expect("]")
            elif is_op(t, "->", "?->", "::"):
                self.i += 1
                if self.eat("{"):
                    self.expr()
                    self.expect("}")
                elif self.peek().kind in ("id", "var"):
                    self.i += 1
                else:
                    raise self.fail(f"expected a name after '{t.value}'")
            elif is_op(t, "("):
                self.arguments()
            elif is_op(t, "++", "--"):
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
        if t.kind not in ("str", "num", "var", "id") and not is_op(t, "[", "(", "$"):
            raise self.fail(f"expected a value but found {describe(t, self.secret)}")
        self.i += 1
        if t.kind == "str":
            return self.unknown(start) if t.value is None else t.value
        if t.kind == "num":
            return t.value
        if is_op(t, "["):
            return self.array(start, "]")
        if is_op(t, "("):
            value = self.expr()
            self.expect(")")
            return self.unknown(start) if isinstance(value, Unknown) else value
        if is_op(t, "$"):  # variable variable: $$name or ${expr}
            self.nest()
            if self.eat("{"):
                self.expr()
                self.expect("}")
            else:
                self.primary()
            self.depth -= 1
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
                    key, value = php_key(value), self.expr()
                if key is None:
                    known = False
                else:
                    items[key] = value
                    next_key = max(next_key, key + 1) if isinstance(key, int) else next_key
            if not self.eat(","):
                break
        self.expect(close)
        return items if known else self.unknown(start)


def render(src: str, toks: list[Tok], start: int, end: int, secret: bool) -> str:
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
            named = is_op(after, "=>") or (is_op(before, "[") and is_op(after, "]"))
            call = toks[k - 2]
            getenv = is_op(before, "(") and call.kind == "id" and call.value.lower() == "getenv"
            if not (named or getenv):
                text = MASK if t.kind == "num" else text[0] + MASK + text[0]
        parts.append(text)
    return "".join(parts)


def mentions_secret(toks: list[Tok], start: int, end: int) -> bool:
    return any(
        t.kind in ("id", "var", "str") and t.value is not None and is_secret_setting(t.value)
        for t in toks[start:end]
    )
