package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clipmill/clipmill/internal/cfn"
	"github.com/clipmill/clipmill/internal/enginesteps"
	"github.com/clipmill/clipmill/internal/pipeline"
)

// decodeStrict decodes one JSON value that must use only fields v has.
func decodeStrict(t testing.TB, file string, v any) {
	t.Helper()
	b := readRepoFile(t, filepath.Join("events", file))
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("events/%s: %v", file, err)
	}
	if dec.More() {
		t.Fatalf("events/%s: more than one JSON value", file)
	}
}

// s3Record loads an S3 notification with exactly one record, checked
// against what S3 sends and against the template's bucket and filter.
func s3Record(t *testing.T, file string) events.S3EventRecord {
	t.Helper()
	var ev events.S3Event
	decodeStrict(t, file, &ev)
	if len(ev.Records) != 1 {
		t.Fatalf("events/%s: %d records, want 1", file, len(ev.Records))
	}
	r := ev.Records[0]
	if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.S3.SchemaVersion != "1.0" {
		t.Errorf("events/%s: eventVersion %q, eventSource %q, s3SchemaVersion %q; S3 sends 2.1, aws:s3, 1.0",
			file, r.EventVersion, r.EventSource, r.S3.SchemaVersion)
	}
	if !strings.HasPrefix(r.EventName, "ObjectCreated:") || r.EventTime.IsZero() || r.AWSRegion == "" {
		t.Errorf("events/%s: eventName %q, eventTime %v, awsRegion %q", file, r.EventName, r.EventTime, r.AWSRegion)
	}
	o := r.S3.Object
	if o.VersionID == "" || o.ETag == "" || o.Sequencer == "" || o.Size <= 0 {
		t.Errorf("events/%s: object %+v: a versioned bucket sends versionId, eTag, sequencer and size", file, o)
	}
	if !strings.HasPrefix(o.URLDecodedKey, pipeline.Inbox) {
		t.Errorf("events/%s: key %q is outside the event's prefix %s", file, o.URLDecodedKey, pipeline.Inbox)
	}
	// The bucket is the one the template names, in the event's region.
	st := loadTemplate(t)
	s := newStack(t, st, nil)
	s.Region = r.AWSRegion
	name := s.str(t, path(st.props(bucketID), "BucketName"))
	if b := r.S3.Bucket; b.Name != name || b.Arn != "arn:aws:s3:::"+name {
		t.Errorf("events/%s: bucket %q (%s), want %q as template.yaml names it", file, b.Name, b.Arn, name)
	}
	return r
}

func TestEventS3Put(t *testing.T) {
	r := s3Record(t, "s3-put.json")
	if r.EventName != "ObjectCreated:Put" {
		t.Errorf("eventName = %q, want ObjectCreated:Put", r.EventName)
	}
	name, ok := pipeline.VideoName(r.S3.Object.URLDecodedKey)
	if !ok || name != "talk" {
		t.Errorf("VideoName(%q) = %q, %v: submit must take this upload as the video talk", r.S3.Object.URLDecodedKey, name, ok)
	}
}

func TestEventS3PutSidecar(t *testing.T) {
	r := s3Record(t, "s3-put-sidecar.json")
	key := r.S3.Object.URLDecodedKey
	if _, ok := pipeline.VideoName(key); ok {
		t.Errorf("VideoName(%q) accepts it: submit must ignore a settings file", key)
	}
	video := s3Record(t, "s3-put.json").S3.Object.URLDecodedKey
	if want := strings.TrimSuffix(video, filepath.Ext(video)) + ".json"; key != want {
		t.Errorf("sidecar key %q, want %q: the settings file of the video in s3-put.json", key, want)
	}
	if !r.EventTime.Before(s3Record(t, "s3-put.json").EventTime) {
		t.Error("the sidecar should arrive before its video, as settings must")
	}
}

