package kamailiotest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// The cluster of TestClusterClients: its own throw-away PostgreSQL and
// fixed loopback ports (Kamailio's listen= lines need them before it
// starts), apart from the ports of deploy/cluster/cluster.sh so that both
// may run at once.
const (
	clusterPGPort = 55440
	clusterAddr1  = "127.0.0.1"
	clusterAddr2  = "127.0.0.2"
	clusterSIP1   = 5701 // Kamailio node 1 SIP (UDP+TCP) on clusterAddr1
	clusterSIP2   = 5702
	clusterHTTP1  = 8701 // Kamailio node 1's own xcap_server
	clusterHTTP2  = 8702
	clusterXCAP1  = 18701 // sipbuddy XCAP node 1 on clusterAddr1
	clusterXCAP2  = 18702
)

// clusterStatePrefix starts the name of the cluster's state directory in
// the temporary directory (.ci/run looks for leftovers by it).
const clusterStatePrefix = "sipbuddy-cluster-"

// clusterStartTimeout bounds the start of one process of the cluster.
const clusterStartTimeout = 20 * time.Second

// clusterProbeTimeout bounds one request that checks whether a node is up.
const clusterProbeTimeout = time.Second

// clusterProbeInterval is the pause between two such checks.
const clusterProbeInterval = 100 * time.Millisecond

// clusterStopTimeout is how long a node may take to stop on SIGTERM
// before it is killed.
const clusterStopTimeout = 5 * time.Second

// clusterKamailioSchema is where Debian's kamailio package keeps the SQL
// that creates Kamailio's PostgreSQL tables.
const clusterKamailioSchema = "/usr/share/kamailio/postgres"

