"""A job's tree for people: as text lines, and as one self-contained HTML page with an SVG picture.

Both read the IRS answer (``job``, ``relationships``, ``tombstones``, ``nodes``, ``bpns``), so the
CLI and the connector draw the same thing. The picture lays the tree out left to right by level
(downward: the part, then its children; upward: the part, then what it is built into) and in one
horizontal band per company, so who holds what is plain. A part that could not be read is a red
dashed box with the reason (a denied branch: the supplier's policy explanation); a signature that
verified is marked ✔, an unsigned document ○, a failed signature ✘.
"""

from __future__ import annotations

import html
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field

from connector.parts.models import normal_id

BOX_W, BOX_H, GAP_X, GAP_Y, BAND_PAD, LEFT = 280, 68, 70, 16, 18, 230
MARK = {"verified": "✔ signed", "unsigned": "○ unsigned", "invalid": "✘ bad signature", "own": "● own data"}


@dataclass
class Item:
    id: str
    bpn: str
    depth: int
    label: str | None
    signature: str | None
    reasons: list[str] = field(default_factory=list)
    children: list[tuple[str, str | None]] = field(default_factory=list)  # (child key, quantity)


def _quantity(link: dict) -> str | None:
    q = link.get("quantity") or {}
    number = q.get("quantityNumber")
    if number is None:
        return None
    unit = (q.get("measurementUnit") or {}).get("lexicalValue") or ""
    shown = f"{number:g}" if isinstance(number, (int, float)) else str(number)
    return f"× {shown}" + (f" {unit}" if unit and unit != "piece" else "")


def build(answer: dict) -> tuple[str | None, dict[str, Item]]:
    """(root key, items by normalized id) from an IRS answer; the walk's direction picks the edges."""
    job = answer.get("job") or {}
    direction = (job.get("parameter") or {}).get("direction", "downward")
    items: dict[str, Item] = {}
    for node in answer.get("nodes") or []:
        items[normal_id(node["catenaXId"])] = Item(node["catenaXId"], node.get("bpn") or "?", node.get("depth", 0),
                                                   node.get("label"), node.get("signature"))
    for stone in answer.get("tombstones") or []:
        key = normal_id(stone.get("catenaXId") or "")
        item = items.setdefault(key, Item(stone.get("catenaXId") or "?", stone.get("businessPartnerNumber") or "?",
                                          0, None, None))
        item.reasons.append((stone.get("processingError") or {}).get("errorDetail") or "failed")
    for rel in answer.get("relationships") or []:
        parent, linked = normal_id(rel.get("catenaXId") or ""), rel.get("linkedItem") or {}
        child = normal_id(linked.get("childCatenaXId") or "")
        source, target = (parent, child) if direction == "downward" else (child, parent)
        if source in items and target in items:
            items[source].children.append((target, _quantity(linked)))
    root = normal_id(job["globalAssetId"]) if job.get("globalAssetId") else next(iter(items), None)
    return root, items


def _walk(root: str | None, items: dict[str, Item]) -> list[tuple[int, str, str | None, bool]]:
    """Depth-first (level, key, quantity, seen-before) from the root; a part met again is not expanded."""
    out: list[tuple[int, str, str | None, bool]] = []
    seen: set[str] = set()

    def go(key: str, level: int, quantity: str | None) -> None:
        again = key in seen
        out.append((level, key, quantity, again))
        if again:
            return
        seen.add(key)
        for child, q in items[key].children:
            go(child, level + 1, q)

    if root in items:
        go(root, 0, None)
    return out


def names_of(answer: dict) -> dict[str, str]:
    return {b["manufacturerId"]: b["manufacturerName"] for b in answer.get("bpns") or []
            if isinstance(b, dict) and b.get("manufacturerName")}


def tree_lines(answer: dict, names: dict[str, str] | None = None) -> list[str]:
    """The tree as indented text lines, one per part, with its company, signature and any refusal."""
    names = {**names_of(answer), **(names or {})}
    root, items = build(answer)
    lines = []
    for level, key, quantity, again in _walk(root, items):
        item = items[key]
        company = names.get(item.bpn, item.bpn)
        text = f"{'   ' * level}{'└─ ' if level else ''}{item.label or item.id}  [{company}]"
        if quantity:
            text += f"  {quantity}"
        if again:
            lines.append(text + "  (shown above)")
            continue
        if item.signature:
            text += f"  {MARK.get(item.signature, item.signature)}"
        lines.append(text)
        for reason in item.reasons:
            lines.append(f"{'   ' * (level + 1)}✘ {reason}")
    return lines


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}" text-anchor="{anchor}">{html.escape(text)}</text>'


