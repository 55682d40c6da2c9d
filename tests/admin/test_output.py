"""CLI messages print as written: "[...]" and ":name:" are text, only our colour tags are styling."""

from __future__ import annotations

import io

from connector.cli.output import Console, styled


def test_brackets_and_colons_survive_and_our_tags_style():
    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    console.print("[red]refused:[/red] add it under [[peers]]; purpose [cx.pcf.base:1]; key did:key:z6Mk:smile:")
    assert buffer.getvalue() == "refused: add it under [[peers]]; purpose [cx.pcf.base:1]; key did:key:z6Mk:smile:\n"
    text = styled("[bold green]ok[/bold green] [dim]x[/dim] [not-a-tag]")
    assert text.plain == "ok x [not-a-tag]"
    assert [str(span.style) for span in text.spans] == ["bold green", "dim"]
