"""Printing for the CLI: our own colour tags, and nothing else in a message is read as markup.

Rich reads ``[...]`` as markup and ``:name:`` as emoji, so a hint like "add it under
[[peers]]", a purpose "[cx.pcf.base:1]" or a "did:key:..." lost text. This console knows only
the few style tags our templates use ([red], [bold green], ... and their closing tags); every
other bracket, colon and character is printed as it is.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console as _RichConsole
from rich.text import Text

_STYLE_TAG = re.compile(r"\[(/?)((?:bold |dim )?(?:red|green|yellow|cyan)|bold|dim)\]")


def styled(message: str) -> Text:
    """``message`` as rich Text: our style tags applied, everything else literal."""
    text = Text()
    styles: list[str] = []
    pos = 0
    for match in _STYLE_TAG.finditer(message):
        text.append(message[pos:match.start()], style=" ".join(styles) or None)
        if match.group(1):
            if match.group(2) in styles:
                styles.remove(match.group(2))
        else:
            styles.append(match.group(2))
        pos = match.end()
    text.append(message[pos:], style=" ".join(styles) or None)
    return text


class Console(_RichConsole):
    """A rich Console whose ``print`` treats strings as plain text but for our style tags."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        kwargs.setdefault("soft_wrap", True)  # a message stays one line, for people and grep
        super().__init__(markup=False, emoji=False, **kwargs)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(styled(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def rule(self, title: Any = "", **kwargs: Any) -> None:
        super().rule(styled(title) if isinstance(title, str) else title, **kwargs)
