"""``parley app``: open the desktop app on the user's database (or ``--db``)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["main", "open_store"]


def open_store(db: Path | None, data_dir: str = ""):
    """The store for ``--db``, else the settings' data folder, else the default location."""
    from meetings.store import Store

    if db is not None:
        store = Store(db)
    elif data_dir:
        store = Store(Path(data_dir).expanduser() / "parley.db")
    else:
        store = Store.default()
    store.mark_interrupted()
    return store


def _identify(app) -> None:
    """Version, icon and the desktop entry's name (resources/parley.desktop), for the window manager."""
    from PySide6.QtGui import QIcon

    from meetings.version import __version__

    app.setApplicationVersion(__version__)
    app.setDesktopFileName("parley")
    icon = Path(__file__).resolve().parent.parent / "resources" / "icons" / "parley.svg"
    app.setWindowIcon(QIcon.fromTheme("parley", QIcon(str(icon)) if icon.exists() else QIcon()))


def main(db: Path | None = None, argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.settings import default_settings_path, load_settings
    from desktop.teach import Teacher

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Parley")
    app.setOrganizationName("parley")
    _identify(app)
    settings_path = default_settings_path()
    settings = load_settings(settings_path)
    store = open_store(db, settings.data_dir)
    window = MainWindow(
        store,
        settings_path=settings_path,
        settings=settings,
        teacher=Teacher(),
        store_factory=None if db is not None else (lambda s: open_store(None, s.data_dir)),
    )
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
