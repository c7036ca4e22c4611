package art

import (
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// LoadFile reads an image file the way an upload does (icon.UploadLimits:
// size, header and pixel-count checks before any pixel is decoded) and
// returns it as the icon buddies receive: centre-cropped and scaled to
// icon.Side pixels. Errors name the file and say what is wrong with it.
func LoadFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	limit := icon.UploadLimits.MaxBytes
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w", name, &icon.LimitError{What: icon.WhatFile, Limit: limit, Actual: max(st.Size(), int64(len(data)))})
	}
	img, _, err := icon.Decode(data, icon.UploadLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if img.Bounds().Empty() {
		return nil, fmt.Errorf("%s: %w", name, errors.New("the image is empty"))
	}
	return icon.Fit(img, icon.Side), nil
}
