"""The web dashboard (``moodle-soc serve``): server-rendered pages over the evidence store.

Route handlers call ``moodle_soc.api`` only (the same core the CLI uses); every route declares
who may use it (``web.access``), and docs/web.md lists them. FastAPI is imported only here,
never at CLI start-up.
"""
