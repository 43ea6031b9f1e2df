"""``python -m moodle_soc``: the same command line as ``moodle-soc``."""

from moodle_soc.cli import main

if __name__ == "__main__":
    main()
