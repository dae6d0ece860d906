"""Settlement view: clearing cycles projected from chain events."""
