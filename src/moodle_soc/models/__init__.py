"""Models: the plain data every layer shares (a scan run, evidence records, access entries,
review campaigns, period views). They import nothing above the ground layer.

Every model here is declared with ``defer_build=True``: Pydantic then builds its validator when
the model is first used, not when the module is imported. A scan imports about a hundred
models and uses about forty; building the rest cost a small site's scan about 50 ms of CPU
(issue 9). ``tests/models/test_deferred.py`` keeps new models deferred."""
