"""Benchmark (not a test): policy evaluations per second for 10-constraint policies.

Compiles each policy once and evaluates it in a loop with one prepared context, as a
catalog or negotiation request does per offer. Reports the best of several rounds for:

* a Catena-X usage policy with 10 constraints (4 checked, 6 agreed-only) at transfer;
* a worst case where all 10 constraints are checked (claims, groups, dates, durations);
* the same worst case when it denies (explanations built), for comparison.

The target is >= 50,000 evaluations/s (20 us each) for a 10-constraint policy.
The catalog-latency part of this benchmark belongs to the catalog work: see
``catalog_latency`` below, the hook it plugs into.

Usage: python bench/policy.py [--evaluations 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.policy import EvaluationContext, compile_policy, policy_from_compact_dsp  # noqa: E402

BPNS = [f"BPNL{i:012d}" for i in range(50)]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def c(left: str, op: str, right) -> dict:
    return {"leftOperand": left, "operator": op, "rightOperand": right}


USAGE = {"permission": [{"action": "use", "constraint": [{"and": [
    c("FrameworkAgreement", "eq", "DataExchangeGovernance:1.0"),
    c("Membership", "eq", "active"),
    c("UsagePurpose", "isAnyOf", ["cx.pcf.base:1", "cx.core.industrycore:1"]),
    c("ContractReference", "isAllOf", ["frame-contract-2026"]),
    c("DataUsageEndDate", "eq", "2030-12-31T23:59:59Z"),
    c("DataUsageEndDurationDays", "eq", 365),
    c("AffiliatesRegion", "isAnyOf", ["cx.region.europe:1"]),
    c("Warranty", "eq", "cx.warranty.none:1"),
    c("Liability", "eq", "cx.grossNegligence:1"),
    c("DataFrequency", "eq", "cx.dataFrequency.unlimited:1"),
]}]}]}

ALL_CHECKED = {"permission": [{"action": "use", "constraint": [
    c("Membership", "eq", "active"),
    c("FrameworkAgreement", "eq", "DataExchangeGovernance:1.0"),
    c("BusinessPartnerNumber", "isAnyOf", BPNS),
    c("BusinessPartnerNumber", "isNoneOf", ["BPNL999999999999"]),
    c("BusinessPartnerGroup", "isAnyOf", ["gold", "silver"]),
    c("BusinessPartnerGroup", "isNoneOf", ["blocked"]),
    c("dateTime", "gteq", "2026-01-01T00:00:00Z"),
    c("dateTime", "lt", "2031-01-01T00:00:00Z"),
    c("DataUsageEndDate", "eq", "2030-12-31T23:59:59Z"),
    c("DataUsageEndDurationDays", "eq", 365),
]}]}

CLAIMS = {"bpn": BPNS[37], "membership": "active", "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}


def rate(policy_doc: dict, ctx: EvaluationContext, n: int, rounds: int, *, expect: bool) -> float:
    compiled = compile_policy(policy_from_compact_dsp(policy_doc))
    assert compiled.evaluate(ctx).allowed is expect, compiled.evaluate(ctx)
    evaluate = compiled.evaluate
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            evaluate(ctx)
        best = min(best, time.perf_counter() - start)
    return n / best


def catalog_latency(args: argparse.Namespace) -> dict | None:
    """Catalog page latency: a provider process with N assets, each under its own access policy.

    Each access policy names the requester's BPN among others (so every offer is evaluated and
    shown); the requester is a configured peer with the claims the policies check.
    """
    if args.assets <= 0:
        return None
    import json
    import secrets
    import statistics
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from negotiation import catalog_pages, pct  # the same page walk as the negotiation bench

    from connector.cli.configs import render_config
    from connector.cli.launch import free_port, start_connector, wait_ready

    work = Path(tempfile.mkdtemp(prefix="pontis-policy-bench-"))
    bpn = "BPNL00000ACHSEAG"
    usage = {"permission": [{"action": "use", "constraint": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}
    policies = [{"@id": "usage", "policy": usage}]
    assets, definitions = [], []
    for i in range(args.assets):
        policies.append({"@id": f"access-{i:05d}", "policy": {"permission": [{"action": "access", "constraint": [{"and": [
            {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
            {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf",
             "rightOperand": [bpn, f"BPNL{i:012d}"]}]}]}]}})
        assets.append({"@id": f"asset-{i:05d}", "properties": {"http://purl.org/dc/terms/title": f"part {i}"}})
        definitions.append({"@id": f"cd-{i:05d}", "accessPolicyId": f"access-{i:05d}", "contractPolicyId": "usage",
                            "assetsSelector": [{"operandLeft": "https://w3id.org/edc/v0.0.1/ns/id", "operator": "=",
                                                "operandRight": f"asset-{i:05d}"}]})
    (work / "seed.json").write_text(json.dumps({"policies": policies, "assets": assets,
                                                "contractDefinitions": definitions}))
    port, token = free_port(), secrets.token_urlsafe(12)
    (work / "provider.toml").write_text(render_config(
        participant_id=f"did:web:localhost%3A{port}", bpn=None, name="provider", port=port,
        database_url=f"sqlite:///{work / 'provider.db'}", api_key=secrets.token_urlsafe(12),
        token=secrets.token_urlsafe(12),
        peers=[{"id": "did:web:consumer.test", "token": token, "bpn": bpn, "claims": {"membership": True}}],
        extra=f'seed_file = "{work / "seed.json"}"'))
    proc = start_connector("provider", work / "provider.toml", work / "provider.log", f"http://127.0.0.1:{port}",
                           log_level="warning")
    try:
        wait_ready(proc, timeout=300)
        pages = catalog_pages(f"http://127.0.0.1:{port}/api/dsp/2025-1", token, args.catalog_samples)
    finally:
        proc.stop()
    return {
        f"catalog page p50, {args.assets} assets with own access policies": f"{statistics.median(pages) * 1000:.1f} ms",
        "catalog page p99": f"{pct(pages, 0.99) * 1000:.1f} ms  (target p50 <= 50 ms)",
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--assets", type=int, default=10_000, help="catalog size (0 skips the catalog half)")
    parser.add_argument("--catalog-samples", type=int, default=200)
    args = parser.parse_args()

    start = NOW - timedelta(days=30)
    transfer = EvaluationContext(now=NOW, claims=CLAIMS, groups=frozenset({"silver"}),
                                 agreement_start=start, scope="transfer.process")
    denied = EvaluationContext(now=NOW, claims={"bpn": "BPNL999999999999"}, groups=frozenset({"blocked"}),
                               agreement_start=start - timedelta(days=400), scope="transfer.process")

    print(f"# policy evaluation benchmark, {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"# {platform.node()}: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"# {args.evaluations} evaluations per round, best of {args.rounds} rounds, one process")
    results = {
        "CX usage policy, 10 constraints (4 checked), allowed": rate(USAGE, transfer, args.evaluations, args.rounds, expect=True),
        "10 checked constraints, allowed": rate(ALL_CHECKED, transfer, args.evaluations, args.rounds, expect=True),
        "10 checked constraints, denied with explanation": rate(ALL_CHECKED, denied, args.evaluations // 10, args.rounds, expect=False),
    }
    for label, per_second in results.items():
        print(f"{label:<52} {per_second:>12,.0f} evaluations/s  ({1e6 / per_second:6.2f} us each)")
    extra = catalog_latency(args)
    for label, value in (extra or {}).items():
        print(f"{label:<52} {value}")
    target = 50_000
    worst = results["10 checked constraints, allowed"]
    print(f"target {target:,}/s for a 10-constraint policy: {'met' if worst >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
