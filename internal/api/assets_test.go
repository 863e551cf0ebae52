package api_test

// The scenario's parts for users, asset objects, direct uploads and their
// batches: every answer goes through the checker (see TestOpenAPIScenario).

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

func scenarioUsers(t *testing.T, c *checker, ts *testServer) {
	for key, hdr := range map[string][]string{key1: {"x-api-key", key1}, key2: {"Authorization", "Bearer " + key2}} {
		resp, body := c.call(t, ts, "GET", "/v3/users/me", "", hdr...)
		wantStatus(t, resp, body, http.StatusOK)
		want := fmt.Sprintf(`{"data":{"username":%q,"email":null,"first_name":null,"last_name":null}}`, ownerOf(key))
		if string(body) != want {
			t.Errorf("users/me: %s, want %s", body, want)
		}
	}
}

// rawAsset uploads content through POST /v1/asset and returns its id.
func rawAsset(t *testing.T, c *checker, ts *testServer, key, content string) string {
	t.Helper()
	resp, body := c.call(t, ts, "POST", "/v1/asset", content, "x-api-key", key, "Content-Type", "video/mp4")
	wantStatus(t, resp, body, http.StatusOK)
	return decodeAs[clipping.Data[clipping.Asset]](t, body).Data.AssetID
}

func scenarioAssetObjects(t *testing.T, c *checker, ts *testServer) {
	k1 := []string{"x-api-key", key1}
	// Three assets of key1, a second apart, and one of key2.
	var ids []string
	for i := range 3 {
		ts.Clock.Advance(time.Second)
		ids = append([]string{rawAsset(t, c, ts, key1, fmt.Sprintf("video %d", i))}, ids...) // newest first
	}
	other := rawAsset(t, c, ts, key2, "video of key2")

	// GET: HeyGen's asset object.
	resp, body := c.call(t, ts, "GET", "/v3/assets/"+ids[0], "", k1...)
	wantStatus(t, resp, body, http.StatusOK)
	a := decodeAs[clipping.Data[api.AssetObject]](t, body).Data
	wantURL := ts.Signer.URL(ts.URL, "/assets/"+ids[0], ts.Signer.Expiry(ts.Clock.Now()))
	if a.ID != ids[0] || a.Name != "upload" || a.Type != "video" || a.Owner != ownerOf(key1) || a.SpaceID != ownerOf(key1) ||
		a.UploadedAt != ts.Clock.Now().Unix() || a.URL == nil || *a.URL != wantURL || a.FolderID != nil {
		t.Errorf("asset object %s", body)
	}
	checkFile(t, c, ts, *a.URL, "video/mp4", "video 2")
	for _, path := range []string{"/v3/assets/" + other, "/v3/assets/d9298a10d1b0735837dc4bd85dac641b"} {
		resp, body = c.call(t, ts, "GET", path, "", k1...)
		wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	}

	// The list: newest first, paged; only the key's own.
	list := func(query string) api.AssetList {
		t.Helper()
		resp, body := c.call(t, ts, "GET", "/v3/assets"+query, "", k1...)
		wantStatus(t, resp, body, http.StatusOK)
		return decodeAs[api.AssetList](t, body)
	}
	page := list("?limit=2&username=" + ownerOf(key1))
	if len(page.Data) != 2 || page.Data[0].ID != ids[0] || page.Data[1].ID != ids[1] || !page.HasMore || page.NextToken == nil {
		t.Fatalf("first page %+v, want %v", page, ids[:2])
	}
	page = list("?limit=2&token=" + url.QueryEscape(*page.NextToken))
	if len(page.Data) < 1 || page.Data[0].ID != ids[2] {
		t.Errorf("second page %+v, want %s first", page, ids[2])
	}
	for _, q := range []string{"?username=" + ownerOf(key2), "?folder_id=f1"} {
		if p := list(q); len(p.Data) != 0 || p.HasMore {
			t.Errorf("%s: %+v, want none", q, p)
		}
	}
	if p := list("?folder_id="); len(p.Data) < 3 {
		t.Errorf("the root folder lists %d assets", len(p.Data))
	}
	for q, param := range map[string]string{"?limit=0": "limit", "?limit=101": "limit", "?token=garbage": "token"} {
		resp, body := c.call(t, ts, "GET", "/v3/assets"+q, "", k1...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, param)
	}

	// DELETE: refused while a job that has not finished reads the asset.
	job := c.create(t, ts, key1, `{"video": {"type": "asset_id", "asset_id": "`+ids[0]+`"}}`)
	resp, body = c.call(t, ts, "DELETE", "/v3/assets/"+ids[0], "", k1...)
	wantError(t, resp, body, http.StatusConflict, clipping.CodeRequestInProgress, "")
	if _, err := os.Stat(filepath.Join(ts.DataDir, "assets", ids[0])); err != nil {
		t.Errorf("a refused delete removed the file: %v", err)
	}
	_, err := ts.Store.UpdateJob(t.Context(), job, func(j *store.Job) error { j.Resource.Status = clipping.JobCompleted; return nil })
	if err != nil {
		t.Fatal(err)
	}
	hdr := append(k1, "Idempotency-Key", "del-asset-1")
	resp, first := c.call(t, ts, "DELETE", "/v3/assets/"+ids[0], "", hdr...)
	wantStatus(t, resp, first, http.StatusOK)
	if string(first) != `{"data":{"id":"`+ids[0]+`"}}` {
		t.Errorf("delete: %s", first)
	}
	if _, err := os.Stat(filepath.Join(ts.DataDir, "assets", ids[0])); !os.IsNotExist(err) {
		t.Errorf("the deleted asset's folder: %v", err)
	}
	resp, again := c.call(t, ts, "DELETE", "/v3/assets/"+ids[0], "", hdr...)
	wantStatus(t, resp, again, http.StatusOK)
	if string(again) != string(first) || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed delete: %s", again)
	}
	for _, m := range []string{"GET", "DELETE"} {
		resp, body = c.call(t, ts, m, "/v3/assets/"+ids[0], "", k1...)
		wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	}
	resp, body = c.do(t, ts.Client(), ts.request(t, "GET", *a.URL, nil))
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	resp, body = c.call(t, ts, "POST", "/v3/ai-clipping", `{"video": {"type": "asset_id", "asset_id": "`+ids[0]+`"}}`,
		"x-api-key", key1, "Content-Type", "application/json")
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "video.asset_id")
	if p := list(""); len(p.Data) == 0 || p.Data[0].ID != ids[1] {
		t.Errorf("the list after a delete starts with %+v", p.Data)
	}
	resp, body = c.call(t, ts, "DELETE", "/v3/assets/"+other, "", k1...)
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	resp, body = c.call(t, ts, "DELETE", "/v3/assets/"+ids[1], "", "x-api-key", key1, "Idempotency-Key", "a/b")
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")
	// 409 while the first request with the key is in flight.
	scope := ownerOf(key1) + "|DELETE /v3/assets/{id}|" + ids[1] + "|del-flight"
	if _, err := ts.Store.BeginRequest(t.Context(), scope, "", ts.Clock.Now(), 24*time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	resp, body = c.call(t, ts, "DELETE", "/v3/assets/"+ids[1], "", "x-api-key", key1, "Idempotency-Key", "del-flight")
	wantError(t, resp, body, http.StatusConflict, clipping.CodeRequestInProgress, "")
}

