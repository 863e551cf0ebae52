package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/ids"
	"github.com/clipmill/clipmill/internal/store"
)

// create is POST /v3/ai-clipping: validate, store a pending job, wake a
// worker, answer 202 with its id. The body was read (and capped) by the
// idempotency wrapper.
func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, clipping.ErrUnsupportedMediaType(ct, "application/json"))
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, clipping.InvalidParam("body", "The request body could not be read."))
		return
	}
	req, err := clipping.DecodeCreateRequest(body, h.Decode)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	owner := ownerOf(r)
	if req.Video.Type == clipping.VideoAssetID {
		a, err := h.Store.GetAsset(r.Context(), owner, req.Video.AssetID)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, clipping.InvalidParam("video.asset_id", "No asset %q was uploaded with this API key.", req.Video.AssetID))
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if a.Status != store.AssetReady {
			writeError(w, clipping.InvalidParam("video.asset_id", "Asset %q is a direct upload that was not completed: POST /v3/assets/%s/complete first.", a.ID, a.ID))
			return
		}
	}
	now := h.Now()
	id := ids.New()
	job := &store.Job{
		ID: id, Owner: owner, Request: req, CreatedAt: now, UpdatedAt: now,
		Resource: clipping.Job{
			ID: id, Status: clipping.JobPending, Title: req.Title, InputLanguage: req.InputLanguage,
			CallbackID: req.CallbackID, CreatedAt: clipping.Ptr(now.Unix()), Clips: []clipping.Clip{},
		},
	}
	if err := h.Store.CreateJob(r.Context(), job); err != nil {
		h.fail(w, r, err)
		return
	}
	if h.Runner != nil {
		h.Runner.Notify()
	}
	writeJSON(w, http.StatusAccepted, clipping.Data[clipping.Created]{Data: clipping.Created{AIClippingID: id}})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	j, err := h.Store.GetJob(r.Context(), ownerOf(r), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clipping.Data[clipping.Job]{Data: h.present(j.Resource)})
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := h.limitParam(w, q.Get("limit"), 10)
	if !ok {
		return
	}
	jobs, next, err := h.Store.ListJobs(r.Context(), ownerOf(r), limit, q.Get("token"))
	if err != nil {
		if errors.Is(err, store.ErrBadCursor) {
			writeError(w, clipping.InvalidParam("token", "token is not a page token from this API."))
			return
		}
		h.fail(w, r, err)
		return
	}
	out := clipping.List{Data: make([]clipping.Job, len(jobs)), HasMore: next != ""}
	for i, j := range jobs {
		out.Data[i] = h.present(j.Resource)
	}
	if next != "" {
		out.NextToken = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// delete hides the job, stops it if it is running and removes its files.
// The hidden record is purged once no Idempotency-Key replay can need it.
func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	j, err := h.Store.DeleteJob(r.Context(), ownerOf(r), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.Runner != nil && !j.Resource.Status.Terminal() {
		h.Runner.Cancel(j.ID) // the worker removes what it wrote since
	}
	if err := os.RemoveAll(filepath.Join(h.DataDir, "jobs", j.ID)); err != nil {
		// The job is gone for its owner; the janitor tries the files again.
		h.Log.Error("remove job files", "job", j.ID, "err", err)
	}
	writeJSON(w, http.StatusOK, clipping.Data[map[string]string]{Data: map[string]string{"id": j.ID}})
}
