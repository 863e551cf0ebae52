package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/ids"
	"github.com/clipmill/clipmill/internal/store"
)

// Direct uploads, as HeyGen's: POST /v3/assets/direct-uploads declares a
// file and answers a signed, expiring URL on this server; the client PUTs
// the bytes there (held to the declared size and checksum); POST
// /v3/assets/{id}/complete makes it an asset. The batch forms do the same
// for up to 100 files.

// maxBatch is the most files a batch takes.
const maxBatch = 100

// uploadRequest is a declared file: the body of POST
// /v3/assets/direct-uploads and an item of its batch form.
type uploadRequest struct {
	Filename       *string `json:"filename"`
	ContentType    *string `json:"content_type"`
	SizeBytes      *int64  `json:"size_bytes"`
	ChecksumSHA256 *string `json:"checksum_sha256"`
}

// uploadSlot is where and how to PUT a declared file.
type uploadSlot struct {
	AssetID          string            `json:"asset_id"`
	UploadURL        string            `json:"upload_url"`
	UploadHeaders    map[string]string `json:"upload_headers"`
	ExpiresInSeconds int64             `json:"expires_in_seconds"`
	MaxBytes         int64             `json:"max_bytes"`
	Status           string            `json:"status"`
}

// uploaded is the answer to the PUT.
type uploaded struct {
	AssetID        string `json:"asset_id"`
	SizeBytes      int64  `json:"size_bytes"`
	ChecksumSHA256 string `json:"checksum_sha256"`
	Status         string `json:"status"`
}

// completed is the answer to POST /v3/assets/{id}/complete.
type completed struct {
	AssetID   string `json:"asset_id"`
	URL       string `json:"url"`
	MimeType  string `json:"mime_type"`
	SizeBytes int64  `json:"size_bytes"`
	Status    string `json:"status"`
}

type batchRequest struct {
	Files       []uploadRequest `json:"files"`
	Title       *string         `json:"title"`
	CallbackURL *string         `json:"callback_url"` // reserved by HeyGen: accepted, unused
}

// completeRequest is the (optional) body of POST /v3/assets/{id}/complete.
type completeRequest struct {
	ChecksumSHA256 *string `json:"checksum_sha256"`
}

type completeBatchRequest struct {
	BatchID *string `json:"batch_id"`
}

type batchCreated struct {
	BatchID string       `json:"batch_id"`
	Items   []uploadSlot `json:"items"`
}

// batchView is HeyGen's batch: GET /v3/assets/batches/{id}, and the
// answer to POST /v3/assets/complete/batches.
type batchView struct {
	BatchID        string         `json:"batch_id"`
	Status         string         `json:"status"`
	Title          *string        `json:"title"`
	TotalItems     int            `json:"total_items"`
	CountsByStatus map[string]int `json:"counts_by_status"`
	CreatedAt      int64          `json:"created_at"`
	Items          []batchItem    `json:"items"`
	HasMore        bool           `json:"has_more"`
	NextToken      *string        `json:"next_token"`
}

// batchItem is one file of a batch. HeyGen shares the read model of video
// batches, so the asset ID is in video_id.
type batchItem struct {
	ItemIndex int             `json:"item_index"`
	Status    string          `json:"status"`
	VideoID   *string         `json:"video_id"`
	Error     *clipping.Error `json:"error"`
}

