"""``python -m infoloss``: the same command as ``infoloss``."""

from .cli.main import main

if __name__ == "__main__":
    main()
