#!/usr/bin/env bash
# Installs the Debian packages the full test suite needs: the real PC/SC stack with virtual readers
# (pcscd, libpcsclite-dev for nfc-pcsc's native addon, vsmartcard-vpcd) and chromium for Playwright.
# Never install vsmartcard-vpcd on a real till: it accepts a "card" from any local TCP client.
set -u
need=()
command -v pcscd >/dev/null 2>&1 || need+=(pcscd)
[ -f /usr/include/PCSC/winscard.h ] || need+=(libpcsclite-dev)
ls /usr/lib/pcsc/drivers/serial/libifdvpcd.so* >/dev/null 2>&1 || need+=(vsmartcard-vpcd)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "system-deps: pcscd, libpcsclite-dev, vsmartcard-vpcd and chromium are present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "system-deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
