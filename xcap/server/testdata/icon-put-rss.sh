#!/usr/bin/env bash
# Server memory during concurrent worst-case icon PUTs (issue 11, F7), loopback only.
#
#   SIPBUDDY=/path/to/sipbuddy xcap/server/testdata/icon-put-rss.sh [deep|max]
#
# deep: the probe's 2048x2048 16-bit RGBA PNG (~44 KB, 32 MiB decoded), refused
#       from its header; max: the largest icon accepted, 2048x2048 8-bit RGBA
#       (16 MiB decoded). N (16) PUTs at once, ROUNDS (3) times, to
#       `sipbuddy serve` on 127.0.0.1:$PORT (8472); VmRSS is sampled every
#       50 ms. Output: RSS before, peak RSS (VmHWM), RSS 5 s after, statuses.
set -euo pipefail
KIND="${1:-deep}" N="${N:-16}" ROUNDS="${ROUNDS:-3}" PORT="${PORT:-8472}"
SIPBUDDY="${SIPBUDDY:-sipbuddy}"
WORK="$(mktemp -d /tmp/icon-put-rss.XXXXXX)"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf -- "$WORK"' EXIT
python3 - "$WORK/icon.xml" "$KIND" <<'PY'
import base64, struct, sys, zlib
path, kind = sys.argv[1], sys.argv[2]
side, depth = 2048, (16 if kind == "deep" else 8)
row = b"\x00" + b"\x00" * (side * 4 * depth // 8)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, depth, 6, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(row * side, 9)) + chunk(b"IEND", b""))
doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<content xmlns="urn:oma:xml:prs:pres-content">'
       '<mime-type>image/png</mime-type><encoding>base64</encoding><data>'
       + base64.b64encode(png).decode() + '</data></content>\n')
open(path, "w").write(doc)
print(f"icon-put-rss.sh: {kind}: {side}x{side} {depth}-bit RGBA PNG, {len(png)} bytes", file=sys.stderr)
PY
"$SIPBUDDY" serve --domain example.test --xcap "127.0.0.1:$PORT" --sip "127.0.0.1:$((PORT + 1))" \
	--data "$WORK/data" --user p:pw >"$WORK/serve.log" 2>&1 </dev/null &
PID=$!
URL="http://127.0.0.1:$PORT/xcap-root/org.openmobilealliance.pres-content/users/sip:p@example.test/oma_status-icon"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/xcap-root/xcap-caps/global/index" && break; sleep 0.1; done
rss() { awk '/^VmRSS/{print $2}' "/proc/$PID/status"; }
before="$(rss)"
peak="$before"
for r in $(seq 1 "$ROUNDS"); do
	pids=()
	for i in $(seq 1 "$N"); do
		curl -s -o /dev/null -w '%{http_code}\n' -m 60 --digest -u p:pw -X PUT \
			-H 'Content-Type: application/vnd.oma.pres-content+xml' --data-binary @"$WORK/icon.xml" "$URL/r$r-$i" >>"$WORK/codes" &
		pids+=($!)
	done
	while kill -0 "${pids[@]}" 2>/dev/null; do # until every curl of the round is gone
		now="$(rss)"; [ "$now" -gt "$peak" ] && peak="$now"
		sleep 0.05
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
done
hwm="$(awk '/^VmHWM/{print $2}' "/proc/$PID/status")"
sleep 5
after="$(rss)"
codes="$(sort "$WORK/codes" | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
echo "ICONPUT kind=$KIND n=$N rounds=$ROUNDS rss_before_mb=$((before / 1024)) rss_peak_sampled_mb=$((peak / 1024)) vmhwm_mb=$((hwm / 1024)) rss_after_5s_mb=$((after / 1024)) statuses=${codes% }"
