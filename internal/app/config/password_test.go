package config

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A password_command that never answers is stopped at password_timeout,
// grandchildren included, and the message says what happened and what to
// change. Before, `sh -c "sleep 100"` held the caller for the full 100 s.
func TestPasswordCommandTimeout(t *testing.T) {
	t.Setenv(EnvPassword, "")
	a := Account{Account: "sip:a@b", PasswordCommand: "sleep 100; echo late", PasswordTimeout: "300ms"}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.ResolvePassword(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no answer within 300ms and was stopped") {
			t.Fatalf("error = %v", err)
		}
	case <-time.After(30 * time.Second): // a safety net, not a measurement
		t.Fatal("password_command was not stopped at its timeout")
	}
}

func TestPasswordTimeoutSetting(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"", DefaultPasswordCommandTimeout, false},
		{"2s", 2 * time.Second, false},
		{"1m", time.Minute, false},
		{"soon", 0, true},
		{"-1s", 0, true},
		{"1h", 0, true},
	} {
		a := Account{Account: "sip:a@b", PasswordCommand: "true", PasswordTimeout: tc.in}
		err := a.Validate()
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "password_timeout") {
				t.Errorf("%q: error = %v, want one naming password_timeout", tc.in, err)
			}
			continue
		}
		if got, _ := a.passwordTimeout(); err != nil || got != tc.want {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
}
