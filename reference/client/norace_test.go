//go:build !race

package client

// raceEnabled: the race detector inflates memory figures.
const raceEnabled = false
