package ua

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("ua: closed")

// ErrAuthFailed is wrapped by a *ResponseError when the server challenged
// again after we answered its challenge with our credentials (wrong password
// or unknown user).
var ErrAuthFailed = errors.New("ua: authentication failed")

// ResponseError is a final non-2xx response to one of our requests.
type ResponseError struct {
	Method string
	// StatusCode is the SIP status code, named like sipgo's
	// sip.Response.StatusCode, net/http's and xcap.Error's.
	StatusCode int
	Reason     string
	// RetryAfter is the Retry-After header of the response, 0 if absent.
	RetryAfter time.Duration
	// MinExpires is the Min-Expires header of a 423, 0 if absent.
	MinExpires time.Duration
	// Err is ErrAuthFailed for a challenge we could not satisfy, else nil.
	Err error
}

// Error reads like "SUBSCRIBE: 403 Forbidden".
func (e *ResponseError) Error() string {
	s := fmt.Sprintf("%s: %d %s", e.Method, e.StatusCode, e.Reason)
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap returns ErrAuthFailed for authentication failures.
func (e *ResponseError) Unwrap() error { return e.Err }

func newResponseError(method sip.RequestMethod, res *sip.Response) *ResponseError {
	return &ResponseError{
		Method:     string(method),
		StatusCode: res.StatusCode,
		Reason:     res.Reason,
		RetryAfter: headerSeconds(res, "Retry-After"),
		MinExpires: headerSeconds(res, "Min-Expires"),
	}
}

// headerSeconds reads a delta-seconds header such as Expires or Retry-After
// (ignoring comments and parameters: "120 (lunch);duration=60"); 0 when
// absent or malformed.
func headerSeconds(m headerGetter, name string) time.Duration {
	n, ok := headerInt(m, name)
	if !ok {
		return 0
	}
	return time.Duration(n) * time.Second
}

// headerInt reads a non-negative integer header, capped at
// header.MaxDeltaSeconds-like bounds (a day is plenty for every timer here).
func headerInt(m headerGetter, name string) (int, bool) {
	h := m.GetHeader(name)
	if h == nil {
		return 0, false
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexAny(v, " \t;("); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, false
	}
	if n > maxTimerSeconds {
		n = maxTimerSeconds
	}
	return int(n), true
}

// headerGetter is what requests and responses share for reading headers.
type headerGetter interface {
	GetHeader(name string) sip.Header
}

// maxTimerSeconds bounds every expiry and retry interval taken from the
// wire, so a hostile or broken server cannot park a timer for years.
const maxTimerSeconds = 86400
