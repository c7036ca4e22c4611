package flagargs

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func newFlagSet() (*flag.FlagSet, *string, *bool) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.String("f", "", "a file"), fs.Bool("v", false, "verbose")
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args       string
		positional []string
		f          string
		v          bool
	}{
		{"", nil, "", false},
		{"GET", []string{"GET"}, "", false},
		{"-f me.png PUT", []string{"PUT"}, "me.png", false},
		{"PUT -f me.png", []string{"PUT"}, "me.png", false},
		{"a -v b -f x c", []string{"a", "b", "c"}, "x", true},
		{"-v -- -f", []string{"-f"}, "", true},
	} {
		fs, f, v := newFlagSet()
		got, err := Parse(fs, strings.Fields(c.args))
		if err != nil {
			t.Errorf("Parse(%q): %v", c.args, err)
			continue
		}
		if !slices.Equal(got, c.positional) || *f != c.f || *v != c.v {
			t.Errorf("Parse(%q) = %q, -f %q, -v %v; want %q, %q, %v", c.args, got, *f, *v, c.positional, c.f, c.v)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for args, want := range map[string]error{"GET -h": flag.ErrHelp, "-h": flag.ErrHelp} {
		fs, _, _ := newFlagSet()
		if _, err := Parse(fs, strings.Fields(args)); !errors.Is(err, want) {
			t.Errorf("Parse(%q) error %v, want %v", args, err, want)
		}
	}
	for _, args := range []string{"GET -x", "-f", "PUT -f"} {
		fs, _, _ := newFlagSet()
		if got, err := Parse(fs, strings.Fields(args)); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", args, got)
		}
	}
}

// FuzzParse: Parse never panics or loops, and what it returns as
// positional is, in order, a subsequence of the arguments.
func FuzzParse(f *testing.F) {
	f.Add("a -v b -f x c")
	f.Add("-f -- -v")
	f.Add("-- -- a")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		fs, _, _ := newFlagSet()
		got, err := Parse(fs, args)
		if err != nil {
			return
		}
		i := 0
		for _, p := range got {
			for i < len(args) && args[i] != p {
				i++
			}
			if i == len(args) {
				t.Fatalf("Parse(%q) = %q: %q is not among the arguments in order", args, got, p)
			}
			i++
		}
	})
}
