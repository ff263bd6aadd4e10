import sys
from pathlib import Path

# Test modules share helpers (tests/backends.py); --import-mode=importlib does not put this
# folder on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))
