"""One version string everywhere, ``parley --version``, the Linux desktop entry and icon."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET

import pytest

from meetings.version import __version__

from .conftest import REPO


def test_one_version_string():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "meetings.version.__version__"}
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.M).group(1) == __version__  # the newest entry
    sources = [REPO / "pyproject.toml", *(f for d in ("meetings", "capture", "diarization", "summaries", "desktop", "bench") for f in (REPO / d).rglob("*.py"))]
    written = [f.relative_to(REPO).as_posix() for f in sources if f'"{__version__}"' in f.read_text(encoding="utf-8")]
    assert written == ["meetings/version.py"]


def test_parley_version():
    proc = subprocess.run([sys.executable, "-m", "meetings.cli", "--version"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"parley {__version__}\n"


def test_desktop_entry_and_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO / "resources" / "parley.desktop")
    e = entry["Desktop Entry"]
    assert e["Type"] == "Application" and e["Name"] == "Parley" and e["Exec"] == "parley app" and e["Icon"] == "parley"
    assert e["Terminal"] == "false" and e["Categories"].endswith(";")
    svg = ET.parse(REPO / "resources" / "icons" / "parley.svg").getroot()
    assert svg.tag.endswith("svg") and svg.get("viewBox") == "0 0 256 256"


def test_install_script_writes_entry_and_icon_for_the_user(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), EXEC="/opt/parley/bin/parley")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "install-desktop-entry.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    installed = (tmp_path / "applications" / "parley.desktop").read_text()
    assert "Exec=/opt/parley/bin/parley app\n" in installed and "TryExec=/opt/parley/bin/parley\n" in installed
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "parley.svg").read_bytes() == (REPO / "resources" / "icons" / "parley.svg").read_bytes()


@pytest.mark.qt
def test_the_app_identifies_itself(qapp):
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    from desktop.app import _identify

    _identify(qapp)
    assert qapp.applicationVersion() == __version__ and qapp.desktopFileName() == "parley"
    renderer = QSvgRenderer(str(REPO / "resources" / "icons" / "parley.svg"))
    assert renderer.isValid()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    assert image.pixelColor(32, 4).alpha() == 255  # the icon's background is drawn