// execution checks what every state of one video's execution carries:
// the upload of s3-put.json and the stack's default limits.
func checkExecution(t *testing.T, file string, ex pipeline.Execution) {
	t.Helper()
	put := s3Record(t, "s3-put.json")
	want := pipeline.Source{Bucket: put.S3.Bucket.Name, Key: put.S3.Object.URLDecodedKey,
		Version: put.S3.Object.VersionID, ETag: put.S3.Object.ETag}
	if ex.Source != want {
		t.Errorf("%s: source %+v, want the upload of s3-put.json %+v", file, ex.Source, want)
	}
	if name, _ := pipeline.VideoName(ex.Source.Key); ex.Name != name {
		t.Errorf("%s: name %q, want %q", file, ex.Name, name)
	}
	if ex.JobID == "" || ex.SubmittedAt <= 0 {
		t.Errorf("%s: job_id %q, submitted_at %d", file, ex.JobID, ex.SubmittedAt)
	}
	if !put.EventTime.Before(time.Unix(ex.SubmittedAt, 0)) {
		t.Errorf("%s: submitted_at %d is before the upload at %v", file, ex.SubmittedAt, put.EventTime)
	}
	params := cfn.Get(loadTemplate(t).Doc, "Parameters")
	def := func(p string) string { return cfn.Scalar(path(params, p, "Default")) }
	if ex.Backend != def("BackendUrl") || strconv.Itoa(ex.Limits.MaxAttempts) != def("MaxPollAttempts") ||
		strconv.Itoa(ex.Limits.JobTimeout) != def("JobTimeoutSeconds") {
		t.Errorf("%s: backend %q, limits %+v, want the template's defaults", file, ex.Backend, ex.Limits)
	}
	if ex.Poll.Wait < 1 || ex.Poll.Attempt < 0 || ex.Poll.Attempt > ex.Limits.MaxAttempts {
		t.Errorf("%s: poll %+v", file, ex.Poll)
	}
}

func TestEventPollInput(t *testing.T) {
	var ex pipeline.Execution
	decodeStrict(t, "poll-input.json", &ex)
	checkExecution(t, "poll-input.json", ex)
	// As the Wait state hands it over: neither a caught error nor a result yet.
	if ex.Error != nil || ex.Stored != nil || ex.Poll.Status == "completed" || ex.Poll.Status == "failed" {
		t.Errorf("poll-input.json: error %v, stored %v, status %q: the Choice would not have looped", ex.Error, ex.Stored, ex.Poll.Status)
	}
}

func TestEventStoreInput(t *testing.T) {
	var in pipeline.StoreInput
	decodeStrict(t, "store-input.json", &in)
	checkExecution(t, "store-input.json", in.Execution)
	if in.Failure || in.Execution.Error != nil || in.Execution.Poll.Status != "completed" || in.Execution.Poll.Progress != 100 {
		t.Errorf("store-input.json: failure %v, error %v, poll %+v: want a completed job", in.Failure, in.Execution.Error, in.Execution.Poll)
	}
}

func TestEventStoreFailureInput(t *testing.T) {
	var in pipeline.StoreInput
	decodeStrict(t, "store-failure-input.json", &in)
	checkExecution(t, "store-failure-input.json", in.Execution)
	if !in.Failure || in.Execution.Error == nil {
		t.Fatalf("store-failure-input.json: failure %v, error %v: want what StoreFailure gets after a Catch", in.Failure, in.Execution.Error)
	}
	// A Catch puts {"Error": errorType, "Cause": the Lambda error as JSON}.
	e := in.Execution.Error
	var cause struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	dec := json.NewDecoder(strings.NewReader(e.Cause))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cause); err != nil {
		t.Fatalf("store-failure-input.json: Cause is not a Lambda error: %v", err)
	}
	if e.Error != "TerminalError" || cause.Type != e.Error || cause.Message == "" {
		t.Errorf("store-failure-input.json: Error %q, cause %+v", e.Error, cause)
	}
}

// local-env.json (samconfig's env_vars for sam local invoke) sets only the
// variables each function declares.
func TestEventLocalEnv(t *testing.T) {
	var env map[string]map[string]string
	decodeStrict(t, "local-env.json", &env)
	st := loadTemplate(t)
	s := newStack(t, st, nil)
	for id, vars := range env {
		if st.resourceType(id) != functionType {
			t.Errorf("local-env.json: %s is not a function", id)
			continue
		}
		declared := path(st.FunctionProperties(id), "Environment", "Variables")
		for k := range vars {
			if cfn.Get(declared, k) == nil {
				t.Errorf("local-env.json: %s.%s is not in the template: sam local ignores it", id, k)
			}
		}
	}
	bucket := s.str(t, path(st.props(bucketID), "BucketName"))
	for id, vars := range env {
		if got, ok := vars["BUCKET_NAME"]; ok && got != bucket {
			t.Errorf("local-env.json: %s.BUCKET_NAME = %q, want %q", id, got, bucket)
		}
	}
}

