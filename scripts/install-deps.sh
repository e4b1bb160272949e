#!/usr/bin/env bash
# Installs what godwit's tests and lab need on a Debian machine: the real BGP
# peers the interop tests run (FRR, BIRD, GoBGP, OpenBGPD, ExaBGP), iproute2
# and ping for the namespaces, tshark and bgpdump for captures and MRT, and
# sudo so that the README's commands work as written. Safe to run again.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (it uses apt-get)" >&2
	exit 1
fi
pkgs=(frr bird2 gobgpd openbgpd exabgp iproute2 iputils-ping tshark bgpdump sudo procps)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
