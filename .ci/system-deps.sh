#!/usr/bin/env bash
# Installs the Debian packages zcpark's tests and demo need, only those that are missing.
set -euo pipefail

# command-or-file -> Debian package
declare -A NEED=(
  [mosquitto]=mosquitto
  [socat]=socat
  [chromium]=chromium
  [/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]=fonts-noto-cjk
  # the monthly report's PDF: WeasyPrint's Pango/HarfBuzz libraries; pdftotext, pdftoppm, pdffonts
  [/usr/lib/$(uname -m)-linux-gnu/libpango-1.0.so.0]=libpango-1.0-0
  [/usr/lib/$(uname -m)-linux-gnu/libpangoft2-1.0.so.0]=libpangoft2-1.0-0
  [/usr/lib/$(uname -m)-linux-gnu/libharfbuzz.so.0]=libharfbuzz0b
  [/usr/lib/$(uname -m)-linux-gnu/libharfbuzz-subset.so.0]=libharfbuzz-subset0
  [pdftotext]=poppler-utils
)

missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -e "$cmd" ] || missing+=("${NEED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "system-deps: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "system-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
