"""YAML loading that refuses alias bombs before building anything.

`yaml.safe_load` shares one object per anchor, so a "billion laughs" file loads quickly, but
every later walk over it (key checks, JSON copies, storage) expands each alias again: a 1 KB file
becomes minutes and gigabytes. Here the node graph is composed first and its expanded size
counted without expanding it; only a document within budget is built.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_ALIAS_NODES = 100_000
"""How many nodes aliases may add to a document once expanded (a config needs a handful)."""


class YamlInputError(ValueError):
    """A YAML document that is malformed, or too large once its aliases are expanded."""


def load_yaml(text: str) -> Any:
    """The document in `text`, like `yaml.safe_load`; YamlInputError if it is not valid YAML,
    refers to itself, or its aliases expand to more than MAX_ALIAS_NODES nodes."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        distinct, expanded = _sizes(node)
        if expanded - distinct > MAX_ALIAS_NODES:
            raise YamlInputError(
                f"its aliases (*name) expand to {expanded:,} values, more than "
                f"{MAX_ALIAS_NODES:,} (an alias bomb?); write the settings out instead"
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlInputError(f"not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise YamlInputError("not valid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _sizes(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded), without expanding any: each node's
    expanded size is computed once, in an explicit stack so deep documents need no recursion."""
    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()  # the current path: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
        elif key in open_nodes:
            raise YamlInputError("an alias refers to a collection that contains it")
        elif key not in expanded:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return len(expanded), expanded[id(root)]
