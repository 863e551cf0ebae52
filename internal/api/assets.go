package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/store"
)

// uploadRaw is POST /v1/asset: the file is the body, its type the
// Content-Type.
func (h *handler) uploadRaw(w http.ResponseWriter, r *http.Request) {
	mt, ok := videoType(r.Header.Get("Content-Type"))
	if !ok {
		writeError(w, clipping.ErrUnsupportedMediaType(r.Header.Get("Content-Type"), "video/*"))
		return
	}
	h.saveAsset(w, r, r.Body, mt, "")
}

// uploadForm is POST /v3/assets: a multipart form whose field "file" is
// the video. The part is streamed to disk, never held in memory.
func (h *handler) uploadForm(w http.ResponseWriter, r *http.Request) {
	// The cap covers the whole form: the file and up to 1 MB of other fields.
	r.Body = http.MaxBytesReader(w, r.Body, h.MaxUpload+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, clipping.ErrUnsupportedMediaType(r.Header.Get("Content-Type"), "multipart/form-data"))
		return
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			if errors.Is(err, io.EOF) {
				writeError(w, clipping.InvalidParam("file", "The form has no field \"file\" with the video."))
				return
			}
			if tooBig(err) {
				writeError(w, clipping.ErrTooLarge(h.MaxUpload))
				return
			}
			writeError(w, clipping.InvalidParam("file", "The multipart form could not be read."))
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		mt, ok := videoType(part.Header.Get("Content-Type"))
		if !ok || mt == "application/octet-stream" {
			// Clients often send octet-stream; the file name says more.
			if byName, known := clipping.VideoType(part.FileName()); known {
				mt, ok = byName, true
			}
		}
		if !ok {
			writeError(w, clipping.ErrUnsupportedMediaType(part.Header.Get("Content-Type"), "video/*"))
			return
		}
		h.saveAsset(w, r, part, mt, part.FileName())
		return
	}
}

// videoType accepts video types, and octet-stream for clients that do not
// know; "video/mp4; codecs=..." becomes "video/mp4".
func videoType(ct string) (string, bool) {
	if ct == "" {
		return "application/octet-stream", true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", false
	}
	return mt, strings.HasPrefix(mt, "video/") || mt == "application/octet-stream"
}

func tooBig(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// saveAsset streams src to the assets folder under a new id, refusing more
// than MaxUpload bytes, and records it. The file keeps the name it was
// uploaded with (made safe), under a folder named by the id: a job on it is
// titled by that name, as a job on a URL is by the URL's file name.
func (h *handler) saveAsset(w http.ResponseWriter, r *http.Request, src io.Reader, mimeType, name string) {
	id := engine.NewID()
	dir := filepath.Join(h.DataDir, "assets", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.fail(w, r, err)
		return
	}
	final := filepath.Join(dir, safeName(name, "upload"))
	f, err := os.CreateTemp(dir, id+".part-")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	n, err := io.Copy(&diskWriter{f}, io.LimitReader(src, h.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var werr *diskError
	switch {
	case err != nil && tooBig(err), n > h.MaxUpload:
		writeError(w, clipping.ErrTooLarge(h.MaxUpload))
		return
	case errors.As(err, &werr):
		h.fail(w, r, werr.err) // our disk, not the client's fault: a 500
		return
	case err != nil:
		// The client went away or its body broke off. That is no answer to
		// remember under an Idempotency-Key: a retry must be able to finish.
		noReplay(w)
		writeError(w, clipping.InvalidParam("file", "The upload was cut short after %d bytes; send it again.", n))
		return
	case n == 0:
		writeError(w, clipping.InvalidParam("file", "The uploaded file is empty."))
		return
	}
	if err := os.Rename(f.Name(), final); err != nil {
		h.fail(w, r, err)
		return
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	a := &store.Asset{ID: id, Owner: ownerOf(r), Path: final, MimeType: mimeType, Size: n, CreatedAt: h.Now()}
	if err := h.Store.CreateAsset(r.Context(), a); err != nil {
		h.fail(w, r, err)
		return
	}
	ok = true
	u := h.Files.URL(h.PublicURL, "/assets/"+id, h.Files.Expiry(h.Now()))
	writeJSON(w, http.StatusOK, clipping.Data[clipping.Asset]{Data: clipping.Asset{
		AssetID: id, URL: u, MimeType: mimeType, SizeBytes: n,
	}})
}

// diskWriter marks write errors as the server's own, so that a full disk is
// told apart from a client that stopped sending.
type diskWriter struct{ f *os.File }

type diskError struct{ err error }

func (e *diskError) Error() string { return e.err.Error() }

func (d *diskWriter) Write(p []byte) (int, error) {
	n, err := d.f.Write(p)
	if err != nil {
		return n, &diskError{err}
	}
	return n, nil
}

// safeName keeps the letters, digits and a few marks of an uploaded file's
// base name, so it can name a file on disk; def when nothing is left.
func safeName(name, def string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == ' ':
			b.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), ". ")
	if len(s) > 120 {
		s = s[:120]
	}
	if s == "" {
		return def
	}
	return s
}
