#!/usr/bin/env bash
# Builds the real etcd and kube-apiserver that the operator's tests run against (envtest-style: no
# kubelet, no controllers) and caches them outside the repo, keyed by version:
#   ${CARRIER2_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carrier2-envtest}/<k8s-version>/bin/{etcd,kube-apiserver}
# Both are built with the Go toolchain from the Go module proxy (no prebuilt downloads exist here).
# Idempotent: with the binaries cached it only checks them and exits. Prints the bin directory last.
# The TypeScript harness (envtest.ts) finds the binaries the same way, or via CARRIER2_ENVTEST_BIN.
set -euo pipefail

K8S_VERSION=1.36.3 # k8s.io/kubernetes; its go.mod pins the etcd client below
ETCD_VERSION=3.6.8 # go.etcd.io/etcd/server/v3, the version k8s.io/kubernetes v1.36.3 requires

cache_root="${CARRIER2_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carrier2-envtest}"
dir="$cache_root/$K8S_VERSION"
bin="$dir/bin"
stamp="$bin/VERSIONS"
want="kube-apiserver v$K8S_VERSION etcd v$ETCD_VERSION"

log() { echo "[envtest setup $(date +%H:%M:%S)] $*" >&2; }

if [[ -x "$bin/kube-apiserver" && -x "$bin/etcd" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
	log "cached: $want in $bin"
	echo "$bin"
	exit 0
fi

if ! command -v go >/dev/null; then
	export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null || {
	log "error: the Go toolchain (>= 1.26) is needed to build kube-apiserver; install it or put it on PATH"
	exit 1
}
log "building $want with $(go version) into $bin (takes a while on 2 cores; later runs use the cache)"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
jobs="${CARRIER2_ENVTEST_JOBS:-$(nproc)}"
work="$dir/build"
rm -rf "$work"
mkdir -p "$work/etcd" "$work/apiserver" "$bin"
build_log="$work/go.log"
trap 'log "failed; last lines of $build_log:"; tail -n 40 "$build_log" >&2' ERR

# Runs a go command with its output in $build_log, reporting every 30 s how far it got.
quietly() {
	"$@" >>"$build_log" 2>&1 &
	local pid=$! start=$SECONDS next=30
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if ((SECONDS - start >= next)); then
			log "  ... $next s: $(grep -c -v '^go: ' "$build_log") packages built so far"
			next=$((next + 30))
		fi
	done
	wait "$pid"
}

# etcd: its module's own go.mod has local replace lines, so `go install pkg@version` refuses it;
# a throwaway module that requires it builds the same main package.
log "etcd v$ETCD_VERSION: resolving modules"
(
	cd "$work/etcd"
	quietly go mod init carrier2.local/envtest-etcd
	quietly go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
	log "etcd v$ETCD_VERSION: compiling"
	quietly go build -v -p "$jobs" -trimpath -ldflags "-s -w" -o "$work/etcd.bin" go.etcd.io/etcd/server/v3
)

# kube-apiserver: k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver, ...)
# as v0.0.0 and maps them to ./staging; outside that repo each must be replaced by its published
# v0.<minor>.<patch>. The list is read from the module's own go.mod so it follows the version.
log "kube-apiserver v$K8S_VERSION: resolving modules"
(
	cd "$work/apiserver"
	k8s_mod="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
	staging_version="v0.${K8S_VERSION#1.}"
	{
		echo "module carrier2.local/envtest-apiserver"
		echo
		sed -n 's/^go \(.*\)$/go \1/p; s/^godebug \(.*\)$/godebug \1/p' "$k8s_mod"
		echo
		echo "require k8s.io/kubernetes v$K8S_VERSION"
		echo
		echo "replace ("
		awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print "\t" $1 " => " $1 " '"$staging_version"'" }' "$k8s_mod"
		echo ")"
	} >go.mod
	log "kube-apiserver: $(grep -c '=>' go.mod) staging modules replaced by $staging_version"
	quietly go mod download k8s.io/kubernetes
	log "kube-apiserver v$K8S_VERSION: compiling (the long part: ~8 min on 2 cores; -p $jobs)"
	version_pkg=k8s.io/component-base/version
	quietly go build -v -p "$jobs" -trimpath -o "$work/kube-apiserver.bin" \
		-ldflags "-s -w -X $version_pkg.gitVersion=v$K8S_VERSION -X $version_pkg.gitMajor=${K8S_VERSION%%.*} -X $version_pkg.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X $version_pkg.gitTreeState=clean" \
		k8s.io/kubernetes/cmd/kube-apiserver
)

mv "$work/etcd.bin" "$bin/etcd"
mv "$work/kube-apiserver.bin" "$bin/kube-apiserver"
rm -rf "$work"
"$bin/etcd" --version | head -1 >&2
"$bin/kube-apiserver" --version >&2
echo "$want" >"$stamp"
log "done: $want in $bin"
echo "$bin"
