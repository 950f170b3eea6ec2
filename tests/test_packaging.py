"""Packaging for a server: the wheel carries the migrations and data files and works outside
the checkout; a SQLite file behind the schema is backed up and migrated on open; a PostgreSQL
database is only migrated by `python -m coding migrate` and refused on open until then."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from coding.store import Store, StoreError
from coding.store.schema import current_revision, head_revision, migrate
from coding.store.engine import make_engine

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("CODING_TEST_DB")
VENV_SITE = next(p for p in sys.path if p.endswith("site-packages"))


def _cli(*args: str, cwd: Path = REPO, env: dict | None = None, exe: list[str] | None = None):
    return subprocess.run([*(exe or [sys.executable, "-m", "coding"]), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# --- the wheel --------------------------------------------------------------------------

def _setuptools_can_build_wheels() -> bool:
    from importlib import metadata

    try:
        major, minor = (int(x) for x in metadata.version("setuptools").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    if (major, minor) >= (70, 1):
        return True
    try:
        metadata.version("wheel")
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the sources (the checkout gets no build/)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(REPO / "coding", src / "coding", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    # Build offline when this environment can (setuptools >= 70.1 has bdist_wheel, older needs
    # `wheel`); else pip fetches setuptools into an isolated build environment.
    local = _setuptools_can_build_wheels()
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "-w", str(out), "--no-deps", "-q",
                        *(["--no-build-isolation"] if local else [])], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and not local and any(
            s in r.stderr for s in ("No matching distribution", "Could not find a version", "NewConnectionError")):
        pytest.skip("no package index reachable to fetch setuptools for the build")
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("coding_workbench-*.whl")
    return whl


def test_the_wheel_holds_the_engine_migrations_data_and_console_script(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
        meta = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    versions = {p.name for p in (REPO / "coding/store/migrations/versions").glob("*.py")}
    assert {f"coding/store/migrations/versions/{v}" for v in versions} <= names
    assert {"coding/store/migrations/env.py", "coding/store/migrations/script.py.mako",
            "coding/data/common_passwords.txt", "coding/cli/main.py", "coding/store/db.py"} <= names
    assert "coding = coding.cli.main:main" in entry
    assert "Requires-Python: >=3.11" in meta and "Requires-Dist: alembic" in meta
    assert not any(n.startswith(("tests/", "app_pages/", "corpora/")) for n in names)


def test_the_installed_package_keeps_its_data_in_a_private_per_user_folder(wheel, tmp_path):
    """Installed in a fresh venv and run away from the checkout: migrations found through the
    package, the database in ~/.local/share/coding-workbench (0700, file 0600), and the demo
    refused with a clear message since corpora/ is not shipped."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                        "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    # Third-party dependencies come from the test environment, after the venv's own packages.
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "zz_deps.pth").write_text(str(VENV_SITE) + "\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CODING_DB_URL", "CODING_DATA_DIR", "XDG_DATA_HOME", "PYTHONPATH")}
    env["HOME"] = str(home)
    exe = [str(venv / "bin" / "coding")]

    r = _cli("migrate", cwd=tmp_path, env=env, exe=exe)
    assert r.returncode == 0, r.stderr
    folder = home / ".local/share/coding-workbench"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "coding.db").stat().st_mode) == 0o600
    with sqlite3.connect(folder / "coding.db") as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (head_revision(),)

    r = _cli("--as", "maria", "init", "Study", "--local", cwd=tmp_path, env=env, exe=exe)
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(folder / "coding.db") as c:
        assert c.execute("SELECT name FROM projects").fetchall() == [("Study",)]

    r = _cli("demo", cwd=tmp_path, env=env, exe=exe)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "Run `python -m coding demo` from a checkout" in r.stderr


# --- SQLite: backed up and migrated on open ------------------------------------------------

def _old_sqlite(path: Path) -> str:
    """A SQLite file at revision 0001 holding one project."""
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    migrate(eng, "0001")
    with eng.begin() as c:
        c.execute(text("INSERT INTO projects VALUES ('p', 'old study', '2024-01-01 00:00:00', '', '', 1, true)"))
    eng.dispose()
    return url


def test_opening_an_old_sqlite_file_backs_it_up_then_migrates_it(tmp_path):
    url = _old_sqlite(tmp_path / "coding.db")
    st = Store(url)
    st.dispose()
    assert current_revision(st.engine) == head_revision()
    (backup,) = tmp_path.glob("coding.db.bak-0001-*")
    assert st.backup == backup
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as c:  # the state before the migration, complete
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert c.execute("SELECT name FROM projects").fetchall() == [("old study",)]
    with sqlite3.connect(tmp_path / "coding.db") as c:
        assert c.execute("SELECT name FROM projects").fetchall() == [("old study",)]
    # Opening again: nothing to migrate, no second backup.
    again = Store(url)
    again.dispose()
    assert again.backup is None and len(list(tmp_path.glob("coding.db.bak-*"))) == 1


def test_a_new_sqlite_file_is_created_at_head_without_a_backup(tmp_path):
    st = Store(f"sqlite:///{tmp_path}/new.db")
    st.dispose()
    assert st.backup is None and current_revision(st.engine) == head_revision()
    assert [p.name for p in tmp_path.iterdir() if ".bak-" in p.name] == []


def test_the_migrate_command_backs_up_and_migrates_a_sqlite_file(tmp_path):
    url = _old_sqlite(tmp_path / "team.db")
    r = _cli("migrate", "--db", url)
    assert r.returncode == 0, r.stderr
    assert f"migrated from 0001 to {head_revision()}" in r.stdout
    assert len(list(tmp_path.glob("team.db.bak-0001-*"))) == 1
    assert current_revision(make_engine(url)) == head_revision()
    r = _cli("--db", url, "migrate")
    assert r.returncode == 0 and "already at schema revision" in r.stdout


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    url = _old_sqlite(tmp_path / "coding.db")
    with sqlite3.connect(tmp_path / "coding.db") as c:
        c.execute("UPDATE alembic_version SET version_num = '0999'")
    with pytest.raises(StoreError, match="revision '0999'.*does not know.*Upgrade the workbench"):
        Store(url)
    assert list(tmp_path.glob("*.bak-*")) == []


# --- PostgreSQL: migrated only by the command ---------------------------------------------

@pytest.fixture
def pg_empty():
    if not PG_URL:
        pytest.skip("PostgreSQL: set CODING_TEST_DB")
    name = f"coding_pkg_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgres_is_never_migrated_on_open_only_by_the_migrate_command(pg_empty):
    eng = make_engine(pg_empty)
    with pytest.raises(StoreError, match="no workbench tables yet.*python -m coding migrate"):
        Store(pg_empty)
    assert current_revision(eng) is None

    migrate(eng, "0001")
    with pytest.raises(StoreError, match="revision '0001', older.*pg_dump.*`python -m coding migrate --db URL`"):
        Store(pg_empty)
    assert current_revision(eng) == "0001"  # the refused open changed nothing

    r = _cli("--db", pg_empty, "codes", "x")  # any other command refuses it too
    assert r.returncode == 1 and "python -m coding migrate" in r.stderr and "Traceback" not in r.stderr

    r = _cli("migrate", "--db", pg_empty)
    assert r.returncode == 0, r.stderr
    assert f"migrated from 0001 to {head_revision()}" in r.stdout
    assert current_revision(eng) == head_revision()
    eng.dispose()
    Store(pg_empty).dispose()  # opens now
