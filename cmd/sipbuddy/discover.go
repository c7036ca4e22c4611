package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/config"
	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/sip/locate"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// xcapProbeTimeout bounds the probe of one discovered XCAP root.
const xcapProbeTimeout = 5 * time.Second

// netFlags are the client's flags about finding and trusting servers.
type netFlags struct {
	dns      string
	caFile   string
	insecure bool
	dataDir  string
}

func (n *netFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.dns, "dns", os.Getenv(envDNS), "DNS server `ADDR` (host:port) for locating the SIP servers and the XCAP root; default: /etc/resolv.conf ($"+envDNS+")")
	fs.StringVar(&n.caFile, "ca", "", "PEM `FILE` of the CAs trusted for SIP over TLS and XCAP over HTTPS instead of the system's (config: ca_file)")
	fs.StringVar(&n.dataDir, "data", os.Getenv(envData), "`DIR` keeping per account this device's identity (RFC 5626 instance id) and my last status, note and icon art; default $XDG_DATA_HOME/sipbuddy ($"+envData+")")
	fs.BoolVar(&n.insecure, "insecure-skip-verify-tls", false, "DANGEROUS, test servers only: accept any TLS certificate for any name")
}

// accountOptions turns a configured account into account.Options's options: servers
// found in DNS where the account names none (SIP: RFC 3263 by the UA;
// XCAP: TXT records of xcap.<domain>, each root probed in order).
func (n *netFlags) accountOptions(ctx context.Context, acct *config.Account) (account.Options, error) {
	tlsOpts := tlsconf.Options{CAFile: acct.CAFile, InsecureSkipVerifyTLS: n.insecure}
	if n.caFile != "" {
		tlsOpts.CAFile = n.caFile
	}
	bo := account.Options{XCAPRoot: acct.XCAPRoot}
	bo.AOR = acct.Account
	bo.DisplayName = acct.DisplayName
	bo.Username = acct.Username
	bo.Password = acct.Password
	bo.Proxy = acct.Proxy
	bo.Transport = acct.Transport
	bo.TLS = tlsOpts
	bo.NoRLS = !acct.UsesRLS()
	if dir, err := n.userDataDir(); err == nil {
		// Without it the device is new on every run: one stale binding
		// and one stale tuple more each time, until they expire.
		if id, err := ua.LoadInstanceID(dir, acct.Account); err == nil {
			bo.InstanceID = id
		}
		// My status, note and icon art come back as I left them.
		bo.StateFile = account.StateFile(dir, acct.Account)
	}
	if bo.Proxy != "" && bo.XCAPRoot != "" {
		return bo, nil
	}
	r, err := locate.NewResolver(n.dns)
	if err != nil {
		return bo, err
	}
	bo.Resolver = r
	if bo.XCAPRoot == "" {
		root, err := discoverXCAPRoot(ctx, r, acct, tlsOpts)
		if err != nil {
			return bo, fmt.Errorf("%w (give --xcap-root or xcap_root in the configuration file)", err)
		}
		bo.XCAPRoot = root
	}
	return bo, nil
}

// discoverXCAPRoot finds the account's XCAP root as python-sipsimple does:
// the TXT records of xcap.<domain>, tried in order; the first root whose
// server answers (any HTTP status) a GET of its xcap-caps document wins.
func discoverXCAPRoot(ctx context.Context, r *locate.Resolver, acct *config.Account, tlsOpts tlsconf.Options) (string, error) {
	roots, err := r.XCAPRoots(ctx, acct.Domain())
	if err != nil {
		return "", err
	}
	var errs []error
	for _, root := range roots {
		c, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: acct.Account, TLS: tlsOpts})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, xcapProbeTimeout)
		_, err = c.Caps(pctx)
		cancel()
		// Any HTTP answer (a 401 or 404 included) shows a live server.
		var te *xcap.TransportError
		if err == nil || !errors.As(err, &te) {
			return root, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", root, err))
	}
	return "", fmt.Errorf("no XCAP root announced for %s answers: %w", acct.Domain(), errors.Join(errs...))
}

// userDataDir is where the client keeps what must survive a restart:
// --data, else $XDG_DATA_HOME/sipbuddy, else ~/.local/share/sipbuddy.
func (n *netFlags) userDataDir() (string, error) {
	if n.dataDir != "" {
		return n.dataDir, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "sipbuddy"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --data and no home directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "sipbuddy"), nil
}
