"""YAML parsed by libyaml when PyYAML was built with it, with PyYAML's own error messages.

The pure-Python parser takes about 0.3 s for the catalogues and data files a scan reads
(advisories, releases, the frameworks); libyaml takes a tenth of that. Its error messages are
worded differently, so a document libyaml refuses is parsed again by the pure-Python loader:
a user sees the same sentence either way, and a document only one parser accepts still loads.

Even with libyaml, PyYAML builds the values in Python, node by node: about a third of loading
the data files a scan reads (40 ms). Strings, lists and mappings with string keys are built
here directly; every other node (numbers, dates, null, booleans, merge keys, other tags) by
PyYAML's own constructor, so the values are the ones ``yaml.safe_load`` gives.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: The fastest safe loader this PyYAML has (``CSafeLoader`` needs libyaml).
FAST_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load`` through libyaml; a refused document raises PyYAML's own error."""
    if FAST_SAFE_LOADER is yaml.SafeLoader:
        return yaml.safe_load(text)
    try:
        return _load(text)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _load(text: str | bytes) -> Any:
    loader = FAST_SAFE_LOADER(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        built: dict[int, Any] = {}  # by node: an alias is the same object, as PyYAML gives

        def build(node: Node) -> Any:
            kind = type(node)
            if kind is ScalarNode and node.tag == _STR:
                return node.value
            known = built.get(id(node), built)
            if known is not built:
                return known
            if kind is SequenceNode and node.tag == _SEQ:
                items: list[Any] = []
                built[id(node)] = items
                items.extend(build(item) for item in node.value)
                return items
            if (
                kind is MappingNode
                and node.tag == _MAP
                and all(type(k) is ScalarNode and k.tag == _STR for k, _ in node.value)
            ):
                mapping: dict[str, Any] = {}
                built[id(node)] = mapping
                for key, value in node.value:
                    mapping[key.value] = build(value)
                return mapping
            value = built[id(node)] = loader.construct_document(node)
            return value

        return build(root)
    finally:
        loader.dispose()
