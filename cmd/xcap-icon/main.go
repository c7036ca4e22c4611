// Command xcap-icon uploads, lists, downloads and deletes a SIP account's
// status icons on an XCAP server, like the SIP SIMPLE client SDK's tool of
// the same name:
//
//	xcap-icon [options] -f photo.jpg PUT    upload (validated, fitted to 256x256)
//	xcap-icon [options] GET                 list the account's icons
//	xcap-icon [options] -f NAME GET         ... and save NAME as icon_NAME
//	xcap-icon [options] -f NAME DELETE      delete an icon
//
// The account comes from the configuration file (-a NAME) or from
// --account, --xcap-root and --password ($SIPBUDDY_PASSWORD).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/app/config"
	"github.com/sipbuddy/sipbuddy/internal/flagargs"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// maxSaveAttempts bounds the search for a free icon_NAME_<n> file name.
const maxSaveAttempts = 1000

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// failure is an error already worded for the user.
type failure struct{ msg string }

func (f failure) Error() string { return f.msg }

func fail(format string, args ...any) error { return failure{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var fl config.Flags
	fs := fl.NewToolFlagSet("xcap-icon", "xcap-icon [options] GET|PUT|DELETE",
		"Downloads or uploads the specified icon file on the XCAP server for the given SIP account.", stderr)
	var filename string
	fs.StringVar(&filename, "f", "", "PUT: the image `file` to upload; GET: the icon name to download; DELETE: the icon name to delete")
	fs.StringVar(&filename, "filename", "", "same as -f")
	// Options may come before or after the operation.
	ops, err := flagargs.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if len(ops) != 1 || !slices.Contains([]string{"GET", "PUT", "DELETE"}, strings.ToUpper(ops[0])) {
		fmt.Fprintln(stderr, "Error: You need to specify the operation: GET, PUT or DELETE")
		return 1
	}
	op := strings.ToUpper(ops[0])
	if err := do(ctx, op, filename, fl, stdout); err != nil {
		fmt.Fprintln(stderr, "Error: "+err.Error())
		return 1
	}
	return 0
}

func do(ctx context.Context, op, filename string, fl config.Flags, stdout io.Writer) error {
	// Argument errors first, before any configuration or network access.
	var image []byte
	switch op {
	case "PUT":
		if filename == "" {
			return fail("You need to specify an input filename for doing a PUT.")
		}
		var err error
		if image, err = readImageFile(filename); err != nil {
			return fail("Cannot PUT icon: %v", err)
		}
	case "DELETE":
		if filename == "" {
			return fail("You need to specify the filename to delete.")
		}
	}
	c, _, err := config.XCAPClient(ctx, fl)
	if err != nil {
		return err
	}
	switch op {
	case "PUT":
		up, err := c.UploadIcon(ctx, image, "")
		if err != nil {
			var le *xmltree.LimitError
			if errors.Is(err, icon.ErrNotImage) || errors.Is(err, icon.ErrUnsupportedFormat) || errors.As(err, &le) {
				return fail("Cannot PUT icon: %s: %v", filename, err)
			}
			return fail("Cannot PUT icon: %v", err)
		}
		fmt.Fprintln(stdout, "Icon uploaded successfully")
		dumpResponse(stdout, up.Response)
	case "GET":
		icons, err := c.Icons(ctx)
		if err != nil {
			return fail("Cannot GET icon: %v", err)
		}
		fmt.Fprintln(stdout, "Icons:")
		for _, e := range icons {
			fmt.Fprintln(stdout, "\t"+e.URI)
		}
		if filename == "" {
			return nil
		}
		i := slices.IndexFunc(icons, func(e xcap.DirEntry) bool { return e.Name() == filename })
		if i < 0 {
			return fail("Cannot download icon: the account has no icon named %s", filename)
		}
		data, _, err := c.FetchIcon(ctx, icons[i].URI, "")
		if err != nil {
			return fail("Cannot download icon: %v", err)
		}
		saved, err := saveNew(filename, data)
		if err != nil {
			return fail("Cannot write icon: %v", err)
		}
		fmt.Fprintln(stdout, "\tFile saved to: "+saved)
	case "DELETE":
		resp, err := c.DeleteIcon(ctx, filename)
		if err != nil {
			return fail("Cannot DELETE icon: %v", err)
		}
		dumpResponse(stdout, resp)
	}
	return nil
}

// readImageFile reads a local file of at most icon.UploadMaxBytes, refusing
// larger files before reading them.
func readImageFile(name string) ([]byte, error) {
	data, err := icon.ReadFile(name, icon.UploadMaxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file", name)
	}
	return data, err
}

// saveNew writes data to icon_NAME in the current directory, or, if that
// exists, to icon_<stem>_0<ext>, icon_<stem>_1<ext>, ... (the SDK's scheme).
// It never overwrites a file.
func saveNew(name string, data []byte) (string, error) {
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("refusing to save an icon named %q", name)
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := -1; i < maxSaveAttempts; i++ {
		file := "icon_" + name
		if i >= 0 {
			file = fmt.Sprintf("icon_%s_%d%s", stem, i, ext)
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(file)
			return "", err
		}
		if err := f.Close(); err != nil {
			os.Remove(file)
			return "", err
		}
		return file, nil
	}
	return "", fmt.Errorf("icon_%s and %d numbered variants all exist", name, maxSaveAttempts)
}

// dumpResponse prints the response the way python-xcaplib did: the status
// line with the URL in angle brackets, then one "name: value" line per header
// (lower-case names, sorted here for a stable output), then a blank line and
// the body if there is one.
func dumpResponse(w io.Writer, r *xcap.Response) {
	fmt.Fprintf(w, "%s <%s>\n", r.Status, r.URL)
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(w, "%s: %s\n", strings.ToLower(k), v)
		}
	}
	if len(r.Body) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(string(r.Body), "\n"))
	}
}
