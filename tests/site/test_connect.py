from pathlib import Path

import pytest

from moodle_soc.errors import ConfigPhpError, UsageError
from moodle_soc.site.connect import spec_from_config, spec_from_url
from moodle_soc.site.phpconfig import parse_config_php


def config(**values: str) -> str:
    body = "".join(f"$CFG->{k} = {v};\n" for k, v in values.items())
    return f"<?php\n$CFG = new stdClass();\n{body}require_once(__DIR__ . '/lib/setup.php');\n"


@pytest.mark.parametrize(
    ("dbtype", "driver"),
    [
        ("pgsql", "postgresql+psycopg"),
        ("mariadb", "mariadb+pymysql"),
        ("mysqli", "mysql+pymysql"),
        ("auroramysql", "mysql+pymysql"),
    ],
)
def test_dbtype_maps_to_a_driver(dbtype: str, driver: str):
    cfg = parse_config_php(
        config(
            dbtype=f"'{dbtype}'",
            dbhost="'db.internal'",
            dbname="'moodle'",
            dbuser="'m'",
            dbpass="'s3cret!'",
            prefix="'m41_'",
            dboptions="array('dbport' => '6543', 'dbsocket' => '')",
        )
    )
    spec = spec_from_config(cfg)
    assert spec.url.drivername == driver
    assert (spec.url.host, spec.url.port, spec.url.database) == ("db.internal", 6543, "moodle")
    assert spec.prefix == "m41_"
    assert "s3cret" not in spec.display


def test_unknown_dbtype_is_a_config_error():
    cfg = parse_config_php(config(dbtype="'sqlsrv'", dbname="'moodle'"))
    with pytest.raises(ConfigPhpError, match="sqlsrv"):
        spec_from_config(cfg)


def test_runtime_database_name_is_refused():
    cfg = parse_config_php(config(dbtype="'pgsql'", dbname="getenv('DB_NAME')"))
    with pytest.raises(ConfigPhpError, match="at runtime"):
        spec_from_config(cfg)


def test_password_precedence(monkeypatch: pytest.MonkeyPatch):
    cfg = parse_config_php(config(dbtype="'pgsql'", dbname="'m'", dbpass="'from-config'"))
    assert spec_from_config(cfg).url.password == "from-config"
    monkeypatch.setenv("MOODLE_SOC_DB_PASSWORD", "from-env")
    assert spec_from_config(cfg).url.password == "from-env"
    assert spec_from_config(cfg, "from-prompt").url.password == "from-prompt"


def test_socket_path_for_mysql():
    cfg = parse_config_php(
        config(
            dbtype="'mariadb'", dbname="'m'", dboptions="['dbsocket' => '/run/mysqld/mysqld.sock']"
        )
    )
    assert spec_from_config(cfg).url.query["unix_socket"] == "/run/mysqld/mysqld.sock"


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("mysql://u@h/db", "mysql+pymysql"),
        ("mariadb://u@h/db", "mariadb+pymysql"),
    ],
)
def test_database_urls(url: str, driver: str):
    assert spec_from_url(url, "mdl_").url.drivername == driver


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("oracle://u@h/db", "Unsupported"), ("not a url", "must be a URL"), ("sqlite://", "file")],
)
def test_bad_urls_are_usage_errors(url: str, fragment: str):
    with pytest.raises(UsageError, match=fragment):
        spec_from_url(url, "mdl_")


def test_sqlite_file_is_opened_read_only(tmp_path: Path):
    path = tmp_path / "site.sqlite"
    path.write_bytes(b"")
    spec = spec_from_url(f"sqlite:///{path}", "mdl_")
    assert spec.url.query["mode"] == "ro"


@pytest.mark.parametrize(
    "dbschema",
    [
        "'public -c default_transaction_read_only=off'",
        "'public; DROP TABLE mdl_user'",
        "'\"quoted\"'",
        "['public']",
        "getenv('SCHEMA')",
    ],
)
def test_dbschema_must_be_a_plain_schema_name(dbschema: str):
    cfg = parse_config_php(
        config(dbtype="'pgsql'", dbname="'m'", dboptions=f"['dbschema' => {dbschema}]")
    )
    with pytest.raises(ConfigPhpError, match=r"dboptions\['dbschema'\]") as caught:
        spec_from_config(cfg)
    assert "DROP" not in caught.value.message and "-c" not in caught.value.message


@pytest.mark.parametrize(("dbschema", "schema"), [("'moodle'", "moodle"), ("''", None)])
def test_a_plain_dbschema_is_kept(dbschema: str, schema: str | None):
    cfg = parse_config_php(
        config(dbtype="'pgsql'", dbname="'m'", dboptions=f"['dbschema' => {dbschema}]")
    )
    assert spec_from_config(cfg).schema == schema


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://auditor@db.example.org:5433/moodle",
         "postgresql://auditor@db.example.org:5433/moodle"),
        ("postgres://auditor@db/moodle", "postgres://auditor@db/moodle"),
        ("mysql://u@h/m", "mysql://u@h/m"),
        ("postgresql+psycopg://u:secret@h/m?sslmode=require",
         "postgresql+psycopg://u:***@h/m?sslmode=require"),
        ("mariadb://u:p%40ss@h/m", "mariadb://u:***@h/m"),
    ],
)  # fmt: skip
def test_a_url_is_shown_as_typed_without_its_password(
    url: str, shown: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MOODLE_SOC_DB_PASSWORD", "from-the-environment")
    spec = spec_from_url(url, "mdl_")
    assert spec.display == shown  # no driver, charset or *** the user did not write
    assert "secret" not in spec.display and "environment" not in spec.display


@pytest.mark.parametrize(
    ("dbtype", "shown"),
    [("pgsql", "postgresql://m@db.internal/moodle"), ("mariadb", "mariadb://m@db.internal/moodle"),
     ("mysqli", "mysql://m@db.internal/moodle")],
)  # fmt: skip
def test_a_config_php_connection_is_shown_by_its_plain_scheme(dbtype: str, shown: str):
    cfg = parse_config_php(
        config(dbtype=f"'{dbtype}'", dbhost="'db.internal'", dbname="'moodle'", dbuser="'m'",
               dbpass="'s3cret!'")
    )  # fmt: skip
    assert spec_from_config(cfg).display == shown


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://u@[::1/x", "must be a URL"),
        ("postgresql://u@h:5432:1/db", "must be a URL"),
        ("postgresql://u@h:99999/db", "port 99999 is not between 1 and 65535"),
        ("postgresql://u:Pw68@x@host/db", "the password seems to contain '@'"),
    ],
)
def test_malformed_urls_are_one_clear_sentence_that_echoes_no_password(url: str, fragment: str):
    with pytest.raises(UsageError, match=fragment) as caught:
        spec_from_url(url, "mdl_")
    assert "Pw68" not in caught.value.message and "x@host" not in caught.value.message
