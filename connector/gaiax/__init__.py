"""Gaia-X (Loire, 25.11): what a participant needs to prove compliance and to check a partner's.

Owns: the second signing key (P-256, ES256) bound to an X.509 chain (``keys``); VC-JWT / VP-JWT
as Gaia-X uses them (``jose``); the participant and offering credentials built from the config and
the catalog (``credentials``), checked against the 25.11 SHACL shapes before they leave
(``shapes``); the Notary, Compliance and Registry clients (``clients``); onboarding and renewal of
our label (``onboarding``, stored by ``store``); verifying a partner's label and the claims a
policy sees (``label``); and a local mock of the three services with a mock trust anchor
(``mock``). Everything that calls out goes through ``connector.services.transport``.
See ../shared/research/gaiax.md for the standards behind each step.
"""
