"""Writing connector configs (TOML) for ``connector init`` and the demo."""

from __future__ import annotations

import json


def _q(value: object) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


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
