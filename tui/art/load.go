package art

import (
	"errors"
	"fmt"
	"image"
	"path/filepath"

	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// LoadFile reads an image file the way an upload does (icon.UploadLimits:
// size, header and pixel-count checks before any pixel is decoded) and
// returns it as the icon buddies receive: centre-cropped and scaled to
// icon.Side pixels. Errors name the file and say what is wrong with it.
func LoadFile(path string) (image.Image, error) {
	data, err := icon.ReadFile(path, icon.UploadLimits.MaxBytes)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	img, _, err := icon.Decode(data, icon.UploadLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if img.Bounds().Empty() {
		return nil, fmt.Errorf("%s: %w", name, errors.New("the image is empty"))
	}
	return icon.Fit(img, icon.Side), nil
}
