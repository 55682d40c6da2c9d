"""Pontis: a connector for federated industrial data spaces.

Layers point one way (see docs in README): the HTTP edges (dsp, management, dataplane) call
services, and services call the core (protocol, policy, jsonld, identity, store).
"""

__version__ = "0.1.0"
