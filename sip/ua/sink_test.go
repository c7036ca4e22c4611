package ua

import (
	"context"
	"sync"
	"testing"
)

// TestSinkReceivesEventsInsteadOfTheChannel: with Options.Sink every event
// goes to the sink, the channel stays empty and is closed by Close, and
// nothing reaches the sink after Close.
func TestSinkReceivesEventsInsteadOfTheChannel(t *testing.T) {
	var mu sync.Mutex
	var got []Event
	u, err := New(Options{AOR: bobAOR, Proxy: "sip:127.0.0.1:9", Sink: func(ev Event) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	u.Subscribe("sip:no-user-part") // refused at once: one SubscriptionEvent
	if err := u.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.Subscribe("sip:also-bad") // after Close: nothing
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("sink got %d events, want 1: %v", len(got), got)
	}
	if s, ok := got[0].(SubscriptionEvent); !ok || s.State != Terminated {
		t.Errorf("sink got %v, want a terminated subscription", got[0])
	}
	if ev, ok := <-u.Events(); ok {
		t.Errorf("the channel carried %v although a sink was set", ev)
	}
}
