package sshserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// Limits of the pictures a visitor sends with scp/sftp.
const (
	// MaxUploadBytes bounds one picture.
	MaxUploadBytes = 5 << 20
	// MaxUploadSide and MaxUploadPixels bound its dimensions (checked from
	// the header, nothing is decoded).
	MaxUploadSide   = 8192
	MaxUploadPixels = 24_000_000
	// MaxSandboxBytes and MaxSandboxFiles bound what one user keeps
	// (the bundled gallery is not counted).
	MaxSandboxBytes = 32 << 20
	MaxSandboxFiles = 64
	// MaxTotalSandboxBytes bounds the disk all sandboxes take together,
	// their gallery copies included: new sandboxes and uploads past it
	// are refused.
	MaxTotalSandboxBytes = 512 << 20
	// UploadBurst uploads may be made at once, then one per
	// UploadInterval (per user).
	UploadBurst    = 5
	UploadInterval = 10 * time.Second
	// MaxPictureNameBytes bounds an uploaded file's name.
	MaxPictureNameBytes = 100
)

// GalleryDir is the sub-directory of a sandbox that holds the bundled icons.
const GalleryDir = "gallery"

// uploadLimits is what an uploaded picture is checked against.
var uploadLimits = icon.Limits{MaxBytes: MaxUploadBytes, MaxPixels: MaxUploadPixels, MaxSide: MaxUploadSide}

// Upload errors; the visitor's scp prints them.
var (
	ErrUploadTooLarge = fmt.Errorf("a picture may be at most %d MiB", MaxUploadBytes>>20)
	ErrQuota          = fmt.Errorf("your picture folder is full (at most %d files, %d MiB): remove some first", MaxSandboxFiles, MaxSandboxBytes>>20)
	ErrRateLimited    = fmt.Errorf("too many uploads: wait %s", UploadInterval)
	ErrServerStorage  = fmt.Errorf("the server's picture storage is full (%d MiB for everyone); please try again later", MaxTotalSandboxBytes>>20)
	ErrBadPictureName = errors.New("the file name must be a simple name ending in .png, .jpg, .jpeg, .gif or .webp")
	ErrNoDirectories  = errors.New("only single pictures are accepted, not directories")
	errUploadAborted  = errors.New("upload interrupted")
)

// pictureExtensions are the uploads accepted (the picker offers the same).
var pictureExtensions = []string{".png", ".jpg", ".jpeg", ".gif", ".webp"}

