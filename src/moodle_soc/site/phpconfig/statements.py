"""The statements of a config.php: ``$CFG`` assignments applied, boilerplate recognised,
includes and everything else listed as dynamic, ``require lib/setup.php`` ending the file."""

from __future__ import annotations

from typing import Any

from moodle_soc.errors import ConfigPhpError
from moodle_soc.site.phpconfig.expressions import (
    BINARY,
    MAX_DEPTH,
    Parser,
    describe,
    is_op,
    mentions_secret,
    php_key,
    render,
)
from moodle_soc.site.phpconfig.lexer import Tok, fail, lex
from moodle_soc.site.phpconfig.values import DynamicStatement, PhpConfig, Unknown

_BLOCKS = {"if", "elseif", "else", "while", "for", "foreach", "switch", "declare", "do", "try"}
_BLOCKS |= {"function", "class", "interface", "trait", "enum", "abstract", "final", "namespace"}
_CONTINUATIONS = {"else", "elseif", "catch", "finally"}
_INCLUDES = {"require", "require_once", "include", "include_once"}
_BOILERPLATE = {"unset ( $CFG ) ;", "global $CFG ;"} | {
    f"$CFG = new {cls}{args} ;" for cls in ("stdclass", "\\stdclass") for args in ("", " ( )")
}
_BOILERPLATE_SIZE = max(len(shape.split()) for shape in _BOILERPLATE)
_ASSIGNMENTS = {op for op, prec in BINARY.items() if prec == BINARY["="]} | {"++", "--"}
_SETUP_ENDINGS = ("/lib/setup.php'", '/lib/setup.php"', "'lib/setup.php'", '"lib/setup.php"')


class _Statements:
    """Finds where each top-level statement ends, jumping over blocks without reading them."""

    def __init__(self, toks: list[Tok], where: str) -> None:
        self.toks, self.where, self.match = toks, where, dict[int, int]()
        opened: list[int] = []
        for i, t in enumerate(toks):
            if is_op(t, "(", "[", "{"):
                opened.append(i)
            elif is_op(t, ")", "]", "}"):
                if not opened or "([{"[")]}".index(t.value)] != toks[opened[-1]].value:
                    raise fail(where, t.line, f"unexpected '{t.value}'")
                self.match[opened.pop()] = i
        if opened:
            t = toks[opened[-1]]
            raise fail(where, t.line, f"this '{t.value}' is never closed")

    def word(self, i: int) -> str:
        t = self.toks[i]
        return t.value.lower() if t.kind == "id" else ""

    def alternative_syntax(self, i: int) -> bool:
        """``if (...):`` -- PHP's block syntax closed by ``endif;`` instead of braces."""
        return is_op(self.toks[i + 1], "(") and is_op(self.toks[self.match[i + 1] + 1], ":")

    def skip(self, i: int) -> int:
        """Index just after the statement starting at ``i`` (if/else chains included)."""
        toks, word, j, nested = self.toks, self.word(i), i, 0
        alternative = word in _BLOCKS and self.alternative_syntax(i)
        while True:
            if toks[j].kind == "eof":
                what = f"this '{word}' has no end{word}" if alternative else "missing ';'"
                raise fail(self.where, toks[i if alternative else j - 1].line, what)
            if alternative:
                nested += self.word(j) == word and self.alternative_syntax(j)
                nested -= self.word(j) == f"end{word}"
                j = self.match.get(j, j) + 1
                if nested == 0:
                    if not is_op(toks[j], ";"):
                        raise fail(self.where, toks[j - 1].line, f"missing ';' after end{word}")
                    return j + 1
            elif is_op(toks[j], ";") or (is_op(toks[j], "{") and (word in _BLOCKS or j == i)):
                j = self.match.get(j, j) + 1
                if word == "do" and self.word(j) == "while":
                    word = "do-while"  # ends at the next ';'
                elif word not in _BLOCKS or self.word(j) not in _CONTINUATIONS:
                    return j
            else:
                j = self.match.get(j, j) + 1


