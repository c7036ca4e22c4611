package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// MaxPasswordInput bounds a password read from standard input.
const MaxPasswordInput = 1 << 10

const usersUsage = `usage:
  sipbuddy serve users add NAME      add a user, or set a user's password
  sipbuddy serve users list          list the users, one per line
  sipbuddy serve users remove NAME   remove a user's credentials

The password is asked for on the terminal (twice), or read as the first line
of standard input when that is not a terminal:
  printf '%s\n' "$PW" | sipbuddy serve users add alice --data DIR
It never goes on the command line, where other users could see it in ps.
Stop a running 'sipbuddy serve' first: the store file is locked while it runs.
`

// serveUsers runs `sipbuddy serve users add|list|remove` on the store in
// the data directory.
func serveUsers(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipbuddy serve users", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data directory (default: the user config dir + /sipbuddy/server)")
	prepareUsage(fs, args, stdout, usersUsage, nil)
	verb, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, rest = args[0], args[1:]
	}
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 && name == "" {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbuddy serve users: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	needName := verb == "add" || verb == "remove"
	switch {
	case verb != "add" && verb != "list" && verb != "remove":
		fmt.Fprintf(stderr, "sipbuddy serve users: want add, list or remove, not %q\n%s", verb, usersUsage)
		return 2
	case needName && name == "":
		fmt.Fprintf(stderr, "sipbuddy serve users %s: which user? (sipbuddy serve users %s NAME)\n", verb, verb)
		return 2
	case !needName && name != "":
		fmt.Fprintf(stderr, "sipbuddy serve users list: unexpected argument %q\n", name)
		return 2
	}
	if needName {
		// SIP addresses name one user however the user part is cased
		// (internal/sipuri's AOR key), so the store keeps the folded form.
		name = strings.ToLower(name)
		if err := store.ValidateUser(name); err != nil {
			fmt.Fprintf(stderr, "Error: %q cannot be a user name: use the user part of a SIP address, without @, :, / or spaces\n", name)
			return 1
		}
	}
	if *dataDir == "" {
		d, err := defaultDataDir()
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		*dataDir = d
	}
	path := filepath.Join(*dataDir, StoreFileName)
	if verb != "add" {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(stderr, "Error: no server store in %s (run sipbuddy serve users add NAME first, or give --data)\n", *dataDir)
			return 1
		}
	}
	var password string
	if verb == "add" {
		p, err := readNewPassword(name, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		password = p
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
	}
	st, err := store.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (is sipbuddy serve running on this data directory?)\n", err)
		return 1
	}
	defer st.Close()
	switch verb {
	case "add":
		_, existed := st.Password(name)
		if err := st.SetPassword(name, password); err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		if existed {
			fmt.Fprintf(stdout, "Password of %s changed.\n", name)
		} else {
			fmt.Fprintf(stdout, "User %s added.\n", name)
		}
	case "remove":
		if err := st.DeleteUser(name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				fmt.Fprintf(stderr, "Error: there is no user %s\n", name)
			} else {
				fmt.Fprintln(stderr, "Error:", err)
			}
			return 1
		}
		fmt.Fprintf(stdout, "User %s removed (their documents stay in the store).\n", name)
	case "list":
		users, err := st.Users()
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		for _, u := range users {
			fmt.Fprintln(stdout, u)
		}
	}
	return 0
}

// readNewPassword asks for name's new password on the terminal, twice, or
// reads the first line of standard input when that is not a terminal.
func readNewPassword(name string, prompt io.Writer) (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(io.LimitReader(os.Stdin, MaxPasswordInput)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from standard input: %w", err)
		}
		p := strings.TrimRight(line, "\r\n")
		if p == "" {
			return "", errors.New("no password on standard input (give it as the first line)")
		}
		return p, nil
	}
	fmt.Fprintf(prompt, "New password for %s: ", name)
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprint(prompt, "Again: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(first) != string(again) {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	if len(first) == 0 {
		return "", errors.New("an empty password is not allowed")
	}
	return string(first), nil
}
