"""The connector's own MQTT 3.1.1 broker and the AAS events it emits (Factory-X ADR 011).

Owns: the MQTT 3.1.1 wire codec (``packets``: pure, incremental, typed errors), the routing core
(``broker``: subscriptions, QoS 0 and 1, clean session, keep-alive, retained messages; time
passed in; ``session``: what is kept per client id and the ``+``/``#`` filter rules), the network
edges (``listeners``: MQTT over TLS and WebSocket-over-TLS, plain TCP only when configured), who may
connect and to which topics (``access``: the ``Authenticator`` interface, its ``Grant``, and how a
blocking check is run off the loop), and the AAS events in the
"AAS async API" format published when a twin or submodel changes (``events``), with their
consumer-side validation, and their way to every replica's broker on PostgreSQL (``relay``); the
cut-off of clients whose DSP transfer ended or whose agreement is no longer in force (``cutoff``); its
place in a running connector (``service``). The DSP side of MQTT (Mqtt-PULL offers, tokens) lives next to it in
modules of its own (ADR 012).
"""