class _Array(dict[int | str, Any]):
    """A PHP array being assigned into, which keeps its next free integer key as PHP does, so
    ``$CFG->x[] = ...`` is one step however long the array already is."""

    def __init__(self, items: dict[int | str, Any] | None = None) -> None:
        super().__init__(items or {})
        self.next_key = max([0, *(k + 1 for k in self if isinstance(k, int))])

    def key_for(self, step: int | str | None) -> int | str:
        """The key ``[step]`` writes (``[]`` appends), noted as used."""
        key = self.next_key if step is None else step
        if isinstance(key, int):
            self.next_key = max(self.next_key, key + 1)
        return key


def _store(values: dict[str, Any], name: str, path: list[int | str | None], value: Any) -> bool:
    """Apply ``$CFG->name[k1][k2] = value``; False where PHP would not build arrays (a string)."""
    container: dict[Any, Any] = values
    key: int | str = name
    for step in path:
        current = container.get(key)
        if current is None:
            current = container[key] = _Array()
        if not isinstance(current, dict):
            return False
        if not isinstance(current, _Array):  # a literal array(...) assigned earlier
            current = container[key] = _Array(current)
        container = current
        key = current.key_for(step)
    container[key] = value
    return True


def _export(value: Any, where: str, depth: int = 0) -> Any:
    """PHP arrays as json_encode shows them: a list when keys are 0..n-1, else str keys."""
    if not isinstance(value, dict):
        return value
    if depth > MAX_DEPTH:
        raise ConfigPhpError(f"{where}: a $CFG value is nested more than {MAX_DEPTH} levels deep.")
    items = [(k, _export(v, where, depth + 1)) for k, v in value.items()]
    if all(k == n for n, (k, _) in enumerate(items)):
        return [v for _, v in items]
    return {str(k): v for k, v in items}


def _shape(toks: list[Tok], start: int, end: int) -> str:
    """A short statement's tokens, lower-cased, strings as S: what the boilerplate is matched on."""
    return " ".join(
        f"${t.value}" if t.kind == "var" else str(t.value).lower() if t.kind != "str" else "S"
        for t in toks[start:end]
    )


def _unread(src: str, toks: list[Tok], start: int, end: int, secret: bool) -> DynamicStatement:
    """A statement left unevaluated, as shown to the auditor (at most 120 characters)."""
    rendered = render(src, toks, start, end, secret)
    return DynamicStatement(
        toks[start].line, rendered[:119] + "…" if len(rendered) > 120 else rendered
    )


def parse(text: str, path: str | None) -> tuple[PhpConfig, list[str], int]:
    """The config, the arguments of other files it requires, and how many settings it assigns."""
    where = path or "config.php"
    try:
        return _parse(text, path, where)
    except RecursionError:  # the parser bounds its depth; this is the backstop
        raise ConfigPhpError(f"{where}: nested too deeply to read without running PHP.") from None


def _parse(text: str, path: str | None, where: str) -> tuple[PhpConfig, list[str], int]:
    text = text.removeprefix("\ufeff")
    toks, reopened = lex(text, where)
    statements = _Statements(toks, where)
    cfg, values = PhpConfig(path, {}), dict[str, Any]()
    requires: list[str] = []
    variables: dict[str, str] = {}
    assigned, i = 0, 0
    while toks[i].kind != "eof":
        if is_op(toks[i], ";"):
            i += 1
            continue
        literal = None if cfg.reached_setup else _literal_assignment(toks, i)
        if literal is not None and _store(values, *literal[1:]):
            assigned, i = assigned + 1, literal[0]
            continue
        end = statements.skip(i)
        secret = mentions_secret(toks, i, end)
        first, second = toks[i], toks[i + 1]
        if cfg.reached_setup:
            cfg.after_setup.append(_unread(text, toks, i, end, secret))
        elif end - i <= _BOILERPLATE_SIZE and _shape(toks, i, end) in _BOILERPLATE:
            if first.kind != "id" or first.value.lower() != "global":
                values.clear()  # PHP: unset($CFG) and a new stdClass both discard earlier settings
        elif first.kind == "id" and first.value.lower() in _INCLUDES:
            whole = is_op(second, "(") and statements.match[i + 1] == end - 2
            argument = render(text, toks, i + 1 + whole, end - 1 - whole, False)
            if argument.endswith(_SETUP_ENDINGS):
                cfg.reached_setup = True
            else:
                cfg.dynamic.append(_unread(text, toks, i, end, secret))
                requires.append(variables.get(argument, argument))
        elif first.kind == "var" and first.value == "CFG" and is_op(second, "->"):
            if _assignment(text, toks, i, end, where, secret, values):
                assigned += 1
            else:
                cfg.dynamic.append(_unread(text, toks, i, end, secret))
        else:
            if first.kind == "var" and is_op(second, "="):
                variables[f"${first.value}"] = render(text, toks, i + 2, end - 1, False)
            cfg.dynamic.append(_unread(text, toks, i, end, secret))
        i = end
    if reopened is not None:
        note = DynamicStatement(reopened, "PHP code after the closing ?> tag (not read)")
        (cfg.after_setup if cfg.reached_setup else cfg.dynamic).append(note)
    cfg.values = {name: _export(value, where) for name, value in values.items()}
    return cfg, requires, assigned


