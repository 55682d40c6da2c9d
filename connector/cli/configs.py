"""Writing connector configs (TOML) for ``connector init`` and the demo."""

from __future__ import annotations

import json


def _q(value: object) -> str:
    """A TOML value: JSON's strings, numbers, booleans and arrays are TOML too; tables are inline."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_q(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_q(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def render_config(*, participant_id: str, bpn: str | None, name: str | None, port: int, database_url: str,
                  api_key: str, token: str, peers: list[dict], extra: str = "") -> str:
    lines = [
        "# Pontis connector config. Start with: connector serve --config THIS_FILE",
        f"participant_id = {_q(participant_id)}",
    ]
    if bpn:
        lines.append(f"bpn = {_q(bpn)}")
    if name:
        lines.append(f"name = {_q(name)}")
    lines += [
        "# staff call the management API with this in the X-Api-Key header",
        f"api_key = {_q(api_key)}",
        "# the static token this connector presents to peers (dev mode)",
        f"token = {_q(token)}",
        f"database_url = {_q(database_url)}",
        extra.strip(),
        "",
        "[server]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "",
    ]
    for peer in peers:
        lines.append("[[peers]]")
        for key, value in peer.items():
            lines.append(f"{key} = {_q(value)}")
        lines.append("")
    return "\n".join(line for line in lines if line is not None) + "\n"
