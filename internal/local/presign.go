package local

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checkPresigned refuses a presigned URL whose signature or expiry does
// not hold, as S3 does: 403 with an S3 error body. gofakes3 ignores both,
// so a URL handed to the backend, or written in a manifest, could be
// edited to read another key, and never expired. Requests without query
// authentication pass untouched.
func checkPresigned(next http.Handler, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var err *s3Error
		switch {
		case q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential"):
			err = checkV4(r, q, now())
		case q.Has("Signature") || q.Has("AWSAccessKeyId"):
			// Signature version 2: what the AWS CLI v1 presigns by default.
			err = checkV2(r, q, now())
		}
		if err != nil {
			err.write(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// s3Error is an S3 error response.
type s3Error struct {
	status  int
	Code    string
	Message string
}

var (
	errSignature = &s3Error{http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	errExpired   = &s3Error{http.StatusForbidden, "AccessDenied", "Request has expired"}
	errAccessKey = &s3Error{http.StatusForbidden, "InvalidAccessKeyId",
		"The AWS Access Key Id you provided does not exist in our records."}
)

func badQuery(msg string) *s3Error {
	return &s3Error{http.StatusBadRequest, "AuthorizationQueryParametersError", msg}
}

func (e *s3Error) write(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	body, _ := xml.Marshal(struct {
		XMLName  xml.Name `xml:"Error"`
		Code     string
		Message  string
		Resource string
	}{Code: e.Code, Message: e.Message, Resource: r.URL.Path})
	fmt.Fprintf(w, "%s%s\n", xml.Header, body)
}

// checkV4 checks a SigV4 presigned URL: the signature over the canonical
// request (method, path, query, signed headers), then the expiry.
func checkV4(r *http.Request, q url.Values, now time.Time) *s3Error {
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if q.Get(k) == "" {
			return badQuery("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return badQuery(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	scope := strings.Split(q.Get("X-Amz-Credential"), "/") // key/date/region/service/aws4_request
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return badQuery("Error parsing the X-Amz-Credential parameter")
	}
	if scope[0] != AccessKeyID {
		return errAccessKey
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return badQuery("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 0 || expires > 7*24*3600 {
		return badQuery("X-Amz-Expires must be a number of seconds from 0 to 604800")
	}

	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", q.Get("X-Amz-Date"), strings.Join(scope[1:], "/"),
		hexSHA256(canonicalV4(r, q))}, "\n")
	key := []byte("AWS4" + SecretAccessKey)
	for _, s := range scope[1:] {
		key = hmacSHA256(key, s)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		return errSignature
	}
	if now.After(signed.Add(time.Duration(expires) * time.Second)) {
		return errExpired
	}
	return nil
}

// canonicalV4 is SigV4's canonical request for a presigned URL. S3 signs
// the path as sent (no second escaping) and, unless told otherwise, no
// payload.
func canonicalV4(r *http.Request, q url.Values) string {
	type param struct{ k, v string }
	var params []param
	for k, vs := range q {
		if k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			params = append(params, param{awsEscape(k), awsEscape(v)})
		}
	}
	slices.SortFunc(params, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	query := make([]string, len(params))
	for i, p := range params {
		query[i] = p.k + "=" + p.v
	}
	var headers strings.Builder
	for _, name := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		v := strings.Join(r.Header.Values(name), ",")
		if name == "host" {
			v = r.Host
		}
		headers.WriteString(name + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := q.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "UNSIGNED-PAYLOAD"
	}
	return strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(query, "&"),
		headers.String(), q.Get("X-Amz-SignedHeaders"), payload}, "\n")
}

// awsEscape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~
// as %XX.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checkV2 checks a signature version 2 presigned URL (AWSAccessKeyId,
// Signature, Expires): an HMAC-SHA1 of the method, two headers, the
// expiry, the x-amz- headers and the resource.
func checkV2(r *http.Request, q url.Values, now time.Time) *s3Error {
	if q.Get("AWSAccessKeyId") == "" || q.Get("Signature") == "" || q.Get("Expires") == "" {
		return badQuery("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	if q.Get("AWSAccessKeyId") != AccessKeyID {
		return errAccessKey
	}
	expires, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil {
		return badQuery("Expires must be a Unix time in seconds")
	}
	toSign := strings.Join([]string{r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"),
		q.Get("Expires"), amzHeadersV2(r) + resourceV2(r, q)}, "\n")
	m := hmac.New(sha1.New, []byte(SecretAccessKey))
	m.Write([]byte(toSign))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(q.Get("Signature"))) {
		return errSignature
	}
	if now.Unix() > expires {
		return errExpired
	}
	return nil
}

func amzHeadersV2(r *http.Request) string {
	var lines []string
	for name, vs := range r.Header {
		if n := strings.ToLower(name); strings.HasPrefix(n, "x-amz-") {
			lines = append(lines, n+":"+strings.Join(vs, ",")+"\n")
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "")
}

// subresourcesV2 are the query parameters SigV2 signs.
var subresourcesV2 = []string{"acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
	"partNumber", "policy", "requestPayment", "response-cache-control", "response-content-disposition",
	"response-content-encoding", "response-content-language", "response-content-type", "response-expires",
	"restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website"}

func resourceV2(r *http.Request, q url.Values) string {
	var subs []string
	for _, k := range subresourcesV2 { // sorted
		if !q.Has(k) {
			continue
		}
		if v := q.Get(k); v != "" {
			subs = append(subs, k+"="+v)
		} else {
			subs = append(subs, k)
		}
	}
	if len(subs) == 0 {
		return r.URL.EscapedPath()
	}
	return r.URL.EscapedPath() + "?" + strings.Join(subs, "&")
}