// decodeJSON reads a small JSON body (the idempotency wrapper capped it)
// into v, refusing unknown fields; an empty body is {}.
func decodeJSON(r *http.Request, v any) *clipping.Error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return clipping.ErrUnsupportedMediaType(ct, "application/json")
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return clipping.InvalidParam("body", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return clipping.InvalidParam(te.Field, "%s must be a JSON %s.", te.Field, jsonKind(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return clipping.InvalidParam(name, "Unknown field %q.", name)
	}
	return &clipping.Error{Code: clipping.CodeInvalidParameter, Message: "The request body is not a JSON object of the documented shape."}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "boolean"
	case "int64", "int":
		return "integer"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return goKind
}

// upload is a declared file, checked.
type upload struct {
	name, mimeType, sha256 string
	size                   int64
}

// checkUpload validates a declared file; at prefixes the params of a
// batch's items ("files[3].").
func (h *handler) checkUpload(f uploadRequest, at string) (upload, *clipping.Error) {
	var u upload
	switch {
	case f.Filename == nil || strings.TrimSpace(*f.Filename) == "":
		return u, clipping.InvalidParam(at+"filename", "filename is required: the file's name.")
	case len([]rune(*f.Filename)) > 255:
		return u, clipping.InvalidParam(at+"filename", "filename may have at most 255 characters.")
	case f.ContentType == nil:
		return u, clipping.InvalidParam(at+"content_type", "content_type is required, e.g. video/mp4.")
	case f.SizeBytes == nil:
		return u, clipping.InvalidParam(at+"size_bytes", "size_bytes is required: the file's exact size.")
	case *f.SizeBytes < 1 || *f.SizeBytes > h.MaxUpload:
		return u, clipping.InvalidParam(at+"size_bytes", "size_bytes must be from 1 to %d.", h.MaxUpload)
	}
	mt, ok := videoType(*f.ContentType)
	if !ok || *f.ContentType == "" {
		return u, clipping.InvalidParam(at+"content_type", "content_type %q is not a video type; clipmill clips videos.", *f.ContentType)
	}
	u = upload{name: *f.Filename, mimeType: mt, size: *f.SizeBytes}
	if f.ChecksumSHA256 != nil {
		if u.sha256, ok = parseChecksum(*f.ChecksumSHA256); !ok {
			return u, clipping.InvalidParam(at+"checksum_sha256", "checksum_sha256 must be a SHA-256 in hex (64 digits) or base64.")
		}
	}
	return u, nil
}

// parseChecksum reads a SHA-256 in hex or in base64 (as S3 writes it) and
// gives it in lowercase hex.
func parseChecksum(s string) (string, bool) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha256.Size {
		return hex.EncodeToString(b), true
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == sha256.Size {
		return hex.EncodeToString(b), true
	}
	return "", false
}

// newUpload is the record of a declared file, waiting for its bytes.
func (h *handler) newUpload(owner string, u upload, batch string, index int) *store.Asset {
	id := ids.New()
	now := h.Now()
	return &store.Asset{ID: id, Owner: owner, Path: filepath.Join(h.DataDir, "assets", id, safeName(u.name, "upload")),
		MimeType: u.mimeType, Size: u.size, CreatedAt: now, Name: u.name, Status: store.AssetPending, SHA256: u.sha256,
		ExpiresAt: now.Add(h.UploadTTL), BatchID: batch, BatchIndex: index}
}

func (h *handler) slot(a *store.Asset) uploadSlot {
	return uploadSlot{
		AssetID:          a.ID,
		UploadURL:        h.Files.URL(h.PublicURL, "/uploads/"+a.ID, a.ExpiresAt.Unix()),
		UploadHeaders:    map[string]string{"Content-Type": a.MimeType},
		ExpiresInSeconds: int64(a.ExpiresAt.Sub(h.Now()) / time.Second),
		MaxBytes:         a.Size,
		Status:           string(store.AssetPending),
	}
}

// directUpload is POST /v3/assets/direct-uploads.
func (h *handler) directUpload(w http.ResponseWriter, r *http.Request) {
	var f uploadRequest
	if e := decodeJSON(r, &f); e != nil {
		writeError(w, e)
		return
	}
	u, e := h.checkUpload(f, "")
	if e != nil {
		writeError(w, e)
		return
	}
	a := h.newUpload(ownerOf(r), u, "", 0)
	if err := h.Store.CreateAsset(r.Context(), a); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clipping.Data[uploadSlot]{Data: h.slot(a)})
}

