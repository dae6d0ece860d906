"""The node's processes freeze their start-up heap, so that the collector's full passes no longer walk it.

A full collection walks every object the collector tracks, and after start-up (imports, genesis, the loaded
state) that is most of them, none of which ever becomes garbage. bench.node's runs caught full collections of
25-40 ms in the node and in its batch worker while clients were sending: each held the GIL (or the worker's
only thread) for that long, and an eth_call waited behind it. gc.freeze moves what exists into a permanent
generation that collections skip, as Python's documentation advises for long-running servers; a full pass
then walks only what the node made since, and took about 1 ms in the same runs.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once (so no start-up garbage is kept for ever), then take what is left out of future collections."""
    gc.collect()
    gc.freeze()
