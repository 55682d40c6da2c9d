"""``connector staff key | hash``: management keys for staff, each with a name and a role.

The config keeps only a key's hash (``[[management.keys]]``); the key itself is shown once.
"""

from __future__ import annotations

import secrets
import sys

import typer

from connector.cli.output import Console
from connector.management.staff import hash_key

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Management keys for staff.")
out = Console()
err = Console(stderr=True)
ROLES = ("admin", "operator", "read-only")


def entry(name: str, role: str, key: str) -> str:
    return f'[[management.keys]]\nname = "{name}"\nrole = "{role}"\nhash = "{hash_key(key)}"\n'


@app.command("key")
def new_key(
    name: str = typer.Option(..., "--name", help="who holds it (the audit log shows this name)"),
    role: str = typer.Option(..., "--role", help="admin, operator or read-only"),
) -> None:
    """Make a random key: the key goes to the holder (shown once), the printed entry into the config."""
    if role not in ROLES:
        import difflib

        near = difflib.get_close_matches(role, ROLES, n=1)
        err.print(f"[red]--role {role!r}:[/red] expected one of {', '.join(ROLES)}"
                  + (f"; did you mean {near[0]!r}?" if near else ""))
        raise typer.Exit(2)
    key = secrets.token_urlsafe(32)
    err.print(f"the key for {name} (give it to them; it is not stored anywhere):")
    print(key)
    err.print("add this to the connector's config and restart it:")
    print(entry(name, role, key))


@app.command("hash")
def hash_command() -> None:
    """The hash of a key read from standard input (for a key made elsewhere)."""
    key = sys.stdin.readline().strip()
    if len(key) < 16:
        err.print("[red]expected a key of at least 16 characters on standard input[/red]")
        raise typer.Exit(2)
    print(hash_key(key))