// directUploadBatch is POST /v3/assets/direct-uploads/batches.
func (h *handler) directUploadBatch(w http.ResponseWriter, r *http.Request) {
	var req batchRequest
	if e := decodeJSON(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if len(req.Files) < 1 || len(req.Files) > maxBatch {
		writeError(w, clipping.InvalidParam("files", "files must list 1 to %d files.", maxBatch))
		return
	}
	if req.Title != nil && len([]rune(*req.Title)) > 255 {
		writeError(w, clipping.InvalidParam("title", "title may have at most 255 characters."))
		return
	}
	b := &store.Batch{ID: ids.New(), Owner: ownerOf(r), Total: len(req.Files), CreatedAt: h.Now()}
	if req.Title != nil {
		b.Title = *req.Title
	}
	assets := make([]*store.Asset, len(req.Files))
	out := batchCreated{BatchID: b.ID, Items: make([]uploadSlot, len(req.Files))}
	for i, f := range req.Files {
		u, e := h.checkUpload(f, fmt.Sprintf("files[%d].", i))
		if e != nil {
			writeError(w, e)
			return
		}
		assets[i] = h.newUpload(b.Owner, u, b.ID, i)
		out.Items[i] = h.slot(assets[i])
	}
	if err := h.Store.CreateBatch(r.Context(), b, assets); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clipping.Data[batchCreated]{Data: out})
}

// errCompleted refuses bytes for an asset that was completed.
var errCompleted = &clipping.Error{Code: clipping.CodeInvalidParameter, Message: "This upload was completed; its bytes cannot change."}

// upload is PUT /uploads/{id}: the signature is the credential. The body
// must be exactly the declared size, and have the declared checksum; it
// is streamed to disk and hashed on the way.
func (h *handler) upload(w http.ResponseWriter, r *http.Request) {
	if err := h.Files.Check(r, h.Now()); err != nil {
		writeError(w, &clipping.Error{Code: clipping.CodeAuthenticationFailed, Message: err.Error()})
		return
	}
	a, err := h.Store.GetAsset(r.Context(), "", r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, clipping.ErrNotFound("Upload"))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	case a.Status == store.AssetReady:
		writeError(w, errCompleted)
		return
	}
	if _, busy := h.uploading.LoadOrStore(a.ID, true); busy {
		writeError(w, &clipping.Error{Code: clipping.CodeRequestInProgress, Message: "Another upload to this URL is in progress."})
		return
	}
	defer h.uploading.Delete(a.ID)
	switch {
	case r.ContentLength > a.Size:
		writeError(w, clipping.ErrTooLarge(a.Size))
		return
	case r.ContentLength >= 0 && r.ContentLength < a.Size:
		writeError(w, clipping.InvalidParam("size_bytes", "The body has %d bytes; the upload declared %d.", r.ContentLength, a.Size))
		return
	}
	tmp, sum, e := h.receive(w, r, a)
	if e != nil {
		writeError(w, e)
		return
	}
	defer os.Remove(tmp) // a no-op once renamed
	// The file takes its place in the same transaction that records it,
	// so a completion in between cannot see other bytes than it checked.
	a, err = h.Store.UpdateAsset(r.Context(), a.ID, func(a *store.Asset) error {
		if a.Status == store.AssetReady {
			return errCompleted
		}
		if err := os.Rename(tmp, a.Path); err != nil {
			return err
		}
		a.Status, a.SHA256 = store.AssetUploaded, sum
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, clipping.ErrNotFound("Upload")) // deleted meanwhile
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clipping.Data[uploaded]{Data: uploaded{AssetID: a.ID, SizeBytes: a.Size,
		ChecksumSHA256: a.SHA256, Status: string(store.AssetUploaded)}})
}

