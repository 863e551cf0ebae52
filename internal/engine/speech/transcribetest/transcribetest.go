// Package transcribetest is a fake Amazon Transcribe for tests: it answers
// the JSON API as AWS does for the calls clipmill makes, with the real SDK
// clients talking to it and to gofakes3 on loopback.
package transcribetest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Result is a Transcribe result document with two words, as Transcribe
// writes it.
const Result = `{"jobName":"x","results":{"language_code":"en-US","transcripts":[{"transcript":"Hello there."}],"items":[` +
	`{"type":"pronunciation","start_time":"0.5","end_time":"0.9","alternatives":[{"confidence":"0.99","content":"Hello"}]},` +
	`{"type":"pronunciation","start_time":"1.0","end_time":"1.4","alternatives":[{"confidence":"0.97","content":"there"}]},` +
	`{"type":"punctuation","alternatives":[{"confidence":"0.0","content":"."}]}]}}`

// Fake is a Transcribe service. A job completes after Polls checks that
// found it in progress, writing Result (or ResultFor's answer) to its
// output key through S3, or fails with Reason when one is set.
type Fake struct {
	T         testing.TB
	S3        *s3.Client
	Polls     int
	Reason    string
	ResultFor func(start map[string]any) string

	mu     sync.Mutex
	starts []map[string]any
	jobs   map[string]*job
}

type job struct {
	start  map[string]any
	checks int
}

// Starts are the StartTranscriptionJob requests, as sent.
func (f *Fake) Starts() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.starts...)
}

// Checks is how many times the job was looked at.
func (f *Fake) Checks(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j := f.jobs[name]; j != nil {
		return j.checks
	}
	return 0
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		http.Error(w, "bad request", 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs == nil {
		f.jobs = map[string]*job{}
	}
	name, _ := in["TranscriptionJobName"].(string)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "Transcribe.StartTranscriptionJob":
		f.starts = append(f.starts, in)
		if f.jobs[name] != nil {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]any{"__type": "ConflictException",
				"Message": "The requested job name already exists. Use a different job name."})
			return
		}
		f.jobs[name] = &job{start: in}
		json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": map[string]any{
			"TranscriptionJobName": name, "TranscriptionJobStatus": "IN_PROGRESS"}})
	case "Transcribe.GetTranscriptionJob":
		j := f.jobs[name]
		if j == nil {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]any{"__type": "BadRequestException",
				"Message": "The requested job couldn't be found. Check the job name and try your request again."})
			return
		}
		j.checks++
		status := "IN_PROGRESS"
		out := map[string]any{"TranscriptionJobName": name}
		if j.checks > f.Polls {
			status = "COMPLETED"
			if f.Reason != "" {
				status, out["FailureReason"] = "FAILED", f.Reason
			} else {
				bucket, key := j.start["OutputBucketName"].(string), j.start["OutputKey"].(string)
				result := Result
				if f.ResultFor != nil {
					result = f.ResultFor(j.start)
				}
				_, err := f.S3.PutObject(r.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(result)})
				if err != nil {
					f.T.Error(err)
				}
				out["Transcript"] = map[string]any{"TranscriptFileUri": "https://s3.amazonaws.com/" + bucket + "/" + key}
			}
		}
		out["TranscriptionJobStatus"] = status
		json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": out})
	default:
		http.Error(w, "unknown target", 400)
	}
}

// Clients are real SDK clients for a fake Transcribe and a gofakes3
// bucket named Bucket, both on loopback.
type Clients struct {
	Transcribe *transcribe.Client
	S3         *s3.Client
	S3URL      string
	Fake       *Fake
}

// Bucket is the bucket New creates.
const Bucket = "media"

// New starts the fake and gofakes3, closed when the test ends.
func New(t testing.TB) Clients {
	t.Helper()
	creds := credentials.NewStaticCredentialsProvider("k", "s", "")
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(s3srv.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true, Region: "eu-west-1", Credentials: creds})
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		t.Fatal(err)
	}
	fake := &Fake{T: t, S3: s3c}
	trsrv := httptest.NewServer(fake)
	t.Cleanup(trsrv.Close)
	trc := transcribe.New(transcribe.Options{BaseEndpoint: aws.String(trsrv.URL), Region: "eu-west-1", Credentials: creds})
	return Clients{Transcribe: trc, S3: s3c, S3URL: s3srv.URL, Fake: fake}
}
