//go:build !race

package server

// raceDetector is false: the soak's heap comparison holds (see
// soak_race_test.go).
const raceDetector = false
