#!/usr/bin/env bash
# Installs the Go reference tools the cross-checks run, idempotently, into
# ${LTXKIT_TOOLS:-$HOME/.cache/ltxkit-tools}/bin, and prints that directory:
#   litestream-v0.5.16  litestream-v0.5.15  ltx-v0.5.2  ltx-v0.5.1  ltxoracle  leaser-v0.5.16
# ltx main (8cb8f8e) is not served by the Go module proxy here, so the tags v0.5.2 (what Litestream
# v0.5.16 links; block pages) and v0.5.1 (frame pages) are the pinned revisions.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${LTXKIT_TOOLS:-$HOME/.cache/ltxkit-tools}
BIN=$TOOLS/bin
mkdir -p "$BIN"
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS=${GOFLAGS:--buildvcs=false} CGO_ENABLED=0
command -v go >/dev/null || { echo "install-go-tools.sh: go not found" >&2; exit 1; }

install_one() { # name module@version
  local name=$1 mod=$2
  if [ -x "$BIN/$name" ]; then return; fi
  local tmp; tmp=$(mktemp -d)
  echo "install-go-tools.sh: go install $mod" >&2
  GOBIN=$tmp go install "$mod" >&2
  mv "$tmp"/* "$BIN/$name"
  rm -rf "$tmp"
}

install_one litestream-v0.5.16 github.com/benbjohnson/litestream/cmd/litestream@v0.5.16 &
install_one litestream-v0.5.15 github.com/benbjohnson/litestream/cmd/litestream@v0.5.15 &
install_one ltx-v0.5.2 github.com/superfly/ltx/cmd/ltx@v0.5.2 &
install_one ltx-v0.5.1 github.com/superfly/ltx/cmd/ltx@v0.5.1 &
wait

# Our own Go oracle (conformance/go), rebuilt when its sources change.
if [ -d "$ROOT/conformance/go/ltxoracle" ]; then
  sum=$(cat "$ROOT"/conformance/go/ltxoracle/*.go "$ROOT"/conformance/go/ltxoracle/go.* | sha256sum | cut -c1-16)
  if [ ! -x "$BIN/ltxoracle" ] || [ "$(cat "$BIN/ltxoracle.sum" 2>/dev/null)" != "$sum" ]; then
    (cd "$ROOT/conformance/go/ltxoracle" && go build -o "$BIN/ltxoracle" . >&2)
    echo "$sum" > "$BIN/ltxoracle.sum"
  fi
fi
# A driver of Litestream v0.5.16's S3 leaser (conformance/go/leaser), for the lease cross-read test.
if [ -d "$ROOT/conformance/go/leaser" ]; then
  sum=$(cat "$ROOT"/conformance/go/leaser/*.go "$ROOT"/conformance/go/leaser/go.* | sha256sum | cut -c1-16)
  if [ ! -x "$BIN/leaser-v0.5.16" ] || [ "$(cat "$BIN/leaser-v0.5.16.sum" 2>/dev/null)" != "$sum" ]; then
    (cd "$ROOT/conformance/go/leaser" && go build -o "$BIN/leaser-v0.5.16" . >&2)
    echo "$sum" > "$BIN/leaser-v0.5.16.sum"
  fi
fi
for t in litestream-v0.5.16 litestream-v0.5.15 ltx-v0.5.2 ltx-v0.5.1; do
  [ -x "$BIN/$t" ] || { echo "install-go-tools.sh: $t missing after install" >&2; exit 1; }
done
echo "$BIN"
