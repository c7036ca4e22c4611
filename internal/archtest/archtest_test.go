// Package archtest checks the rules of the code's shape that the compiler
// does not: the ones docs/design.md states under "Rules".
package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sipbuddy/sipbuddy"

// uiModules are the terminal UI libraries the protocol packages and the
// account layer must not depend on, even indirectly: sip/..., xcap/... and
// account/... are used by servers and command-line tools that have no
// terminal UI.
var uiModules = []string{
	"charm.land/bubbletea",
	"charm.land/lipgloss",
	"charm.land/bubbles",
	"github.com/charmbracelet/bubbletea",
	"github.com/charmbracelet/lipgloss",
	"github.com/charmbracelet/bubbles",
}

// noUITrees are the trees (module-relative) that must not reach a UI
// module; account/ is covered as soon as it exists.
var noUITrees = []string{"sip", "xcap", "account"}

// Layers, lowest first. A package may import packages of its own layer or
// of lower ones, never of a higher one (production code; a test may reach
// up for a fixture, as tui's tests run the demo world).
const (
	layerLib      = iota // shared libraries: internal/* outside internal/app, assets
	layerProtocol        // sip/..., xcap/...
	layerAccount         // account/...
	layerUI              // tui/...
	layerApp             // the app's top: internal/app/... (config, demo, sshserver, stack)
	layerCmd             // cmd/... and generators
)

var layerNames = []string{"shared library", "protocol (sip, xcap)", "account", "UI (tui)", "app", "command"}

// layerRules maps a module-relative path prefix to its layer; the longest
// matching prefix wins. Every other internal/ package is a shared library,
// so a new one that reaches up into the app is reported rather than
// silently allowed.
var layerRules = map[string]int{
	"internal":              layerLib,
	"assets":                layerLib,
	"sip":                   layerProtocol,
	"xcap":                  layerProtocol,
	"account":               layerAccount,
	"tui":                   layerUI,
	"internal/app":          layerApp, // config, demo, sshserver, stack: the app's own room
	"internal/kamailiotest": layerApp, // interop tests across the whole stack
	"cmd":                   layerCmd,
	"assets/gen":            layerCmd, // go generate tool
}

// pkg is what go list says of one package of the module.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// rel is the module-relative path of an import path, or "" outside the
// module.
func rel(path string) string {
	if path == module {
		return "."
	}
	r, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	return r
}

func under(relPath, tree string) bool {
	return relPath == tree || strings.HasPrefix(relPath, tree+"/")
}

// layerOf returns the layer of a module-relative path and whether any rule
// covers it.
func layerOf(relPath string) (int, bool) {
	best, layer := -1, 0
	for prefix, l := range layerRules {
		if under(relPath, prefix) && len(prefix) > best {
			best, layer = len(prefix), l
		}
	}
	return layer, best >= 0
}

// listPackages runs go list over the module (tests included in the import
// lists).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; the walk is broken", len(pkgs))
	}
	return pkgs
}

// testDeps lists every package (tests included) the packages need, by
// go list -deps -test.
func testDeps(t *testing.T, paths []string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps", "-test"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -test: %v\n%s", err, stderr.Bytes())
	}
	return strings.Fields(string(out))
}

// packagesUnder returns the import paths of the packages in tree.
func packagesUnder(pkgs []pkg, tree string) []string {
	var out []string
	for _, p := range pkgs {
		if under(rel(p.ImportPath), tree) {
			out = append(out, p.ImportPath)
		}
	}
	return out
}

