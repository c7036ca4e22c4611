#!/usr/bin/env bash
# The cluster recipe of docs/scaling.md, run as a test on loopback:
#
#   deploy/cluster/cluster.sh        # exit 0 = every check PASSed
#
# One PostgreSQL (127.0.0.1:55434), two stateless sipbuddy XCAP nodes
# (`serve --sip off --store postgres://...` on 127.0.0.1:18501 and
# 127.0.0.2:18502) and two Kamailio 5.6 presence nodes (127.0.0.1:5501 and
# 127.0.0.2:5502, their own xcap_server on HTTP 8501 / 8502) sharing the
# database: Kamailio's presence tables with subs_db_mode=3 and publ_cache=0,
# presence_xml with integrated_xcap_server=1 reading the xcap table the
# sipbuddy nodes write, digest against sipbuddy's users table (HA1 columns).
# The Kamailio configuration is ../shared/peers/kamailio's, copied here and
# extended (kamailio.cfg beside this script); sipp scenarios come from that
# harness too.
#
# Environment: SIPBUDDY (a built sipbuddy binary; default: go build),
#   PEERS (default: ../shared/peers beside the clone), CLUSTER_STATE
#   (default /tmp/sipbuddy-cluster; removed at the end), KEEP=1 keeps it.
# Installs kamailio, kamailio-presence-modules, kamailio-xml-modules,
# kamailio-postgres-modules, sip-tester and curl when missing (Debian).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="${PEERS:-$(cd "$ROOT/.." && pwd)/shared/peers}"
SC="$PEERS/kamailio/sipp"
STATE="${CLUSTER_STATE:-/tmp/sipbuddy-cluster}"
DOMAIN=example.test
PG_PORT=55434
X1=127.0.0.1:18501 X2=127.0.0.2:18502
K1A=127.0.0.1 K1P=5501 K1H=8501
K2A=127.0.0.2 K2P=5502 K2H=8502
SIPP_BASE=5590

