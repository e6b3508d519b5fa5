#!/usr/bin/env bash
# Install Parley's desktop entry and icon for the current user (Linux, freedesktop menus).
# The entry runs `parley app`: put the venv's bin on PATH, or pass its path: EXEC=/path/to/.venv/bin/parley
set -euo pipefail
cd "$(dirname "$0")/.."
data="${XDG_DATA_HOME:-$HOME/.local/share}"
exe="${EXEC:-$(command -v parley || echo "$PWD/.venv/bin/parley")}"
install -Dm644 resources/icons/parley.svg "$data/icons/hicolor/scalable/apps/parley.svg"
install -d "$data/applications"
sed -e "s|^Exec=parley app|Exec=$exe app|" -e "s|^TryExec=parley|TryExec=$exe|" resources/parley.desktop > "$data/applications/parley.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
echo "installed $data/applications/parley.desktop (runs $exe app)"
