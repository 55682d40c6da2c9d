"""The demo's data-space issuer: its own process (``connector issuer serve``), and DCP issuance for the companies.

The issuer (the data space's authority) admits each company for the credentials it is entitled
to; each company's connector then requests them over DCP (as ``connector credentials request``
does) and the issuer delivers them to the company's Credential Service, which verifies and
stores them. Later, the issuer admits Motorwerke for DataExchangeGovernance and Motorwerke asks
for it the same way (demo-story step 4).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.cli.credentials import start_issuer, wait_issuer_ready
from connector.identity.dcp_issuance import IssuanceBook
from connector.identity.issuer import Issuer

if TYPE_CHECKING:
    from connector.cli.demo import Node


class DemoIssuer:
    """The issuer folder, its process and what the demo asks of it."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.directory = workdir / "issuer"
        self.issuer = Issuer.init(self.directory, f"did:web:localhost%3A{port}:issuer")
        self.book = IssuanceBook(self.issuer)
        self.log = workdir / "logs" / "issuer.log"
        self.process: Any = None

    @property
    def did(self) -> str:
        return self.issuer.did

    @property
    def status_list_url(self) -> str:
        return self.issuer.status_list_url

    @property
    def service_url(self) -> str:
        return self.issuer.service_url

    @property
    def directory_url(self) -> str:
        return self.service_url.rsplit("/dcp", 1)[0] + "/api/directory"

    def start(self) -> None:
        # the connectors announce their Credential Service at 127.0.0.1 (their public_url)
        self.process = start_issuer(self.directory, self.port, self.log, allow=("127.0.0.1",))

    def wait_ready(self) -> None:
        wait_issuer_ready(self.process, "/issuer/dcp", timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def admit(self, node: Node, *kinds: str) -> None:
        held = self.book.holders().get(node.did, {}).get("types", [])
        self.book.admit(node.did, bpn=node.company.bpn, kinds=[*held, *kinds])

    def request(self, node: Node, kinds: list[str]) -> list[str]:
        """``node``'s connector asks for ``kinds`` over DCP; the ids of what it now holds of them."""
        from connector.cli.credentials import _holder
        from connector.cli.demo import StepFailed
        from connector.identity.did import IdentityError
        from connector.identity.holder import request_credentials
        from connector.identity.wallet import Wallet

        _, identity, http = _holder(node.config, self.service_url)
        try:
            outcome = request_credentials(identity, http, self.service_url, kinds, wait_seconds=30)
        except IdentityError as exc:
            raise StepFailed(f"{node.name}: the credential request was refused: {exc.reason}") from None
        finally:
            http.close()
        if outcome.status != "ISSUED":
            raise StepFailed(f"{node.name}: credential request {outcome.holder_pid} {outcome.status}: {outcome.reason}")
        wanted = {"Membership": "MembershipCredential", "Bpn": "BpnCredential",
                  "DataExchangeGovernance": "DataExchangeGovernanceCredential"}
        return [e["id"] for e in Wallet.load(node.wallet).entries if e["type"][-1] in {wanted.get(k, k) for k in kinds}]

    def provision(self, nodes: list[Node]) -> None:
        """Admit every company and let each request its set at once (each request is a few HTTP calls)."""
        sets = {}
        for node in nodes:
            kinds = ["Membership", "Bpn"] + (["DataExchangeGovernance"] if node.company.governance else [])
            self.admit(node, *kinds)
            sets[node.company.key] = (node, kinds)
        with ThreadPoolExecutor(len(sets)) as pool:
            list(pool.map(lambda item: self.request(*item), sets.values()))

    def grant(self, node: Node, kind: str) -> str:
        """Admit ``node`` for one more type and let it request that credential; its id."""
        self.admit(node, kind)
        return self.request(node, [kind])[-1]
