"""Primitives the rest builds on: password hashing, random secrets, signing keys."""
