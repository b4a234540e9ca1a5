"""Registered on import by the app config."""
