package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeDNS maps made-up names to addresses; other names do not resolve.
func fakeDNS(names map[string]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		a, ok := names[strings.ToLower(host)]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
}

func TestClassify(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "::1", "10.0.0.5", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "fc00::1", "fd00:ec2::254", "169.254.169.254", "fe80::1",
		"fe80::1%eth0", "224.0.0.1", "ff02::1", "0.0.0.0", "::", "0.1.2.3",
		"100.64.0.1", "100.100.100.200", "255.255.255.255", "240.0.0.1",
		"192.0.2.1", "198.18.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1",
		"2002:7f00:1::1", "2002:a00:1::", "2001:db8::1", "2001::1", "fec0::1", "100::1",
	}
	for _, s := range blocked {
		if err := checkAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: got %v, want ErrBlocked", s, err)
		}
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1",
		"::ffff:8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e",
		"64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range public {
		if err := checkAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: got %v, want allowed", s, err)
		}
	}
}

func TestErrorSaysWhy(t *testing.T) {
	err := Policy{}.CheckURL("https://10.0.0.5/x")
	want := "destination 10.0.0.5 is a private address"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want it to contain %q", err, want)
	}
}

func TestCheckURL(t *testing.T) {
	refused := []struct {
		p   Policy
		url string
	}{
		{Policy{}, "https://127.0.0.1/"},
		{Policy{}, "https://10.0.0.1/"},
		{Policy{}, "https://169.254.169.254/latest/meta-data/"},
		{Policy{}, "https://[::1]/"},
		{Policy{}, "https://[::ffff:127.0.0.1]/"},
		{Policy{}, "https://[fe80::1%25eth0]/"},
		{Policy{}, "https://0.0.0.0/"},
		{Policy{}, "https://localhost/"},
		{Policy{}, "https://foo.localhost:8443/"},
		{Policy{}, "http://example.com/"},
		{Policy{}, "ftp://example.com/"},
		{Policy{AllowHTTP: true}, "file:///etc/passwd"},
		{Policy{}, "https://user:pass@example.com/"},
		{Policy{}, "https://user@example.com/"},
		{Policy{}, "https:///nohost"},
		{Policy{}, "https://:443/"},
		{Policy{}, "example.com/video.mp4"},
		{Policy{}, "https://exa mple.com/%zz"},
		{Policy{AllowHosts: []string{"localhost:8080"}}, "https://localhost:9090/"},
		{Policy{AllowHosts: []string{"127.0.0.1"}}, "http://127.0.0.1/"}, // allow-listed, still https only
	}
	for _, tc := range refused {
		if err := tc.p.CheckURL(tc.url); !errors.Is(err, ErrBlocked) {
			t.Errorf("%+v %s: got %v, want ErrBlocked", tc.p, tc.url, err)
		}
	}
	allowed := []struct {
		p   Policy
		url string
	}{
		{Policy{}, "https://example.com/video.mp4?sig=abc"},
		{Policy{}, "https://8.8.8.8/"},
		{Policy{}, "HTTPS://Example.COM/"},
		{Policy{AllowHTTP: true}, "http://example.com/"},
		{Policy{AllowHosts: []string{"LocalHost"}}, "https://localhost:9999/"},
		{Policy{AllowHosts: []string{"localhost:8080"}}, "https://localhost:8080/"},
		{Policy{AllowHosts: []string{"127.0.0.1:443"}}, "https://127.0.0.1/"},
		{Policy{AllowHosts: []string{"[::1]:8080"}}, "https://[::1]:8080/"},
		{Policy{AllowHosts: []string{"::1"}}, "https://[::1]:8080/"},
		{Policy{AllowHosts: []string{"minio"}, AllowHTTP: true}, "http://minio:9000/bucket/x.mp4"},
	}
	for _, tc := range allowed {
		if err := tc.p.CheckURL(tc.url); err != nil {
			t.Errorf("%+v %s: got %v, want nil", tc.p, tc.url, err)
		}
	}
}

// TestClientRefuses sends the refused URLs through the client itself,
// which must fail before anything is dialled or on the dialled address.
func TestClientRefuses(t *testing.T) {
	p := Policy{lookup: fakeDNS(map[string]string{"evil.test": "127.0.0.1", "meta.test": "169.254.169.254"})}
	c := p.Client(0)
	for _, u := range []string{
		"https://127.0.0.1/",
		"https://10.0.0.1/",
		"https://169.254.169.254/latest/meta-data/",
		"https://[::1]/",
		"https://[::ffff:127.0.0.1]/",
		"https://0.0.0.0/",
		"https://localhost/",
		"https://evil.test/",
		"https://meta.test/latest/meta-data/",
		"http://example.com/",
		"https://user:pass@example.com/",
	} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: got %v, want ErrBlocked", u, err)
		}
		var ue *url.Error
		if !errors.As(err, &ue) {
			t.Errorf("%s: %T is not wrapped by *url.Error", u, err)
		}
	}
}

