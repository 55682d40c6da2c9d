"""Benchmark (not a test): what the DCP v1.0 presentation flow costs one DSP call, in process.

A consumer holding Membership, Bpn and DataExchangeGovernance credentials calls a provider; the
provider verifies its token, queries its Credential Service (handed the request in process: no
HTTP, so the figure is the crypto and JSON work, not the network) for the scopes of a usage
policy with a FrameworkAgreement constraint, and verifies the answer. DID documents and the
issuer's status list are served from memory through the resolver (cached as in production).

Measured, medians over ``--rounds``: the caller's token (STS: self-issued token + access token);
one whole verification (token checks, query token, the holder's answer, the presentation and
two credentials verified), with the vp+jwt answer and with a Data Integrity (eddsa-rdfc-2022)
answer.

Usage: python bench/dcp_presentation.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.identity.credential_service import CredentialService, QueryRefused  # noqa: E402
from connector.identity.credentials import StatusLists  # noqa: E402
from connector.identity.dcp import ReplayCache  # noqa: E402
from connector.identity.dcp_messages import credential_service_entry  # noqa: E402
from connector.identity.did import DidResolver  # noqa: E402
from connector.identity.issuer import Issuer, provision  # noqa: E402
from connector.identity.keys import KeySet, SigningKey  # noqa: E402
from connector.identity.presentation import DcpPresentationAuthenticator  # noqa: E402
from connector.identity.sts import BuiltinSts  # noqa: E402
from connector.identity.wallet import LocalIdentity, Wallet  # noqa: E402

USAGE = {"permission": [{"action": "use", "constraint": [{"and": [
    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}]}


def median_ms(action: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    work = Path(tempfile.mkdtemp(prefix="dcp-bench-"))
    issuer = Issuer.init(work / "issuer", "did:web:issuer.example")
    served: dict[str, bytes] = {}
    resolver = DidResolver(ttl_seconds=3600, fetch=lambda url: served[url])

    def identity(name: str) -> LocalIdentity:
        did = f"did:web:{name}.example"
        me = LocalIdentity(did, KeySet(SigningKey.generate(f"{did}#key-1", did)), Wallet(work / f"{name}.json"),
                           resolver)
        resolver.pin(me.did_document([credential_service_entry(did, f"https://{name}.example")]))
        return me

    consumer, provider = identity("consumer"), identity("provider")
    resolver.pin(issuer.did_document())
    served[issuer.state["statusListUrl"]] = (issuer.directory / "status-list.jwt").read_bytes()
    provision(issuer, consumer.did, bpn="BPNL00000000000A", wallet=consumer.wallet)
    holder = CredentialService(consumer, resolver, ReplayCache())

    def post(url: str, body: dict[str, Any], authorization: str) -> tuple[int, Any]:
        try:
            return 200, holder.answer(authorization, body)
        except QueryRefused as exc:
            return exc.status, {"reason": exc.reason}

    caller_sts = BuiltinSts(consumer)
    figures = {"caller's token (STS, with an access token)":
               median_ms(lambda: caller_sts.self_issued_token(provider.did, scopes=["a:b:read", "c:d:read"]), rounds)}
    for form in ("jwt", "ldp"):
        verifier = DcpPresentationAuthenticator(provider, resolver, BuiltinSts(provider), post, [issuer.did],
                                                ReplayCache(), status_lists=StatusLists(resolver),
                                                presentation_format=form)
        caller = DcpPresentationAuthenticator(consumer, resolver, caller_sts, post, [issuer.did], ReplayCache())
        verifier.check(caller.outgoing_token_for(provider.did, USAGE), USAGE)  # warm the caches
        tokens = [caller.outgoing_token_for(provider.did, USAGE) for _ in range(rounds)]
        label = "vp+jwt" if form == "jwt" else "Data Integrity (eddsa-rdfc-2022)"
        figures[f"whole verification, {label} answer"] = median_ms(
            lambda verifier=verifier, it=iter(tokens): verifier.check(next(it), USAGE), rounds)
    print(f"# DCP presentation flow, {rounds} rounds, {datetime.date.today()}, {platform.system()} "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name, value in figures.items():
        print(f"{name:55s} {value:8.2f} ms (median)")


if __name__ == "__main__":
    main()
