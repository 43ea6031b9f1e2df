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
