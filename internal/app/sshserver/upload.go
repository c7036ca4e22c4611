package sshserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"charm.land/ssh"
	"charm.land/wish/v2/scp"
	"github.com/pkg/sftp"
)

// Pictures reach the sandbox two ways: the classic scp protocol (`scp -O`,
// and OpenSSH before 9.0) through wish's scp middleware, and SFTP, which
// OpenSSH's scp uses by default since 9.0. Both are write-only into the
// flat sandbox; nothing else on the server can be read or listed.

// scpHandler receives `scp pic.png carol@host:` (scp -t).
type scpHandler struct{ s *Server }

var _ scp.CopyFromClientHandler = scpHandler{}

// Mkdir refuses directories (scp -r).
func (h scpHandler) Mkdir(ssh.Session, *scp.DirEntry) error { return ErrNoDirectories }

// Write stores one file. A target that names a picture ("host:me.png")
// renames it; any directory in the target is ignored: the sandbox is flat.
func (h scpHandler) Write(sess ssh.Session, e *scp.FileEntry) (int64, error) {
	sb, err := h.s.sandboxOf(sess)
	if err != nil {
		return 0, err
	}
	name := e.Name
	if target := filepath.Base(filepath.Dir(e.Filepath)); validPictureName(target) == nil {
		name = target
	}
	u, err := sb.begin(name, e.Size)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(u, io.LimitReader(e.Reader, MaxUploadBytes+1))
	if err == nil && n > MaxUploadBytes {
		err = ErrUploadTooLarge
	}
	if err != nil {
		u.abort()
		return n, err
	}
	if err := u.finish(); err != nil {
		return n, err
	}
	h.s.logger.Info("picture received", "user", sess.User(), "name", name, "bytes", n)
	return n, nil
}

// sftpHandlers serves one session's SFTP requests on its sandbox: "/" is
// the sandbox, "/gallery" the bundled icons.
type sftpHandlers struct {
	s    *Server
	sess ssh.Session
	sb   *sandbox
}

func (s *Server) serveSFTP(sess ssh.Session) {
	if err := ValidUser(sess.User()); err != nil {
		fmt.Fprintf(sess.Stderr(), "sipbuddy: %v\r\n", err)
		_ = sess.Exit(1)
		return
	}
	sb, err := s.sandboxOf(sess)
	if err != nil {
		s.logger.Error("sftp sandbox", "user", sess.User(), "err", err)
		_ = sess.Exit(1)
		return
	}
	h := &sftpHandlers{s: s, sess: sess, sb: sb}
	srv := sftp.NewRequestServer(sess, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		s.logger.Debug("sftp", "user", sess.User(), "err", err)
	}
	// Exit before Close: closing the channel first would lose the exit
	// status, and scp would report a failure.
	_ = sess.Exit(0)
	_ = srv.Close()
}

// sftpPath maps an SFTP path to a picture name at the sandbox's top, or
// "" for the root.
func sftpName(p string) (string, error) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "", nil
	}
	if strings.Contains(p, "/") {
		return "", sftp.ErrSSHFxPermissionDenied
	}
	return p, nil
}

// Fileread refuses downloads: the sandbox is for sending pictures.
func (h *sftpHandlers) Fileread(*sftp.Request) (io.ReaderAt, error) {
	return nil, sftp.ErrSSHFxPermissionDenied
}

// Filewrite starts an upload; Close on the returned writer checks and
// stores it.
func (h *sftpHandlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	name, err := sftpName(r.Filepath)
	if err != nil || name == "" {
		return nil, sftp.ErrSSHFxPermissionDenied
	}
	u, err := h.sb.begin(name, -1)
	if err != nil {
		return nil, err
	}
	return &sftpUpload{upload: u, h: h}, nil
}

type sftpUpload struct {
	*upload
	h *sftpHandlers
}

// Close is called by the SFTP server when the client closes the handle.
func (u *sftpUpload) Close() error {
	if err := u.finish(); err != nil {
		return err
	}
	u.h.s.logger.Info("picture received", "user", u.h.sess.User(), "name", u.name, "bytes", u.size)
	return nil
}

// TransferError is called when the session ends mid-transfer.
func (u *sftpUpload) TransferError(error) { u.abort() }

// Filecmd accepts the attribute changes scp sends after a copy (and
// ignores them) and refuses the rest.
func (h *sftpHandlers) Filecmd(r *sftp.Request) error {
	if r.Method == "Setstat" {
		return nil
	}
	return sftp.ErrSSHFxPermissionDenied
}

// Filelist answers Stat and List for the root, the gallery and the
// pictures in it (scp stats its target before writing).
func (h *sftpHandlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	clean := path.Clean("/" + r.Filepath)
	dir := h.sb.dir
	if clean == "/"+GalleryDir || strings.HasPrefix(clean, "/"+GalleryDir+"/") {
		dir = filepath.Join(h.sb.dir, GalleryDir)
		clean = strings.TrimPrefix(clean, "/"+GalleryDir)
		if clean == "" {
			clean = "/"
		}
	}
	name, err := sftpName(clean)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case "List":
		if name != "" {
			return nil, sftp.ErrSSHFxNoSuchFile
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		var infos listerAt
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if info, err := e.Info(); err == nil {
				infos = append(infos, info)
			}
		}
		return infos, nil
	case "Stat", "Lstat":
		p := dir
		if name != "" {
			p = filepath.Join(dir, name)
		}
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&fs.ModeSymlink != 0 {
			return nil, sftp.ErrSSHFxNoSuchFile
		}
		return listerAt{info}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

type listerAt []os.FileInfo

// ListAt implements sftp.ListerAt.
func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}
