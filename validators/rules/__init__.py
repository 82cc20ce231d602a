"""One module per rule; see `validators.registry` for their order."""
