"""Renderings of a reconciliation run: terminal tables, JSON, CSV, a breaks chart (PNG) and an HTML page."""