// clusterNode is one running process of the cluster, a process group of
// its own so that a kill takes Kamailio's children too.
type clusterNode struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// exited reports whether the node's process has ended.
func (n *clusterNode) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// kill ends the node at once (SIGKILL to its process group): what a
// crashed machine looks like to the others.
func (n *clusterNode) kill() {
	if n.exited() {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.done
}

// stop ends the node politely, then by force.
func (n *clusterNode) stop() {
	if n.exited() {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(clusterStopTimeout):
		n.kill()
	}
}

// cluster is the recipe of docs/scaling.md on loopback: one PostgreSQL,
// two sipbuddy XCAP nodes and two Kamailio presence nodes.
type cluster struct {
	dsn        string
	kam1, kam2 *clusterNode
	xcap1      *clusterNode
	xcap2      *clusterNode
	// node1 and node2 are what a client of each node is configured with:
	// Kamailio node N as proxy, sipbuddy XCAP node N as XCAP root.
	node1, node2 instance
}

// clusterRoot is the repository root (this file's ../..).
func clusterRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// clusterNeed skips the test (fails it under SIPBUDDY_REQUIRE_TOOLS) when
// something the cluster needs is not installed.
func clusterNeed(t *testing.T, ok bool, msg string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(testtool.RequireEnv) != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startCluster starts the whole cluster for t and stops it when t ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	testtool.Path(t, "kamailio", "kamailio")
	mods, _ := filepath.Glob("/usr/lib/*/kamailio/modules/db_postgres.so")
	clusterNeed(t, len(mods) > 0, "Kamailio's db_postgres module is not installed (apt-get install -y kamailio-postgres-modules)")
	_, err := os.Stat(filepath.Join(clusterKamailioSchema, "presence-create.sql"))
	clusterNeed(t, err == nil, "no "+clusterKamailioSchema+"/presence-create.sql (apt-get install -y kamailio-postgres-modules)")
	pgctl, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(pgctl) == 0 {
		_, err := exec.LookPath("pg_ctl")
		clusterNeed(t, err == nil, "PostgreSQL is not installed (apt-get install -y postgresql)")
	}
	bin := testtool.Build(t, "github.com/sipbuddy/sipbuddy/cmd/sipbuddy")[0]
	root := clusterRoot()

	// Not t.TempDir: PostgreSQL runs as the user postgres when the test
	// runs as root and must be able to enter the state directory.
	state, err := os.MkdirTemp("", clusterStatePrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &cluster{}
	pgDir := filepath.Join(state, "pg")
	pgScript := filepath.Join(root, ".ci", "postgres.sh")
	t.Cleanup(func() {
		for _, n := range []*clusterNode{c.kam1, c.kam2, c.xcap1, c.xcap2} {
			if n != nil {
				n.stop()
				if t.Failed() {
					out, _ := os.ReadFile(n.log)
					t.Logf("%s log (last lines):\n%s", n.name, tail(string(out), 30))
				}
			}
		}
		if out, err := exec.Command(pgScript, "stop", pgDir).CombinedOutput(); err != nil {
			t.Logf("stop PostgreSQL: %v\n%s", err, out)
		}
		_ = os.RemoveAll(state)
	})
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgScript, "start", pgDir, fmt.Sprint(clusterPGPort)).Output()
	if err != nil {
		t.Fatalf("start PostgreSQL on 127.0.0.1:%d: %v", clusterPGPort, err)
	}
	c.dsn = strings.TrimSpace(string(out))

	// The sipbuddy nodes first: their migrations create the xcap table
	// (Kamailio's layout), the users and Kamailio's version table.
	users := []string{"--user", "alice:alicepw", "--user", "bob:bobpw", "--user", "carol:carolpw"}
	c.xcap1 = startXCAPNode(t, bin, state, "xcap1", fmt.Sprintf("%s:%d", clusterAddr1, clusterXCAP1), c.dsn, users...)
	c.xcap2 = startXCAPNode(t, bin, state, "xcap2", fmt.Sprintf("%s:%d", clusterAddr2, clusterXCAP2), c.dsn)
	createKamailioTables(t, c.dsn)
	c.kam1 = startKamailioNode(t, state, "kamailio1", clusterAddr1, clusterSIP1, clusterHTTP1, c.dsn)
	c.kam2 = startKamailioNode(t, state, "kamailio2", clusterAddr2, clusterSIP2, clusterHTTP2, c.dsn)
	c.node1 = instance{SIP: fmt.Sprintf("%s:%d", clusterAddr1, clusterSIP1), XCAP: fmt.Sprintf("http://%s:%d/xcap-root", clusterAddr1, clusterXCAP1)}
	c.node2 = instance{SIP: fmt.Sprintf("%s:%d", clusterAddr2, clusterSIP2), XCAP: fmt.Sprintf("http://%s:%d/xcap-root", clusterAddr2, clusterXCAP2)}
	return c
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startProcess starts argv in a process group of its own, output to
// state/name.log.
func startProcess(t *testing.T, state, name string, argv ...string) *clusterNode {
	t.Helper()
	logPath := filepath.Join(state, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	// the pid file lets .ci/run stop what an aborted run left behind
	if err := os.WriteFile(filepath.Join(state, name+".pid"), []byte(fmt.Sprintln(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(n.done)
	}()
	return n
}

// waitHTTP waits until url answers (any status) or the node died.
func waitHTTP(t *testing.T, n *clusterNode, url string) {
	t.Helper()
	deadline := time.Now().Add(clusterStartTimeout)
	client := &http.Client{Timeout: clusterProbeTimeout}
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			out, _ := os.ReadFile(n.log)
			t.Fatalf("%s exited at start:\n%s", n.name, tail(string(out), 30))
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(clusterProbeInterval)
	}
	out, _ := os.ReadFile(n.log)
	t.Fatalf("%s did not answer %s within %s:\n%s", n.name, url, clusterStartTimeout, tail(string(out), 30))
}

// startXCAPNode starts a stateless sipbuddy XCAP node on addr.
func startXCAPNode(t *testing.T, bin, state, name, addr, dsn string, extra ...string) *clusterNode {
	t.Helper()
	argv := append([]string{bin, "serve", "--domain", Domain, "--sip", "off", "--xcap", addr,
		"--store", dsn, "--data", filepath.Join(state, name)}, extra...)
	n := startProcess(t, state, name, argv...)
	waitHTTP(t, n, "http://"+addr+"/xcap-root/xcap-caps/global/index")
	return n
}

// createKamailioTables creates Kamailio's presence and location tables
// with the SQL its Debian package ships (presence-create.sql without the
// xcap and pua tables: the xcap table is sipbuddy's migration, pua is not
// used; usrloc-create.sql), and the version row auth_db checks for
// sipbuddy's users table.
func createKamailioTables(t *testing.T, dsn string) {
	t.Helper()
	presence, err := os.ReadFile(filepath.Join(clusterKamailioSchema, "presence-create.sql"))
	if err != nil {
		t.Fatal(err)
	}
	before, _, found := strings.Cut(string(presence), "CREATE TABLE xcap")
	if !found {
		t.Fatalf("%s/presence-create.sql has no xcap table: not the schema this test knows", clusterKamailioSchema)
	}
	usrloc, err := os.ReadFile(filepath.Join(clusterKamailioSchema, "usrloc-create.sql"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, sql := range []string{before, string(usrloc),
		"INSERT INTO version (table_name, table_version) VALUES ('sipbuddy_users', 7) ON CONFLICT DO NOTHING"} {
		// Exec without arguments uses the simple protocol: several statements at once.
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("create Kamailio's tables: %v", err)
		}
	}
}

// startKamailioNode starts a Kamailio presence node on addr with the
// recipe's configuration (deploy/cluster/kamailio.cfg).
func startKamailioNode(t *testing.T, state, name, addr string, sipPort, httpPort int, dsn string) *clusterNode {
	t.Helper()
	dir := filepath.Join(state, name)
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The presence server's Contact (the remote target of every
	// subscription dialog) is the domain, not this node: in-dialog
	// SUBSCRIBEs then reach whichever node the client uses now (its proxy,
	// or DNS SRV), and the domain is "myself" on every node. With the
	// node's own address, a refresh sent through another node after a
	// failover was answered 404 (WITHINDLG: not for this node).
	// Kamailio's db_postgres wants postgres://user@host:port/db, without the query
	kdb, _, _ := strings.Cut(dsn, "?")
	argv := []string{"kamailio", "-f", filepath.Join(clusterRoot(), "deploy", "cluster", "kamailio.cfg"),
		"-DD", "-E", "-Y", filepath.Join(dir, "run"), "-w", dir, "-m", "64", "-M", "16", "--debug=1", "-a", "no",
		"-A", "WITH_POSTGRES", "-A", "WITH_SIPBUDDY_USERS", "-A", "WITH_CLUSTER", "-A", "WITH_USRLOC_DB",
		"-A", "WITH_INLINE_NOTIFY", "-A", "WITH_PRESRULES", "-A", "WITH_XCAP_PUBLIC_READ",
		"-A", "LISTENADDR=" + addr, "-A", fmt.Sprintf("DBURL=%q", kdb), "-A", fmt.Sprintf("PRESDBURL=%q", kdb),
		"-A", fmt.Sprintf("SIPDOMAIN=%q", Domain), "-A", fmt.Sprintf("SERVERADDR=\"sip:%s\"", Domain),
		"-A", fmt.Sprintf("SIPPORT=%d", sipPort), "-A", fmt.Sprintf("HTTPPORT=%d", httpPort),
		"-A", fmt.Sprintf("CTLSOCK=\"unix:%s/run/kamailio_ctl\"", dir)}
	if out, err := exec.Command(argv[0], append(argv[1:], "-c")...).CombinedOutput(); err != nil {
		t.Fatalf("%s: kamailio -c: %v\n%s", name, err, tail(string(out), 20))
	}
	n := startProcess(t, state, name, argv...)
	waitHTTP(t, n, fmt.Sprintf("http://%s:%d/xcap-root/xcap-caps/global/index", addr, httpPort))
	return n
}
