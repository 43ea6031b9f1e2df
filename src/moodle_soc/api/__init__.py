"""The Python API: the one entry point the CLI, the web dashboard and workers call."""
