// Package rowsize names the heights a buddy list row can have: the
// row_size setting, the z key and the saved state share these names.
package rowsize

import (
	"fmt"
	"strings"
)

// Size is a list row's size.
type Size int

const (
	// Compact is one line per buddy with a 2x1-cell icon.
	Compact Size = iota
	// Comfortable is two lines per buddy (name and status; address and
	// note) with a 4x2-cell icon: the default.
	Comfortable
	// Large is four lines per buddy with an 8x4-cell icon.
	Large
)

// Default is the size used when none is configured or saved.
const Default = Comfortable

// Names are the names row_size and the saved state accept, smallest first.
var Names = []string{"compact", "comfortable", "large"}

// String names the size as Names does.
func (s Size) String() string {
	if s < Compact || s > Large {
		return Default.String()
	}
	return Names[s]
}

// Lines is the height of a row (and of its icon) in lines; the icon is
// twice as many cells wide.
func (s Size) Lines() int {
	switch s {
	case Compact:
		return 1
	case Large:
		return 4
	}
	return 2
}

// Next is the size the z key steps to after s.
func (s Size) Next() Size {
	return (s + 1) % (Large + 1)
}

// Parse reads a size by name (case-insensitive; "" is Default); an
// unknown name is an error that lists the known ones.
func Parse(name string) (Size, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return Default, nil
	}
	for i, v := range Names {
		if v == n {
			return Size(i), nil
		}
	}
	return Default, fmt.Errorf("unknown row size %q (want %s)", name, strings.Join(Names, ", "))
}
