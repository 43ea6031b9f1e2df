"""Every model is built when first used, not when imported (issue 9: building the hundred models
a scan imports cost a small site's scan about 50 ms, and it uses about forty)."""

import importlib
import pkgutil
import subprocess
import sys

from pydantic import BaseModel

import moodle_soc.models


def _models() -> list[type[BaseModel]]:
    found = []
    for info in pkgutil.iter_modules(moodle_soc.models.__path__, "moodle_soc.models."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_model_is_deferred() -> None:
    models = _models()
    assert len(models) > 80
    assert [m.__qualname__ for m in models if not m.model_config.get("defer_build")] == []


def test_importing_the_models_builds_none_and_using_one_builds_it() -> None:
    code = (
        "import importlib, pkgutil, sys, moodle_soc.models\n"
        "from pydantic import BaseModel\n"
        "for i in pkgutil.iter_modules(moodle_soc.models.__path__, 'moodle_soc.models.'):\n"
        "    importlib.import_module(i.name)\n"
        "def walk(c):\n"
        "    for s in c.__subclasses__():\n"
        "        yield s\n"
        "        yield from walk(s)\n"
        "ours = {m for m in walk(BaseModel) if m.__module__.startswith('moodle_soc.models.')}\n"
        "print(sum(1 for m in ours if m.__pydantic_complete__))\n"
        "from moodle_soc.models.access import Flag\n"
        "Flag(code='dormant', reason='Dormant.')\n"
        "print(Flag.__pydantic_complete__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "True"]
