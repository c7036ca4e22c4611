package arttest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"regexp"
	"strconv"
	"strings"
)

// Kitty plays the kitty graphics commands of a byte stream back the way a
// kitty terminal keeps them: the images it holds (decoded from their PNG
// transmissions) and the direct placements on screen. Text and other
// escape sequences pass, except cursor positioning (CUP), which direct
// placements use. Every command is checked: a chunk sequence that breaks
// the rules, base64 or PNG that does not decode, a placement or deletion
// of an image the terminal does not hold is an error.
type Kitty struct {
	Images map[uint32]image.Image
	// Placed holds the direct placements: image id and placement id to
	// the cell (x, y) and size (cols, rows).
	Placed map[[2]uint32][4]int
	// Actions lists every command in order: "t 7" (transmitted id 7),
	// "d 7" (image 7 deleted), "p 7" (placed), "dp 7" (placements of 7
	// deleted), "dp *" (every placement deleted).
	Actions []string

	x, y    int
	pending map[string]string // keys of a chunked transmission under way
	payload strings.Builder
}

// NewKitty returns an empty terminal.
func NewKitty() *Kitty {
	return &Kitty{Images: map[uint32]image.Image{}, Placed: map[[2]uint32][4]int{}}
}

var (
	kittyCmd = regexp.MustCompile(`^\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\`)
	cupSeq   = regexp.MustCompile(`^\x1b\[(\d*);?(\d*)H`)
)

// Write feeds the terminal a piece of the stream (whole sequences).
func (k *Kitty) Write(s string) error {
	for len(s) > 0 {
		if m := kittyCmd.FindStringSubmatch(s); m != nil {
			s = s[len(m[0]):]
			if err := k.command(m[1], m[2]); err != nil {
				return err
			}
			continue
		}
		if m := cupSeq.FindStringSubmatch(s); m != nil {
			s = s[len(m[0]):]
			row, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			k.y, k.x = max(row, 1)-1, max(col, 1)-1
			continue
		}
		if strings.HasPrefix(s, "\x1b_G") {
			return fmt.Errorf("unterminated kitty command %q", s[:min(len(s), 40)])
		}
		s = s[1:]
	}
	return nil
}

func parseKeys(ctl string) map[string]string {
	keys := map[string]string{}
	for _, kv := range strings.Split(ctl, ",") {
		if kk, v, ok := strings.Cut(kv, "="); ok {
			keys[kk] = v
		}
	}
	return keys
}

func (k *Kitty) command(ctl, data string) error {
	keys := parseKeys(ctl)
	if k.pending != nil { // a continuation chunk carries only m (and q)
		if len(data) > 4096 {
			return fmt.Errorf("kitty chunk of %d bytes", len(data))
		}
		k.payload.WriteString(data)
		if keys["m"] == "1" {
			return nil
		}
		first := k.pending
		k.pending = nil
		return k.transmit(first)
	}
	a := keys["a"]
	if a == "" {
		a = "t"
	}
	id64, _ := strconv.ParseUint(keys["i"], 10, 32)
	id := uint32(id64)
	switch a {
	case "t", "T":
		k.payload.Reset()
		k.payload.WriteString(data)
		if keys["m"] == "1" {
			k.pending = keys
			return nil
		}
		return k.transmit(keys)
	case "p":
		if _, ok := k.Images[id]; !ok {
			return fmt.Errorf("placement of image %d, which the terminal does not hold", id)
		}
		pid, _ := strconv.ParseUint(keys["p"], 10, 32)
		c, _ := strconv.Atoi(keys["c"])
		r, _ := strconv.Atoi(keys["r"])
		k.Placed[[2]uint32{id, uint32(pid)}] = [4]int{k.x, k.y, c, r}
		k.Actions = append(k.Actions, fmt.Sprintf("p %d", id))
	case "d":
		switch keys["d"] {
		case "a", "A":
			clear(k.Placed)
			k.Actions = append(k.Actions, "dp *")
		case "i":
			for p := range k.Placed {
				if p[0] == id {
					delete(k.Placed, p)
				}
			}
			k.Actions = append(k.Actions, fmt.Sprintf("dp %d", id))
		case "I":
			if _, ok := k.Images[id]; !ok {
				return fmt.Errorf("deletion of image %d, which the terminal does not hold", id)
			}
			delete(k.Images, id)
			for p := range k.Placed {
				if p[0] == id {
					delete(k.Placed, p)
				}
			}
			k.Actions = append(k.Actions, fmt.Sprintf("d %d", id))
		default:
			return fmt.Errorf("kitty deletion %q", ctl)
		}
	case "q":
	default:
		return fmt.Errorf("kitty action %q", ctl)
	}
	return nil
}

func (k *Kitty) transmit(keys map[string]string) error {
	id64, err := strconv.ParseUint(keys["i"], 10, 32)
	if err != nil || id64 == 0 {
		return fmt.Errorf("kitty transmission without an image id: %v", keys)
	}
	if keys["f"] != "100" {
		return fmt.Errorf("kitty transmission of format %q, want PNG (100)", keys["f"])
	}
	data, err := base64.StdEncoding.DecodeString(k.payload.String())
	if err != nil {
		return fmt.Errorf("kitty image %d: base64: %w", id64, err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("kitty image %d: PNG: %w", id64, err)
	}
	k.Images[uint32(id64)] = img
	k.Actions = append(k.Actions, fmt.Sprintf("t %d", id64))
	return nil
}
