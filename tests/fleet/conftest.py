"""Fleet test helpers: small synthetic Moodle sites in SQLite files, and sites.yaml files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from moodle_soc.synthetic.builder import SiteBuilder

MakeSite = Callable[..., str]


@pytest.fixture
def sqlite_site(tmp_path: Path) -> MakeSite:
    """``sqlite_site(seed, **settings)``: a synthetic site file; returns its ``db`` URL."""

    def make(seed: int, site_name: str = "Acme Academy", **settings: object) -> str:
        wwwroot = f"https://site{seed}.example.test"
        builder = SiteBuilder(seed=seed, wwwroot=wwwroot, site_name=site_name)
        for name, value in settings.items():
            builder.setting(name, value)
        path = tmp_path / f"site{seed}-{len(os.listdir(tmp_path))}.sqlite"
        builder.sqlite_file(path).dispose()
        return f"sqlite:///{path}"

    return make


def sites_yaml(tmp_path: Path, text: str, name: str = "sites.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
