"""``connector parts import --config CONFIG FILE``: load a company's parts into its connector's store."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from connector.config import ConfigError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Part data: twins, registry, submodels.")
out = Console()
err = Console(stderr=True)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help='a JSON array of {"aspect": URN, "payload": {...}, "visibleTo": [BPNL...]}'),
    config: Path = typer.Option(..., "--config", "-c", help="the company's TOML config"),
    policy: str = typer.Option(None, "--policy", help="the usage policy definition of the offers (default part-data-usage)"),
    access_policy: str = typer.Option(None, "--access-policy",
                                      help="the access policy definition of the offers (default part-data-access)"),
) -> None:
    """Create or update the twins, shell descriptors, submodels and offers FILE describes: all or nothing.

    Writes to the connector's database directly, whether or not it is running."""
    from connector.services.container import build
    from connector.services.errors import ServiceError

    try:
        settings = load_settings(config)
        items = json.loads(file.read_text())
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except (OSError, ValueError) as exc:
        err.print(f"[red]{escape(str(file))}: cannot read it as JSON:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    services = build(settings)
    try:
        services.db.migrate()
        summary = services.parts.importer.run(items, policy=policy, access_policy=access_policy)
    except ServiceError as exc:
        err.print(f"[red]{escape(str(file))}: nothing imported:[/red] {escape('; '.join(exc.reasons))}")
        raise typer.Exit(1) from exc
    finally:
        services.db.dispose()
    out.print(f"[green]✓[/green] {file}: {len(summary['created'])} twins created, {len(summary['updated'])} updated, "
              f"{summary['submodels']} submodels; offered: {', '.join(summary['assets'])}")
