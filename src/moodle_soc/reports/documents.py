"""The Markdown document templates (``reports/templates/doc_*.md.j2``) rendered with the
site's facts. Markdown is not HTML: values are escaped for Markdown (a username cannot start a
table cell, a link or emphasis), never HTML-escaped."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from moodle_soc.models.programme import SiteFacts

if TYPE_CHECKING:
    import jinja2

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md(value: object) -> str:
    """``value`` as literal Markdown text on one line."""
    text = " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", text)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("moodle_soc", "reports/templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md
    return env


def render_document(name: str, title: str, facts: SiteFacts) -> str:
    template = _environment().get_template(f"doc_{name.replace('-', '_')}.md.j2")
    return template.render(title=title, f=facts)
