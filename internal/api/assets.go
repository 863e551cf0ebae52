package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/ids"
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
	id := ids.New()
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
		// The client went away, stalled, or its body broke off. That is no
		// answer to remember under an Idempotency-Key: a retry must be able
		// to finish.
		noReplay(w)
		writeError(w, h.cutShort("file", n, err))
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
	a := &store.Asset{ID: id, Owner: ownerOf(r), Path: final, MimeType: mimeType, Size: n, CreatedAt: h.Now(),
		Name: filepath.Base(final), Status: store.AssetReady}
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

// cutShort is the 400 for a body that stopped before its end.
func (h *handler) cutShort(param string, n int64, err error) *clipping.Error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return clipping.InvalidParam(param, "The upload stalled: nothing came for %v after %d bytes; send it again.", h.BodyIdle, n)
	}
	return clipping.InvalidParam(param, "The upload was cut short after %d bytes; send it again.", n)
}

// assetObject is HeyGen's asset: GET /v3/assets/{id} and the items of
// GET /v3/assets. clipmill has no folders, and each API key is a space of
// its own, owned by the key's user.
type assetObject struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Owner      string  `json:"owner"`
	SpaceID    string  `json:"space_id"`
	UploadedAt int64   `json:"uploaded_at"`
	URL        *string `json:"url"`
	FolderID   *string `json:"folder_id"`
}

// assetList is the body of GET /v3/assets.
type assetList struct {
	Data      []assetObject `json:"data"`
	HasMore   bool          `json:"has_more"`
	NextToken *string       `json:"next_token"`
}

func (h *handler) assetObject(a *store.Asset) assetObject {
	kind, _, _ := strings.Cut(a.MimeType, "/")
	if kind != "video" && kind != "audio" && kind != "image" {
		kind = "video" // octet-stream: clipmill takes only videos
	}
	u := h.Files.URL(h.PublicURL, "/assets/"+a.ID, h.Files.Expiry(h.Now()))
	return assetObject{ID: a.ID, Name: a.Name, Type: kind, Owner: a.Owner, SpaceID: a.Owner,
		UploadedAt: a.CreatedAt.Unix(), URL: &u}
}

// listAssets is GET /v3/assets: the key's ready assets, newest first.
// HeyGen's CLI sends username (the owner in users/me) and may send
// folder_id: another user's assets, or any folder but the root, are
// none of this key's.
func (h *handler) listAssets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := h.limitParam(w, q.Get("limit"), 10)
	if !ok {
		return
	}
	out := assetList{Data: []assetObject{}}
	if (q.Has("username") && q.Get("username") != ownerOf(r)) || q.Get("folder_id") != "" {
		writeJSON(w, http.StatusOK, out)
		return
	}
	assets, next, err := h.Store.ListAssets(r.Context(), ownerOf(r), limit, q.Get("token"))
	if errors.Is(err, store.ErrBadCursor) {
		writeError(w, clipping.InvalidParam("token", "token is not a page token from this API."))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, a := range assets {
		out.Data = append(out.Data, h.assetObject(a))
	}
	if next != "" {
		out.HasMore, out.NextToken = true, &next
	}
	writeJSON(w, http.StatusOK, out)
}

// limitParam reads a page size of 1 to 100; it answers the 400 itself.
func (h *handler) limitParam(w http.ResponseWriter, s string, def int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		writeError(w, clipping.InvalidParam("limit", "limit must be a whole number from 1 to 100."))
		return 0, false
	}
	return n, true
}

// readyAsset is the key's asset named by the path, if it is ready; it
// answers the 404 itself.
func (h *handler) readyAsset(w http.ResponseWriter, r *http.Request) (*store.Asset, bool) {
	a, err := h.Store.GetAsset(r.Context(), ownerOf(r), r.PathValue("id"))
	if err == nil && a.Status != store.AssetReady {
		err = store.ErrNotFound // a direct upload is no asset until completed
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, clipping.ErrNotFound("Asset"))
		return nil, false
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return a, true
}

func (h *handler) getAsset(w http.ResponseWriter, r *http.Request) {
	if a, ok := h.readyAsset(w, r); ok {
		writeJSON(w, http.StatusOK, clipping.Data[assetObject]{Data: h.assetObject(a)})
	}
}

// deleteAsset is DELETE /v3/assets/{id}: the record is hidden and the file
// removed, unless a job that has not finished reads it: that is refused
// with a 409, as a request that must wait for another.
func (h *handler) deleteAsset(w http.ResponseWriter, r *http.Request) {
	a, err := h.Store.DeleteAsset(r.Context(), ownerOf(r), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrInUse):
		writeError(w, &clipping.Error{Code: clipping.CodeRequestInProgress,
			Message: "The asset is the source of a job that has not finished. Retry when the job has ended, or delete the job first."})
		return
	case errors.Is(err, store.ErrNotFound):
		writeError(w, clipping.ErrNotFound("Asset"))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.removeAssetFiles(a)
	writeJSON(w, http.StatusOK, clipping.Data[map[string]string]{Data: map[string]string{"id": a.ID}})
}

// removeAssetFiles deletes an asset's folder (and its file, should it
// live elsewhere); a failure is left to the janitor.
func (h *handler) removeAssetFiles(a *store.Asset) {
	err := os.RemoveAll(filepath.Join(h.DataDir, "assets", a.ID))
	if rerr := os.Remove(a.Path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		h.Log.Error("remove asset files", "asset", a.ID, "err", err)
	}
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
