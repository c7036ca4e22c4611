package config

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// NewToolFlagSet returns the flag set of a command-line tool that works on
// one account (xcap-directory, xcap-icon): errors and usage go to stderr,
// the usage opens with the usage and summary lines, and the account flags
// (Register) fill fl.
func (fl *Flags) NewToolFlagSet(name, usage, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fl.Register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: "+usage)
		fmt.Fprintln(stderr, summary)
		fs.PrintDefaults()
	}
	return fs
}

// XCAPClient resolves the account fl selects (Resolve), refuses one with
// no XCAP root (RequireXCAP), and returns it with a client for its
// documents that authenticates as AuthUsername and trusts the account's
// CAFile: what an XCAP tool does before anything else.
func XCAPClient(ctx context.Context, fl Flags) (*xcap.Client, *Account, error) {
	acc, err := Resolve(ctx, fl)
	if err != nil {
		return nil, nil, err
	}
	if err := acc.RequireXCAP(); err != nil {
		return nil, nil, err
	}
	c, err := xcap.NewClient(xcap.ClientOptions{Root: acc.XCAPRoot, XUI: acc.Account, Username: acc.AuthUsername(), Password: acc.Password, TLS: tlsconf.Options{CAFile: acc.CAFile}})
	if err != nil {
		return nil, nil, err
	}
	return c, acc, nil
}