_LITERAL_WORDS = {"true": True, "false": False, "null": None}


def _literal_assignment(
    toks: list[Tok], i: int
) -> tuple[int, str, list[int | str | None], Any] | None:
    """``$CFG->name['key'][] = 'literal';`` read without the expression parser, as (end, name,
    path, value): most lines of a real config.php, and the cost of a long one. Anything else
    (None) goes the general way, which gives the same answer for these."""
    if not (toks[i].kind == "var" and toks[i].value == "CFG" and is_op(toks[i + 1], "->")):
        return None
    if toks[i + 2].kind != "id":
        return None
    path: list[int | str | None] = []
    j = i + 3
    while is_op(toks[j], "["):
        key = toks[j + 1]
        if is_op(key, "]"):  # $CFG->name[] appends
            path.append(None)
            j += 2
            continue
        if key.kind not in ("str", "num") or key.value is None or not is_op(toks[j + 2], "]"):
            return None
        step = php_key(key.value)
        if step is None:
            return None
        path.append(step)
        j += 3
    if not is_op(toks[j], "="):
        return None
    literal = toks[j + 1]
    if literal.kind in ("str", "num") and literal.value is not None:
        value = literal.value
    elif literal.kind == "id" and literal.value.lower().lstrip("\\") in _LITERAL_WORDS:
        value = _LITERAL_WORDS[literal.value.lower().lstrip("\\")]
    else:
        return None
    if not is_op(toks[j + 2], ";"):
        return None
    return j + 3, toks[i + 2].value, path, value


def _assignment(
    src: str, toks: list[Tok], i: int, end: int, where: str, secret: bool, values: dict[str, Any]
) -> bool:
    """Apply one ``$CFG->name[...] = <expr>;``; False when the statement is something else."""
    if toks[i + 2].kind != "id":
        return False
    name, parser = toks[i + 2].value, Parser(src, toks, i + 3, where, secret)
    path: list[int | str | None] = []
    while parser.eat("["):
        if parser.eat("]"):
            path.append(None)  # $CFG->name[] appends
            continue
        key = php_key(parser.expr())
        parser.expect("]")
        if key is None:
            return False
        path.append(key)
    op = parser.peek()
    if not (op.kind == "op" and op.value in _ASSIGNMENTS):
        if op.kind == "op" or str(op.value).lower() in BINARY:
            return False  # a method call, a property of a property, a comparison...
        raise parser.fail(f"expected '=' after $CFG->{name} but found {describe(op, secret)}")
    parser.i += 1
    value = None if is_op(op, "++", "--") else parser.expr()
    if parser.i != end - 1:
        found = describe(parser.peek(), secret)
        raise fail(
            where, toks[parser.i - 1].line, f"expected ';' after $CFG->{name} but found {found}"
        )
    if not is_op(op, "="):
        value = Unknown(render(src, toks, i, end - 1, secret), toks[i].line)
    return _store(values, name, path, value)


def parse_config_php(text: str, path: str | None = None) -> PhpConfig:
    """Parse config.php source; ``path`` only names the file in error messages."""
    cfg, _, assigned = parse(text, path)
    if not assigned:
        raise no_settings(path or "config.php")
    return cfg


def no_settings(where: str, loader: object = None) -> ConfigPhpError:
    via = f" (reached from the loader {loader})" if loader else ""
    return ConfigPhpError(
        f"{where}: assigns no $CFG settings{via}, so it is not a Moodle config.php."
    )
