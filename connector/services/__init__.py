"""Orchestration: catalog, negotiation and the workers that send.

Services take typed messages from the HTTP edges, decide with the protocol core and the
policies, and persist. Each incoming message is handled in one transaction that also stores
the answer; outgoing messages are stored and sent later by ``worker.OutboxWorker``.
"""
