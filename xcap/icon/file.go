package icon

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// ReadFile reads a whole regular file of at most limit bytes. A larger file
// is an *xmltree.LimitError (WhatFile), found from its size before anything is read
// and checked again while reading (the file may grow); a directory or a
// device is refused. Errors name the file by its base name, as a person
// picked it.
func ReadFile(path string, limit int64) ([]byte, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %w", name, xmltree.TooLarge(WhatFile, st.Size(), limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w", name, xmltree.TooLarge(WhatFile, int64(len(data)), limit))
	}
	return data, nil
}

// ContentHash is the hash an icon is known by: the SHA-1 of its encoded
// bytes in lower-case hex, as PIDF icon URLs carry it in their "#<sha1>"
// fragment and OMA pres-content documents in their hash.
func ContentHash(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}
