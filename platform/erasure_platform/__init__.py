"""The erasure platform's Django project."""
