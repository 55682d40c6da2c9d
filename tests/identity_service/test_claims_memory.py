"""What a participant proved stays known when a later DCP call proves less (a catalog request asks
only for membership): credential types and framework agreements accumulate, other claims are replaced."""

from connector.services.usage import AccessGate


def test_a_narrower_proof_adds_to_what_was_proved():
    gate = AccessGate(clock=lambda: 0)
    gate.remember("did:web:a", {"bpn": "BPNL00000000000A", "membership": "active",
                                "credentials": ["DataExchangeGovernanceCredential", "MembershipCredential"],
                                "frameworkAgreements": {"DataExchangeGovernance": "1.0"}})
    gate.remember("did:web:a", {"bpn": "BPNL00000000000A", "membership": "active",
                                "credentials": ["MembershipCredential"]})
    assert gate.last_claims["did:web:a"] == {
        "bpn": "BPNL00000000000A", "membership": "active",
        "credentials": ["DataExchangeGovernanceCredential", "MembershipCredential"],
        "frameworkAgreements": {"DataExchangeGovernance": "1.0"}}
    gate.remember("did:web:a", {"bpn": "BPNL00000000000B", "credentials": ["MembershipCredential"],
                                "frameworkAgreements": {"DataExchangeGovernance": "2.0"}})
    assert gate.last_claims["did:web:a"]["bpn"] == "BPNL00000000000B"
    assert gate.last_claims["did:web:a"]["frameworkAgreements"] == {"DataExchangeGovernance": "2.0"}
    assert gate.last_claims.get("did:web:b") is None
