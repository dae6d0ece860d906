"""The clearing service: aiohttp API, dashboard and metrics beside one bank's node (or the regulator's)."""
