"""config.php is read statically: literals evaluated, everything else flagged, never executed."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodle_soc.errors import ConfigPhpError
from moodle_soc.site.phpconfig import (
    DynamicStatement,
    PhpConfig,
    Unknown,
    load_config_php,
    parse_config_php,
    redacted,
    redacted_values,
)

FIXTURES = Path(__file__).parents[3] / "shared/fixtures"
SECRET = "hunter2-Secret"


def cfg_of(body: str) -> PhpConfig:
    return parse_config_php(f"<?php\nunset($CFG);\nglobal $CFG;\n$CFG = new stdClass();\n{body}")


def value_of(body: str, name: str = "x") -> Any:
    return cfg_of(body).get(name)


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Real fixture {path} is missing; CI must provide ../shared/fixtures.")
        pytest.skip(f"real fixture {path} not available")
    return path


@pytest.mark.parametrize(
    ("name", "dbtype", "prefix", "wwwroot"),
    [
        ("moodle51-weak-config.php", "pgsql", "mdl_", "http://weak.example.test"),
        ("moodle51-hardened-config.php", "mariadb", "mdl_", "https://hardened.example.test"),
        ("moodle41-legacy-config.php", "pgsql", "m41_", "http://legacy.example.test"),
    ],
)
def test_real_config_php_is_read_completely(name: str, dbtype: str, prefix: str, wwwroot: str):
    cfg = load_config_php(fixture(name))
    assert (cfg.get("dbtype"), cfg.get("prefix"), cfg.get("wwwroot")) == (dbtype, prefix, wwwroot)
    assert cfg.get("directorypermissions") == 0o2777 == 1535
    assert cfg.get("noemailever") is True
    assert cfg.get("dboptions")["dbpersist"] == 0
    assert cfg.reached_setup and cfg.dynamic == [] and cfg.after_setup == []
    assert cfg.path == str(FIXTURES / name)
    assert redacted_values(cfg)["dbpass"] == "********"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("02777", 1535, id="octal_legacy"),
        pytest.param("0o777", 511, id="octal_explicit"),
        pytest.param("0x1F", 31, id="hex"),
        pytest.param("0b101", 5, id="binary"),
        pytest.param("1_000_000", 1000000, id="underscored"),
        pytest.param("0", 0, id="zero"),
        pytest.param("1.5", 1.5, id="float"),
        pytest.param(".5", 0.5, id="float_leading_dot"),
        pytest.param("1e3", 1000.0, id="float_exponent"),
        pytest.param("-5", -5, id="negative"),
        pytest.param("+5", 5, id="unary_plus"),
        pytest.param("- 0x10", -16, id="negative_hex"),
        pytest.param("9223372036854775808", 9.223372036854776e18, id="int_overflow_is_float"),
        pytest.param("TRUE", True, id="true_any_case"),
        pytest.param("False", False, id="false_any_case"),
        pytest.param("null", None, id="null"),
        pytest.param("'it\\'s a \\\\ and \\n'", "it's a \\ and \\n", id="single_quoted_escapes"),
        pytest.param('"a\\tb\\n\\\\\\"\\$x"', 'a\tb\n\\"$x', id="double_quoted_escapes"),
        pytest.param('"\\x41\\101\\u{e9}\\e\\q"', "AA\u00e9\x1b\\q", id="double_quoted_codes"),
        pytest.param('"price: $5"', "price: $5", id="dollar_without_name_is_literal"),
        pytest.param("'a' . 'b' . 1 . true . null", "ab11", id="concatenated_literals"),
        pytest.param("('a' . 'b')", "ab", id="parenthesised_literal"),
        pytest.param("@'quiet'", "quiet", id="silenced_literal"),
        pytest.param("'multi\nline'", "multi\nline", id="multiline_string"),
    ],
)
def test_literal_values_are_evaluated(source: str, expected: Any):
    assert value_of(f"$CFG->x = {source};") == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("array(1, 2, 3)", [1, 2, 3], id="list_from_array_call"),
        pytest.param("[1, 2, 3,]", [1, 2, 3], id="short_syntax_trailing_comma"),
        pytest.param("array()", [], id="empty_array_is_list"),
        pytest.param("['a' => 1, 'b' => [true]]", {"a": 1, "b": [True]}, id="nested"),
        pytest.param("[5 => 'a', 'b']", {"5": "a", "6": "b"}, id="implicit_keys_follow_max"),
        pytest.param("['1' => 'a', 0 => 'b']", {"1": "a", "0": "b"}, id="out_of_order_is_dict"),
        pytest.param("['0' => 'a', true => 'b']", ["a", "b"], id="php_key_casts"),
        pytest.param(
            "array('dbpersist' => 0, 'dbport' => '', 'readonly' => ['instance' => ["
            "['dbhost' => 'r1', 'dbpass' => 'p']], 'latency' => 2])",
            {
                "dbpersist": 0,
                "dbport": "",
                "readonly": {"instance": [{"dbhost": "r1", "dbpass": "p"}], "latency": 2},
            },
            id="dboptions_with_replica",
        ),
    ],
)
def test_arrays_become_lists_or_str_keyed_dicts(source: str, expected: Any):
    assert value_of(f"$CFG->x = {source};") == expected


@pytest.mark.parametrize(
    ("source", "expression"),
    [
        pytest.param("getenv('DB_PASS')", "getenv('DB_PASS')", id="getenv"),
        pytest.param("__DIR__ . '/../moodledata'", "__DIR__ . '/../moodledata'", id="dir"),
        pytest.param("dirname(__FILE__) . '/data'", "dirname(__FILE__) . '/data'", id="dirname"),
        pytest.param(
            "'https://' . $_SERVER['HTTP_HOST']", "'https://' . $_SERVER['HTTP_HOST']", id="server"
        ),
        pytest.param("(E_ALL | E_STRICT)", "(E_ALL | E_STRICT)", id="constants"),
        pytest.param('"$CFG->dataroot/cache"', '"$CFG->dataroot/cache"', id="interpolation"),
        pytest.param('"{$x}"', '"{$x}"', id="complex_interpolation"),
        pytest.param("(int) '5'", "(int) '5'", id="cast"),
        pytest.param("1.5 . 'x'", "1.5 . 'x'", id="float_concatenation"),
        pytest.param("1 + 2", "1 + 2", id="arithmetic"),
        pytest.param("$a ? 'x' : 'y'", "$a ? 'x' : 'y'", id="ternary"),
        pytest.param("new \\stdClass()", "new \\stdClass()", id="object"),
        pytest.param("[...$a]", "[...$a]", id="spread"),
        pytest.param("Foo::BAR", "Foo::BAR", id="class_constant"),
        pytest.param("$x->y->z()", "$x->y->z()", id="method_chain"),
        pytest.param("getenv( /* why */ 'X' )", "getenv( 'X' )", id="comment_dropped"),
    ],
)
def test_runtime_values_are_unknown_with_their_source(source: str, expression: str):
    value = value_of(f"\n$CFG->x = {source};")
    assert value == Unknown(expression, line=6)
    assert str(value) == f"<computed at runtime: {expression}>"


def test_unknown_inside_array_keeps_known_siblings():
    value = value_of("$CFG->x = ['host' => getenv('H'), 'port' => 5432];")
    assert value == {"host": Unknown("getenv('H')", 5), "port": 5432}


def test_secret_literals_are_masked_in_unknown_expressions():
    value = value_of(f"$CFG->dbpass = '{SECRET}' . getenv('DB_PASS_SUFFIX');", "dbpass")
    assert value == Unknown("'********' . getenv('DB_PASS_SUFFIX')", 5)


def test_indexed_assignments_build_nested_dicts_and_lists():
    cfg = cfg_of(
        "$CFG->x = array('a' => 1);\n$CFG->x['b']['c'] = 2;\n$CFG->y[] = 'p';\n$CFG->y[] = 'q';\n"
        "$CFG->z['k'][] = 1;"
    )
    assert cfg.values == {"x": {"a": 1, "b": {"c": 2}}, "y": ["p", "q"], "z": {"k": [1]}}


def test_compound_assignment_makes_the_value_unknown():
    assert value_of("$CFG->x = 'a';\n$CFG->x .= 'b';") == Unknown("$CFG->x .= 'b'", 6)


def test_indexing_into_a_string_is_recorded_not_applied():
    cfg = cfg_of("$CFG->x = 'abc';\n$CFG->x['k'] = 1;")
    assert cfg.get("x") == "abc"
    assert cfg.dynamic == [DynamicStatement(6, "$CFG->x['k'] = 1;")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", {}, id="absent"),
        pytest.param("$CFG->forced_plugin_settings = 'x';", {}, id="not_an_array"),
        pytest.param(
            "$CFG->forced_plugin_settings = ['auth_ldap' => ['host_url' => 'ldaps://h'],"
            " 'tool_mfa' => array()];\n"
            "$CFG->forced_plugin_settings['backup']['backup_auto_active'] = 1;",
            {
                "auth_ldap": {"host_url": "ldaps://h"},
                "tool_mfa": {},
                "backup": {"backup_auto_active": 1},
            },
            id="per_plugin_dicts",
        ),
    ],
)
def test_forced_plugin_settings(body: str, expected: dict[str, Any]):
    assert cfg_of(f"$CFG->wwwroot = 'https://x';\n{body}").forced_plugin_settings == expected


@pytest.mark.parametrize(
    "require",
    [
        "require_once(__DIR__ . '/lib/setup.php');",
        "require_once(dirname(__FILE__) . '/lib/setup.php');",
        'require_once(dirname(__FILE__) . "/lib/setup.php");',
        "require __DIR__ . '/lib/setup.php';",
        'require_once("$CFG->dirroot/lib/setup.php");',
    ],
)
def test_statements_after_setup_are_recorded_not_applied(require: str):
    cfg = cfg_of(f"$CFG->a = 1;\n{require} // Do not edit\n$CFG->a = 2;\n$CFG->b = 3;")
    assert cfg.reached_setup
    assert cfg.values == {"a": 1}
    assert cfg.after_setup == [
        DynamicStatement(7, "$CFG->a = 2;"),
        DynamicStatement(8, "$CFG->b = 3;"),
    ]
    assert cfg.dynamic == []


@pytest.mark.parametrize(
    ("block", "text"),
    [
        pytest.param(
            "if ($x) { $CFG->a = 2; } elseif ($y) { $CFG->a = 3; } else { $CFG->a = 4; }",
            "if ($x) { $CFG->a = 2; } elseif ($y) { $CFG->a = 3; } else { $CFG->a = 4; }",
            id="braces",
        ),
        pytest.param(
            "if ($x)\n    $CFG->a = 2;\nelse\n    $CFG->a = 3;", None, id="single_statements"
        ),
        pytest.param("if ($x): $CFG->a = 2; else: $CFG->a = 3; endif;", None, id="alternative"),
        pytest.param("if ($x) { if ($y) { $CFG->a = 2; } }", None, id="nested"),
    ],
)
def test_if_blocks_are_recorded_as_one_statement_and_not_applied(block: str, text: str | None):
    cfg = cfg_of(f"$CFG->a = 1;\n{block}\n$CFG->b = 5;")
    assert cfg.values == {"a": 1, "b": 5}
    assert [d.line for d in cfg.dynamic] == [6]
    assert cfg.dynamic[0].text == (text or " ".join(block.split()))


@pytest.mark.parametrize(
    "statement",
    [
        "define('CLI_MAINTENANCE', true);",
        "ini_set('display_errors', '1');",
        "date_default_timezone_set('UTC');",
        "require_once('/etc/moodle/extra.php');",
        "include __DIR__ . '/local.php';",
        "$dbhost = 'db';",
        "@error_reporting(E_ALL);",
        "$CFG->x->y = 1;",
        "$CFG->setup();",
        "$CFG->x[$name] = 1;",
        "foreach ($hosts as $h) { $CFG->x[] = $h; }",
        "function local_helper() { return 1; }",
        "do { $i++; } while ($i < 3);",
        "try { x(); } catch (Exception $e) { } finally { }",
    ],
)
def test_other_statements_are_recorded_as_dynamic(statement: str):
    cfg = cfg_of(f"$CFG->a = 1;\n{statement}\n$CFG->b = 2;")
    assert cfg.values == {"a": 1, "b": 2}
    assert cfg.dynamic == [DynamicStatement(6, statement)]


def test_boilerplate_is_not_dynamic_and_resets_cfg():
    cfg = parse_config_php(
        "<?php $CFG->old = 1; unset($CFG); global $CFG; $CFG = new \\stdClass; $CFG->a = 1;"
    )
    assert cfg.values == {"a": 1} and cfg.dynamic == []


def test_long_dynamic_statements_are_clipped_to_120_characters():
    cfg = cfg_of("define('X', '" + "a" * 300 + "');\n$CFG->a = 1;")
    assert len(cfg.dynamic[0].text) == 120 and cfg.dynamic[0].text.endswith("…")


def test_secret_literals_are_masked_in_dynamic_statements():
    cfg = cfg_of(
        f"$CFG->a = 1;\nif ($prod) {{ $CFG->dbpass = '{SECRET}'; $CFG->upgradekey = 987654; }}\n"
        f"define('DB_PASSWORD', '{SECRET}');"
    )
    texts = [d.text for d in cfg.dynamic]
    assert texts == [
        "if ($prod) { $CFG->dbpass = '********'; $CFG->upgradekey = ********; }",
        "define('********', '********');",
    ]


def test_closing_tag_ends_php_and_inline_html_is_ignored():
    cfg = cfg_of("$CFG->a = 1 ?>\n<html>$CFG->b = 2;</html>")
    assert cfg.values == {"a": 1} and cfg.dynamic == []


def test_php_reopened_after_closing_tag_is_flagged():
    cfg = cfg_of("$CFG->a = 1;\n?>\n<?php $CFG->b = 2;")
    assert cfg.values == {"a": 1}
    assert cfg.dynamic == [DynamicStatement(7, "PHP code after the closing ?> tag (not read)")]


def test_comments_are_ignored_including_question_mark_in_line_comment():
    cfg = cfg_of(
        "# hash\n// slash ? not a tag\n/* block\n $CFG->no = 1; */\n$CFG->a = 1; // $CFG->b = 2;"
    )
    assert cfg.values == {"a": 1}


@pytest.mark.parametrize(
    ("source", "line"),
    [
        pytest.param("", 1, id="empty_file"),
        pytest.param("dbpass = hunter2", 1, id="not_php"),
        pytest.param(f"<?php\n$CFG->dbpass = '{SECRET};\n", 2, id="unterminated_string"),
        pytest.param(f'<?php\n$CFG->dbpass = "{SECRET};\n', 2, id="unterminated_double_string"),
        pytest.param(f"<?php\n$CFG->dbpass = '{SECRET}';\n/* note", 3, id="unterminated_comment"),
        pytest.param(f"<?php\n$CFG->x = array('{SECRET}', 2;\n", 2, id="unterminated_array"),
        pytest.param(f"<?php\n$CFG->x = ['{SECRET}');\n", 2, id="mismatched_bracket"),
        pytest.param(f"<?php\n$CFG->x = 1;\n}}\n$CFG->y = '{SECRET}';", 3, id="stray_brace"),
        pytest.param(f"<?php\n$CFG->dbpass = '{SECRET}'\n$CFG->b = 1;", 2, id="missing_semicolon"),
        pytest.param(f"<?php\n$CFG->dbpass = '{SECRET}'", 2, id="missing_final_semicolon"),
        pytest.param(f"<?php\n$CFG->dbpass = '{SECRET}' '{SECRET}';", 2, id="two_strings"),
        pytest.param(f"<?php\n$CFG->dbpass '{SECRET}';", 2, id="missing_equals"),
        pytest.param("<?php\n$CFG->x = ;", 2, id="missing_value"),
        pytest.param("<?php\n$CFG->x = 089;", 2, id="bad_octal"),
        pytest.param("<?php\n$CFG->x = 1abc;", 2, id="bad_number"),
        pytest.param("<?php\n\n$CFG->x = `ls`;", 3, id="garbage_character"),
        pytest.param("<?php\n$CFG->x = <<<EOT\nx\nEOT;", 2, id="heredoc"),
        pytest.param("<?php\n$CFG->x = function () { return 1; };", 2, id="closure"),
        pytest.param("<?php\n$CFG->x = '\\u{110000}' . \"\\u{110000}\";", 2, id="bad_unicode"),
        pytest.param("<?php\nif ($x):\n$CFG->a = 1;", 2, id="unclosed_alternative_if"),
        pytest.param("<?php\n$CFG->x = " + "[" * 200 + "]" * 200 + ";", 2, id="too_deep"),
    ],
)
def test_malformed_input_names_the_line_and_never_the_secret(source: str, line: int):
    with pytest.raises(ConfigPhpError) as caught:
        parse_config_php(source)
    message = caught.value.message
    assert message.startswith(f"config.php line {line}: ") and message.endswith(".")
    assert SECRET not in message and "hunter2" not in message


@pytest.mark.parametrize(
    "source",
    ["<?php\n", "<?php\n// nothing here\n", "<?php\ndefine('X', 1);\n$x = 2;"],
)
def test_file_without_cfg_settings_is_rejected(source: str):
    with pytest.raises(ConfigPhpError, match=r"^/srv/x/config\.php: assigns no \$CFG settings"):
        parse_config_php(source, "/srv/x/config.php")


def test_error_names_the_path_when_known():
    with pytest.raises(ConfigPhpError, match=r"^/srv/x/config\.php line 2: "):
        parse_config_php("<?php\n$CFG->x = ;", "/srv/x/config.php")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_load_tolerates_a_byte_order_mark(tmp_path: Path):
    path = write(tmp_path / "config.php", b"\xef\xbb\xbf<?php $CFG->a = 'caf\xc3\xa9';")
    assert load_config_php(path).get("a") == "café"


def test_load_reads_legacy_latin1_files(tmp_path: Path):
    path = write(tmp_path / "config.php", b"<?php $CFG->a = 'caf\xe9';")
    assert load_config_php(path).get("a") == "café"


def _fifo(directory: Path) -> Path:
    os.mkfifo(directory / "config.php")  # nobody writes to it: reading it would wait forever
    return directory / "config.php"


def _huge(directory: Path) -> Path:
    return write(directory / "config.php", "<?php\n$CFG->a = 1;\n" + "//" + "x" * 2**20)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda d: d / "missing.php", "the file does not exist", id="missing"),
        pytest.param(lambda d: d, "is a directory", id="directory"),
        pytest.param(lambda d: Path("/dev/zero"), "is not a regular file", id="device"),
        pytest.param(_fifo, "is not a regular file", id="fifo"),
        pytest.param(_huge, "is larger than 1 MiB", id="huge"),
    ],
)
def test_load_reports_unreadable_files(tmp_path: Path, make: Any, message: str):
    with pytest.raises(ConfigPhpError, match=message) as caught:
        load_config_php(make(tmp_path))
    assert "\n" not in caught.value.message and caught.value.message.endswith(".")


def test_a_file_at_the_size_limit_is_read(tmp_path: Path):
    head = "<?php\n$CFG->a = 1;\n//"
    path = write(tmp_path / "config.php", head + "x" * (2**20 - len(head)))
    assert path.stat().st_size == 2**20 and load_config_php(path).get("a") == 1


def test_appending_is_linear_in_the_number_of_lines():
    """$CFG->x[] = ... used to rescan the array on every append: 40,000 lines took 52 s. Four
    times the lines must cost about four times the CPU (linear), far from the sixteen times a
    rescan costs; a ratio, so a busy or slow machine cannot fail it."""

    def parse(lines: int) -> tuple[float, Any]:
        source = "<?php\n" + "".join(f"$CFG->x[] = {n};\n$CFG->y['k{n}'][] = 'v';\n"
                                       for n in range(lines // 2))  # fmt: skip
        gc.disable()  # a collection of the worker's whole heap is not the parser's cost
        try:
            started = time.process_time()
            cfg = parse_config_php(source)
            return time.process_time() - started, cfg
        finally:
            gc.enable()

    small = min(parse(5_000)[0] for _ in range(3))
    big = min(parse(20_000)[0] for _ in range(3))
    assert big < 10 * small, (big, small)
    _, cfg = parse(20_000)
    assert cfg.get("x") == list(range(10_000)) and cfg.get("y")["k9999"] == ["v"]


@pytest.mark.parametrize(
    "statement",
    [
        "$CFG->x = 'v';", "$CFG->x = 5;", "$CFG->x = 0x1F;", "$CFG->x = TRUE;", "$CFG->x = null;",
        "$CFG->x = \\false;", "$CFG->x['a'][] = 'v';", "$CFG->x[1.9] = 'v';", "$CFG->x['07'] = 1;",
        "$CFG->x[true] = 1;", '$CFG->x["a$b"] = 1;', "$CFG->x[] = \"$v\";", "$CFG->x = FOO;",
    ],
)  # fmt: skip
def test_literal_assignments_read_the_same_as_any_expression(statement: str):
    """The fast path for literal assignments agrees with the expression parser, which reads the
    same statement when its value is prefixed with @ (PHP's silence operator changes nothing)."""
    setup = "$CFG->x = ['p' => 1];\n$CFG->x[5] = 2;\n"
    name, value = statement.rstrip(";").split(" = ")
    fast, slow = cfg_of(setup + statement), cfg_of(f"{setup}{name} = @{value};")
    assert fast.values == slow.values and len(fast.dynamic) == len(slow.dynamic)


@pytest.mark.parametrize(
    "source",
    [
        "$CFG->x = " + "$" * 3000 + "a;",
        "$CFG->x = " + "-" * 3000 + "1;",
        "$CFG->x = " + "[" * 3000 + "]" * 3000 + ";",
        "$CFG->x" + "[1]" * 3000 + " = 1;",
    ],
    ids=["dollars", "minus", "arrays", "keys"],
)
def test_deep_nesting_is_a_one_line_error_not_a_crash(source: str):
    with pytest.raises(ConfigPhpError, match="nested more than 100 levels deep") as caught:
        cfg_of(source)
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    "loader",
    [
        "$configfile = __DIR__ . '/../config.php';\n"
        "if (!file_exists($configfile)) {\n    header('Location: install.php');\n    die;\n}\n"
        "require_once($configfile);\n",
        "require_once(dirname(__DIR__) . '/config.php');\n",
        "require_once dirname(__FILE__, 2) . '/config.php';\n",
    ],
)
def test_moodle51_public_loader_is_followed_to_the_real_config(tmp_path: Path, loader: str):
    real = write(tmp_path / "config.php", "<?php\n$CFG->wwwroot = 'https://x';\n")
    cfg = load_config_php(write(tmp_path / "public" / "config.php", f"<?php\n{loader}"))
    assert cfg.path == str(real) and cfg.values == {"wwwroot": "https://x"}


