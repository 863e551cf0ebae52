#!/usr/bin/env bash
# Installs what clipmill needs on Debian 12, and only what is missing, so it
# is safe to run again: the engine's packages (scripts/packages.txt: ffmpeg
# with libx264 and libass, pocketsphinx with its English model, the caption
# fonts; the engine's container image installs the same list), then, for
# development only, espeak-ng (the sample talk and the tests), wrk (the API
# benchmark) and curl, and the Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(scripts/packages.sh)
((${#packages[@]})) || { echo "setup: scripts/packages.txt lists no packages" >&2; exit 1; }
packages+=(espeak-ng wrk curl)

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
