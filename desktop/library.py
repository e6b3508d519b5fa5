"""The meetings library: a table of every meeting, and full-text search over all transcripts."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSize, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QPushButton, QListWidget, QListWidgetItem,
    QStackedWidget, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QVBoxLayout, QWidget,
)

from desktop.logic import fmt_clock, fmt_date, fmt_duration

__all__ = ["MeetingsModel", "LibraryPage"]

STATUS_COLOURS = {"done": "#2e7d32", "failed": "#c62828", "cancelled": "#9e9e9e", "interrupted": "#c62828"}


class MeetingsModel(QAbstractTableModel):
    COLUMNS = ("Title", "Date", "Length", "Speakers", "Flagged", "Status")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []

    def set_meetings(self, meetings: Sequence) -> None:
        self.beginResetModel()
        self._rows = list(meetings)
        self.endResetModel()

    def meeting(self, row: int):
        return self._rows[row]

    def row_of(self, meeting_id: int) -> int | None:
        return next((i for i, m in enumerate(self._rows) if m.id == meeting_id), None)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole and section == 0:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        m, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                m.title,
                fmt_date(m.created_at),
                fmt_duration(m.duration),
                str(m.num_speakers),
                f"{m.num_flagged} of {m.num_turns}" if m.num_turns else "—",
                m.status,
            )[col]
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return (m.title.lower(), m.created_at, m.duration, m.num_speakers, m.num_flagged, m.status)[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 5:
                return QColor(STATUS_COLOURS.get(m.status, "#1f6fb2"))
            if col == 4 and m.num_flagged:
                return QColor("#9a5b00")
        if role == Qt.ItemDataRole.FontRole and col == 0:
            f = QFont()
            f.setWeight(QFont.Weight.DemiBold)
            return f
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            hint = {"cancelled": "\nImport cancelled: Retry or Delete (right-click)",
                    "failed": "\nImport failed: Retry or Delete (right-click)",
                    "interrupted": "\nImport interrupted: Retry or Delete (right-click)"}.get(m.status, "")
            return f"{m.title}\n{m.audio_path}{hint}"
        return None


class LibraryPage(QWidget):
    """Search box on top; below it the meetings table, or search results while searching."""

    openMeeting = Signal(int, object)  # meeting id, turn id or None
    importRequested = Signal()
    retryRequested = Signal(int)  # meeting id: import its recording again
    deleteRequested = Signal(int)  # meeting id (the window asks first)

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        title = QLabel("Meetings")
        title.setStyleSheet("font-size:17px; font-weight:600;")
        self.import_button = QPushButton("Import recording…")
        self.import_button.setStyleSheet("QPushButton { background:#1f6fb2; color:white; padding:4px 12px; border-radius:4px; }")
        self.import_button.clicked.connect(self.importRequested)
        self.retry_button = QPushButton("Retry import")
        self.retry_button.clicked.connect(lambda: self._emit_selected(self.retryRequested))
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(lambda: self._emit_selected(self.deleteRequested))
        from desktop.people_page import PersonFilter

        self.person_box = PersonFilter(lambda: self.store, self)  # only the meetings of one person
        self.person_box.changed.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addWidget(self.person_box)
        top.addStretch(1)
        top.addWidget(self.retry_button)
        top.addWidget(self.delete_button)
        top.addWidget(self.import_button)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search all transcripts…  (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.model = MeetingsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, MeetingsModel.COLUMNS.__len__()):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(self._open_row)
        self.table.activated.connect(self._open_row)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._row_menu)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.empty = QLabel("No meetings yet.\n\nImport a recording with File ▸ Import… (Ctrl+O)\nor drop audio files onto this window.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color:#777; font-size:15px;")
        self.results = QListWidget()
        self.results.setItemDelegate(_HitDelegate(self.results))
        self.results.itemActivated.connect(self._open_hit)
        self.results.itemClicked.connect(self._open_hit)
        self.results_label = QLabel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        results_page = QWidget()
        rl = QVBoxLayout(results_page)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.results_label)
        rl.addWidget(self.results, 1)
        self.stack.addWidget(results_page)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addLayout(top)
        lay.addWidget(self.search_box)
        lay.addWidget(self.stack, 1)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.run_search)
        self.search_box.textChanged.connect(lambda _t: self._debounce.start())
        self.search_box.returnPressed.connect(self.run_search)

    # ------------------------------------------------------------ meetings
    def refresh(self) -> None:
        keep = self.selected_meeting()
        self.person_box.reload()
        self.model.set_meetings(self.person_box.filter(self.store.list_meetings()))
        if keep is not None:
            self.select_meeting(keep.id)
        if not self.search_box.text().strip():
            self.stack.setCurrentIndex(0 if self.model.rowCount() else 1)
        self._update_buttons()

    def selected_meeting(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.meeting(self.proxy.mapToSource(rows[0]).row()) if rows else None

    def _update_buttons(self) -> None:
        m = self.selected_meeting()
        self.retry_button.setVisible(m is not None and m.status in ("cancelled", "failed", "interrupted"))
        self.delete_button.setEnabled(m is not None)

    def _emit_selected(self, signal) -> None:
        m = self.selected_meeting()
        if m is not None:
            signal.emit(m.id)

    def row_menu(self, meeting) -> QMenu:
        """Open / Retry import (when it did not finish) / Delete… for one meeting."""
        menu = QMenu(self)
        if meeting.status == "done":
            menu.addAction("Open", lambda: self.openMeeting.emit(meeting.id, None))
        else:
            menu.addAction("Retry import", lambda: self.retryRequested.emit(meeting.id))
        menu.addAction("Delete…", lambda: self.deleteRequested.emit(meeting.id))
        return menu

    def _row_menu(self, point) -> None:
        index = self.table.indexAt(point)
        if index.isValid():
            self.row_menu(self.model.meeting(self.proxy.mapToSource(index).row())).exec(self.table.viewport().mapToGlobal(point))

    def select_meeting(self, meeting_id: int) -> None:
        row = self.model.row_of(meeting_id)
        if row is not None:
            self.table.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())

    def _open_row(self, index: QModelIndex) -> None:
        m = self.model.meeting(self.proxy.mapToSource(index).row())
        if m.status == "done":
            self.openMeeting.emit(m.id, None)  # an unfinished import has no transcript: Retry / Delete are on the row

    # ------------------------------------------------------------ search
    def run_search(self) -> None:
        self._debounce.stop()
        query = self.search_box.text().strip()
        if not query:
            self.stack.setCurrentIndex(0 if self.model.rowCount() else 1)
            return
        try:
            hits = self.store.search(query)
        except Exception as exc:  # e.g. an FTS syntax error from a stray quote
            hits, error = [], str(exc)
        else:
            error = ""
        self.results.clear()
        for hit in hits:
            item = QListWidgetItem()
            snippet = hit.snippet or ""
            item.setText(f"{hit.meeting_title}  ·  {fmt_clock(hit.start)}  ·  {hit.speaker_name}\n{snippet}")
            item.setData(Qt.ItemDataRole.UserRole, (hit.meeting_id, hit.turn_id))
            item.setData(HTML_ROLE, _hit_html(hit))
            self.results.addItem(item)
        n = len(hits)
        self.results_label.setText(
            f"Cannot search for “{query}”: {error}" if error
            else f"{n} match{'es' if n != 1 else ''} for “{query}” — click one to open the meeting there"
        )
        self.stack.setCurrentIndex(2)

    def _open_hit(self, item: QListWidgetItem) -> None:
        meeting_id, turn_id = item.data(Qt.ItemDataRole.UserRole)
        self.openMeeting.emit(meeting_id, turn_id)


HTML_ROLE = Qt.ItemDataRole.UserRole + 1


def _hit_html(hit) -> str:
    """The store marks matches as [word] in snippets: show them bold."""
    snippet = html.escape(hit.snippet or "")
    snippet = re.sub(r"\[([^\[\]]*)\]", r"<b style='background:#fff1cc'>\1</b>", snippet)
    return (f"<span style='font-weight:600'>{html.escape(hit.meeting_title)}</span>"
            f"<span style='color:#777'>  ·  {fmt_clock(hit.start)}  ·  {html.escape(hit.speaker_name)}</span>"
            f"<br>{snippet}")


class _HitDelegate(QStyledItemDelegate):
    """Draws a search hit as rich text (title line, then the snippet with the match in bold)."""

    def _doc(self, index, width: int) -> QTextDocument:
        doc = QTextDocument()
        doc.setDocumentMargin(6)
        doc.setHtml(index.data(HTML_ROLE) or html.escape(index.data() or ""))
        doc.setTextWidth(max(width, 100))
        return doc

    def paint(self, painter, option, index) -> None:
        style = option.widget.style() if option.widget else None
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        if style:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)
        painter.save()
        painter.translate(option.rect.topLeft())
        self._doc(index, option.rect.width()).drawContents(painter)
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        width = option.widget.viewport().width() if option.widget else option.rect.width()
        doc = self._doc(index, width)
        return QSize(int(doc.idealWidth()), int(doc.size().height()) + 2)
