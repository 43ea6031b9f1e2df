"""The ``moodle-soc`` command line: argument parsing and rendering only; the workflows live in
``moodle_soc.api``."""

from moodle_soc.cli.main import app, main

__all__ = ["app", "main"]
