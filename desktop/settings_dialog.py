"""The settings dialog: models, device, language, data folder, and the Anthropic API key
(saved to the system keyring only; a missing keyring is reported in the dialog)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from desktop.settings import (
    ASR_MODELS, DEVICES, DIARIZATION_MODELS, AppSettings, KeyringUnavailable, api_key_state, save_api_key,
)

__all__ = ["SettingsDialog"]


def _installed(kind: str, fallback) -> list[str]:
    """The models installed on this machine (``parley models``), embedded first."""
    try:
        from diarization.catalogue import installed

        return installed(kind)
    except Exception:  # the speech stack is missing or broken: offer the defaults
        return list(fallback[:1])


def _editable_combo(values, current: str) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(list(values))
    combo.setCurrentText(current)
    return combo


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, default_data_dir: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Parley settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self.asr = _editable_combo(_installed("asr", ASR_MODELS), settings.asr_model)
        self.asr.setToolTip("The installed models. tiny.en is embedded and works offline; `parley models get NAME` "
                            "downloads another (small, medium, large-v3, turbo …), or type its name.")
        self.diarization = _editable_combo(_installed("diarization", DIARIZATION_MODELS), settings.diarization_model)
        self.diarization.setToolTip("The installed pipelines. embedded works offline; pyannote pipelines need HF_TOKEN "
                                    "(`parley models get pyannote/speaker-diarization-community-1`).")
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(settings.device if settings.device in DEVICES else "auto")
        self.language = QLineEdit(settings.language)
        self.language.setPlaceholderText("detect (e.g. en, de, fr)")
        self.num_speakers = QSpinBox()
        self.num_speakers.setRange(0, 20)
        self.num_speakers.setSpecialValueText("detect")
        n = settings.num_speakers.strip()
        self.num_speakers.setValue(int(n) if n.isdigit() else 0)
        self.num_speakers.setToolTip("How many people talk in the recordings you import next (detect: diarization decides).")
        self.overlap = QCheckBox("Transcribe a second voice under another speaker's words")
        self.overlap.setChecked(settings.pipeline_options().recover_overlap)
        self.overlap.setToolTip("Re-transcribes overlapped stretches with the louder voice faded out. Off by default: "
                                "with tiny.en it adds about 9 % to an import and did not improve who-said-what; "
                                "a larger model hears a quieter voice better.")
        self.cloud = QCheckBox("Cloud summaries: send transcript text (never audio) to Anthropic")
        self.cloud.setChecked(settings.cloud)
        self.cloud.setToolTip("Off: summaries are written offline on this machine. On: the cost is shown before each run.")
        self.data_dir = QLineEdit(settings.data_dir)
        self.data_dir.setPlaceholderText(default_data_dir)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        data_row = QWidget()
        dl = QHBoxLayout(data_row)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.data_dir, 1)
        dl.addWidget(browse)

        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_state = QLabel()
        self.forget_key = QPushButton("Forget saved key")
        self.forget_key.clicked.connect(self._forget)
        key_row = QWidget()
        kl = QHBoxLayout(key_row)
        kl.setContentsMargins(0, 0, 0, 0)
        kl.addWidget(self.key, 1)
        kl.addWidget(self.forget_key)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#c62828;")
        self.error.hide()

        form = QFormLayout()
        form.addRow("Speech recognition model:", self.asr)
        form.addRow("Diarization model:", self.diarization)
        form.addRow("Device:", self.device)
        form.addRow("Language:", self.language)
        form.addRow("Number of speakers:", self.num_speakers)
        form.addRow("Overlapped speech:", self.overlap)
        form.addRow("Data folder:", data_row)
        form.addRow("Anthropic API key:", key_row)
        form.addRow("", self.key_state)
        form.addRow("Summaries:", self.cloud)
        note = QLabel("Model settings apply to the next import. The API key is kept in your system keyring, "
                      "never in Parley's database; only transcript text is sent, and only when you ask for summaries.")
        note.setWordWrap(True)
        note.setStyleSheet("color:#666;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self._show_key_state()

    def _show_key_state(self) -> None:
        state = api_key_state()
        self.key.setPlaceholderText("saved — type a new key to replace it" if state == "saved" else "sk-ant-…")
        self.key_state.setText({
            "saved": "✓ A key is saved in the system keyring.",
            "not set": "No key saved: summaries run offline (extractive) until you add one.",
        }.get(state, "⚠ No system keyring is available: a key cannot be saved here. "
                     "Set ANTHROPIC_API_KEY in the environment instead."))
        self.forget_key.setEnabled(state == "saved")

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Data folder", self.data_dir.text() or self.data_dir.placeholderText())
        if d:
            self.data_dir.setText(d)

    def _forget(self) -> None:
        try:
            save_api_key("")
        except KeyringUnavailable as exc:
            self._fail(str(exc))
        self._show_key_state()

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def result_settings(self) -> AppSettings:
        return replace(
            self.settings,
            asr_model=self.asr.currentText().strip() or "tiny.en",
            diarization_model=self.diarization.currentText().strip() or "embedded",
            device=self.device.currentText(),
            language=self.language.text().strip(),
            data_dir=self.data_dir.text().strip(),
            num_speakers=str(self.num_speakers.value()) if self.num_speakers.value() else "",
            cloud_summaries="1" if self.cloud.isChecked() else "",
            recover_overlap="1" if self.overlap.isChecked() else "",
        )

    def accept(self) -> None:
        key = self.key.text().strip()
        if key:
            try:
                save_api_key(key)
            except KeyringUnavailable as exc:
                self._fail(str(exc) + " Clear the key field to save the other settings.")
                return
            self.key.clear()
        super().accept()