// forbiddenDeps returns the deps that are in one of the forbidden trees
// (import path prefixes).
func forbiddenDeps(deps, forbidden []string) []string {
	var bad []string
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				bad = append(bad, d)
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

func TestNoUIInProtocolOrAccount(t *testing.T) {
	pkgs := listPackages(t)
	for _, tree := range noUITrees {
		paths := packagesUnder(pkgs, tree)
		if len(paths) == 0 {
			continue // account/ before it exists
		}
		if bad := forbiddenDeps(testDeps(t, paths), uiModules); len(bad) > 0 {
			t.Errorf("%s/... depends on UI packages: %s", tree, strings.Join(bad, ", "))
		}
	}
}

func TestXCAPNeverImportsSIP(t *testing.T) {
	pkgs := listPackages(t)
	if bad := forbiddenDeps(testDeps(t, packagesUnder(pkgs, "xcap")), []string{module + "/sip"}); len(bad) > 0 {
		t.Errorf("xcap/... (tests included) depends on %s", strings.Join(bad, ", "))
	}
}

func TestNothingImportsCmd(t *testing.T) {
	if bad := cmdImporters(listPackages(t)); len(bad) > 0 {
		t.Errorf("packages import cmd/...:\n%s", strings.Join(bad, "\n"))
	}
}

// cmdImporters reports "importer -> cmd/x" for every import of a cmd/
// package, tests included, except a package's external test importing the
// package itself.
func cmdImporters(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			if under(rel(imp), "cmd") && imp != p.ImportPath {
				bad = append(bad, rel(p.ImportPath)+" -> "+rel(imp))
			}
		}
	}
	return bad
}

func TestLayers(t *testing.T) {
	if bad := layerViolations(listPackages(t)); len(bad) > 0 {
		t.Errorf("a lower layer imports a higher one, or a package has no layer (see layerRules):\n%s", strings.Join(bad, "\n"))
	}
}

// layerViolations checks the production imports of every package against
// the layer table.
func layerViolations(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		lf, ok := layerOf(from)
		if !ok {
			bad = append(bad, from+": in no layer")
			continue
		}
		for _, imp := range p.Imports {
			to := rel(imp)
			if to == "" {
				continue
			}
			lt, ok := layerOf(to)
			if ok && lt > lf {
				bad = append(bad, fmt.Sprintf("%s (%s) imports %s (%s)", from, layerNames[lf], to, layerNames[lt]))
			}
		}
	}
	return bad
}

// TestRulesCanFail feeds each check a graph that breaks its rule, so that
// none of them passes by looking at nothing.
func TestRulesCanFail(t *testing.T) {
	m := func(r string) string { return module + "/" + r }
	bad := []pkg{
		{ImportPath: m("sip/ua"), Imports: []string{m("tui")}},
		{ImportPath: m("xcap/store"), Imports: []string{m("account/x")}},
		{ImportPath: m("internal/digest"), Imports: []string{m("sip/header")}},
		{ImportPath: m("tui"), TestImports: []string{m("cmd/sipbuddy")}},
		{ImportPath: m("cmd/sipbuddy"), XTestImports: []string{m("cmd/sipbuddy")}},
		{ImportPath: m("."), Imports: nil},
	}
	got := layerViolations(bad)
	for _, want := range []string{
		"sip/ua (protocol (sip, xcap)) imports tui (UI (tui))",
		"xcap/store (protocol (sip, xcap)) imports account/x (account)",
		"internal/digest (shared library) imports sip/header (protocol (sip, xcap))",
		".: in no layer",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("layerViolations missed %q; got %q", want, got)
		}
	}
	if got := cmdImporters(bad); !slices.Equal(got, []string{"tui -> cmd/sipbuddy"}) {
		t.Errorf("cmdImporters = %q", got)
	}
	if got := forbiddenDeps([]string{"charm.land/bubbletea/v2", "fmt", m("sip/ua"), m("sipx")},
		append(slices.Clone(uiModules), m("sip"))); !slices.Equal(got, []string{"charm.land/bubbletea/v2", m("sip/ua")}) {
		t.Errorf("forbiddenDeps = %q", got)
	}
	// The real walk sees the UI where there is one.
	if bad := forbiddenDeps(testDeps(t, []string{m("tui")}), uiModules); len(bad) == 0 {
		t.Error("the dependency walk found no UI package in tui")
	}
}
