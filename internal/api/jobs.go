package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
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
		if _, err := h.Store.GetAsset(r.Context(), owner, req.Video.AssetID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				writeError(w, clipping.InvalidParam("video.asset_id", "No asset %q was uploaded with this API key.", req.Video.AssetID))
				return
			}
			h.fail(w, r, err)
			return
		}
	}
	now := h.Now()
	id := engine.NewID()
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
	limit := 10
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			writeError(w, clipping.InvalidParam("limit", "limit must be a whole number from 1 to 100."))
			return
		}
		limit = n
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

// delete hides the job and stops it if it is running.
func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	j, err := h.Store.DeleteJob(r.Context(), ownerOf(r), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.Runner != nil && !j.Resource.Status.Terminal() {
		h.Runner.Cancel(j.ID)
	}
	writeJSON(w, http.StatusOK, clipping.Data[map[string]string]{Data: map[string]string{"id": j.ID}})
}
