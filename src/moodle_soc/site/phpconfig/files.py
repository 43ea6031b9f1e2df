"""config.php from disk: a regular file of bounded size, and Moodle 5.1's loader followed once."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from moodle_soc.errors import ConfigPhpError
from moodle_soc.site.phpconfig.statements import no_settings, parse
from moodle_soc.site.phpconfig.values import PhpConfig

#: A real config.php is a few KB; a file this large is not one (and is not read into memory).
MAX_BYTES = 1024 * 1024


def _read(path: Path) -> str:
    """The text of a regular file of at most MAX_BYTES. Opened without blocking and checked on
    the open descriptor, so a FIFO, a device (/dev/zero) or a file swapped in meanwhile is
    refused instead of hanging or filling memory."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ConfigPhpError(f"{path}: the file does not exist.") from None
    except IsADirectoryError:
        raise ConfigPhpError(f"{path}: is a directory, not a config.php file.") from None
    except OSError as exc:
        raise ConfigPhpError(f"{path}: cannot read the file ({_reason(exc)}).") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigPhpError(f"{path}: is a directory, not a config.php file.")
        if not stat.S_ISREG(mode):
            raise ConfigPhpError(f"{path}: is not a regular file, so it is not a config.php.")
        data = _read_at_most(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigPhpError(f"{path}: cannot read the file ({_reason(exc)}).") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ConfigPhpError(
            f"{path}: is larger than {MAX_BYTES // 2**20} MiB, so it is not a Moodle config.php."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # old sites saved config.php in their legacy charset


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


_LOADER = re.compile(
    r"(__DIR__|dirname\(\s*__FILE__\s*\)|dirname\(\s*__DIR__\s*\)|dirname\(\s*__FILE__\s*,\s*2\s*\)"
    r"|dirname\(\s*dirname\(\s*__FILE__\s*\)\s*\))\s*\.\s*(['\"])(/[^'\"$\\]*)\2",
    re.IGNORECASE,
)


def _loader_target(path: Path, requires: list[str]) -> Path | None:
    """The config.php that a Moodle 5.1 ``public/config.php`` loader requires, if any."""
    here = Path(os.path.abspath(path))
    for argument in requires:
        m = _LOADER.fullmatch(argument)
        if m is None:
            continue
        base = re.sub(r"\s", "", m.group(1)).lower()
        folder = here.parent if base in ("__dir__", "dirname(__file__)") else here.parent.parent
        target = Path(os.path.normpath(f"{folder}{m.group(3)}"))
        siblings_or_parent = (here.parent, here.parent.parent)
        if target.name == "config.php" and target != here and target.parent in siblings_or_parent:
            return target
    return None


def load_config_php(path: str | os.PathLike[str]) -> PhpConfig:
    """Read a site's config.php, following a Moodle 5.1 loader to the real file once."""
    file = Path(path)
    cfg, requires, assigned = parse(_read(file), str(file))
    if assigned:
        return cfg
    target = _loader_target(file, requires)
    if target is None:
        raise no_settings(str(file))
    cfg, _, assigned = parse(_read(target), str(target))
    if not assigned:
        raise no_settings(str(target), file)
    return cfg
