"""halluview.core must stay Qt-free: importing all of it loads no Qt module, and no file names one."""
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import halluview.core

QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "qtpy")


def test_no_core_file_imports_qt():
    pattern = re.compile(rf"^\s*(import|from)\s+({'|'.join(QT_MODULES)})\b", re.M)
    offenders = [str(p) for p in Path(halluview.core.__file__).parent.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt():
    names = [m.name for m in pkgutil.walk_packages(halluview.core.__path__, "halluview.core.")]
    assert len(names) > 10
    code = ("import sys, importlib\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
