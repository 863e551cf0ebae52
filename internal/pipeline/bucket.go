package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Bucket is what the pipeline needs of S3.
type Bucket interface {
	// Read returns a small object's bytes (sidecar settings); found is
	// false when there is no such key.
	Read(ctx context.Context, key string, limit int64) (data []byte, found bool, err error)
	// Open streams an object (a source video for an asset upload).
	Open(ctx context.Context, key, version string) (io.ReadCloser, int64, error)
	// Head describes an object (a version, when version is set); found is
	// false when there is no such key.
	Head(ctx context.Context, key, version string) (obj Object, found bool, err error)
	// List returns the keys under a prefix.
	List(ctx context.Context, prefix string) ([]string, error)
	// Put writes an object from a stream of any size.
	Put(ctx context.Context, key string, body io.Reader, contentType string) error
	// PutIfAbsent writes an object only if the key is free; created is
	// false when it was already there.
	PutIfAbsent(ctx context.Context, key string, body []byte, contentType string) (created bool, err error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// PresignGet makes a GET URL valid for ttl.
	PresignGet(ctx context.Context, key, version string, ttl time.Duration) (string, error)
	// Name is the bucket's name.
	Name() string
}

// Object is what a HEAD tells of an object.
type Object struct {
	ETag         string // without quotes, as S3 events carry it
	LastModified time.Time
}

// S3Bucket is Bucket on the AWS SDK: real S3, or the embedded S3 server.
type S3Bucket struct {
	Client *s3.Client
	Bucket string
}

func (b *S3Bucket) Name() string { return b.Bucket }

func (b *S3Bucket) Read(ctx context.Context, key string, limit int64) ([]byte, bool, error) {
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key})
	if err != nil {
		if isNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read s3://%s/%s: %w", b.Bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, true, fmt.Errorf("read s3://%s/%s: %w", b.Bucket, key, err)
	}
	if int64(len(data)) > limit {
		return nil, true, fmt.Errorf("s3://%s/%s is over %d bytes", b.Bucket, key, limit)
	}
	return data, true, nil
}

func (b *S3Bucket) Open(ctx context.Context, key, version string) (io.ReadCloser, int64, error) {
	in := &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key}
	if version != "" {
		in.VersionId = &version
	}
	out, err := b.Client.GetObject(ctx, in)
	if err != nil {
		return nil, 0, fmt.Errorf("open s3://%s/%s: %w", b.Bucket, key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

func (b *S3Bucket) Head(ctx context.Context, key, version string) (Object, bool, error) {
	in := &s3.HeadObjectInput{Bucket: &b.Bucket, Key: &key}
	if version != "" {
		in.VersionId = &version
	}
	out, err := b.Client.HeadObject(ctx, in)
	if err != nil {
		if isNotFound(err) {
			return Object{}, false, nil
		}
		return Object{}, false, fmt.Errorf("head s3://%s/%s: %w", b.Bucket, key, err)
	}
	return Object{ETag: strings.Trim(aws.ToString(out.ETag), `"`), LastModified: aws.ToTime(out.LastModified)}, true, nil
}

func (b *S3Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(b.Client, &s3.ListObjectsV2Input{Bucket: &b.Bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", b.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// Put streams with the SDK's upload manager: multipart above 8 MB, so a
// long clip never sits whole in memory.
func (b *S3Bucket) Put(ctx context.Context, key string, body io.Reader, contentType string) error {
	up := manager.NewUploader(b.Client, func(u *manager.Uploader) { u.PartSize = 8 << 20; u.Concurrency = 2 })
	_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &b.Bucket, Key: &key, Body: body, ContentType: &contentType})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", b.Bucket, key, err)
	}
	return nil
}

func (b *S3Bucket) PutIfAbsent(ctx context.Context, key string, body []byte, contentType string) (bool, error) {
	_, err := b.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.Bucket, Key: &key, Body: strings.NewReader(string(body)), ContentType: &contentType,
		IfNoneMatch: aws.String("*"),
	})
	if err != nil {
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict) {
			return false, nil
		}
		return false, fmt.Errorf("write s3://%s/%s: %w", b.Bucket, key, err)
	}
	return true, nil
}

func (b *S3Bucket) Delete(ctx context.Context, key string) error {
	if _, err := b.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.Bucket, Key: &key}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete s3://%s/%s: %w", b.Bucket, key, err)
	}
	return nil
}

func (b *S3Bucket) PresignGet(ctx context.Context, key, version string, ttl time.Duration) (string, error) {
	in := &s3.GetObjectInput{Bucket: &b.Bucket, Key: &key}
	if version != "" {
		in.VersionId = &version
	}
	req, err := s3.NewPresignClient(b.Client).PresignGetObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", b.Bucket, key, err)
	}
	return req.URL, nil
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
