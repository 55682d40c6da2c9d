"""The ``connector`` command: init a company's config, serve it, run the demo data space."""
