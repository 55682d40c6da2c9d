"""The audit log: what was shared with whom, tamper-evident.

Every agreement, transfer state change, data-plane access, policy denial and management write is an
entry in one append-only chain (``audit_entry``): each entry's hash covers its content and the hash
of the one before, so a changed, removed or reordered entry breaks the chain. Every
``[audit] checkpoint_every`` entries (or on demand) the head is signed with the connector's key
(``audit_checkpoint``), so a rewrite of the whole chain is caught too. ``chain`` is the pure part
(hashing, verifying, extracts an auditor checks offline); ``trail`` writes entries as rows change.
"""

from connector.services.audit.chain import ChainReport, entry_hash, verify_chain, verify_extract
from connector.services.audit.trail import AuditTrail, acting_as

__all__ = ["AuditTrail", "ChainReport", "acting_as", "entry_hash", "verify_chain", "verify_extract"]
