"""Starting and stopping a node: one launch sequence for a lone and a peered node, the `colend node` CLI, metrics."""