// receive streams the body of an upload to a temporary file beside the
// asset's and checks its size and checksum: it returns the file and the
// bytes' SHA-256, or the error to answer (and no file).
func (h *handler) receive(w http.ResponseWriter, r *http.Request, a *store.Asset) (string, string, *clipping.Error) {
	fail := func(err error) (string, string, *clipping.Error) {
		h.Log.Error("direct upload", "asset", a.ID, "err", err)
		return "", "", clipping.ErrInternal()
	}
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o755); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(filepath.Dir(a.Path), a.ID+".part-")
	if err != nil {
		return fail(err)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(&diskWriter{f}, hash), io.LimitReader(r.Body, a.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	sum := hex.EncodeToString(hash.Sum(nil))
	var (
		werr *diskError
		e    *clipping.Error
	)
	switch {
	case errors.As(err, &werr):
		os.Remove(f.Name())
		return fail(werr.err)
	case err != nil:
		e = h.cutShort("size_bytes", n, err)
	case n > a.Size:
		e = clipping.ErrTooLarge(a.Size)
	case n < a.Size:
		e = clipping.InvalidParam("size_bytes", "The body has %d bytes; the upload declared %d.", n, a.Size)
	case a.SHA256 != "" && a.SHA256 != sum:
		e = clipping.InvalidParam("checksum_sha256", "The bytes' SHA-256 is %s, not the declared %s.", sum, a.SHA256)
	}
	if e != nil {
		os.Remove(f.Name())
		return "", "", e
	}
	return f.Name(), sum, nil
}

// complete is POST /v3/assets/{id}/complete: an uploaded file becomes an
// asset. A repeat answers the same.
func (h *handler) complete(w http.ResponseWriter, r *http.Request) {
	var req completeRequest
	if e := decodeJSON(r, &req); e != nil {
		writeError(w, e)
		return
	}
	want := ""
	if req.ChecksumSHA256 != nil {
		var ok bool
		if want, ok = parseChecksum(*req.ChecksumSHA256); !ok {
			writeError(w, clipping.InvalidParam("checksum_sha256", "checksum_sha256 must be a SHA-256 in hex (64 digits) or base64."))
			return
		}
	}
	owner := ownerOf(r)
	a, err := h.Store.UpdateAsset(r.Context(), r.PathValue("id"), func(a *store.Asset) error {
		if a.Owner != owner {
			return store.ErrNotFound
		}
		return completeAsset(a, want)
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, clipping.ErrNotFound("Asset"))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clipping.Data[completed]{Data: completed{AssetID: a.ID,
		URL:      h.Files.URL(h.PublicURL, "/assets/"+a.ID, h.Files.Expiry(h.Now())),
		MimeType: a.MimeType, SizeBytes: a.Size, Status: "completed"}})
}

// completeAsset makes an uploaded file ready, if its bytes are in and
// have the checksum want (if any).
func completeAsset(a *store.Asset, want string) error {
	switch {
	case a.Status == store.AssetReady:
		return nil
	case a.Status != store.AssetUploaded:
		return errNoBytes()
	case want != "" && want != a.SHA256:
		return clipping.InvalidParam("checksum_sha256", "The uploaded bytes' SHA-256 is %s, not %s.", a.SHA256, want)
	}
	a.Status = store.AssetReady
	return nil
}

func errNoBytes() *clipping.Error {
	return clipping.InvalidParam("asset_id", "No bytes were uploaded for this asset: PUT the file to its upload_url first.")
}

// completeBatch is POST /v3/assets/complete/batches: every uploaded file
// of the batch becomes an asset, each on its own; the others fail. A
// repeat completes the files uploaded since.
func (h *handler) completeBatch(w http.ResponseWriter, r *http.Request) {
	var req completeBatchRequest
	if e := decodeJSON(r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.BatchID == nil || *req.BatchID == "" {
		writeError(w, clipping.InvalidParam("batch_id", "batch_id is required: the id POST /v3/assets/direct-uploads/batches answered."))
		return
	}
	b, assets, ok := h.batch(w, r, *req.BatchID)
	if !ok {
		return
	}
	for i, a := range assets {
		if a.Status != store.AssetUploaded {
			continue
		}
		done, err := h.Store.UpdateAsset(r.Context(), a.ID, func(a *store.Asset) error { return completeAsset(a, "") })
		if err != nil && !errors.Is(err, store.ErrNotFound) && !isClippingError(err) {
			h.fail(w, r, err)
			return
		}
		if err == nil {
			assets[i] = done
		}
	}
	if err := h.Store.CompleteBatch(r.Context(), b.ID, h.Now()); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.CompletedAt.IsZero() {
		b.CompletedAt = h.Now()
	}
	writeJSON(w, http.StatusAccepted, clipping.Data[batchView]{Data: batchPage(b, assets, 0, maxBatch)})
}

func isClippingError(err error) bool {
	_, ok := clipping.AsError(err)
	return ok
}

// getBatch is GET /v3/assets/batches/{id}: the batch and a page of its
// items.
func (h *handler) getBatch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := h.limitParam(w, q.Get("limit"), maxBatch)
	if !ok {
		return
	}
	from := 0
	if t := q.Get("token"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			writeError(w, clipping.InvalidParam("token", "token is not a page token from this API."))
			return
		}
		from = n
	}
	b, assets, ok := h.batch(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, clipping.Data[batchView]{Data: batchPage(b, assets, from, limit)})
}