@pytest.mark.parametrize(
    ("root_config", "message"),
    [
        pytest.param(None, "the file does not exist", id="target_missing"),
        pytest.param("<?php\nrequire_once(__DIR__ . '/config.php');", "assigns no", id="loop"),
        pytest.param(
            "<?php\nrequire_once(__DIR__ . '/../config.php');",
            "reached from the loader",
            id="chain",
        ),
    ],
)
def test_loader_is_followed_only_once(tmp_path: Path, root_config: str | None, message: str):
    if root_config is not None:
        write(tmp_path / "config.php", root_config)
    loader = write(tmp_path / "public/config.php", "<?php\nrequire(__DIR__ . '/../config.php');")
    with pytest.raises(ConfigPhpError, match=message):
        load_config_php(loader)


def test_redaction_masks_secrets_at_any_depth_and_renders_unknown():
    cfg = cfg_of(
        "$CFG->dbpass = 'p';\n$CFG->upgradekey = '';\n$CFG->dataroot = __DIR__ . '/d';\n"
        "$CFG->dboptions = ['dbport' => 5432, 'readonly' => ['instance' => "
        "[['dbhost' => 'r', 'dbpass' => 'rp']]]];"
    )
    assert redacted_values(cfg) == {
        "dbpass": "********",
        "upgradekey": "",
        "dataroot": "<computed at runtime: __DIR__ . '/d'>",
        "dboptions": {
            "dbport": 5432,
            "readonly": {"instance": [{"dbhost": "r", "dbpass": "********"}]},
        },
    }
    assert redacted({"salt": "s", "x": [2]}, "forced") == {"salt": "********", "x": [2]}


FRAGMENTS = [
    "$CFG", "->", "dbpass", "x", "[", "]", "(", ")", "{", "}", "=", ";", "'s'", '"d$v"', "'\\''",
    "1", "0x1F", "02777", "1.5", ".", ",", "=>", "array", "if", "else", "elseif", ":", "endif",
    "?>", "<?php", "// c\n", "/* c */", "\n", "getenv", "__DIR__", "require_once", "unset",
    "'/lib/setup.php'", "-", "!", "@", "&", "?", "...", "new", "stdClass", "global", "do",
    "while", "function", "try", "catch", "$x", "true", "NULL", "::", ".=", "++", "(int)", "'",
]  # fmt: skip


def parses_or_fails_cleanly(text: str) -> None:
    try:
        cfg = parse_config_php(text)
    except ConfigPhpError as exc:
        assert exc.message.endswith(".")
    else:
        assert cfg.values
        redacted_values(cfg)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_parses_or_raises_config_php_error(text: str):
    parses_or_fails_cleanly(text)
    parses_or_fails_cleanly("<?php " + text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_php_like_token_soup_parses_or_raises_config_php_error(parts: list[str]):
    parses_or_fails_cleanly("<?php $CFG->a = 1; " + " ".join(parts))
