package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// startS3 starts clipmill local on an empty folder, for its S3 endpoint.
func startS3(t *testing.T) (*Local, string) {
	t.Helper()
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l, err := Start(ctx, Config{DataDir: data, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, data
}

func s3Client(l *Local, key, secret string) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(l.S3URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

func write(t *testing.T, data, key, body string) {
	t.Helper()
	p := filepath.Join(data, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// signedAt is the SDK's own presigner, signing at a given time.
type signedAt struct {
	s3.HTTPPresignerV4
	at time.Time
}

func (s signedAt) PresignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payload, service, region string,
	_ time.Time, opts ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return s.HTTPPresignerV4.PresignHTTP(ctx, c, r, payload, service, region, s.at, opts...)
}

// get fetches a URL and returns its status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// A presigned URL is served as long as it is intact and unexpired, as S3
// does; anything else gets 403 and an S3 error.
func TestPresignedURLs(t *testing.T) {
	l, data := startS3(t)
	write(t, data, "inbox/my talk+1.txt", "mine")
	write(t, data, "inbox/other.txt", "not yours")
	ctx := context.Background()
	presign := func(key, secret string, at time.Time, ttl time.Duration) string {
		t.Helper()
		signer := signedAt{v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }), at}
		pc := s3.NewPresignClient(s3Client(l, key, secret), func(o *s3.PresignOptions) { o.Presigner = signer })
		req, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String("inbox/my talk+1.txt")},
			s3.WithPresignExpires(ttl))
		if err != nil {
			t.Fatal(err)
		}
		return req.URL
	}
	valid := presign(AccessKeyID, SecretAccessKey, time.Now(), time.Hour)
	if status, body := get(t, valid); status != 200 || body != "mine" {
		t.Fatalf("valid URL: %d %q", status, body)
	}

	sig := strings.Index(valid, "X-Amz-Signature=") + len("X-Amz-Signature=")
	flip := map[byte]string{'0': "1"}[valid[sig]]
	if flip == "" {
		flip = "0"
	}
	for _, c := range []struct{ name, url, code string }{
		{"tampered signature", valid[:sig] + flip + valid[sig+1:], "SignatureDoesNotMatch"},
		{"tampered key", strings.Replace(valid, "my%20talk%2B1.txt", "other.txt", 1), "SignatureDoesNotMatch"},
		{"tampered expiry", strings.Replace(valid, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1), "SignatureDoesNotMatch"},
		{"expired", presign(AccessKeyID, SecretAccessKey, time.Now().Add(-2*time.Hour), time.Hour), "AccessDenied"},
		{"wrong secret", presign(AccessKeyID, "guess", time.Now(), time.Hour), "SignatureDoesNotMatch"},
		{"unknown key", presign("someone", SecretAccessKey, time.Now(), time.Hour), "InvalidAccessKeyId"},
	} {
		if c.url == valid {
			t.Fatalf("%s: the URL did not change", c.name)
		}
		status, body := get(t, c.url)
		if status != 403 || !strings.Contains(body, "<Error><Code>"+c.code+"</Code>") || strings.Contains(body, "mine") || strings.Contains(body, "yours") {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	// Requests signed in their headers still pass with any key.
	out, err := s3Client(l, "anything", "anything").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String("inbox/other.txt")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
}

// Listings honour max-keys and continuation tokens: each page holds at
// most max-keys entries (keys and common prefixes alike), and following
// the tokens yields every entry once, in order.
func TestListingPages(t *testing.T) {
	l, data := startS3(t)
	var want []string
	for i := range 7 {
		key := fmt.Sprintf("inbox/v%d.mp4", i)
		write(t, data, key, "x")
		want = append(want, key)
	}
	write(t, data, "inbox/team/a.mp4", "x")
	write(t, data, "inbox/zz/b.mp4", "x")
	client := s3Client(l, "any", "any")
	ctx := context.Background()
	list := func(in *s3.ListObjectsV2Input) (entries []string, pages int) {
		t.Helper()
		p := s3.NewListObjectsV2Paginator(client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(page.Contents) + len(page.CommonPrefixes); n > int(aws.ToInt32(in.MaxKeys)) || aws.ToInt32(page.KeyCount) != int32(n) {
				t.Fatalf("page %d: %d entries, KeyCount %d, max-keys %d", pages, n, aws.ToInt32(page.KeyCount), aws.ToInt32(in.MaxKeys))
			}
			for _, o := range page.Contents {
				entries = append(entries, *o.Key)
			}
			for _, p := range page.CommonPrefixes {
				entries = append(entries, *p.Prefix)
			}
			if pages++; pages > 20 {
				t.Fatal("the listing does not end")
			}
		}
		return entries, pages
	}
	got, pages := list(&s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String("inbox/v"), MaxKeys: aws.Int32(3)})
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("%d pages: %v", pages, got)
	}
	// With a delimiter, each folder is one entry, whatever it holds.
	got, pages = list(&s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String("inbox/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	wantDirs := slices.Concat([]string{"inbox/team/"}, want, []string{"inbox/zz/"})
	slices.Sort(got)
	slices.Sort(wantDirs)
	if !slices.Equal(got, wantDirs) || pages != 5 {
		t.Fatalf("with a delimiter, %d pages: %v", pages, got)
	}
	// A page of one, its token, then the rest.
	first, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String("inbox/v"), MaxKeys: aws.Int32(1)})
	if err != nil || len(first.Contents) != 1 || !aws.ToBool(first.IsTruncated) || first.NextContinuationToken == nil {
		t.Fatalf("one key: %+v %v", first, err)
	}
	rest, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String("inbox/v"),
		ContinuationToken: first.NextContinuationToken})
	if err != nil || len(rest.Contents) != 6 || aws.ToBool(rest.IsTruncated) || rest.NextContinuationToken != nil || *rest.Contents[0].Key != want[1] {
		t.Fatalf("the rest: %+v %v", rest, err)
	}
}

