"""A tiny renderer for the subset of Helm's templates that deploy/helm uses (no helm binary here):
``.Values``/``.Release``/``.Chart`` paths, ``quote``, ``default``, ``printf "%s…"``, ``toYaml | nindent``,
and ``if``/``if not``/``end`` blocks. Anything else raises, so a template using more fails the test."""

from __future__ import annotations

import re
from typing import Any

import yaml

ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def _lookup(path: str, context: dict[str, Any]) -> Any:
    if not path.startswith("."):
        raise ValueError(f"unsupported operand {path!r}")
    value: Any = context
    for part in path[1:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{path}: no such value")
        value = value[part]
    return value


def _operand(text: str, context: dict[str, Any]) -> Any:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return _pipeline(text[1:-1], context)
    if text.startswith('"'):
        return text.strip('"')
    return _lookup(text, context)


def _call(words: list[str], context: dict[str, Any], piped: Any = None, has_pipe: bool = False) -> Any:
    name, args = words[0], words[1:]
    if name == "printf":
        return _operand(args[0], context) % tuple(_operand(a, context) for a in args[1:])
    if name == "toYaml":
        return yaml.safe_dump(_operand(args[0], context), default_flow_style=False).rstrip("\n")
    if name == "not":
        return not _operand(args[0], context)
    if name == "quote":
        return '"' + str(piped).replace('"', '\\"') + '"'
    if name == "default":
        return piped if piped else _operand(" ".join(args), context)
    if name == "nindent":
        pad = " " * int(args[0])
        return "\n" + "\n".join(pad + line for line in str(piped).splitlines())
    if len(words) == 1 and not has_pipe:
        return _operand(name, context)
    raise ValueError(f"unsupported template function {name!r}")


def _words(text: str) -> list[str]:
    return re.findall(r'\([^)]*\)|"[^"]*"|\S+', text)


def _pipeline(text: str, context: dict[str, Any]) -> Any:
    stages = [s.strip() for s in re.split(r"\|(?![^(]*\))", text)]
    value = _call(_words(stages[0]), context)
    for stage in stages[1:]:
        value = _call(_words(stage), context, value, True)
    return value


def render(template: str, values: dict[str, Any], release: str = "acme") -> str:
    context = {"Values": values, "Release": {"Name": release}, "Chart": {"Name": "pontis"}}
    out: list[str] = []
    emitting = [True]
    position = 0
    for match in ACTION.finditer(template):
        text = template[position:match.start()]
        if match.group(1):
            text = text.rstrip(" \t\n")
        if all(emitting):
            out.append(text)
        position = match.end()
        if match.group(3):
            while position < len(template) and template[position] in " \t\n":
                position += 1
        action = match.group(2)
        if action.startswith("if "):
            emitting.append(bool(_pipeline(action[3:], context)))
        elif action == "end":
            emitting.pop()
        elif all(emitting):
            out.append(str(_pipeline(action, context)))
    out.append(template[position:])
    return "".join(out)
