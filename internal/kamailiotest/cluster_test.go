package kamailiotest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

// clusterTimeout bounds the cluster recipe (about 10 s on an idle machine).
const clusterTimeout = 3 * time.Minute

// TestClusterRecipe runs deploy/cluster/cluster.sh, the recipe of
// docs/scaling.md: PostgreSQL, two sipbuddy XCAP nodes and two Kamailio
// presence nodes on 127.0.0.1 and 127.0.0.2; icons and pres-rules written
// through sipbuddy are served and enforced by Kamailio, and one node of
// each kind dying leaves the others working. It needs the Kamailio harness
// (SIPBUDDY_KAMAILIO_HARNESS, set by .ci/run) for its sipp scenarios.
func TestClusterRecipe(t *testing.T) {
	harness := os.Getenv("SIPBUDDY_KAMAILIO_HARNESS")
	if harness == "" {
		msg := "SIPBUDDY_KAMAILIO_HARNESS is not set (.ci/run sets it to ../shared/peers/kamailio)"
		if os.Getenv(testtool.RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	testtool.Path(t, "kamailio", "kamailio")
	testtool.Path(t, "sipp", "sip-tester")
	bin := testtool.Build(t, "github.com/sipbuddy/sipbuddy/cmd/sipbuddy")[0]
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "cluster", "cluster.sh")
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(os.Environ(), "SIPBUDDY="+bin, "PEERS="+filepath.Dir(harness))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), " passed, 0 failed") {
		t.Fatalf("cluster recipe: %v", err)
	}
}