// The AWS CLI against the endpoint: paged listings and its presigned URLs
// (signature version 2 by default, version 4 when configured).
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("an external tool (cfn-lint, asl-validator, aws-local-stepfunctions, the AWS CLI): the full run has it")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	l, data := startS3(t)
	var keys []string
	for i := range 5 {
		keys = append(keys, fmt.Sprintf("inbox/talk %d.mp4", i))
		write(t, data, keys[i], fmt.Sprintf("video %d", i))
	}
	config := filepath.Join(t.TempDir(), "config")
	// run returns the command's output, and its log with --debug.
	run := func(sigv4 bool, args ...string) (string, string) {
		t.Helper()
		conf := "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n"
		if sigv4 {
			conf += "  signature_version = s3v4\n"
		}
		os.WriteFile(config, []byte(conf), 0o644)
		cmd := exec.Command("aws", append([]string{"--endpoint-url", l.S3URL}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_ACCESS_KEY_ID="+AccessKeyID, "AWS_SECRET_ACCESS_KEY="+SecretAccessKey, "AWS_PAGER=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return strings.TrimSpace(string(out)), stderr.String()
	}
	aws := func(sigv4 bool, args ...string) string {
		t.Helper()
		out, _ := run(sigv4, args...)
		return out
	}

	// s3 ls asks for pages of two and follows the tokens: three requests,
	// every key once.
	ls, log := run(false, "s3", "ls", "--recursive", "--page-size", "2", "--debug", "s3://"+Bucket+"/inbox/")
	for _, k := range keys {
		if strings.Count(ls, k) != 1 {
			t.Errorf("s3 ls --page-size 2: %s listed %d times\n%s", k, strings.Count(ls, k), ls)
		}
	}
	if n := strings.Count(log, "Making request for OperationModel(name=ListObjectsV2)"); n != 3 {
		t.Errorf("s3 ls --page-size 2 listed 5 keys in %d requests, want 3", n)
	}
	// One page of two, then the next from its token.
	var page struct {
		Contents              []struct{ Key string }
		IsTruncated           bool
		NextContinuationToken string
	}
	out := aws(false, "s3api", "list-objects-v2", "--bucket", Bucket, "--prefix", "inbox/", "--max-keys", "2", "--no-paginate")
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Contents) != 2 || !page.IsTruncated || page.NextContinuationToken == "" {
		t.Fatalf("list-objects-v2 --max-keys 2: %v\n%s", err, out)
	}
	out = aws(false, "s3api", "list-objects-v2", "--bucket", Bucket, "--prefix", "inbox/", "--max-keys", "2", "--no-paginate",
		"--continuation-token", page.NextContinuationToken)
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Contents) != 2 || page.Contents[0].Key != keys[2] {
		t.Fatalf("the second page: %v\n%s", err, out)
	}

	for _, sigv4 := range []bool{false, true} {
		u := aws(sigv4, "s3", "presign", "s3://"+Bucket+"/"+keys[1], "--expires-in", "300")
		if status, body := get(t, u); status != 200 || body != "video 1" {
			t.Fatalf("presigned (v4 %v) %s: %d %q", sigv4, u, status, body)
		}
		tampered := strings.Replace(u, "talk%201.mp4", "talk%202.mp4", 1)
		if status, body := get(t, tampered); tampered == u || status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
			t.Errorf("tampered (v4 %v) %s: %d %s", sigv4, tampered, status, body)
		}
		expired := aws(sigv4, "s3", "presign", "s3://"+Bucket+"/"+keys[1], "--expires-in", "1")
		time.Sleep(2100 * time.Millisecond)
		if status, body := get(t, expired); status != 403 || !strings.Contains(body, "Request has expired") {
			t.Errorf("expired (v4 %v): %d %s", sigv4, status, body)
		}
	}
}

// An object written again, through S3 or on disk (as the local steps write
// the data folder), reads back as its new bytes. A writer that sends a
// checksum (the AWS config's default) and one that sends none (a plain
// s3.Options) take turns: a stale checksum would fail the SDK's read.
func TestRewrittenObject(t *testing.T) {
	l, data := startS3(t)
	plain := s3Client(l, "local", "local")
	summed := s3.New(plain.Options(), func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	})
	ctx := context.Background()
	put := func(c *s3.Client, body string) {
		t.Helper()
		if _, err := manager.NewUploader(c).Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(Bucket),
			Key: aws.String("clips/a.json"), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(want string) {
		t.Helper()
		out, err := summed.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String("clips/a.json"),
			ChecksumMode: "ENABLED"})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil || string(b) != want {
			t.Fatalf("read %q (%v), want %q", b, err, want)
		}
	}
	put(summed, `{"v":1}`)
	read(`{"v":1}`)
	put(plain, `{"v":22}`)
	read(`{"v":22}`)
	put(summed, `{"v":4444}`)
	if err := os.WriteFile(filepath.Join(data, "clips", "a.json"), []byte(`{"v":333}`), 0o644); err != nil {
		t.Fatal(err)
	}
	read(`{"v":333}`)
}
