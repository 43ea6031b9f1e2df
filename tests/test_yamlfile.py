"""YAML through libyaml reads the same values and, for a broken file, shows the same message as
PyYAML's pure-Python parser (users and tests see one wording, whichever parser is built in)."""

import pytest
import yaml

from moodle_soc.yamlfile import FAST_SAFE_LOADER, safe_load


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    assert FAST_SAFE_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_the_values_are_the_pure_python_parsers() -> None:
    text = "a: 1\nb: [x, 'y', 2026-01-31, 1.5, null, yes]\nc: {d: ~}\n"
    assert safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", ["a: [1,\n", "a: b: c\n", "- a\nb: 1\n"])
def test_a_broken_document_raises_pyyamls_own_message(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as raised:
        safe_load(text)
    assert str(raised.value) == str(expected.value)


TRICKY = """
base: &b {x: 1, y: [a, b]}
merged: {<<: *b, z: 3}
same: *b
'=': quoted
=: value key
1: int key
~: null key
set: !!set {a, b}
omap: !!omap [a: 1, b: 2]
day: 2026-01-31
moment: 2026-01-31 10:00:00
binary: !!binary aGVsbG8=
numbers: [1.5, 0x1F, .inf, 1_000]
switch: yes
nothing: ~
dup: 1
dup: 2
nested: {a: {b: [1, {c: d}]}}
tagged: !!str 12
empty: ''
"""


def test_strings_lists_and_mappings_built_directly_are_pyyamls_values() -> None:
    loaded = safe_load(TRICKY)
    assert loaded == yaml.safe_load(TRICKY)
    assert loaded["same"] is loaded["base"]  # an alias is the same object, as in PyYAML
    looped = safe_load("a: &r [1, *r]\n")["a"]
    assert looped[1] is looped


def test_every_shipped_yaml_file_loads_as_pyyaml_loads_it() -> None:
    from pathlib import Path

    import moodle_soc

    files = sorted(Path(moodle_soc.__file__).parent.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        data = path.read_bytes()
        assert safe_load(data) == yaml.safe_load(data), path.name


@pytest.mark.parametrize("text", ["? [1]\n: x\n", "a: !!python/name:os.system x\n", "a: *nope\n"])
def test_what_the_safe_loader_refuses_is_refused_with_its_message(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as raised:
        safe_load(text)
    assert str(raised.value) == str(expected.value)
