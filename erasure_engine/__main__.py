import sys

from erasure_engine.cli import main

sys.exit(main())
