"""Orchestration: catalog, negotiation and the workers that send.

Services take typed messages from the HTTP edges, decide with the protocol core and the
policies, and persist. Each incoming message is handled in one transaction that also stores
the answer; outgoing messages are stored and sent later by ``worker.OutboxWorker``.

Carbon footprints: ``footprints`` (publishing: validated, signed, stored, offered; the read API),
``pcf_client`` (a customer getting a supplier's footprint) and ``pcf_exchange`` (the CX-0136
exchange API on the data plane and its worker).
"""
