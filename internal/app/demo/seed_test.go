package demo

import "testing"

// TestSeedIsReproducible: the same seed gives every buddy the same sequence
// of moods.
func TestSeedIsReproducible(t *testing.T) {
	seq := func(seed uint64) []string {
		w := &World{opts: Options{Seed: seed}}
		s := &simulated{w: w}
		var out []string
		for i := range 3 {
			s.rng = newRand(seed, i)
			for range 5 {
				m := pickMood(s.rng)
				out = append(out, m.notes[s.rng.IntN(len(m.notes))])
			}
		}
		return out
	}
	a, b, c := seq(42), seq(42), seq(43)
	if len(a) != len(b) {
		t.Fatal("length differs")
	}
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 gave %q then %q at step %d", a[i], b[i], i)
		}
		if a[i] != c[i] {
			same = false
		}
	}
	if same {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
}
