// Package kamailiotest holds sipbuddy's integration tests against Kamailio
// 5.6 (the harness in ../shared/peers/kamailio): two sipbuddy accounts, built
// from the product's own account package, log in to a real Kamailio registrar,
// presence server and XCAP server; the xcap-icon and xcap-directory tools run
// as built binaries against its XCAP server.
//
// The tests need two Kamailio instances, one started with PRES_AUTH=open and
// one with PRES_AUTH=rules, named by the environment variables below (.ci/run
// starts both). Without them the tests skip, or fail when
// SIPBUDDY_REQUIRE_TOOLS is set. By hand:
//
//	KAMAILIO_STATE=/tmp/kam-open  SIP_PORT=5370 HTTP_PORT=8370 PRES_AUTH=open  ../shared/peers/kamailio/start.sh
//	KAMAILIO_STATE=/tmp/kam-rules SIP_PORT=5372 HTTP_PORT=8372 PRES_AUTH=rules ../shared/peers/kamailio/start.sh
//	SIPBUDDY_KAMAILIO_OPEN_SIP=127.0.0.1:5370 SIPBUDDY_KAMAILIO_OPEN_XCAP=http://127.0.0.1:8370/xcap-root \
//	SIPBUDDY_KAMAILIO_RULES_SIP=127.0.0.1:5372 SIPBUDDY_KAMAILIO_RULES_XCAP=http://127.0.0.1:8372/xcap-root \
//	go test ./internal/kamailiotest
//
// TestKamailioRLS needs a third instance with the resource list server and
// xcap-diff NOTIFYs, named by SIPBUDDY_KAMAILIO_RLS_SIP and
// SIPBUDDY_KAMAILIO_RLS_XCAP (.ci/run starts it on 5376/8376):
//
//	KAMAILIO_STATE=/tmp/kam-rls SIP_PORT=5376 HTTP_PORT=8376 RLS=1 XCAP_DIFF=1 ../shared/peers/kamailio/start.sh
//
// TestClusterClients, TestClusterSRVFailover and TestClusterRecipe start
// their own cluster instead
// (docs/scaling.md): PostgreSQL, two Kamailio presence nodes on it
// (deploy/cluster/kamailio.cfg) and two sipbuddy XCAP nodes on 127.0.0.1 and
// 127.0.0.2; they need Kamailio's db_postgres module
// (kamailio-postgres-modules) and PostgreSQL (postgresql).
//
// The accounts are the harness's alice/alicepw, bob/bobpw and carol/carolpw
// in example.test. Each instance should serve only these tests while they
// run: other clients publishing as alice would be merged into her presence.
package kamailiotest

// Environment variables naming the Kamailio instances: the SIP address
// (UDP+TCP, "127.0.0.1:5370") and the XCAP root of each.
const (
	EnvOpenSIP   = "SIPBUDDY_KAMAILIO_OPEN_SIP"
	EnvOpenXCAP  = "SIPBUDDY_KAMAILIO_OPEN_XCAP"
	EnvRulesSIP  = "SIPBUDDY_KAMAILIO_RULES_SIP"
	EnvRulesXCAP = "SIPBUDDY_KAMAILIO_RULES_XCAP"
)

// Domain is the harness's SIP domain and digest realm.
const Domain = "example.test"
