//go:build !race

package tui

// floodRounds is the number of presence changes per buddy in
// TestPresenceFloodWhileTheUIRuns: 100,000 NOTIFYs in all.
const floodRounds = 100
