"""Settings: the JSON file, the Anthropic API key in the system keyring (never SQLite), a
missing keyring reported clearly, and the settings dialog driving all of it."""

from __future__ import annotations

import pytest


def test_settings_round_trip_and_tolerate_garbage(tmp_path):
    from desktop.settings import AppSettings, load_settings, save_settings

    path = tmp_path / "cfg" / "desktop.json"
    assert load_settings(path) == AppSettings()
    s = AppSettings(asr_model="small", device="cpu", language="de", data_dir=str(tmp_path))
    save_settings(path, s)
    assert load_settings(path) == s
    opts = s.pipeline_options()
    assert (opts.asr_model, opts.device, opts.language) == ("small", "cpu", "de")
    assert "anthropic" not in path.read_text().lower()
    path.write_text("{not json")
    assert load_settings(path) == AppSettings()


@pytest.fixture
def memory_keyring():
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.data = {}

        def get_password(self, service, username):
            return self.data.get((service, username))

        def set_password(self, service, username, password):
            self.data[(service, username)] = password

        def delete_password(self, service, username):
            self.data.pop((service, username), None)

    old = keyring.get_keyring()
    keyring.set_keyring(Memory())
    yield keyring.get_keyring()
    keyring.set_keyring(old)


@pytest.fixture
def no_keyring():
    import keyring
    from keyring.backends import fail

    old = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(old)


def test_api_key_goes_to_the_keyring(memory_keyring):
    from desktop.settings import api_key_state, save_api_key

    assert api_key_state() == "not set"
    save_api_key("sk-ant-test")
    assert memory_keyring.get_password("parley", "anthropic_api_key") == "sk-ant-test"
    assert api_key_state() == "saved"
    save_api_key("")
    assert api_key_state() == "not set"


def test_missing_keyring_is_a_clear_error(no_keyring):
    from desktop.settings import KeyringUnavailable, api_key_state, save_api_key

    with pytest.raises(KeyringUnavailable, match="keyring is not available.*ANTHROPIC_API_KEY"):
        save_api_key("sk-ant-test")
    assert api_key_state() == "keyring unavailable"


# ---------------------------------------------------------------------- the dialog
@pytest.fixture
def window(qtbot, store, tmp_path):
    from desktop.main_window import MainWindow

    w = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_settings_dialog_saves_options_and_key(window, memory_keyring, qtbot, tmp_path):
    import json

    dialog = window.open_settings()
    assert dialog.isVisible()
    assert "No key saved" in dialog.key_state.text()
    dialog.asr.setCurrentText("small")
    dialog.device.setCurrentText("cpu")
    dialog.language.setText("en")
    assert not dialog.overlap.isChecked()  # off by default
    dialog.overlap.setChecked(True)
    qtbot.keyClicks(dialog.key, "sk-ant-secret")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert not dialog.isVisible()
    assert memory_keyring.get_password("parley", "anthropic_api_key") == "sk-ant-secret"
    saved = json.loads((tmp_path / "desktop.json").read_text())
    assert saved["asr_model"] == "small" and saved["device"] == "cpu" and saved["language"] == "en"
    assert "sk-ant-secret" not in (tmp_path / "desktop.json").read_text()
    assert window.imports.options().asr_model == "small"  # the next import uses them
    assert window.imports.options().recover_overlap is True
    # never in the database either
    db = b"".join(p.read_bytes() for p in tmp_path.glob("parley.db*"))
    assert b"sk-ant-secret" not in db
    again = window.open_settings()
    assert "saved in the system keyring" in again.key_state.text()
    again.reject()


def test_settings_dialog_without_a_keyring_says_so_and_stays_open(window, no_keyring, tmp_path):
    dialog = window.open_settings()
    assert "No system keyring is available" in dialog.key_state.text()
    dialog.key.setText("sk-ant-secret")
    dialog.language.setText("de")
    dialog.accept()
    assert dialog.isVisible()  # not saved, not closed
    assert not dialog.error.isHidden() and "keyring is not available" in dialog.error.text()
    assert not (tmp_path / "desktop.json").exists()
    dialog.key.clear()
    dialog.accept()  # the rest can still be saved
    assert not dialog.isVisible()
    assert window.settings.language == "de"
