# Shared set-up for bin/start and bin/test (sourced, not run).
# Creates .venv with Python 3.11 and installs the given requirements file when it changed.

find_python() {
  for candidate in "${PYTHON311:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Sampark needs Python 3.11 (python3.11 not found)." >&2
  return 1
}

ensure_venv() {
  local requirements="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "==> Creating .venv"
    "$(find_python)" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  # Reinstall only when the requirements changed since the last install.
  local stamp=".venv/.installed-$(basename "$requirements")"
  local digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "==> Installing $requirements into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$digest" > "$stamp"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

ensure_chromium() {
  # Browser tests drive Debian's Chromium; Playwright never downloads a browser here. A Devanagari font
  # (Lohit) too: without one, Hindi pages, their screenshots and the daily report's PDF show empty boxes.
  [ -x /usr/bin/chromium ] && fc-list :lang=hi 2>/dev/null | grep -q . && return 0
  echo "==> Installing Debian's chromium and a Devanagari font for the browser tests"
  if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
     as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-lohit-deva >/dev/null; then
    return 0
  fi
  echo "Could not install chromium (needs root or sudo). Install it with: apt-get install -y chromium fonts-lohit-deva" >&2
  [ -z "${CI:-}" ]  # in CI a missing browser is an error; elsewhere the browser tests say they were skipped
}
