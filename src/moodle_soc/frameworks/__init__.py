"""Framework catalogues as data: SOC 2 criteria, SOC 1 ITGC objectives, the readiness checklist.

The mappings from criteria to checks and manual evidence have one home, the YAML files in this
package; ``load_catalogue()`` validates and serves them.
"""

from moodle_soc.frameworks.catalogue import (
    Catalogue,
    Category,
    Criterion,
    Framework,
    Frequency,
    ManualEvidence,
    Owner,
    ReadinessItem,
    load_catalogue,
    load_framework_file,
)

__all__ = [
    "Catalogue",
    "Category",
    "Criterion",
    "Framework",
    "Frequency",
    "ManualEvidence",
    "Owner",
    "ReadinessItem",
    "load_catalogue",
    "load_framework_file",
]
