package api

import (
	"errors"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

// fileName is what a clip or asset file may be called: no separators, so
// a name can never reach outside its folder.
var fileName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}(\.[a-z0-9]{1,8})?$`)

func (h *handler) jobFile(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("job"), r.PathValue("name")
	if err := h.Files.Check(r, h.Now()); err != nil {
		writeError(w, &clipping.Error{Code: clipping.CodeAuthenticationFailed, Message: err.Error()})
		return
	}
	if !fileName.MatchString(id) || !fileName.MatchString(name) {
		writeError(w, clipping.ErrNotFound("File"))
		return
	}
	// A deleted job's files are gone for its clients, even with a valid link.
	if _, err := h.Store.GetJob(r.Context(), "", id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, clipping.ErrNotFound("File"))
			return
		}
		h.fail(w, r, err)
		return
	}
	h.serveFile(w, r, filepath.Join(h.DataDir, "jobs", id, name), "")
}

func (h *handler) assetFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.Files.Check(r, h.Now()); err != nil {
		writeError(w, &clipping.Error{Code: clipping.CodeAuthenticationFailed, Message: err.Error()})
		return
	}
	a, err := h.Store.GetAsset(r.Context(), "", id)
	if err == nil && a.Status != store.AssetReady {
		err = store.ErrNotFound // a direct upload not yet completed
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, clipping.ErrNotFound("Asset"))
			return
		}
		h.fail(w, r, err)
		return
	}
	h.serveFile(w, r, a.Path, a.MimeType)
}

// serveFile answers with the file, with ranges, so players can seek.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, path, mimeType string) {
	f, err := os.Open(path)
	if err != nil {
		writeError(w, clipping.ErrNotFound("File"))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		writeError(w, clipping.ErrNotFound("File"))
		return
	}
	if mimeType == "" {
		mimeType = contentType(path)
	}
	w.Header().Set("Content-Type", mimeType)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if !satisfiable(r.Header.Get("Range"), st.Size()) {
		// A server may ignore Range: the whole file beats a text/plain 416.
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// satisfiable reports whether a Range header asks for at least one byte of
// a file of size bytes (or is absent or unreadable, which ServeContent
// handles itself).
func satisfiable(header string, size int64) bool {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return true
	}
	for _, part := range strings.Split(spec, ",") {
		first, _, _ := strings.Cut(strings.TrimSpace(part), "-")
		if first == "" { // a suffix range: the last N bytes
			return size > 0
		}
		if n, err := strconv.ParseInt(first, 10, 64); err != nil || n < size {
			return true
		}
	}
	return false
}

func contentType(path string) string {
	switch filepath.Ext(path) {
	case ".mp4":
		return "video/mp4"
	case ".jpg":
		return "image/jpeg"
	case ".srt":
		return "application/x-subrip; charset=utf-8"
	case ".vtt":
		return "text/vtt; charset=utf-8"
	}
	if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// present turns a stored job into what clients see: clip file names become
// signed URLs with their expiry.
func (h *handler) present(j clipping.Job) clipping.Job {
	return h.Files.Present(j, h.PublicURL, h.Now())
}
