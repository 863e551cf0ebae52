package local

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// stateDir holds the local server's database, secrets and executions
// inside the data folder; the S3 endpoint must never show it.
const stateDir = ".clipmill"

// hiddenFs is the bucket's view of the data folder: everything but the
// state folder, which no S3 request can read, list, write or delete.
type hiddenFs struct{ afero.Fs }

func hidden(name string) bool {
	n := strings.TrimLeft(filepath.ToSlash(filepath.Clean(name)), "/")
	return n == stateDir || strings.HasPrefix(n, stateDir+"/")
}

func (h hiddenFs) Create(name string) (afero.File, error) {
	if hidden(name) {
		return nil, os.ErrPermission
	}
	return h.Fs.Create(name)
}

func (h hiddenFs) Mkdir(name string, perm os.FileMode) error {
	if hidden(name) {
		return os.ErrPermission
	}
	return h.Fs.Mkdir(name, perm)
}

func (h hiddenFs) MkdirAll(name string, perm os.FileMode) error {
	if hidden(name) {
		return os.ErrPermission
	}
	return h.Fs.MkdirAll(name, perm)
}

func (h hiddenFs) Open(name string) (afero.File, error) {
	if hidden(name) {
		return nil, os.ErrNotExist
	}
	f, err := h.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return hiddenDir{f}, nil
}

func (h hiddenFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if hidden(name) {
		return nil, os.ErrNotExist
	}
	f, err := h.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return hiddenDir{f}, nil
}

func (h hiddenFs) Remove(name string) error {
	if hidden(name) {
		return os.ErrNotExist
	}
	return h.Fs.Remove(name)
}

func (h hiddenFs) RemoveAll(name string) error {
	if hidden(name) || filepath.Clean(name) == "." || filepath.Clean(name) == "/" {
		return os.ErrPermission
	}
	return h.Fs.RemoveAll(name)
}

func (h hiddenFs) Rename(oldname, newname string) error {
	if hidden(oldname) || hidden(newname) {
		return os.ErrPermission
	}
	return h.Fs.Rename(oldname, newname)
}

func (h hiddenFs) Stat(name string) (os.FileInfo, error) {
	if hidden(name) {
		return nil, os.ErrNotExist
	}
	return h.Fs.Stat(name)
}

func (h hiddenFs) Chmod(name string, mode os.FileMode) error {
	if hidden(name) {
		return os.ErrNotExist
	}
	return h.Fs.Chmod(name, mode)
}

func (h hiddenFs) Chtimes(name string, atime, mtime time.Time) error {
	if hidden(name) {
		return os.ErrNotExist
	}
	return h.Fs.Chtimes(name, atime, mtime)
}

func (h hiddenFs) Chown(name string, uid, gid int) error {
	if hidden(name) {
		return os.ErrNotExist
	}
	return h.Fs.Chown(name, uid, gid)
}

// hiddenDir leaves the state folder out of directory listings.
type hiddenDir struct{ afero.File }

func (d hiddenDir) Readdir(n int) ([]os.FileInfo, error) {
	infos, err := d.File.Readdir(n)
	out := infos[:0]
	for _, fi := range infos {
		if !hidden(filepath.Join(d.Name(), fi.Name())) {
			out = append(out, fi)
		}
	}
	return out, err
}

func (d hiddenDir) Readdirnames(n int) ([]string, error) {
	names, err := d.File.Readdirnames(n)
	out := names[:0]
	for _, name := range names {
		if !hidden(filepath.Join(d.Name(), name)) {
			out = append(out, name)
		}
	}
	return out, err
}
