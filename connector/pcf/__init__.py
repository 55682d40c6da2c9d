"""Product carbon footprints (PCF): the domain of Catena-X io.catenax.pcf and PACT footprints.

pcf/ owns what a footprint is and how it is exchanged:
- models.py and formats/: the internal shape (io.catenax.pcf 8.0.0), reading and writing 7.0.0,
  9.0.0, PACT v2 and v3 (the mapping of research/catenax.md §1.4), validation against the project's
  own schemas in schemas/pcf/ plus the rules the schemas cannot say, and the facts the rest of the
  connector needs (ids, product ids, declared unit, the figure);
- import/publishing, storage, the CX-0136 exchange, `pcf request` and the roll-up (services built
  on those models).
The PACT HTTP API that serves these footprints to PACT tools lives in connector/pact/.
"""
