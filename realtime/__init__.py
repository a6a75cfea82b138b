"""Streams, ingest worker, live push gateway, simulator feed."""
