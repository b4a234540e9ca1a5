"""Framework-free erasure engine: datasets, SISA training, unlearning, verification.

Nothing in this package may import Django; the platform calls the engine, never the reverse.
"""

__version__ = "0.1.0"
