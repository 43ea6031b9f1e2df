"""moodle-soc: read-only SOC 2 / SOC 1 evidence and readiness scanner for Moodle sites."""

__version__ = "0.1.0"
__all__ = ["__version__"]