PASSES=0 FAILS=0
pass() { PASSES=$((PASSES + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILS=$((FAILS + 1)); printf 'FAIL  %s\n' "$*"; }
res() { if [ "$1" = 0 ]; then pass "$2"; else fail "$2"; fi; }
die() { fail "$*"; exit 1; }

# PIDS: sipbuddy nodes; KAM_GROUPS: Kamailio nodes, each in its own session
# (setsid) whose process group holds its main process and its children.
PIDS=() KAM_GROUPS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${KAM_GROUPS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	for p in "${PIDS[@]}" "${KAM_GROUPS[@]}"; do wait "$p" 2>/dev/null; done
	"$ROOT/.ci/postgres.sh" stop "$STATE/pg" >/dev/null 2>&1
	[ "${KEEP:-}" = 1 ] || rm -rf "$STATE"
	echo "$PASSES passed, $FAILS failed"
}

# ---- packages
need=()
command -v kamailio >/dev/null 2>&1 || need+=(kamailio kamailio-presence-modules kamailio-xml-modules)
MODDIR=$(ls -d /usr/lib/x86_64-linux-gnu/kamailio/modules /usr/lib/*/kamailio/modules 2>/dev/null | head -1)
[ -n "$MODDIR" ] && [ -f "$MODDIR/db_postgres.so" ] || need+=(kamailio-postgres-modules)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ "${#need[@]}" -gt 0 ]; then
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
	# the kamailio package would start a system-wide instance on 0.0.0.0
	TMP_POLICY=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod +x /usr/sbin/policy-rc.d; TMP_POLICY=1
	fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	[ -n "$TMP_POLICY" ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
SCHEMA=/usr/share/kamailio/postgres
[ -f "$SCHEMA/presence-create.sql" ] || { echo "no $SCHEMA/presence-create.sql" >&2; exit 1; }

"$ROOT/.ci/postgres.sh" stop "$STATE/pg" >/dev/null 2>&1
for port in $PG_PORT 18501 18502 $K1P $K2P $K1H $K2H; do
	if ss -Hltn "( sport = :$port )" 2>/dev/null | grep -q .; then
		echo "cluster.sh: port $port is in use (a leftover of an earlier run?)" >&2
		exit 1
	fi
done
rm -rf "$STATE"; mkdir -p "$STATE"
trap cleanup EXIT

# ---- PostgreSQL
DSN=$("$ROOT/.ci/postgres.sh" start "$STATE/pg" "$PG_PORT") || die "start PostgreSQL on 127.0.0.1:$PG_PORT"
pass "PostgreSQL on 127.0.0.1:$PG_PORT"
KDB="postgres://postgres@127.0.0.1:$PG_PORT/sipbuddy"
psql_() { psql "$DSN" -qtAX -v ON_ERROR_STOP=1 "$@"; }

# ---- two sipbuddy XCAP nodes
BIN="${SIPBUDDY:-}"
if [ -z "$BIN" ]; then
	BIN="$STATE/sipbuddy"
	(cd "$ROOT" && go build -o "$BIN" ./cmd/sipbuddy) || die "go build ./cmd/sipbuddy"
fi
start_node() { # name addr [serve args...]
	local n="$1" a="$2"; shift 2
	"$BIN" serve --domain "$DOMAIN" --sip off --xcap "$a" --store "$DSN" --data "$STATE/$n" "$@" \
		>"$STATE/$n.out" 2>"$STATE/$n.err" &
	PIDS+=($!); eval "PID_$n=$!"
	local i
	for i in $(seq 1 100); do
		grep -q '^Users:' "$STATE/$n.out" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$STATE/$n.err" >&2
	return 1
}
start_node x1 "$X1" --user alice:alicepw --user bob:bobpw --user carol:carolpw --user dave:davepw || die "start sipbuddy XCAP node $X1"
start_node x2 "$X2" || die "start sipbuddy XCAP node $X2"
pass "sipbuddy XCAP nodes on $X1 and $X2 (--sip off, one database; users alice, bob, carol, dave)"
XR1="http://$X1/xcap-root" XR2="http://$X2/xcap-root"

# ---- Kamailio's presence tables (the xcap table and the version table come
# from sipbuddy's migrations); auth_db checks the version of the table it
# authenticates against.
awk '/^CREATE TABLE xcap/ { exit } { print }' "$SCHEMA/presence-create.sql" >"$STATE/presence.sql"
psql_ -f "$STATE/presence.sql" >/dev/null &&
	psql_ -c "INSERT INTO version (table_name, table_version) VALUES ('sipbuddy_users', 7) ON CONFLICT DO NOTHING" >/dev/null
res $? "Kamailio presence tables (presentity, active_watchers, watchers) in the same database"

# ---- two Kamailio presence nodes
start_kam() { # name addr sip http
	local n="$1" a="$2" p="$3" h="$4" st="$STATE/$1"
	mkdir -p "$st/run"
	local kam=(kamailio -f "$HERE/kamailio.cfg" -DD -E -Y "$st/run" -w "$st" -m 64 -M 16 --debug=1 -a no
		-A WITH_POSTGRES -A WITH_SIPBUDDY_USERS -A WITH_CLUSTER -A WITH_INLINE_NOTIFY -A WITH_PRESRULES -A WITH_XCAP_PUBLIC_READ
		-A "LISTENADDR=$a" -A "DBURL=\"$KDB\"" -A "PRESDBURL=\"$KDB\"" -A "SIPDOMAIN=\"$DOMAIN\""
		-A "SERVERADDR=\"sip:$DOMAIN\"" -A "SIPPORT=$p" -A "HTTPPORT=$h" -A "CTLSOCK=\"unix:$st/run/kamailio_ctl\"")
	"${kam[@]}" -c >"$st/check.log" 2>&1 || { tail -20 "$st/check.log" >&2; return 1; }
	setsid "${kam[@]}" </dev/null >"$st/kamailio.log" 2>&1 &
	KAM_GROUPS+=($!); eval "PID_$n=$!"
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null -m 1 "http://$a:$h/xcap-root/xcap-caps/global/index" && return 0
		sleep 0.1
	done
	tail -30 "$st/kamailio.log" >&2
	return 1
}
start_kam k1 "$K1A" "$K1P" "$K1H" || die "start Kamailio node $K1A:$K1P"
start_kam k2 "$K2A" "$K2P" "$K2H" || die "start Kamailio node $K2A:$K2P"
pass "Kamailio presence nodes on $K1A:$K1P and $K2A:$K2P (subs_db_mode=3, publ_cache=0)"

run_sipp() { # name target lport scenario [sipp args...]
	local n="$1" target="$2" lport="$3" sf="$4"; shift 4
	local ip="${target%:*}"
	sipp -sf "$SC/$sf" -i "$ip" -p "$lport" -m 1 -l 1 -nostdin -timeout 30 -timeout_error -recv_timeout 10000 \
		-trace_msg -message_file "$STATE/$n.msg" -trace_err -error_file "$STATE/$n.err" \
		-trace_logs -log_file "$STATE/$n.log" "$@" "$target" >"$STATE/$n.sipp" 2>&1
}

# ---- an icon PUT through sipbuddy node 1 is served by node 2 and by
# Kamailio's xcap_server (same row of the xcap table)
ICON_DOC='<?xml version="1.0" encoding="UTF-8"?>
<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><encoding>base64</encoding><data>iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4ISeHFTEMLQkAkL9BAbKfPiIAAAAASUVORK5CYII=</data></content>'
printf '%s' "$ICON_DOC" >"$STATE/icon.xml"
ICON_PATH="/org.openmobilealliance.pres-content/users/sip:alice@$DOMAIN/oma_status-icon/index"
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u alice:alicepw -X PUT \
	-H 'Content-Type: application/vnd.oma.pres-content+xml' --data-binary @"$STATE/icon.xml" "$XR1$ICON_PATH")
[ "$code" = 201 ] || [ "$code" = 200 ]
res $? "alice PUTs her icon through sipbuddy node 1 -> $code"
curl -s -D "$STATE/g2.hdr" -o "$STATE/g2.body" "$XR2$ICON_PATH"
curl -s -D "$STATE/g1.hdr" -o "$STATE/g1.body" "$XR1$ICON_PATH"
e1=$(tr -d '\r' <"$STATE/g1.hdr" | sed -n 's/^[Ee][Tt]ag: *//p')
e2=$(tr -d '\r' <"$STATE/g2.hdr" | sed -n 's/^[Ee][Tt]ag: *//p')
{ cmp -s "$STATE/icon.xml" "$STATE/g2.body" && [ -n "$e1" ] && [ "$e1" = "$e2" ]; }
res $? "sipbuddy node 2 serves the same document with the same ETag ($e2)"
curl -s -o "$STATE/k1.body" "http://$K1A:$K1H/xcap-root$ICON_PATH"
cmp -s "$STATE/icon.xml" "$STATE/k1.body"
res $? "Kamailio node 1's xcap_server serves the document sipbuddy wrote"

# ---- presence across the Kamailio nodes, pres-rules from sipbuddy
run_sipp pub "$K1A:$K1P" $SIPP_BASE publish.xml -key user alice -key domain "$DOMAIN" \
	-key icon_url "$XR2$ICON_PATH" -key note "in the cluster" -au alice -ap alicepw
res $? "alice PUBLISHes on Kamailio node 1"
# (dave, not carol: Kamailio records a pending watcher in its watchers
# table and keeps that status until its own xcap_server re-evaluates it;
# see docs/scaling.md)
run_sipp sub0 "$K2A:$K2P" $((SIPP_BASE + 1)) subscribe_once.xml -key user dave -key domain "$DOMAIN" \
	-key target alice -key event presence -key accept application/pidf+xml -au dave -ap davepw
grep -Eq 'NOTIFY initial Subscription-State= *pending' "$STATE/sub0.log"
res $? "dave SUBSCRIBEs on Kamailio node 2 without pres-rules: $(grep -o 'NOTIFY initial Subscription-State=.*' "$STATE/sub0.log")"
cat >"$STATE/rules.xml" <<RULES
<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="allow-carol">
    <cr:conditions><cr:identity><cr:one id="sip:carol@$DOMAIN"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
    <cr:transformations><provide-services><all-services/></provide-services><provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices><provide-all-attributes/></cr:transformations>
  </cr:rule>
  <cr:rule id="block-bob">
    <cr:conditions><cr:identity><cr:one id="sip:bob@$DOMAIN"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>block</sub-handling></cr:actions>
  </cr:rule>
</cr:ruleset>
RULES
code=$(curl -s -o /dev/null -w '%{http_code}' --digest -u alice:alicepw -X PUT -H 'Content-Type: application/auth-policy+xml' \
	--data-binary @"$STATE/rules.xml" "$XR2/pres-rules/users/sip:alice@$DOMAIN/index")
[ "$code" = 201 ]
res $? "alice PUTs pres-rules (allow carol, block bob) through sipbuddy node 2 -> $code"
check_sub() { # name kam-addr:port lport watcher pw want-state
	run_sipp "$1" "$2" "$3" subscribe_once.xml -key user "$4" -key domain "$DOMAIN" \
		-key target alice -key event presence -key accept application/pidf+xml -au "$4" -ap "$5"
	grep -Eq "NOTIFY initial Subscription-State= *$6" "$STATE/$1.log"
}
i=0
for k in "$K1A:$K1P" "$K2A:$K2P"; do
	i=$((i + 1))
	check_sub "carol$i" "$k" $((SIPP_BASE + 1 + i)) carol carolpw active &&
		grep -q 'in the cluster' "$STATE/carol$i.msg"
	res $? "carol SUBSCRIBEs on Kamailio $k: active, with the note alice PUBLISHed on node 1"
	check_sub "bob$i" "$k" $((SIPP_BASE + 5 + i)) bob bobpw terminated
	res $? "bob SUBSCRIBEs on Kamailio $k: blocked ($(grep -o 'NOTIFY initial Subscription-State=.*' "$STATE/bob$i.log"))"
done

# ---- failover: one node of each kind dies; the others carry on
{ kill -9 "$PID_x1" -- "-$PID_k1"; wait "$PID_x1" "$PID_k1"; } 2>/dev/null
sleep 0.5
curl -s -o "$STATE/g2b.body" "$XR2$ICON_PATH" && cmp -s "$STATE/icon.xml" "$STATE/g2b.body"
res $? "sipbuddy node 1 and Kamailio node 1 killed: node 2 still serves alice's icon"
check_sub carol9 "$K2A:$K2P" $((SIPP_BASE + 9)) carol carolpw active && grep -q 'in the cluster' "$STATE/carol9.msg"
res $? "... and carol's new SUBSCRIBE on Kamailio node 2 is active with alice's state"

[ "$FAILS" = 0 ]
