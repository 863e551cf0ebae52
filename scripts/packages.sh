#!/bin/sh
# Prints the packages of scripts/packages.txt (or of the file given), one a
# line, without comments or blank lines: how scripts/setup.sh and
# functions/engine/Dockerfile both read the one list. POSIX sh, for the
# image's dash as well as bash.
set -eu
list="${1:-$(dirname "$0")/packages.txt}"
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list"
