// Command xcap-directory lists a SIP account's documents on an XCAP server
// from the OMA xcap-directory, like the SIP SIMPLE client SDK's tool of the
// same name:
//
//	Retrieving xcap-directory from http://127.0.0.1:8080/xcap-root
//	Folder 'resource-lists':
//		index etag: 9f2c1b0e
//
// -s also prints the XML document as received. The account comes from the
// configuration file (-a NAME) or from --account, --xcap-root and --password
// ($SIPBUDDY_PASSWORD).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/sipbuddy/sipbuddy/internal/app/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var fl config.Flags
	fs := fl.NewToolFlagSet("xcap-directory", "xcap-directory [options]",
		"Lists the documents the XCAP server stores for the given SIP account.", stderr)
	var showXML bool
	fs.BoolVar(&showXML, "s", false, "also print the full XML document")
	fs.BoolVar(&showXML, "show-xml", false, "same as -s")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "Error: unexpected argument %q\n", fs.Arg(0))
		return 1
	}
	if err := list(ctx, fl, showXML, stdout); err != nil {
		fmt.Fprintln(stderr, "Error: "+err.Error())
		return 1
	}
	return 0
}

func list(ctx context.Context, fl config.Flags, showXML bool, stdout io.Writer) error {
	c, acc, err := config.XCAPClient(ctx, fl)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Retrieving xcap-directory from %s\n", acc.XCAPRoot)
	dir, doc, err := c.DirectoryRaw(ctx)
	if err != nil {
		if doc == nil {
			return fmt.Errorf("Cannot obtain 'xcap-directory' document: %w", err)
		}
		return fmt.Errorf("Invalid 'xcap-directory' document: %w", err)
	}
	for _, f := range dir.Folders {
		fmt.Fprintf(stdout, "Folder '%s':\n", f.AUID)
		for _, e := range f.Entries {
			fmt.Fprintf(stdout, "\t%s etag: %s\n", e.Name(), e.ETag)
		}
	}
	if showXML {
		fmt.Fprintf(stdout, "\nFull XML document:\n%s", doc.Body)
		if len(doc.Body) > 0 && doc.Body[len(doc.Body)-1] != '\n' {
			fmt.Fprintln(stdout)
		}
	}
	return nil
}
