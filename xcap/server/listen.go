package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// Timeouts of the HTTP server started by Listen.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	// ShutdownTimeout bounds the graceful shutdown when ctx ends.
	ShutdownTimeout = 5 * time.Second
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes = 64 << 10
)

// HTTPServer is a running XCAP server started by Listen.
type HTTPServer struct {
	handler *Server
	srv     *http.Server
	ln      net.Listener
	root    string
	// fast answers plain icon GETs before net/http (fastget.go); nil when
	// the store is not a *store.Bolt. acceptErr is why its accept loop
	// stopped, when not by Shutdown.
	fast      *fastPath
	handoff   *handoffListener
	acceptErr error

	served       chan struct{} // closed when Serve has returned
	serveErr     error
	shuttingDown atomic.Bool
	doneOnce     sync.Once
	done         chan struct{} // closed when the server has fully stopped
}

// Listen listens on addr ("127.0.0.1:8080", port 0 for any), builds the XCAP
// handler with o (Options.Root defaults to http://<bound address>/xcap-root,
// so it carries the real port) and serves it until ctx ends or Shutdown is
// called. The store is not closed: it belongs to the caller.
func Listen(ctx context.Context, addr string, o Options) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("xcap/server: listen %s: %w", addr, err)
	}
	scheme := "http://"
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
		scheme = "https://"
	}
	if o.Root == "" {
		o.Root = scheme + hostPort(ln.Addr()) + DefaultRootPath
	}
	h, err := New(o)
	if err != nil {
		ln.Close()
		return nil, err
	}
	hs := &HTTPServer{
		handler: h,
		ln:      ln,
		root:    o.Root,
		served:  make(chan struct{}),
		done:    make(chan struct{}),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout:       ReadTimeout,
			IdleTimeout:       IdleTimeout,
			MaxHeaderBytes:    MaxHeaderBytes,
		},
	}
	var serveLn net.Listener = ln
	if _, ok := o.Store.(*store.Bolt); ok {
		hs.handoff = newHandoffListener(ln.Addr())
		hs.fast = newFastPath(h, hs.handoff)
		serveLn = hs.handoff
		go hs.acceptFast()
	}
	go func() {
		err := hs.srv.Serve(serveLn)
		if hs.acceptErr != nil {
			err = hs.acceptErr
		}
		if !errors.Is(err, http.ErrServerClosed) {
			hs.serveErr = err
		}
		close(hs.served)
	}()
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			defer cancel()
			_ = hs.Shutdown(sctx)
		case <-hs.served:
			// Serve failed on its own, or Shutdown (which closes done
			// once the running requests are finished) was called.
			if !hs.shuttingDown.Load() {
				hs.doneOnce.Do(func() { close(hs.done) })
			}
		}
	}()
	return hs, nil
}

// acceptFast accepts connections for the fast path, which hands net/http
// the ones it does not serve. Temporary errors (too many open files) back
// off as net/http's own loop does.
func (h *HTTPServer) acceptFast() {
	var delay time.Duration
	for {
		c, err := h.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			if h.shuttingDown.Load() {
				return // Shutdown stops net/http itself
			}
			h.acceptErr = fmt.Errorf("xcap/server: accept: %w", err)
			_ = h.handoff.Close() // net/http's Serve returns
			return
		}
		delay = 0
		go h.fast.serve(c)
	}
}

// hostPort formats a listener address for a URL ("[::1]:8080" for IPv6).
func hostPort(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip := ta.IP.String()
		if ta.IP.IsUnspecified() {
			ip = "127.0.0.1"
		}
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		return fmt.Sprintf("%s:%d", ip, ta.Port)
	}
	return a.String()
}

// Addr returns the bound address.
func (h *HTTPServer) Addr() net.Addr { return h.ln.Addr() }

// Root returns the XCAP root URL ("http://127.0.0.1:8080/xcap-root").
func (h *HTTPServer) Root() string { return h.root }

// Handler returns the XCAP handler.
func (h *HTTPServer) Handler() *Server { return h.handler }

// Shutdown stops accepting requests and waits for the running ones; when
// ctx ends first, the remaining connections are closed. Afterwards no
// handler touches the store any more, so the caller may close it.
func (h *HTTPServer) Shutdown(ctx context.Context) error {
	h.shuttingDown.Store(true)
	if h.fast != nil {
		_ = h.ln.Close()
		h.fast.shutdown()
	}
	err := h.srv.Shutdown(ctx)
	if err != nil {
		_ = h.srv.Close()
	}
	if h.fast != nil {
		h.fast.wait(ctx.Done())
	}
	<-h.served
	h.doneOnce.Do(func() { close(h.done) })
	return err
}

// Done is closed when the server has stopped: after a Shutdown (also the
// one Listen starts when its ctx ends) has finished, or when serving failed.
func (h *HTTPServer) Done() <-chan struct{} { return h.done }

// Err returns why serving failed, nil after a clean shutdown. It waits for
// Done.
func (h *HTTPServer) Err() error {
	<-h.done
	return h.serveErr
}
