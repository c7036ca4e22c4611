package art

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// Placeholder colours for HalfBlock mode: a neutral grey tile that reads on
// dark and light terminals alike.
const (
	placeholderBG = "\x1b[38;2;208;208;208;48;2;88;88;88m"
	reset         = "\x1b[m"
)

// Placeholder draws a neutral tile with the initials of label (a display
// name or a SIP URI; "?" when there are none) for a buddy without an icon or
// whose icon failed to load. Like Render it returns exactly rows lines of
// exactly cols cells. HalfBlock gives a grey tile, ASCII and Plain an ASCII
// box without colour. Only letters and digits of label are used, so a
// hostile display name cannot inject escape sequences.
func Placeholder(cols, rows int, label string, m Mode) string {
	cols, rows = clampSize(cols, rows)
	if cols == 0 || rows == 0 {
		return ""
	}
	if m != ASCII && m != Plain {
		m = HalfBlock
	}
	ini := Initials(label)
	boxed := m != HalfBlock && cols >= 4 && rows >= 3
	inner := cols
	if boxed {
		inner = cols - 2
	}
	if ansi.StringWidth(ini) > inner {
		ini = ansi.Truncate(ini, inner, "")
	}
	mid := (rows - 1) / 2
	var b strings.Builder
	for y := 0; y < rows; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		switch {
		case boxed && (y == 0 || y == rows-1):
			b.WriteString("+" + strings.Repeat("-", cols-2) + "+")
			continue
		case boxed:
			b.WriteByte('|')
		case m == HalfBlock:
			b.WriteString(placeholderBG)
		}
		text := ""
		if y == mid {
			text = ini
		}
		w := ansi.StringWidth(text)
		left := (inner - w) / 2
		b.WriteString(strings.Repeat(" ", left))
		b.WriteString(text)
		b.WriteString(strings.Repeat(" ", inner-w-left))
		switch {
		case boxed:
			b.WriteByte('|')
		case m == HalfBlock:
			b.WriteString(reset)
		}
	}
	return b.String()
}

// Initials returns up to two upper-case initials of a display name or SIP
// URI: "Ada Lovelace" → "AL", "sip:grace@example.test" → "G", "" → "?".
func Initials(label string) string {
	label = strings.TrimSpace(label)
	lower := strings.ToLower(label)
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if strings.HasPrefix(lower, scheme) {
			label = label[len(scheme):]
			if at := strings.IndexByte(label, '@'); at >= 0 {
				label = label[:at]
			}
			break
		}
	}
	words := strings.FieldsFunc(label, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var firsts []rune
	for _, w := range words {
		for _, r := range w {
			if ansi.StringWidth(string(r)) > 0 {
				firsts = append(firsts, unicode.ToUpper(r))
				break
			}
		}
	}
	switch len(firsts) {
	case 0:
		return "?"
	case 1:
		return string(firsts[0])
	}
	return string([]rune{firsts[0], firsts[len(firsts)-1]})
}
