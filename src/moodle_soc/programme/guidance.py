"""Version-aware guidance: what core provides in the site's band, its limits, and per checklist
item what must come from the host or the organisation (``frameworks/guidance.yaml``)."""

from __future__ import annotations

import functools
from importlib.resources import files

import yaml
from pydantic import BaseModel, ConfigDict

from moodle_soc.frameworks import load_catalogue


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BandGuidance(_Frozen):
    label: str
    core_provides: tuple[str, ...]
    limits: tuple[str, ...]


class ItemGuidance(_Frozen):
    from_host: str
    from_organisation: str


class Guidance(_Frozen):
    bands: dict[str, BandGuidance]
    items: dict[str, ItemGuidance]

    def band(self, band: str | None) -> BandGuidance | None:
        return self.bands.get(band or "")


@functools.cache
def load_guidance() -> Guidance:
    """The shipped guidance, validated: every checklist item has its entry."""
    text = files("moodle_soc.frameworks").joinpath("guidance.yaml").read_text(encoding="utf-8")
    guidance = Guidance.model_validate(yaml.safe_load(text))
    items = {item.id for item in load_catalogue().readiness}
    if set(guidance.items) != items:
        raise ValueError(f"guidance.yaml must cover exactly the checklist items {sorted(items)}")
    return guidance
