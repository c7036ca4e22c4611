//go:build race

package server

// raceDetector: the race detector changes how much the server allocates
// and keeps (its shadow state, slower goroutines holding buffers longer),
// so the soak's heap comparison means nothing under it. .ci/run runs the
// soak once more without -race.
const raceDetector = true
