package rowsize

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  Size
		lines int
	}{{"", Comfortable, 2}, {"compact", Compact, 1}, {"Comfortable", Comfortable, 2}, {" LARGE ", Large, 4}} {
		got, err := Parse(c.in)
		if err != nil || got != c.want || got.Lines() != c.lines {
			t.Errorf("Parse(%q) = %v (%d lines), %v; want %v (%d lines)", c.in, got, got.Lines(), err, c.want, c.lines)
		}
		if c.in != "" {
			if back, _ := Parse(got.String()); back != got {
				t.Errorf("%v does not survive its name", got)
			}
		}
	}
	if _, err := Parse("huge"); err == nil {
		t.Error("Parse accepted an unknown size")
	}
	if Compact.Next() != Comfortable || Comfortable.Next() != Large || Large.Next() != Compact {
		t.Error("Next does not cycle compact → comfortable → large → compact")
	}
}
