"""Parley's PySide6 desktop app: library, import, transcript review and correction.

Views stay thin: Qt-free logic lives in :mod:`desktop.logic`, :mod:`desktop.suggest`,
:mod:`desktop.voices` and :mod:`desktop.settings`; every correction goes straight to the store.
"""
