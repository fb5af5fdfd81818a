"""Sign-in sessions (single sign-on): stored server-side, so any instance serves any citizen."""