// waitForPart waits until an upload to an asset is being written.
func waitForPart(t *testing.T, ts *testServer, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if parts, _ := filepath.Glob(filepath.Join(ts.DataDir, "assets", id, "*.part-*")); len(parts) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// declare makes a direct upload and returns its slot.
func declare(t *testing.T, c *checker, ts *testServer, key, body string) api.UploadSlot {
	t.Helper()
	resp, b := c.call(t, ts, "POST", "/v3/assets/direct-uploads", body, "x-api-key", key, "Content-Type", "application/json")
	wantStatus(t, resp, b, http.StatusOK)
	return decodeAs[clipping.Data[api.UploadSlot]](t, b).Data
}

// put sends body to an upload URL.
func put(t *testing.T, c *checker, ts *testServer, link, body string) (*http.Response, []byte) {
	t.Helper()
	return c.do(t, ts.Client(), ts.request(t, "PUT", link, strings.NewReader(body), "Content-Type", "video/mp4"))
}

func scenarioDirectUploads(t *testing.T, c *checker, ts *testServer) {
	json1 := []string{"x-api-key", key1, "Content-Type", "application/json"}
	slot := declare(t, c, ts, key1, `{"filename": "my talk.mp4", "content_type": "video/mp4", "size_bytes": 4}`)
	exp := ts.Clock.Now().Add(time.Hour).Unix()
	if slot.AssetID == "" || slot.UploadURL != ts.Signer.URL(ts.URL, "/uploads/"+slot.AssetID, exp) || slot.ExpiresInSeconds != 3600 ||
		slot.MaxBytes != 4 || slot.Status != "pending_upload" || slot.UploadHeaders["Content-Type"] != "video/mp4" {
		t.Fatalf("slot %+v", slot)
	}
	id := slot.AssetID
	// Not an asset yet: not listed, not gettable, no source.
	resp, body := c.call(t, ts, "GET", "/v3/assets/"+id, "", "x-api-key", key1)
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	resp, body = c.call(t, ts, "POST", "/v3/ai-clipping", `{"video": {"type": "asset_id", "asset_id": "`+id+`"}}`, json1...)
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "video.asset_id")
	resp, body = c.call(t, ts, "POST", "/v3/assets/"+id+"/complete", "", "x-api-key", key1)
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "asset_id")

	// The PUT: exactly the declared bytes, with a valid signature.
	resp, body = put(t, c, ts, slot.UploadURL, "tes")
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "size_bytes")
	resp, body = put(t, c, ts, slot.UploadURL, "tests")
	wantError(t, resp, body, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "")
	// A body of unknown length is held to the size as it comes.
	for _, content := range []string{"tes", "tests"} {
		req := ts.request(t, "PUT", slot.UploadURL, io.MultiReader(strings.NewReader(content)))
		resp, body = c.do(t, ts.Client(), req)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked %q: %d %s", content, resp.StatusCode, body)
		}
	}
	for _, link := range []string{ts.URL + "/uploads/" + id, altered(slot.UploadURL),
		ts.Signer.URL(ts.URL, "/uploads/"+id, ts.Clock.Now().Unix())} {
		resp, body = put(t, c, ts, link, "test")
		wantError(t, resp, body, http.StatusUnauthorized, clipping.CodeAuthenticationFailed, "")
	}
	resp, body = put(t, c, ts, ts.Signer.URL(ts.URL, "/uploads/d9298a10d1b0735837dc4bd85dac641b", exp), "test")
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")

	// Two PUTs at once: the second must wait its turn. The first sends
	// more than the client buffers, so that the server is reading it.
	big := strings.Repeat("b", 10000)
	slow := declare(t, c, ts, key1, fmt.Sprintf(`{"filename": "big.mp4", "content_type": "video/mp4", "size_bytes": %d}`, len(big)))
	pr, pw := io.Pipe()
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := ts.Client().Do(ts.request(t, "PUT", slow.UploadURL, pr))
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	pw.Write([]byte(big[:8000]))
	waitForPart(t, ts, slow.AssetID)
	resp, body = put(t, c, ts, slow.UploadURL, big)
	wantError(t, resp, body, http.StatusConflict, clipping.CodeRequestInProgress, "")
	pw.Write([]byte(big[8000:]))
	pw.Close()
	if first := <-done; first == nil || first.StatusCode != http.StatusOK {
		t.Fatalf("the first PUT: %v", first)
	} else {
		first.Body.Close()
	}

	resp, body = put(t, c, ts, slot.UploadURL, "test")
	wantStatus(t, resp, body, http.StatusOK)
	if want := `{"data":{"asset_id":"` + id + `","size_bytes":4,"checksum_sha256":"` + sha("test") + `","status":"uploaded"}}`; string(body) != want {
		t.Errorf("PUT: %s, want %s", body, want)
	}
	// Uploaded is not yet an asset: its file is not served.
	resp, body = c.do(t, ts.Client(), ts.request(t, "GET", ts.Signer.URL(ts.URL, "/assets/"+id, ts.Signer.Expiry(ts.Clock.Now())), nil))
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	// Completion checks a checksum given there, in hex or base64.
	zero := strings.Repeat("0", 64)
	resp, body = c.call(t, ts, "POST", "/v3/assets/"+id+"/complete", `{"checksum_sha256": "`+zero+`"}`, json1...)
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "checksum_sha256")
	sum := sha256.Sum256([]byte("test"))
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	resp, first := c.call(t, ts, "POST", "/v3/assets/"+id+"/complete", `{"checksum_sha256": "`+b64+`"}`, json1...)
	wantStatus(t, resp, first, http.StatusOK)
	done1 := decodeAs[clipping.Data[api.Completed]](t, first).Data
	link := ts.Signer.URL(ts.URL, "/assets/"+id, ts.Signer.Expiry(ts.Clock.Now()))
	if done1.AssetID != id || done1.URL != link || done1.MimeType != "video/mp4" || done1.SizeBytes != 4 || done1.Status != "completed" {
		t.Errorf("complete: %s", first)
	}
	resp, again := c.call(t, ts, "POST", "/v3/assets/"+id+"/complete", "{}", json1...)
	wantStatus(t, resp, again, http.StatusOK)
	if string(again) != string(first) {
		t.Errorf("a repeat completion: %s, the first %s", again, first)
	}
	resp, body = c.do(t, ts.Client(), ts.request(t, "GET", link, nil))
	wantStatus(t, resp, body, http.StatusOK)
	if string(body) != "test" {
		t.Errorf("the completed asset's file: %q", body)
	}
	resp, body = c.call(t, ts, "GET", "/v3/assets/"+id, "", "x-api-key", key1)
	wantStatus(t, resp, body, http.StatusOK)
	if a := decodeAs[clipping.Data[api.AssetObject]](t, body).Data; a.Name != "my talk.mp4" {
		t.Errorf("asset %s", body)
	}
	c.create(t, ts, key1, `{"video": {"type": "asset_id", "asset_id": "`+id+`"}}`)
	resp, body = put(t, c, ts, slot.UploadURL, "test")
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "")

	// A declared checksum holds the PUT to it.
	pinned := declare(t, c, ts, key1, `{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 4, "checksum_sha256": "`+zero+`"}`)
	resp, body = put(t, c, ts, pinned.UploadURL, "test")
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "checksum_sha256")
	good := declare(t, c, ts, key1, `{"filename": "b.mp4", "content_type": "video/mp4", "size_bytes": 4, "checksum_sha256": "`+b64+`"}`)
	resp, body = put(t, c, ts, good.UploadURL, "test")
	wantStatus(t, resp, body, http.StatusOK)
	// Another key can neither complete it nor see it.
	resp, body = c.call(t, ts, "POST", "/v3/assets/"+good.AssetID+"/complete", "", "x-api-key", key2)
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	// The URL expires.
	ts.Clock.Advance(time.Hour)
	resp, body = put(t, c, ts, good.UploadURL, "test")
	wantError(t, resp, body, http.StatusUnauthorized, clipping.CodeAuthenticationFailed, "")

	// Declarations that are not valid.
	for _, tc := range []struct{ body, param string }{
		{`{}`, "filename"},
		{`{"filename": "", "content_type": "video/mp4", "size_bytes": 4}`, "filename"},
		{`{"filename": "a.png", "content_type": "image/png", "size_bytes": 4}`, "content_type"},
		{`{"filename": "a.mp4", "size_bytes": 4}`, "content_type"},
		{`{"filename": "a.mp4", "content_type": "video/mp4"}`, "size_bytes"},
		{`{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 0}`, "size_bytes"},
		{`{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 65537}`, "size_bytes"},
		{`{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": "4"}`, "size_bytes"},
		{`{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 4, "checksum_sha256": "xyz"}`, "checksum_sha256"},
		{`{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 4, "folder": "x"}`, "folder"},
		{`[]`, ""},
		{`{"filename": "a.mp4"} {}`, ""},
	} {
		resp, body := c.call(t, ts, "POST", "/v3/assets/direct-uploads", tc.body, json1...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, tc.param)
	}
	valid := `{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 4}`
	for _, path := range []string{"/v3/assets/direct-uploads", "/v3/assets/" + id + "/complete"} {
		resp, body = c.call(t, ts, "POST", path, valid, "x-api-key", key1, "Content-Type", "text/plain")
		wantError(t, resp, body, http.StatusUnsupportedMediaType, clipping.CodeUnsupportedMediaType, "")
		resp, body = c.call(t, ts, "POST", path, valid, append(json1, "Idempotency-Key", "a/b")...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")
	}
	resp, body = c.call(t, ts, "POST", "/v3/assets/"+id+"/complete", `{"checksum_sha256": 5}`, json1...)
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "checksum_sha256")
	resp, body = c.call(t, ts, "POST", "/v3/assets/d9298a10d1b0735837dc4bd85dac641b/complete", "", "x-api-key", key1)
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
}