// batch reads the caller's batch id with its assets; when it cannot, it
// answers the request (404, or a server error) and says so.
func (h *handler) batch(w http.ResponseWriter, r *http.Request, id string) (*store.Batch, []*store.Asset, bool) {
	b, err := h.Store.GetBatch(r.Context(), ownerOf(r), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, clipping.ErrNotFound("Batch"))
		return nil, nil, false
	}
	if err == nil {
		var assets []*store.Asset
		if assets, err = h.Store.BatchAssets(r.Context(), b.ID); err == nil {
			return b, assets, true
		}
	}
	h.fail(w, r, err)
	return nil, nil, false
}

// batchPage shows a batch with its items from index from, at most limit.
func batchPage(b *store.Batch, assets []*store.Asset, from, limit int) batchView {
	byIndex := map[int]*store.Asset{}
	for _, a := range assets {
		byIndex[a.BatchIndex] = a
	}
	v := batchView{BatchID: b.ID, TotalItems: b.Total, CountsByStatus: map[string]int{}, CreatedAt: b.CreatedAt.Unix(),
		Items: []batchItem{}}
	if b.Title != "" {
		v.Title = &b.Title
	}
	failed, finished := 0, 0
	for i := range b.Total {
		it := item(i, byIndex[i], !b.CompletedAt.IsZero())
		v.CountsByStatus[it.Status]++
		switch it.Status {
		case "failed":
			failed++
			finished++
		case "completed":
			finished++
		}
		if i >= from && len(v.Items) < limit {
			v.Items = append(v.Items, it)
		}
	}
	switch {
	case b.CompletedAt.IsZero() || finished < b.Total:
		v.Status = "processing"
	case failed == b.Total:
		v.Status = "failed"
	default:
		v.Status = "completed"
	}
	if next := from + len(v.Items); next < b.Total && len(v.Items) > 0 {
		t := strconv.Itoa(next)
		v.HasMore, v.NextToken = true, &t
	}
	return v
}

// item is the state of a batch's file: queued until its bytes are in,
// processing until completed, failed if completion found no bytes or the
// asset was deleted.
func item(i int, a *store.Asset, completionAsked bool) batchItem {
	it := batchItem{ItemIndex: i}
	if a == nil {
		it.Status = "failed"
		it.Error = &clipping.Error{Code: clipping.CodeNotFound, Message: "The asset was deleted."}
		return it
	}
	it.VideoID = &a.ID
	switch {
	case a.Status == store.AssetReady:
		it.Status = "completed"
	case a.Status == store.AssetUploaded:
		it.Status = "processing"
	case completionAsked:
		it.Status = "failed"
		it.Error = errNoBytes()
	default:
		it.Status = "queued"
	}
	return it
}
