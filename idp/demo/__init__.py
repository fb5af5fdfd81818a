"""The demo: one command from a fresh checkout to signing in at a demo agency."""
