"""The permissioned transaction pool: pure admission rules plus the per-sender nonce-ordered store."""
