"""Framework catalogues as data: SOC 2 criteria, SOC 1 ITGC objectives, the readiness checklist.

The mappings from criteria to checks and manual evidence have one home, the YAML files in this
package; ``load_catalogue()`` validates and serves SOC 2, SOC 1 and the readiness checklist, and
``builtin_frameworks()`` / ``resolve_framework()`` add ISO/IEC 27001:2022, NIST SP 800-53 Rev. 5
and a user's own framework files (docs/frameworks.md).
"""

from moodle_soc.frameworks.catalogue import (
    Catalogue,
    Category,
    Coverage,
    Criterion,
    Framework,
    Frequency,
    ManualEvidence,
    Owner,
    ReadinessItem,
    load_catalogue,
    load_framework_file,
    parse_framework,
)
from moodle_soc.frameworks.library import (
    builtin_framework,
    builtin_frameworks,
    builtin_ids,
    resolve_framework,
    resolve_frameworks,
)

__all__ = [
    "Catalogue",
    "Category",
    "Coverage",
    "Criterion",
    "Framework",
    "Frequency",
    "ManualEvidence",
    "Owner",
    "ReadinessItem",
    "builtin_framework",
    "builtin_frameworks",
    "builtin_ids",
    "load_catalogue",
    "load_framework_file",
    "parse_framework",
    "resolve_framework",
    "resolve_frameworks",
]
