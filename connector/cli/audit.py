"""``connector audit verify | export | checkpoint``: the tamper-evident audit log.

``verify`` walks the stored chain (or, with ``--file``, an extract, offline) and names every
changed, removed or reordered entry; it exits 1 if it finds one. ``export --from --to`` writes a
signed extract for an auditor; ``checkpoint`` signs the chain's head now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from connector.cli.output import Console
from connector.config import ConfigError, Settings, load_settings
from connector.services.audit import AuditTrail, ChainReport, verify_extract

app = typer.Typer(add_completion=False, no_args_is_help=True, help="The tamper-evident audit log.")
out = Console()
err = Console(stderr=True)
CONFIG = typer.Option(Path("connector.toml"), "--config", "-c", envvar="PONTIS_CONFIG", help="your connector's config")


def _trail(config: Path) -> AuditTrail:
    from connector.cli.startup import StartupError, open_database
    from connector.identity.keys import KeyFileError
    from connector.identity.wallet import identity_from_settings
    from connector.services.container import wall_clock_ms

    try:
        settings: Settings = load_settings(config)
        db = open_database(settings)
        identity = identity_from_settings(settings)
    except (ConfigError, StartupError, KeyFileError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    return AuditTrail(db, settings.participant_id, identity=identity,
                      checkpoint_every=settings.audit.checkpoint_every, clock=wall_clock_ms)


def parse_time(value: str, option: str) -> int:
    """An ISO 8601 date or date-time (UTC unless it says otherwise) as epoch milliseconds."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        err.print(f"[red]{option} {value!r}:[/red] expected an ISO 8601 date or date-time, "
                  "such as 2026-12-01 or 2026-12-01T08:00:00Z")
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _say(report: ChainReport, what: str) -> None:
    for problem in report.problems:
        err.print(f"[red]TAMPERED[/red] {problem}")
    span = f"entries {report.first_seq}..{report.last_seq}" if report.entries else "no entries"
    signers = f", signed by {', '.join(sorted(report.signers))}" if report.signers else ""
    unsigned = f" ({report.unsigned_checkpoints} unsigned: no [identity] key_file)" \
        if report.unsigned_checkpoints else ""
    if report.ok:
        out.print(f"{what}: intact: {span}, {report.checkpoints} checkpoints{unsigned}{signers}")
    else:
        err.print(f"{what}: {len(report.problems)} problems in {span}")
        raise typer.Exit(1)


@app.command("verify")
def verify(
    file: Path = typer.Option(None, "--file", "-f", help="an extract (`connector audit export`) to check offline"),
    config: Path = CONFIG,
) -> None:
    """Check the chain and its signed checkpoints; exit 1 naming each entry that was tampered with."""
    if file is not None:
        try:
            document = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            err.print(f"[red]--file {file}:[/red] cannot read it as JSON: {exc}")
            raise typer.Exit(2) from None
        _say(verify_extract(document), f"extract {file}")
        return
    trail = _trail(config)
    try:
        _say(trail.verify(), "audit log")
    finally:
        trail.db.dispose()


@app.command("export")
def export(
    start: str = typer.Option(None, "--from", help="first moment (ISO 8601, inclusive); default: the beginning"),
    end: str = typer.Option(None, "--to", help="last moment (ISO 8601, exclusive); default: now"),
    output: Path = typer.Option(None, "--out", "-o", help="write the extract here (default: standard output)"),
    config: Path = CONFIG,
) -> None:
    """A signed extract of the entries in a time window, which `audit verify --file` checks offline."""
    start_ms = parse_time(start, "--from") if start else None
    end_ms = parse_time(end, "--to") if end else None
    trail = _trail(config)
    try:
        if trail.identity is None:
            err.print("[yellow]warning:[/yellow] no [identity] key_file: the extract is not signed")
        text = json.dumps(trail.export(start_ms, end_ms), indent=1)
    finally:
        trail.db.dispose()
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n")
        err.print(f"wrote {output}")


@app.command("checkpoint")
def checkpoint(config: Path = CONFIG) -> None:
    """Sign the chain's head now (checkpoints are also made every [audit] checkpoint_every entries)."""
    trail = _trail(config)
    try:
        document = trail.checkpoint()
    finally:
        trail.db.dispose()
    if document is None:
        out.print("the audit log is empty: nothing to sign")
    else:
        out.print(f"checkpoint at entry {document['seq']}: {document['hash']}"
                  + ("" if "proof" in document else " (unsigned: no [identity] key_file)"))
