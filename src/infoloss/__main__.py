"""``python -m infoloss``: the same command as ``infoloss``."""

from .cli.main import main

if __name__ == "__main__":
    main(prog_name="infoloss")  # messages say "infoloss measure --help", not "python -m infoloss ..."
