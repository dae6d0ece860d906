"""The chain engine: block production (and the next block, opened early), import and the atomic commit,
set-up and the validator set."""