// TestDialResolves checks the dial path with the system resolver: a name
// that resolves to loopback (localhost, from /etc/hosts) is refused at dial
// time, whatever the URL check thought of it.
func TestDialResolves(t *testing.T) {
	d := &net.Dialer{Control: controlAddr}
	_, err := Policy{}.dial(context.Background(), d, d, "tcp", "localhost:1")
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("got %v, want ErrBlocked", err)
	}
	t.Log(err)
}

func TestControlAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "[::1]:443", "[::ffff:10.1.2.3]:80", "169.254.169.254:80"} {
		if err := controlAddr("tcp", a, nil); !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: got %v, want ErrBlocked", a, err)
		}
	}
	if err := controlAddr("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("8.8.8.8: %v", err)
	}
}

func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestLocalServerRefused(t *testing.T) {
	srv, hits := newServer(t, ok)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	p := Policy{AllowHTTP: true, lookup: fakeDNS(map[string]string{"evil.test": "127.0.0.1"})}
	c := p.Client(0)
	for _, u := range []string{srv.URL, fmt.Sprintf("http://evil.test:%d/", port)} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: got %v, want ErrBlocked", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func get(t *testing.T, c *http.Client, u string) (string, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestAllowHosts(t *testing.T) {
	srv, _ := newServer(t, ok)
	host := srv.Listener.Addr().String() // 127.0.0.1:PORT
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	c := Policy{AllowHosts: []string{host}, AllowHTTP: true}.Client(0)
	if body, err := get(t, c, srv.URL); err != nil || body != "ok" {
		t.Fatalf("allow-listed %s: %q, %v", host, body, err)
	}

	// A name on the list may resolve to a private address.
	p := Policy{
		AllowHosts: []string{"Allowed.Test"},
		AllowHTTP:  true,
		lookup:     fakeDNS(map[string]string{"allowed.test": "127.0.0.1"}),
	}
	if body, err := get(t, p.Client(0), fmt.Sprintf("http://allowed.test:%d/", port)); err != nil || body != "ok" {
		t.Fatalf("allowed.test: %q, %v", body, err)
	}

	// The list is exact: another port on the same host is refused.
	c = Policy{AllowHosts: []string{"127.0.0.1:1"}, AllowHTTP: true}.Client(0)
	if _, err := get(t, c, srv.URL); !errors.Is(err, ErrBlocked) {
		t.Fatalf("wrong port: got %v, want ErrBlocked", err)
	}
}

func TestRedirects(t *testing.T) {
	target, targetHits := newServer(t, ok)
	port := target.Listener.Addr().(*net.TCPAddr).Port

	var self string
	origin, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ip":
			http.Redirect(w, r, fmt.Sprintf("http://127.0.0.2:%d/", port), http.StatusFound)
		case "/name":
			http.Redirect(w, r, fmt.Sprintf("http://evil.test:%d/", port), http.StatusFound)
		case "/loop":
			http.Redirect(w, r, self+"/loop", http.StatusFound)
		case "/self":
			http.Redirect(w, r, self+"/", http.StatusFound)
		default:
			ok(w, r)
		}
	})
	self = "http://allowed.test:" + origin.URL[strings.LastIndex(origin.URL, ":")+1:]
	p := Policy{
		AllowHosts: []string{"allowed.test"},
		AllowHTTP:  true,
		lookup:     fakeDNS(map[string]string{"allowed.test": "127.0.0.1", "evil.test": "127.0.0.1"}),
	}
	c := p.Client(0)

	if body, err := get(t, c, self+"/self"); err != nil || body != "ok" {
		t.Fatalf("redirect within the allowed host: %q, %v", body, err)
	}
	for _, path := range []string{"/ip", "/name"} {
		if _, err := get(t, c, self+path); !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: got %v, want ErrBlocked", path, err)
		}
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target saw %d requests, want 0", n)
	}
	_, err := get(t, c, self+"/loop")
	if err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: got %v, want a redirect limit error", err)
	}
}

// TestRedirectToHTTP: an allow-listed https host still may not send the
// client to plain http when AllowHTTP is off.
func TestRedirectToHTTP(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Redirect(w, r, "http://"+r.Host+"/", http.StatusFound)
			return
		}
		ok(w, r)
	}))
	defer srv.Close()
	c := Policy{AllowHosts: []string{srv.Listener.Addr().String()}}.Client(0)
	tr := c.Transport.(*transport).next
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()

	if body, err := get(t, c, srv.URL); err != nil || body != "ok" {
		t.Fatalf("https: %q, %v", body, err)
	}
	if _, err := get(t, c, srv.URL+"/down"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("redirect to http: got %v, want ErrBlocked", err)
	}
}

// TestNoProxy: a proxy from the environment would dial past the check.
func TestNoProxy(t *testing.T) {
	c := Policy{}.Client(0)
	if c.Transport.(*transport).next.Proxy != nil {
		t.Fatal("transport uses a proxy")
	}
}
