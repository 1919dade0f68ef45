#!/usr/bin/env bash
# Install HalluView for the current user: a virtual environment in ~/.local/share/halluview, the two commands in
# ~/.local/bin, and a desktop entry with its icon. Run from a checkout: bash packaging/install-linux.sh
# (add TORCH_SPEC="torch" to let pip pick a CUDA build instead of the CPU pin in constraints.txt).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${XDG_DATA_HOME:-$HOME/.local/share}/halluview"
python3 -m venv "$prefix/venv"
if [ -n "${TORCH_SPEC:-}" ]; then
  "$prefix/venv/bin/pip" install "$TORCH_SPEC" "$here"
else
  "$prefix/venv/bin/pip" install -c "$here/constraints.txt" "$here"
fi
mkdir -p "$HOME/.local/bin" "$HOME/.local/share/applications" "$HOME/.local/share/icons/hicolor/scalable/apps"
ln -sf "$prefix/venv/bin/halluview" "$HOME/.local/bin/halluview"
ln -sf "$prefix/venv/bin/halluview-cli" "$HOME/.local/bin/halluview-cli"
install -m 644 "$here/packaging/halluview.desktop" "$HOME/.local/share/applications/halluview.desktop"
install -m 644 "$here/packaging/halluview.svg" "$HOME/.local/share/icons/hicolor/scalable/apps/halluview.svg"
echo "HalluView installed: run 'halluview' (make sure ~/.local/bin is on your PATH)."