// validPictureName accepts a flat, visible file name with an image
// extension.
func validPictureName(name string) error {
	if name == "" || len(name) > MaxPictureNameBytes || name[0] == '.' || name == GalleryDir {
		return ErrBadPictureName
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' || r == ' ' || r == '+'
		if !ok {
			return ErrBadPictureName
		}
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range pictureExtensions {
		if ext == e {
			return nil
		}
	}
	return ErrBadPictureName
}

// sandboxes hands out one sandbox per user, shared by that user's sessions
// and uploads, and keeps the disk they take together below maxBytes.
type sandboxes struct {
	root     string
	maxBytes int64

	mu      sync.Mutex
	byUser  map[string]*sandbox
	counted bool  // used holds what root held at first use, plus changes since
	used    int64 // bytes of every file under root
}

func newSandboxes(root string, maxBytes int64) *sandboxes {
	return &sandboxes{root: root, maxBytes: maxBytes, byUser: map[string]*sandbox{}}
}

// get returns user's sandbox, creating its directory (with the gallery)
// on first use. user must have passed ValidUser.
func (s *sandboxes) get(user string) (*sandbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb, ok := s.byUser[user]; ok {
		return sb, nil
	}
	if err := s.countLocked(); err != nil {
		return nil, err
	}
	sb := &sandbox{boxes: s, dir: filepath.Join(s.root, user), tokens: UploadBurst, refilled: time.Now()}
	if err := sb.prepare(); err != nil {
		return nil, err
	}
	s.byUser[user] = sb
	return sb, nil
}

// countLocked sums the files under root once (sandboxes of earlier runs
// count too).
func (s *sandboxes) countLocked() error {
	if s.counted {
		return nil
	}
	var total int64
	err := filepath.WalkDir(s.root, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	s.used, s.counted = total, true
	return nil
}

// reserve adds n bytes (negative: frees them) if the total stays within
// maxBytes.
func (s *sandboxes) reserve(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.countLocked(); err != nil {
		return err
	}
	if n > 0 && s.used+n > s.maxBytes {
		return ErrServerStorage
	}
	s.used += n
	return nil
}

// sandbox is one user's picture directory: the files the user sent and the
// bundled gallery. The icon picker starts here.
type sandbox struct {
	boxes *sandboxes
	dir   string

	mu       sync.Mutex // serialises quota checks and renames
	tokens   int
	refilled time.Time
}

// prepare creates the directory and the gallery copy; the caller holds
// boxes.mu.
func (sb *sandbox) prepare() error {
	gallery := filepath.Join(sb.dir, GalleryDir)
	var missing int64
	for _, ic := range assets.Gallery() {
		if _, err := os.Stat(filepath.Join(gallery, ic.Name)); err != nil {
			missing += int64(len(ic.PNG))
		}
	}
	if sb.boxes.used+missing > sb.boxes.maxBytes {
		return ErrServerStorage
	}
	if err := os.MkdirAll(gallery, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	for _, ic := range assets.Gallery() {
		p := filepath.Join(gallery, ic.Name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.WriteFile(p, ic.PNG, 0o600); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		sb.boxes.used += int64(len(ic.PNG))
	}
	return nil
}

// takeToken applies the upload rate limit.
func (sb *sandbox) takeToken(now time.Time) error {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if n := int(now.Sub(sb.refilled) / UploadInterval); n > 0 {
		sb.tokens = min(UploadBurst, sb.tokens+n)
		sb.refilled = sb.refilled.Add(time.Duration(n) * UploadInterval)
	}
	if sb.tokens == 0 {
		return ErrRateLimited
	}
	sb.tokens--
	return nil
}

// usage returns the bytes and files the user's uploads take (other
// uploads in flight included), without the files named in except (the
// upload being finished and the file it is about to replace).
func (sb *sandbox) usage(except ...string) (int64, int, error) {
	entries, err := os.ReadDir(sb.dir)
	if err != nil {
		return 0, 0, err
	}
	var total int64
	var files int
	for _, e := range entries {
		if !e.Type().IsRegular() || slices.Contains(except, e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		total += info.Size()
		files++
	}
	return total, files, nil
}

// upload is one picture being received: a hidden temporary file that
// becomes name when it is complete and checked.
type upload struct {
	sb      *sandbox
	name    string
	f       *os.File
	size    int64 // highest offset written
	done    bool
	aborted bool
}

// begin starts receiving name; declared is the size announced by scp
// (-1 when unknown, as with sftp).
func (sb *sandbox) begin(name string, declared int64) (*upload, error) {
	if err := validPictureName(name); err != nil {
		return nil, err
	}
	if declared > MaxUploadBytes {
		return nil, ErrUploadTooLarge
	}
	if err := sb.takeToken(time.Now()); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(sb.dir, ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return &upload{sb: sb, name: name, f: f}, nil
}

// WriteAt implements io.WriterAt (sftp writes at offsets).
func (u *upload) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > MaxUploadBytes {
		return 0, ErrUploadTooLarge
	}
	n, err := u.f.WriteAt(p, off)
	u.size = max(u.size, off+int64(n))
	return n, err
}

// Write appends (scp streams the file).
func (u *upload) Write(p []byte) (int, error) { return u.WriteAt(p, u.size) }

// finish checks the received file and, if it is a usable picture within
// the quota, stores it under its name.
func (u *upload) finish() error {
	if u.aborted {
		return errUploadAborted
	}
	if u.done {
		return nil
	}
	u.done = true
	tmp := u.f.Name()
	defer os.Remove(tmp) // after a successful rename it is gone already
	if _, err := u.f.Seek(0, io.SeekStart); err != nil {
		u.f.Close()
		return fmt.Errorf("upload: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(u.f, MaxUploadBytes+1))
	closeErr := u.f.Close()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if closeErr != nil {
		return fmt.Errorf("upload: %w", closeErr)
	}
	if len(data) > MaxUploadBytes {
		return ErrUploadTooLarge
	}
	if _, err := icon.Check(data, uploadLimits); err != nil {
		return fmt.Errorf("%s is not a usable picture: %w", u.name, err)
	}
	u.sb.mu.Lock()
	defer u.sb.mu.Unlock()
	total, files, err := u.sb.usage(u.name, filepath.Base(tmp))
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if files+1 > MaxSandboxFiles || total+int64(len(data)) > MaxSandboxBytes {
		return ErrQuota
	}
	dst := filepath.Join(u.sb.dir, u.name)
	var replaced int64
	if info, err := os.Lstat(dst); err == nil && info.Mode().IsRegular() {
		replaced = info.Size()
	}
	if err := u.sb.boxes.reserve(int64(len(data)) - replaced); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = u.sb.boxes.reserve(replaced - int64(len(data)))
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

// abort drops a partial upload.
func (u *upload) abort() {
	if u.done {
		return
	}
	u.done, u.aborted = true, true
	u.f.Close()
	os.Remove(u.f.Name())
}
