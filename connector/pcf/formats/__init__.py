"""Footprint formats: each module maps one format to and from io.catenax.pcf 8.0.0."""
