"""Packaging: ``__version__`` from the metadata, package data that ships, and .ci/wheel's checks.

The wheel itself is built, installed without a compiler and run by ``.ci/wheel`` in CI (a minute
or two); here its content checks are shown to accept a complete wheel and to catch each defect.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import io
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
from packaging.version import Version

import infoloss

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "infoloss"


def load_wheel_check():
    """.ci/wheel as a module (it is a script without a .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("ci_wheel", str(ROOT / ".ci" / "wheel"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("ci_wheel", loader))
    loader.exec_module(module)
    return module


wheel_check = load_wheel_check()


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


VERSION = pyproject()["project"]["version"]


def test_version_is_pyprojects_through_the_metadata():
    assert infoloss.__version__ == VERSION
    assert infoloss.__version__ == importlib.metadata.version("infoloss")
    from infoloss import __version__

    assert __version__ == VERSION and "__version__" in dir(infoloss)


def test_version_fallback_when_not_installed(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    fallback = infoloss._installed_version()
    assert fallback == "0+unknown"
    assert Version(fallback) < Version("0.0.1")  # valid PEP 440, below every release


def test_import_does_not_read_the_metadata():
    # importlib.metadata (email, zipfile, csv...) loads only when __version__ is asked for.
    code = "import sys, infoloss; print('importlib.metadata' in sys.modules, infoloss.__version__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", VERSION]


def test_classifiers_and_keywords():
    project = pyproject()["project"]
    assert "Typing :: Typed" in project["classifiers"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639: `license` says it
    assert {"entropy", "cross-entropy", "kl-divergence"} <= set(project["keywords"])


def test_every_data_file_is_package_data():
    # A non-Python file under src/infoloss that no package-data pattern names would be left out of
    # the wheel without a word: name it in pyproject.toml's [tool.setuptools.package-data].
    patterns = pyproject()["tool"]["setuptools"]["package-data"]["infoloss"]
    data = [p.relative_to(SOURCE).as_posix() for p in wheel_check.package_files(SOURCE) if p.suffix != ".py"]
    assert "py.typed" in data and "explore/core.mjs" in data
    unlisted = [name for name in data if not any(fnmatch(name, pattern) for pattern in patterns)]
    assert unlisted == []


def good_wheel_members() -> dict[str, bytes]:
    """A wheel's members as a correct build from this tree has them (the kernels as stand-in bytes)."""
    members = {
        f"infoloss/{p.relative_to(SOURCE).as_posix()}": p.read_bytes()
        for p in wheel_check.package_files(SOURCE)
    }
    members.update(dict.fromkeys(wheel_check.expected_kernels(), b"\x7fELF"))
    info = f"infoloss-{VERSION}.dist-info"
    members[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.4\nName: infoloss\nVersion: {VERSION}\n"
        'Requires-Dist: numpy>=2\nRequires-Dist: torch>=2.4; extra == "torch"\n'
    ).encode()
    members[f"{info}/entry_points.txt"] = b"[console_scripts]\ninfoloss = infoloss.cli.main:main\n"
    return members


def write_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_wheel_check_accepts_a_complete_wheel(tmp_path):
    wheel = write_wheel(tmp_path / "good.whl", good_wheel_members())
    assert wheel_check.wheel_problems(wheel, SOURCE, VERSION) == []


def add(name, content=b""):
    return lambda members: members.__setitem__(name, content)


def remove(name):
    return lambda members: members.pop(name)


DEFECTS = {
    "tests": (add("tests/test_measures.py"), "tests/test_measures.py"),
    "tests inside the package": (add("infoloss/tests/test_x.py"), "infoloss/tests/test_x.py"),
    "bytecode cache": (add("infoloss/__pycache__/special.cpython-311.pyc"), "__pycache__"),
    "object file": (add("infoloss/measures/_kernels.o"), "_kernels.o"),
    "egg-info": (add("infoloss/infoloss.egg-info/PKG-INFO"), "egg-info"),
    "C source": (add("infoloss/measures/_kernels.c"), "_kernels.c"),
    "stray binary": (add("infoloss/measures/_other.so"), "_other.so"),
    "no py.typed": (remove("infoloss/py.typed"), "py.typed"),
    "no explorer module": (remove("infoloss/explore/core.mjs"), "core.mjs"),
    "no explorer style": (remove("infoloss/explore/style.css"), "style.css"),
    "no baseline kernel": (lambda m: m.pop(wheel_check.expected_kernels()[0]), "_kernels."),
    "a module missing": (remove("infoloss/measures/_fast.py"), "_fast.py"),
    "no console script": (
        add(f"infoloss-{VERSION}.dist-info/entry_points.txt", b"[console_scripts]\n"),
        "console script",
    ),
    "test requirement at run time": (
        add(
            f"infoloss-{VERSION}.dist-info/METADATA",
            f"Version: {VERSION}\nRequires-Dist: pytest>=8\n".encode(),
        ),
        "pytest",
    ),
    "wrong version": (add(f"infoloss-{VERSION}.dist-info/METADATA", b"Version: 9.9\n"), "Version"),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_wheel_check_catches(tmp_path, defect):
    change, named = DEFECTS[defect]
    members = good_wheel_members()
    change(members)
    problems = wheel_check.wheel_problems(write_wheel(tmp_path / "bad.whl", members), SOURCE, VERSION)
    assert problems and any(named in problem for problem in problems), problems


def write_sdist(path: Path, names: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name in names:
            info = tarfile.TarInfo(f"infoloss-{VERSION}/{name}")
            archive.addfile(info, io.BytesIO(b""))
    return path


SDIST = [
    "pyproject.toml",
    "setup.py",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "src/infoloss/__init__.py",
    "src/infoloss/py.typed",
    "src/infoloss/measures/_kernels.c",
    "src/infoloss/measures/_kernels_avx2.c",
]


def test_sdist_check(tmp_path):
    assert wheel_check.sdist_problems(write_sdist(tmp_path / "good.tar.gz", SDIST), VERSION) == []
    no_source = wheel_check.sdist_problems(write_sdist(tmp_path / "a.tar.gz", SDIST[:-1]), VERSION)
    assert any("_kernels_avx2.c" in p for p in no_source)
    binary = [*SDIST, "src/infoloss/measures/_kernels.cpython-311-x86_64-linux-gnu.so"]
    assert any(
        ".so" in p for p in wheel_check.sdist_problems(write_sdist(tmp_path / "b.tar.gz", binary), VERSION)
    )
    partial_tests = [*SDIST, "tests/test_errors.py"]
    problems = wheel_check.sdist_problems(write_sdist(tmp_path / "c.tar.gz", partial_tests), VERSION)
    assert any("tests/test_errors.py" in p for p in problems)


def test_fresh_environment_has_no_compiler(tmp_path):
    (tmp_path / "bin").mkdir()
    env = wheel_check.compiler_free_env(tmp_path)
    assert env["PATH"] == str(tmp_path / "bin") and env["CC"] == "false" and "PYTHONPATH" not in env
    assert not [name for name in wheel_check.COMPILERS if wheel_check.shutil.which(name, path=env["PATH"])]
