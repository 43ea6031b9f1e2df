"""Outside-in probes (``scan --probe``): read-only GET/HEAD requests to the site's own wwwroot.

Nothing here is requested anywhere but the wwwroot's host (and, for ``/login/`` over plain
HTTP, the same host on the http port); redirects are never followed.
"""
