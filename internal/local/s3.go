package local

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// The S3 endpoint's credentials. Requests signed in their headers pass
// with any key, as before; a presigned URL is checked, so it must be
// signed with these (the pipeline's own URLs are).
const (
	AccessKeyID     = "local"
	SecretAccessKey = "local"
)

// s3Handler serves the data folder as the bucket, through gofakes3, with
// what it lacks added around it: presigned URLs checked, listings paged.
func s3Handler(dataDir string, now func() time.Time) (http.Handler, error) {
	fs := bucketFs{afero.NewBasePathFs(afero.NewOsFs(), dataDir)}
	backend, err := s3afero.SingleBucket(Bucket, fs, afero.NewMemMapFs())
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s3 := gofakes3.New(pagedBackend{backend}, gofakes3.WithLogger(gofakes3.DiscardLog()))
	return checkPresigned(s3.Server(), now), nil
}

// pagedBackend pages listings: s3afero's single bucket cannot, and
// gofakes3 then returns every key, whatever max-keys says. gofakes3 turns
// the marker into continuation tokens and back.
type pagedBackend struct {
	*s3afero.SingleBucketBackend
}

// PutObject replaces the object's metadata as S3 does: gofakes3 carries
// the old object's over, and with it a checksum of its old bytes, which the
// SDK then refuses. Keys the new object lacks are masked with "".
func (b pagedBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if old, err := b.SingleBucketBackend.HeadObject(bucket, key); err == nil {
		for k := range old.Metadata {
			if _, ok := meta[k]; !ok {
				meta[k] = ""
			}
		}
	}
	return b.SingleBucketBackend.PutObject(bucket, key, meta, input, size, cond)
}

// CopyObject goes through this backend's PutObject, so that a copy over a
// key replaces its metadata too.
func (b pagedBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(b, srcBucket, srcKey, dstBucket, dstKey, meta)
}

func (b pagedBackend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	obj, err := b.SingleBucketBackend.HeadObject(bucket, key)
	return cleanMeta(obj), err
}

func (b pagedBackend) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	obj, err := b.SingleBucketBackend.GetObject(bucket, key, rng)
	return cleanMeta(obj), err
}

// cleanMeta drops masked keys, and every checksum: the local steps also
// write the data folder directly, behind the stored metadata's back, and
// S3 sends a checksum only to a reader that asks for it.
func cleanMeta(obj *gofakes3.Object) *gofakes3.Object {
	if obj == nil {
		return nil
	}
	for k, v := range obj.Metadata {
		if v == "" || strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
			delete(obj.Metadata, k)
		}
	}
	return obj
}

func (b pagedBackend) ListBucket(bucket string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	all, err := b.SingleBucketBackend.ListBucket(bucket, prefix, gofakes3.ListBucketPage{})
	if err != nil || page.IsEmpty() {
		return all, err
	}
	return pageOf(all, page), nil
}

// pageOf cuts one page out of a full listing. Keys and common prefixes
// count alike and come in one order, as S3 pages them; a marker that is a
// common prefix skips the keys it rolled up, which the full listing has
// already folded into it.
func pageOf(all *gofakes3.ObjectList, page gofakes3.ListBucketPage) *gofakes3.ObjectList {
	type entry struct {
		name    string
		content *gofakes3.Content // nil for a common prefix
	}
	entries := make([]entry, 0, len(all.Contents)+len(all.CommonPrefixes))
	for _, c := range all.Contents {
		entries = append(entries, entry{c.Key, c})
	}
	for _, p := range all.CommonPrefixes {
		entries = append(entries, entry{p.Prefix, nil})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	out := gofakes3.NewObjectList()
	n := int64(0)
	for _, e := range entries {
		if page.HasMarker && e.name <= page.Marker {
			continue
		}
		if page.MaxKeys > 0 && n == page.MaxKeys {
			out.IsTruncated = true
			break
		}
		if e.content != nil {
			out.Add(e.content)
		} else {
			out.AddPrefix(e.name)
		}
		out.NextMarker = e.name
		n++
	}
	if !out.IsTruncated {
		out.NextMarker = "" // no continuation token on the last page
	}
	return out
}

// bucketFs is the data folder as the bucket sees it. afero's BasePathFs
// lets a name climb out of its folder into any sibling whose name starts
// with the folder's ("../clipmill-local.state/server/api-key" is under
// "clipmill-local" by its prefix test), so every name is checked here to
// stay inside, by path segments.
type bucketFs struct{ afero.Fs }

func inside(name string) error {
	if n := strings.TrimLeft(filepath.ToSlash(name), "/"); n != "" && !filepath.IsLocal(n) {
		return &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return nil
}

func (b bucketFs) Create(name string) (afero.File, error) {
	if err := inside(name); err != nil {
		return nil, err
	}
	return b.Fs.Create(name)
}

func (b bucketFs) Mkdir(name string, perm os.FileMode) error {
	return cmpErr(inside(name), func() error { return b.Fs.Mkdir(name, perm) })
}

func (b bucketFs) MkdirAll(name string, perm os.FileMode) error {
	return cmpErr(inside(name), func() error { return b.Fs.MkdirAll(name, perm) })
}

func (b bucketFs) Open(name string) (afero.File, error) {
	if err := inside(name); err != nil {
		return nil, err
	}
	return b.Fs.Open(name)
}

func (b bucketFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if err := inside(name); err != nil {
		return nil, err
	}
	return b.Fs.OpenFile(name, flag, perm)
}

func (b bucketFs) Remove(name string) error {
	return cmpErr(inside(name), func() error { return b.Fs.Remove(name) })
}

func (b bucketFs) RemoveAll(name string) error {
	return cmpErr(inside(name), func() error { return b.Fs.RemoveAll(name) })
}

func (b bucketFs) Rename(from, to string) error {
	return cmpErr(cmp.Or(inside(from), inside(to)), func() error { return b.Fs.Rename(from, to) })
}

func (b bucketFs) Stat(name string) (os.FileInfo, error) {
	if err := inside(name); err != nil {
		return nil, err
	}
	return b.Fs.Stat(name)
}

func (b bucketFs) Chmod(name string, mode os.FileMode) error {
	return cmpErr(inside(name), func() error { return b.Fs.Chmod(name, mode) })
}

func (b bucketFs) Chown(name string, uid, gid int) error {
	return cmpErr(inside(name), func() error { return b.Fs.Chown(name, uid, gid) })
}

func (b bucketFs) Chtimes(name string, atime, mtime time.Time) error {
	return cmpErr(inside(name), func() error { return b.Fs.Chtimes(name, atime, mtime) })
}

// cmpErr is err, or what f returns when err is nil.
func cmpErr(err error, f func() error) error {
	if err != nil {
		return err
	}
	return f()
}
