package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
)

const usage = `sipbuddy: a terminal buddy list for SIP SIMPLE presence, with each buddy's picture.

usage:
  sipbuddy [flags]         the buddy list for one account (flags below)
  sipbuddy demo [flags]    everything on loopback with simulated buddies (sipbuddy demo -h)
  sipbuddy serve [flags]   the SIP registrar/presence and XCAP servers (sipbuddy serve -h)
  sipbuddy serve users     add, list or remove the server's users (sipbuddy serve users -h)
  sipbuddy art FILE        print an image as the buddy list draws icons (sipbuddy art -h)
  sipbuddy --version       the version of this build

Companion tools, built from the same source:
  xcap-icon                put, get or delete your icon on an XCAP server (xcap-icon -h)
  xcap-directory           list your XCAP documents with their ETags (xcap-directory -h)
`

// flagEnv names the environment variable that stands in for a flag, per
// flag name; help prints it beside the flag.
type flagEnv map[string]string

// prepareUsage sets fs's help: asked for with -h (to stdout), it says what
// the command does and lists every flag with its placeholder, its default
// and the environment variable that stands in for it; after a mistake (to
// fs's error output, below flag's own message) it is one line that says
// where the full help is.
func prepareUsage(fs *flag.FlagSet, args []string, stdout io.Writer, head string, env flagEnv) {
	if !wantsHelp(args) {
		fs.Usage = func() { fmt.Fprintf(fs.Output(), "Run '%s -h' for every flag.\n", fs.Name()) }
		return
	}
	fs.SetOutput(stdout)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, head)
		fmt.Fprintln(w, "\nflags:")
		writeFlags(w, fs, env)
	}
}

// writeFlags lists fs's flags, one block each, in name order.
func writeFlags(w io.Writer, fs *flag.FlagSet, env flagEnv) {
	var all []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { all = append(all, f) })
	slices.SortFunc(all, func(a, b *flag.Flag) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range all {
		name, text := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		line := "  " + dash + f.Name
		if name != "" {
			line += " " + name
		}
		var notes []string
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			notes = append(notes, "default "+f.DefValue)
		}
		if e := env[f.Name]; e != "" && !strings.Contains(text, "$"+e) {
			notes = append(notes, "$"+e)
		}
		if len(notes) > 0 {
			text += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, text)
	}
}

// wantsHelp reports whether args ask for help, so that the help goes to
// standard output (a pipe to less works) rather than with the errors.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// version describes this build from the information the Go tool embeds:
// the module version (a tag, or "(devel)"), the commit and its time.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "sipbuddy (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	out := "sipbuddy " + v
	if rev != "" {
		out += fmt.Sprintf(" (commit %.12s%s, %s)", rev, dirty, when)
	}
	return out + " " + bi.GoVersion
}
