#!/usr/bin/env bash
# A one-node Ceph cluster (mon + memstore OSD) with the RADOS Gateway on 127.0.0.1, for S3 tests
# against a real server (SigV4, Content-MD5, conditional writes).
#   bash conformance/s3/ceph-rgw.sh start   # prints `export …` lines: eval "$(… start)"
#   bash conformance/s3/ceph-rgw.sh stop
# Needs Debian's radosgw, ceph-mon and ceph-osd. State lives under $LTXKIT_CEPH_DIR (default
# /var/tmp/ltxkit-ceph). Ports: mon 6789, rgw $LTXKIT_RGW_PORT (default 7480).
set -euo pipefail
C=${LTXKIT_CEPH_DIR:-/var/tmp/ltxkit-ceph}
PORT=${LTXKIT_RGW_PORT:-7480}
AK=${LTXKIT_RGW_ACCESS_KEY:-LTXKITTESTAK}
SK=${LTXKIT_RGW_SECRET_KEY:-LTXKITTESTSECRETKEY0123456789}
BUCKET=${LTXKIT_S3_BUCKET:-ltxkit-test}
ENDPOINT="http://127.0.0.1:$PORT"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

say_env() {
  echo "export LTXKIT_S3_ENDPOINT=$ENDPOINT LTXKIT_S3_BUCKET=$BUCKET AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1"
}

# Ceph daemons of ours: started from $C (their working directory, "(deleted)" once $C is removed),
# or holding the mon or RGW port. A daemon left from an earlier state directory answers on 6789 with
# another fsid, and a new OSD then fails with "wrong fsid".
our_daemons() {
  local pid comm cwd
  for pid in $(pgrep -x 'ceph-mon|ceph-osd|radosgw' 2>/dev/null); do
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    case "$cwd" in "$C"|"$C "*) echo "$pid" ;; esac
  done
  for port in 6789 "$PORT"; do
    for pid in $(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
      comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
      case "$comm" in
        ceph-mon|ceph-osd|radosgw) echo "$pid" ;;
        *) echo "ceph-rgw.sh: port $port is held by $comm (pid $pid), not a Ceph daemon" >&2 ;;
      esac
    done
  done
}

stop() {
  for n in client.rgw.a osd.0 mon.a; do
    if [ -f "$C/run/$n.pid" ]; then kill "$(cat "$C/run/$n.pid")" 2>/dev/null || true; fi
  done
  local pids
  pids=$(our_daemons | sort -u)
  [ -z "$pids" ] || kill $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    pids=$(our_daemons | sort -u)
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
  kill -9 $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    [ -n "$(our_daemons | sort -u)" ] || return 0
    sleep 0.1
  done
  echo "ceph-rgw.sh: Ceph daemons still running after SIGKILL: $(our_daemons | sort -u | tr '\n' ' ')" >&2
  return 1
}

create_bucket() {
  # A signed PUT Bucket through aws4fetch (curl 7.88's --aws-sigv4 is rejected by RGW).
  ( cd "$ROOT" && LTXKIT_S3_ENDPOINT=$ENDPOINT node --input-type=module -e '
    import { AwsClient } from "aws4fetch";
    const c = new AwsClient({ accessKeyId: process.argv[1], secretAccessKey: process.argv[2], service: "s3", region: "us-east-1", retries: 0 });
    const r = await c.fetch(`${process.env.LTXKIT_S3_ENDPOINT}/${process.argv[3]}`, { method: "PUT" });
    if (r.status !== 200 && r.status !== 409) { console.error(`ceph-rgw.sh: creating bucket failed: HTTP ${r.status} ${await r.text()}`); process.exit(1); }
  ' "$AK" "$SK" "$BUCKET" )
}

# Runs a noisy command with its output in a log, shown only if it fails.
quiet() {
  local what=$1; shift
  local log; log="$C/log/$(echo "$what" | tr -c 'a-z0-9' '-').out"
  "$@" >"$log" 2>&1 || { echo "ceph-rgw.sh: $what failed:" >&2; cat "$log" >&2; return 1; }
}

# One retry from scratch: a first start right after the packages are installed has been seen to fail.
# (In a child process, so that `set -e` holds inside it.)
start() {
  if ! bash "$0" start-once; then
    echo "ceph-rgw.sh: start failed; retrying once from scratch" >&2
    bash "$0" start-once
  fi
}

start_once() {
  for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph curl; do
    command -v "$b" >/dev/null || { echo "ceph-rgw.sh: $b not found (apt-get install -y radosgw ceph-mon ceph-osd curl)" >&2; exit 1; }
  done
  if curl -sf -o /dev/null "$ENDPOINT/" 2>/dev/null; then
    create_bucket
    say_env
    return
  fi
  stop
  rm -rf "$C"; mkdir -p "$C"/{run,log,mon,osd,rgw}; cd "$C"
  local FSID; FSID=$(cat /proc/sys/kernel/random/uuid)
  cat > ceph.conf <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:6789
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
run dir = $C/run
log file = $C/log/\$name.log
admin socket = $C/run/\$name.asok
pid file = $C/run/\$name.pid
ms bind ipv6 = false
ms bind msgr2 = false
osd objectstore = memstore
memstore device bytes = 4294967296
osd data = $C/osd/\$cluster-\$id
mon data = $C/mon/\$cluster-\$id
keyring = $C/keyring
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $C/rgw
CONF
  local U="--setuser root --setgroup root"
  monmaptool --create --add a v1:127.0.0.1:6789 --fsid "$FSID" monmap >/dev/null
  ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-mon -c ceph.conf --mkfs -i a --monmap monmap --keyring keyring $U
  ceph-mon -c ceph.conf -i a $U
  local seen; seen=$(timeout 60 ceph -c ceph.conf fsid 2>&1 || true)
  [ "$seen" = "$FSID" ] || { echo "ceph-rgw.sh: the monitor on 127.0.0.1:6789 is not the one just started (fsid '$seen', expected $FSID)" >&2; exit 1; }
  local ID; ID=$(timeout 60 ceph -c ceph.conf osd create); mkdir -p "osd/ceph-$ID"
  quiet "ceph-osd --mkfs" ceph-osd -c ceph.conf -i "$ID" --mkfs $U
  quiet "ceph-osd" ceph-osd -c ceph.conf -i "$ID" $U
  radosgw -c ceph.conf -n client.rgw.a $U
  local ok=0
  for _ in $(seq 1 240); do
    if curl -sf -o /dev/null "$ENDPOINT/"; then ok=1; break; fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || { echo "ceph-rgw.sh: radosgw did not answer on $ENDPOINT within 120 s; logs in $C/log" >&2; exit 1; }
  timeout 60 radosgw-admin -c ceph.conf user create --uid=ltxkit --display-name=ltxkit --access-key="$AK" --secret="$SK" >/dev/null 2>&1 \
    || timeout 60 radosgw-admin -c ceph.conf user info --uid=ltxkit >/dev/null
  for _ in $(seq 1 20); do create_bucket 2>/dev/null && break; sleep 0.5; done
  create_bucket
  say_env
}

case "${1:-}" in
  start) start ;;
  start-once) start_once ;;
  stop) stop ;;
  env) say_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