func scenarioBatches(t *testing.T, c *checker, ts *testServer) {
	json1 := []string{"x-api-key", key1, "Content-Type", "application/json"}
	file := func(name string) string {
		return `{"filename": "` + name + `", "content_type": "video/mp4", "size_bytes": 4}`
	}
	resp, body := c.call(t, ts, "POST", "/v3/assets/direct-uploads/batches",
		`{"title": "Launch", "callback_url": null, "files": [`+file("a.mp4")+`, `+file("b.mp4")+`]}`, json1...)
	wantStatus(t, resp, body, http.StatusOK)
	created := decodeAs[clipping.Data[api.BatchCreated]](t, body).Data
	if created.BatchID == "" || len(created.Items) != 2 || created.Items[0].MaxBytes != 4 || created.Items[0].Status != "pending_upload" {
		t.Fatalf("batch %s", body)
	}
	id := created.BatchID
	get := func(query string) api.BatchView {
		t.Helper()
		resp, body := c.call(t, ts, "GET", "/v3/assets/batches/"+id+query, "", "x-api-key", key1)
		wantStatus(t, resp, body, http.StatusOK)
		return decodeAs[clipping.Data[api.BatchView]](t, body).Data
	}
	b := get("")
	if b.Status != "processing" || b.Title == nil || *b.Title != "Launch" || b.TotalItems != 2 || len(b.Items) != 2 ||
		b.Items[0].Status != "queued" || *b.Items[1].VideoID != created.Items[1].AssetID || b.CountsByStatus["queued"] != 2 || b.HasMore {
		t.Errorf("new batch %+v", b)
	}
	resp, body = put(t, c, ts, created.Items[0].UploadURL, "test")
	wantStatus(t, resp, body, http.StatusOK)
	if b = get("?limit=1"); len(b.Items) != 1 || b.Items[0].Status != "processing" || !b.HasMore || b.NextToken == nil {
		t.Errorf("first page %+v", b)
	}
	if b = get("?limit=1&token=" + *b.NextToken); len(b.Items) != 1 || b.Items[0].ItemIndex != 1 || b.HasMore || b.NextToken != nil {
		t.Errorf("second page %+v", b)
	}

	// Completion: each file on its own.
	resp, body = c.call(t, ts, "POST", "/v3/assets/complete/batches", `{"batch_id": "`+id+`"}`, json1...)
	wantStatus(t, resp, body, http.StatusAccepted)
	b = decodeAs[clipping.Data[api.BatchView]](t, body).Data
	if b.Status != "completed" || b.Items[0].Status != "completed" || b.Items[1].Status != "failed" || b.Items[1].Error == nil ||
		b.CountsByStatus["completed"] != 1 || b.CountsByStatus["failed"] != 1 {
		t.Errorf("completed batch %s", body)
	}
	resp, body = c.call(t, ts, "GET", "/v3/assets/"+created.Items[0].AssetID, "", "x-api-key", key1)
	wantStatus(t, resp, body, http.StatusOK)
	// The late file, then a repeat completion.
	resp, body = put(t, c, ts, created.Items[1].UploadURL, "test")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = c.call(t, ts, "POST", "/v3/assets/complete/batches", `{"batch_id": "`+id+`"}`, json1...)
	wantStatus(t, resp, body, http.StatusAccepted)
	if b = decodeAs[clipping.Data[api.BatchView]](t, body).Data; b.CountsByStatus["completed"] != 2 {
		t.Errorf("after a repeat: %s", body)
	}
	// A deleted asset is a failed item.
	resp, body = c.call(t, ts, "DELETE", "/v3/assets/"+created.Items[0].AssetID, "", "x-api-key", key1)
	wantStatus(t, resp, body, http.StatusOK)
	if b = get(""); b.Items[0].Status != "failed" || b.Items[0].VideoID != nil || b.Items[0].Error == nil {
		t.Errorf("with a deleted asset: %+v", b.Items[0])
	}

	// Errors.
	many := make([]string, 101)
	for i := range many {
		many[i] = file("x.mp4")
	}
	resp, body = c.call(t, ts, "POST", "/v3/assets/direct-uploads/batches", `{"files": [`+strings.Join(many, ",")+`]}`, json1...)
	wantError(t, resp, body, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "") // over MaxJSON here
	resp, body = c.call(t, newServer(t, nil), "POST", "/v3/assets/direct-uploads/batches", `{"files": [`+strings.Join(many, ",")+`]}`, json1...)
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "files")
	for _, tc := range []struct{ body, param string }{
		{`{"files": []}`, "files"},
		{`{}`, "files"},
		{`{"files": [` + file("a.mp4") + `, {"content_type": "video/mp4", "size_bytes": 4}]}`, "files[1].filename"},
		{`{"files": [` + file("a.mp4") + `], "title": "` + strings.Repeat("t", 256) + `"}`, "title"},
	} {
		resp, body := c.call(t, ts, "POST", "/v3/assets/direct-uploads/batches", tc.body, json1...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, tc.param)
	}
	resp, body = c.call(t, ts, "POST", "/v3/assets/complete/batches", `{}`, json1...)
	wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "batch_id")
	resp, body = c.call(t, ts, "POST", "/v3/assets/complete/batches", `{"batch_id": "nope"}`, json1...)
	wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	for _, path := range []string{"/v3/assets/direct-uploads/batches", "/v3/assets/complete/batches"} {
		resp, body = c.call(t, ts, "POST", path, `{}`, "x-api-key", key1, "Content-Type", "text/plain")
		wantError(t, resp, body, http.StatusUnsupportedMediaType, clipping.CodeUnsupportedMediaType, "")
		resp, body = c.call(t, ts, "POST", path, `{}`, append(json1, "Idempotency-Key", "a/b")...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")
	}
	for _, q := range []string{"?token=x", "?token=-1", "?limit=0"} {
		resp, body = c.call(t, ts, "GET", "/v3/assets/batches/"+id+q, "", "x-api-key", key1)
		wantStatus(t, resp, body, http.StatusBadRequest)
	}
	for _, hdr := range [][]string{{"x-api-key", key2}, {"x-api-key", key1}} {
		path := "/v3/assets/batches/" + id
		if hdr[1] == key1 {
			path = "/v3/assets/batches/nope"
		}
		resp, body = c.call(t, ts, "GET", path, "", hdr...)
		wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	}
}
