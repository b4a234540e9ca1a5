"""Registry services: every write, each in one transaction with its audit record and events."""
