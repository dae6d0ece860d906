"""A running node's view of its node.toml: the groups it should run and the peers it should dial.

The file is the source of truth for a node's ledger groups (`colend consortium add-group` / `stop-group` write it,
atomically, by rename); the node looks at it about once a second, as it does the CRL, and starts the groups newly
listed, stops those no longer listed (their data stays) and dials newly listed peers, without a restart. Every
other setting takes effect at the next start. A file that does not load is refused with one log line and the
node goes on with what it runs.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from node.config import NodeConfig, load_config

log = logging.getLogger("colend.node")


class ConfigWatch:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def changed(self) -> NodeConfig | None:
        """The config as the file now says, if the file changed since it was last read and loads; else None."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return None
        self._seen = stamp
        try:
            return load_config(self.path)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, KeyError, TypeError) as exc:
            log.warning("event=config_refused path=%s reason=%s: the node goes on with the groups it runs",
                        self.path, exc)
            return None
