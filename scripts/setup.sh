#!/usr/bin/env bash
# Installs what clipmill needs on Debian 12, and only what is missing, so it
# is safe to run again: ffmpeg (with libx264 and libass), pocketsphinx with
# its English model, espeak-ng (for the sample talk and the tests), the
# caption fonts, wrk (for the API benchmark), and the Go modules.
set -euo pipefail

packages=(ffmpeg pocketsphinx pocketsphinx-en-us espeak-ng
  fonts-league-spartan fonts-inter fonts-dejavu-core fonts-noto-color-emoji wrk curl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # fontconfig must see newly installed fonts before libass asks for them.
  fc-cache -f >/dev/null 2>&1 || true
fi

command -v go >/dev/null || { echo "setup: Go 1.26 or newer is needed (https://go.dev/dl/)" >&2; exit 1; }
go mod download

# The state machine checks run npm tools, installed exactly as the lockfile
# says; skipped when the installed tree is already newer than the lockfile.
if [ -f package-lock.json ]; then
  command -v npm >/dev/null || { echo "setup: Node.js and npm are needed for the state machine checks" >&2; exit 1; }
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
