"""Agencies' OIDC clients (relying parties): metadata, validation, secrets, approval."""
