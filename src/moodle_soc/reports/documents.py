"""The Markdown document templates (``reports/templates/doc_*.md.j2``) rendered with the
site's facts, through the one Jinja environment. Every Moodle value goes through ``|md``
(``templating.markdown_text``): escaped for Markdown, never HTML-escaped."""

from __future__ import annotations

from moodle_soc.models.programme import SiteFacts
from moodle_soc.reports.templating import environment, markdown_text

md = markdown_text


def render_document(name: str, title: str, facts: SiteFacts) -> str:
    template = environment().get_template(f"doc_{name.replace('-', '_')}.md.j2")
    return str(template.render(title=title, f=facts))
