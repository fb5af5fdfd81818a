"""Registering offices (okmányiroda, kormányablak) and their officers."""
