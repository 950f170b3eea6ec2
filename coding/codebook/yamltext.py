"""YAML read and written without recursion (codebook files).

PyYAML's composer, representer and serializer recurse a few frames per nesting level, so
``yaml.safe_load`` and ``yaml.safe_dump`` end in ``RecursionError`` a few hundred levels
deep. Its parser and emitter are state machines with their own stacks: here documents are
built from the parser's events, and written as events to the emitter, with a list as the
stack. Scalars are resolved and constructed exactly as ``safe_load``/``safe_dump`` do.

Anchors and aliases are refused: a codebook never needs them, and a shared node would be
read once per reference.
"""

from __future__ import annotations

import io
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_NO_KEY = object()
_END_MAP, _END_SEQ = object(), object()


def load_yaml(text: str) -> Any:
    """What ``yaml.safe_load(text)`` gives for a plain document (mappings, sequences,
    scalars), at any depth. Raises :class:`yaml.YAMLError` (with a mark) on bad input."""
    loader = yaml.SafeLoader(text)
    try:
        root: Any = None
        documents = 0
        stack: list[list] = []  # [container, pending key] per open collection

        def add(value: Any, mark) -> None:
            nonlocal root
            if not stack:
                root = value
                return
            top = stack[-1]
            if isinstance(top[0], list):
                top[0].append(value)
            elif top[1] is _NO_KEY:
                if isinstance(value, (dict, list)):
                    raise ConstructorError("while reading a mapping", None, "found a mapping or list as a key", mark)
                top[1] = value
            else:
                top[0][top[1]] = value
                top[1] = _NO_KEY

        while True:
            ev = loader.get_event()
            if isinstance(ev, StreamEndEvent):
                return root
            if isinstance(ev, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ConstructorError("expected a single document", None, "found another document",
                                           ev.start_mark)
            elif isinstance(ev, AliasEvent) or getattr(ev, "anchor", None):
                raise ConstructorError(None, None, "anchors and aliases (& and *) are not supported here: "
                                                   "write each entry out", ev.start_mark)
            elif isinstance(ev, ScalarEvent):
                tag = ev.tag if ev.tag not in (None, "!") else loader.resolve(ScalarNode, ev.value, ev.implicit)
                add(loader.construct_object(ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)),
                    ev.start_mark)
            elif isinstance(ev, CollectionStartEvent):
                mapping = isinstance(ev, MappingStartEvent)
                if ev.tag not in (None, "!", _MAP if mapping else _SEQ):
                    raise ConstructorError(None, None, f"the tag {ev.tag!r} is not supported here", ev.start_mark)
                stack.append([{} if mapping else [], _NO_KEY])
            elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)):
                add(stack.pop()[0], ev.start_mark)
            elif not isinstance(ev, DocumentEndEvent):  # StreamStartEvent
                continue
    finally:
        loader.dispose()


def dump_yaml(data: Any, *, width: int = 100) -> str:
    """What ``yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=width)`` writes
    for plain data (dicts in their order, lists, str, int, float, bool, None), at any depth."""
    out = io.StringIO()
    d = yaml.SafeDumper(out, allow_unicode=True, width=width, sort_keys=False, default_flow_style=False)
    d.open()
    d.emit(DocumentStartEvent(explicit=False))
    todo: list[Any] = [data]
    while todo:
        x = todo.pop()
        if x is _END_MAP:
            d.emit(MappingEndEvent())
        elif x is _END_SEQ:
            d.emit(SequenceEndEvent())
        elif isinstance(x, dict):
            d.emit(MappingStartEvent(None, _MAP, True, flow_style=False))
            todo.append(_END_MAP)
            for k, v in reversed(list(x.items())):
                todo += [v, k]
        elif isinstance(x, (list, tuple)):
            d.emit(SequenceStartEvent(None, _SEQ, True, flow_style=False))
            todo.append(_END_SEQ)
            todo.extend(reversed(x))
        else:
            node = d.represent_data(x)
            implicit = (node.tag == d.resolve(ScalarNode, node.value, (True, False)),
                        node.tag == d.resolve(ScalarNode, node.value, (False, True)))
            d.emit(ScalarEvent(None, node.tag, implicit, node.value, style=node.style))
    d.emit(DocumentEndEvent(explicit=False))
    d.close()
    return out.getvalue()