def tree_html(answer: dict, names: dict[str, str] | None = None, title: str | None = None) -> str:
    """One HTML page, no scripts, no external files: the tree as an SVG, then the same as text."""
    names = {**names_of(answer), **(names or {})}
    root, items = build(answer)
    order = _walk(root, items)
    shown = [(lvl, key, q) for lvl, key, q, again in order if not again]
    companies = list(dict.fromkeys(items[key].bpn for _, key, _ in shown))
    rows: dict[tuple[str, int], int] = defaultdict(int)
    slot: dict[str, tuple[str, int, int]] = {}
    for level, key, _ in shown:
        bpn = items[key].bpn
        slot[key] = (bpn, level, rows[(bpn, level)])
        rows[(bpn, level)] += 1
    band_top, y = {}, 40
    for bpn in companies:
        band_top[bpn] = y
        height = max(rows[(b, lvl)] for b, lvl in rows if b == bpn) if rows else 1
        y += height * (BOX_H + GAP_Y) + 2 * BAND_PAD
    levels = max((lvl for lvl, _, _ in shown), default=0) + 1
    width, height = LEFT + levels * (BOX_W + GAP_X) + 40, y + 20

    def box_xy(key: str) -> tuple[float, float]:
        bpn, level, row = slot[key]
        return LEFT + level * (BOX_W + GAP_X), band_top[bpn] + BAND_PAD + row * (BOX_H + GAP_Y)

    svg: list[str] = []
    for i, bpn in enumerate(companies):
        top = band_top[bpn]
        bottom = band_top[companies[i + 1]] if i + 1 < len(companies) else height - 20
        svg.append(f'<rect x="8" y="{top}" width="{width - 16}" height="{bottom - top - 6}" class="band b{i % 4}"/>')
        svg.append(_text(20, top + 26, names.get(bpn, bpn), "company"))
        if bpn in names:
            svg.append(_text(20, top + 44, bpn, "bpn"))
    for _, key, _ in shown:
        x, y0 = box_xy(key)
        for child, quantity in items[key].children:
            if child not in slot:
                continue
            cx, cy = box_xy(child)
            x1, y1, x2, y2 = x + BOX_W, y0 + BOX_H / 2, cx, cy + BOX_H / 2
            mid = (x1 + x2) / 2
            svg.append(f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" class="edge"/>')
            if quantity:
                svg.append(_text(x2 - 6, y2 - 6, quantity, "qty", "end"))
    for _, key, _ in shown:
        item, (x, y0) = items[key], box_xy(key)
        denied = bool(item.reasons)
        tip = html.escape(f"{item.id} ({item.bpn})" + "".join(f"\n✘ {r}" for r in item.reasons))
        svg.append(f'<g><title>{tip}</title>')
        svg.append(f'<rect x="{x}" y="{y0}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                   f'class="node {"denied" if denied else item.signature or "plain"}"/>')
        svg.append(_text(x + 10, y0 + 20, (item.label or item.id)[:38], "label"))
        if denied:
            for n, line in enumerate(textwrap.wrap("✘ " + item.reasons[0], 50)[:3]):
                svg.append(_text(x + 10, y0 + 35 + n * 12, line, "reason"))
        else:
            svg.append(_text(x + 10, y0 + 38, item.id[-36:], "pid"))
            svg.append(_text(x + 10, y0 + 55, MARK.get(item.signature or "", "not read"), "sig"))
        svg.append("</g>")
    job = answer.get("job") or {}
    heading = title or f"Provenance of {job.get('globalAssetId', '?')}"
    lines = "\n".join(html.escape(line) for line in tree_lines(answer, names))
    stones = "".join(f"<li><b>{html.escape(s.get('catenaXId') or '?')}</b> at "
                     f"{html.escape(names.get(s.get('businessPartnerNumber') or '', s.get('businessPartnerNumber') or '?'))}: "
                     f"{html.escape((s.get('processingError') or {}).get('errorDetail') or '')}</li>"
                     for s in answer.get("tombstones") or [])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(heading)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1d2733; }}
.band {{ stroke: #c9d3de; stroke-width: 1; }} .b0 {{ fill: #f3f7fb; }} .b1 {{ fill: #f6f3fb; }}
.b2 {{ fill: #f2f8f3; }} .b3 {{ fill: #fbf6f0; }}
.company {{ font-weight: 600; font-size: 15px; fill: #243447; }} .bpn {{ font-size: 11px; fill: #6a7b8c; }}
.node {{ fill: #fff; stroke: #7d8da0; stroke-width: 1.5; }} .node.verified {{ stroke: #2e8b57; stroke-width: 2.5; }}
.node.invalid {{ stroke: #c0392b; stroke-width: 2.5; }} .node.own {{ stroke: #3b6ea8; stroke-width: 2; }}
.node.denied {{ fill: #fdecea; stroke: #c0392b; stroke-width: 2; stroke-dasharray: 6 4; }}
.label {{ font-size: 13px; font-weight: 600; }} .pid {{ font-size: 10px; fill: #6a7b8c; font-family: monospace; }}
.sig {{ font-size: 11px; fill: #2e6b4a; }} .reason {{ font-size: 10.5px; fill: #a12a1e; }}
.edge {{ fill: none; stroke: #8a99aa; stroke-width: 1.5; }} .qty {{ font-size: 11px; fill: #4a5a6a; }}
pre {{ background: #f5f7f9; padding: 12px; border-radius: 6px; }}
</style></head><body>
<h1>{html.escape(heading)}</h1>
<p>Job {html.escape(str(job.get('id', '')))}: {html.escape(str(job.get('state', '')))},
direction {html.escape(str((job.get('parameter') or {}).get('direction', '')))};
{len(answer.get('relationships') or [])} relationships, {len(answer.get('tombstones') or [])} tombstones.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">
{chr(10).join(svg)}
</svg>
<h2>Denied or failed</h2><ul>{stones or '<li>none</li>'}</ul>
<h2>As text</h2><pre>{lines}</pre>
</body></html>
"""
