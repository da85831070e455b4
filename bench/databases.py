"""Where a bench data set lives (a PostgreSQL database or a SQLite file under bench/out/), how it is
made fresh, and the small manifest that remembers what was generated into it."""
import json
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from callcenter import create_app
from config import database_url

OUT_DIR = Path(__file__).resolve().parent / "out"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def dataset_name(active):
    """sampark_bench_300k for 300,000 active patients."""
    return f"sampark_bench_{active // 1000}k" if active % 1000 == 0 else f"sampark_bench_{active}"


def pg_url(name, server=PG_SERVER):
    return f"{server}/{name}"


def sqlite_url(name):
    return f"sqlite:///{OUT_DIR / name}.db"


def normalized(url):
    """The SQLAlchemy URL with the psycopg 3 driver; a relative SQLite path made absolute (Flask-SQLAlchemy
    would otherwise read it relative to the instance folder)."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_absolute():
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed


def backend(url):
    return normalized(url).get_backend_name()


def make_app(url):
    """The real application on the bench database (production settings, not the test ones)."""
    return create_app("config.Config", SQLALCHEMY_DATABASE_URI=normalized(url).render_as_string(hide_password=False))


def _checked(url):
    """Only databases named for the bench are ever dropped."""
    parsed = normalized(url)
    if "bench" not in Path(parsed.database or "").name:
        raise SystemExit(f"refusing to recreate {parsed.database!r}: its name must contain 'bench'")
    return parsed


def refuse_unless_bench(url):
    """Exit unless the database's name contains 'bench' (a benchmark that changes data only runs there)."""
    _checked(url)


def recreate(url):
    """Drop and create the database (or delete the SQLite file): an empty database to generate into."""
    parsed = _checked(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def exists(url):
    parsed = normalized(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).is_file()
    admin = create_engine(parsed.set(database="postgres"))
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                             {"name": parsed.database}).scalar()
    admin.dispose()
    return found is not None


def manifest_path(url):
    parsed = normalized(url)
    server = f"{parsed.port}-" if parsed.port not in (None, 5432) else ""
    return OUT_DIR / f"{parsed.get_backend_name()}-{server}{Path(parsed.database).stem}.json"


def read_manifest(url):
    path = manifest_path(url)
    return json.loads(path.read_text()) if path.is_file() else None


def write_manifest(url, manifest):
    path = manifest_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
