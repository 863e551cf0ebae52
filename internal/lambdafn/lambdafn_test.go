package lambdafn

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The init error goes where the runtime API documents it, as Lambda's
// error document with its type in the header too.
func TestReportInitError(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path, r.Header.Get("Lambda-Runtime-Function-Error-Type"), string(b))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	api := strings.TrimPrefix(srv.URL, "http://")
	if err := ReportInitError(api, errors.New("BUCKET_NAME is not set")); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /2018-06-01/runtime/init/error", "Runtime.InitError",
		`{"errorMessage":"BUCKET_NAME is not set","errorType":"Runtime.InitError"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("request:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := ReportInitError("", errors.New("x")); err != nil {
		t.Errorf("outside Lambda: %v", err)
	}
}
