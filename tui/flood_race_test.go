//go:build race

package tui

// floodRounds under the race detector: 10,000 NOTIFYs, so that the flood
// still ends within the test's timeout on two shared cores. The full
// 100,000 run without it: go test -run PresenceFlood ./tui.
const floodRounds = 10
