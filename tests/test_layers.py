"""The layers of docs/architecture.md stay as drawn: import-linter's contracts (pyproject.toml), and the
analysis's inner ring importable without the database, the services or the configuration."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    result = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                             "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checks_base_imports_no_database_services_or_configuration():
    probe = ("import sys, app.checks.base, app.checks.registry; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlmodel' or m.split('.')[0] == 'sqlalchemy' "
             "or m.startswith(('app.services', 'app.config', 'app.db', 'app.models'))))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_module_imports_itself_through_others():
    import grimp

    graph = grimp.build_graph("app", include_external_packages=False, cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            path = graph.find_shortest_chain(importer=imported, imported=module)
            if path:
                cycles.append(" -> ".join((module, *path)))
    assert not cycles, "\n".join(cycles)
