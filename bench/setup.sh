#!/usr/bin/env bash
# Installs the bench's peer proxies from Debian: nginx (nginx-light, else nginx) with its stream
# module (the L4 peer of scenario 7) and HAProxy.
# Idempotent: installed packages are left alone. Without root or apt the bench still runs; the
# missing peers are skipped with a notice. The services are never started here: the bench runs
# its own nginx/haproxy processes as the current user with temporary configs.
set -u

have() { command -v "$1" >/dev/null 2>&1; }
sbin_have() { have "$1" || [ -x "/usr/sbin/$1" ]; }

stream_module() { ls /usr/lib/nginx/modules/ngx_stream_module.so >/dev/null 2>&1; }

missing=()
sbin_have nginx || missing+=(nginx)
sbin_have haproxy || missing+=(haproxy)
stream_module || missing+=(nginx-stream)
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench/setup.sh: nginx (with the stream module) and haproxy already installed"
  exit 0
fi
if ! have apt-get; then
  echo "bench/setup.sh: NOTICE: apt-get not found; ${missing[*]} will be skipped by the bench" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "bench/setup.sh: NOTICE: not root and no sudo; ${missing[*]} will be skipped by the bench" >&2
    exit 0
  fi
fi

# Keep Debian's maintainer scripts from starting the system services (port 80 etc.).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

pkgs=()
for m in "${missing[@]}"; do
  case "$m" in
    nginx)
      if apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=(nginx); fi ;;
    haproxy) pkgs+=(haproxy) ;;
    nginx-stream) if apt-cache show libnginx-mod-stream >/dev/null 2>&1; then pkgs+=(libnginx-mod-stream); fi ;;
  esac
done
echo "bench/setup.sh: installing ${pkgs[*]}"
$SUDO apt-get update -qq || echo "bench/setup.sh: NOTICE: apt-get update failed; trying the install anyway" >&2
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; then
  echo "bench/setup.sh: NOTICE: installing ${pkgs[*]} failed; those peers will be skipped by the bench" >&2
fi
exit 0
