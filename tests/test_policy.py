from pathlib import Path

import pytest

from moodle_soc.errors import BadInputError, ExitCode
from moodle_soc.policy import Policy
from moodle_soc.settings_file import find_settings_file, load_settings_file


def test_every_threshold_has_a_reason():
    for name, _value, reason in Policy().thresholds():
        assert reason.endswith("."), name


def test_yaml_overrides_thresholds(tmp_path: Path):
    path = tmp_path / "moodle-soc.yaml"
    path.write_text("policy:\n  min_password_length: 14\n  dormant_days: 60\nstore: ev.sqlite\n")
    settings = load_settings_file(path)
    assert settings.policy.min_password_length == 14
    assert settings.policy.dormant_days == 60
    assert settings.store == "ev.sqlite"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("policy:\n  no_such_threshold: 1\n", "no_such_threshold"),
        ("policy:\n  dormant_days: soon\n", "dormant_days"),
        ("policy: [1, 2]\n", "mapping"),
        ("polcy:\n  dormant_days: 3\n", "unknown key 'polcy'"),
        ("policy: {dormant_days: 3\n", "not valid YAML"),
        ("- a list\n", "must hold a mapping"),
    ],
)
def test_bad_files_are_one_sentence(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "moodle-soc.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=fragment) as caught:
        load_settings_file(path)
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    assert "\n" not in caught.value.message


def test_missing_local_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert find_settings_file(None).policy == Policy()