// The engine's steps (statemachine/engine.asl.json), for one execution
// that submit started on the upload of s3-put.json. Their source names
// no version: the engine presigns it, and clipmill local's bucket, which
// clipmill invoke runs them against, keeps none.
func TestEventEngineSteps(t *testing.T) {
	put := s3Record(t, "s3-put.json")
	var first pipeline.Execution
	for _, c := range []struct{ file, step string }{
		{"engine-prepare.json", enginesteps.StepPrepare},
		{"transcribe-start.json", enginesteps.StepStartTranscribe},
		{"transcribe-check.json", enginesteps.StepCheckTranscribe},
		{"engine-select.json", enginesteps.StepSelect},
		{"engine-render.json", enginesteps.StepRender},
	} {
		var r enginesteps.Request
		decodeStrict(t, c.file, &r)
		if r.Step != c.step {
			t.Errorf("%s: step %q, want %q", c.file, r.Step, c.step)
		}
		if c.step == enginesteps.StepRender {
			if r.Clip == nil || r.Execution != nil {
				t.Fatalf("%s: want a clip, as the Map state's ItemSelector makes it", c.file)
			}
			cl := *r.Clip
			if cl.Work != first.Work || cl.Plan != first.Work+"plan.json" || cl.Name != first.Name || cl.Source != first.Source || cl.Clip == "" {
				t.Errorf("%s: clip %+v: not the execution of engine-prepare.json", c.file, cl)
			}
			continue
		}
		if r.Execution == nil {
			t.Fatalf("%s: no execution", c.file)
		}
		ex := *r.Execution
		if first.Work == "" {
			first = ex
		}
		src := ex.Source
		if src.Bucket != put.S3.Bucket.Name || src.Key != put.S3.Object.URLDecodedKey || src.ETag != put.S3.Object.ETag || src.Version != "" ||
			!put.EventTime.After(src.LastModified) {
			t.Errorf("%s: source %+v: want the upload of s3-put.json", c.file, src)
		}
		if ex.Backend != pipeline.BackendEngine || ex.Work != "work/talk-"+ex.JobID+"/" || ex.Upload != ex.JobID || ex.Attempt != 1 ||
			ex.Limits.RenderConcurrency < 1 || ex.Source != first.Source || ex.Work != first.Work {
			t.Errorf("%s: %+v: want submit's first attempt with the engine", c.file, ex)
		}
		needs := c.step == enginesteps.StepStartTranscribe || c.step == enginesteps.StepCheckTranscribe
		switch p := ex.Prepared; {
		case c.step == enginesteps.StepPrepare:
			if p != nil || ex.Transcription != nil {
				t.Errorf("%s: prepared before the prepare step", c.file)
			}
		case p == nil || p.NeedsTranscription != needs || (p.Transcript == "") != needs:
			t.Errorf("%s: prepared %+v", c.file, p)
		}
		if tr := ex.Transcription; (tr != nil) != (c.step == enginesteps.StepCheckTranscribe) ||
			tr != nil && (tr.Job != "clipmill-talk-"+ex.JobID || tr.Status != "running") {
			t.Errorf("%s: transcription %+v", c.file, tr)
		}
	}
}

// Every file in events/ is one of the above, so none goes stale unread.
func TestEveryEventIsChecked(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot(t), "events"))
	if err != nil {
		t.Fatal(err)
	}
	checked := []string{"engine-prepare.json", "engine-render.json", "engine-select.json", "local-env.json", "poll-input.json",
		"s3-put-sidecar.json", "s3-put.json", "store-failure-input.json", "store-input.json", "transcribe-check.json", "transcribe-start.json"}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(got)
	for _, f := range got {
		if !slices.Contains(checked, f) {
			t.Errorf("events/%s: no test loads it; add it to events_test.go", f)
		}
	}
	for _, f := range checked {
		if !slices.Contains(got, f) {
			t.Errorf("events/%s is missing", f)
		}
	}
}
