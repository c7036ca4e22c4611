// Package tlsconf builds the TLS client configuration every sipbuddy client
// connection uses (SIP over TLS, XCAP over HTTPS): the server's certificate
// is verified against the system roots or a CA file, its name checked
// against the domain asked for (RFC 5922 §7.2), and a failure said in words
// ("certificate for X is not valid for example.com: ..."). Verification
// can be switched off only by a loudly named option, for test servers.
package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// MaxCAFileBytes bounds a CA file (a bundle of a few hundred certificates
// fits).
const MaxCAFileBytes = 4 << 20

// Options say how server certificates are verified.
type Options struct {
	// CAFile is a PEM file of the CAs trusted instead of the system's.
	CAFile string
	// InsecureSkipVerifyTLS accepts any certificate for any name: only
	// for test servers, never for a real account.
	InsecureSkipVerifyTLS bool
}

// Client returns a client configuration verifying servers as o says.
// serverName is the name the certificate must hold (a DNS name or an IP);
// it is required unless verification is off.
func Client(serverName string, o Options) (*tls.Config, error) {
	var roots *x509.CertPool
	if o.CAFile != "" {
		var err error
		if roots, err = LoadCAFile(o.CAFile); err != nil {
			return nil, err
		}
	}
	conf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		// Verification is ours (VerifyConnection) so that its errors name
		// the certificate and the domain; InsecureSkipVerify only turns
		// off crypto/tls's own copy of the same checks.
		InsecureSkipVerify: true,
	}
	if o.InsecureSkipVerifyTLS {
		return conf, nil
	}
	if serverName == "" {
		return nil, errors.New("tls: no server name to check the certificate against")
	}
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		return Verify(cs, serverName, roots)
	}
	return conf, nil
}

// LoadCAFile reads a PEM bundle of CA certificates.
func LoadCAFile(path string) (*x509.CertPool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tls: CA file: %w", err)
	}
	if fi.Size() > MaxCAFileBytes {
		return nil, fmt.Errorf("tls: CA file %s is larger than %d bytes", path, MaxCAFileBytes)
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// HTTPTransport returns a copy of http.DefaultTransport whose HTTPS
// connections are verified as o says, each against the host it dials
// (crypto/tls sends no server name for an IP, so the name cannot come from
// the connection state).
func HTTPTransport(o Options) (*http.Transport, error) {
	if o.CAFile != "" {
		if _, err := LoadCAFile(o.CAFile); err != nil {
			return nil, err
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		conf, err := Client(host, o)
		if err != nil {
			return nil, err
		}
		conf.NextProtos = []string{"http/1.1"}
		d := tls.Dialer{Config: conf}
		return d.DialContext(ctx, network, addr)
	}
	return tr, nil
}

// Verify checks the server's chain against roots (nil: the system's) and
// its name against want.
func Verify(cs tls.ConnectionState, want string, roots *x509.CertPool) error {
	if want == "" {
		return errors.New("tls: no server name to check the certificate against")
	}
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("tls: the server for %s sent no certificate", want)
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		DNSName:       strings.Trim(want, "[]"),
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return &CertificateError{Names: certNames(leaf), For: want, Err: err}
	}
	return nil
}

// CertificateError is a server certificate that failed verification.
type CertificateError struct {
	Names []string // the names the certificate holds
	For   string   // the name it had to hold
	Err   error    // the x509 reason
}

func (e *CertificateError) Error() string {
	names := strings.Join(e.Names, ", ")
	if names == "" {
		names = "(no name)"
	}
	reason := e.Err.Error()
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(e.Err, &unknown):
		reason = "signed by an authority that is not trusted (use --ca FILE for a private CA): " + reason
	case errors.As(e.Err, &invalid) && invalid.Reason == x509.Expired:
		reason = "expired or not yet valid: " + reason
	}
	return fmt.Sprintf("certificate for %s is not valid for %s: %s", names, e.For, reason)
}

func (e *CertificateError) Unwrap() error { return e.Err }

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	return names
}
