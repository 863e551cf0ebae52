// Package netguard is an HTTP client for user-given URLs (source videos,
// webhook callbacks) that refuses to reach private, loopback, link-local
// and other non-public destinations, so the server cannot be used to probe
// or attack the network it runs in (SSRF).
//
// The address check happens at dial time, on the IP actually connected
// to, after DNS resolution: a name that resolves to a public address when
// the URL is validated and to 127.0.0.1 when it is fetched (DNS rebinding)
// is still refused. Every request, redirects included, is also checked for
// scheme, host and credentials before it is sent.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by every refusal; the wrapping error says why.
var ErrBlocked = errors.New("netguard: refused")

// Policy says which destinations a client may reach. The zero value allows
// public https destinations only.
type Policy struct {
	// AllowHosts lists host names (exact, case-insensitive, optionally
	// with :port) that may be reached even if they resolve to private
	// addresses, for local use. The scheme rule still applies to them.
	AllowHosts []string
	// AllowHTTP permits plain http:// (local use); by default https only.
	AllowHTTP bool

	// lookup resolves a host name; nil means the system resolver. Tests
	// set it to map made-up names to chosen addresses.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Transport limits. The overall limit is the timeout given to Client.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
	maxRedirects          = 5
)

// Client returns an HTTP client that enforces the policy on every request
// and redirect and on every address it dials. timeout is the overall limit
// per request, as http.Client.Timeout (0 means none).
func (p Policy) Client(timeout time.Duration) *http.Client {
	guarded := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: controlAddr}
	plain := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil, // a proxy would dial on our behalf, past the check
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.dial(ctx, guarded, plain, network, addr)
		},
		ForceAttemptHTTP2:      true, // a custom DialContext turns HTTP/2 off otherwise
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ResponseHeaderTimeout:  responseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           100,
		MaxResponseHeaderBytes: 1 << 20,
	}
	return &http.Client{
		Transport: &transport{policy: p, next: tr},
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("netguard: stopped after %d redirects", maxRedirects)
			}
			return p.checkURL(req.URL)
		},
	}
}

// CheckURL is a fast check of a URL before any request: the scheme, a host,
// no user:pass@, and a literal IP or localhost name must be public. A host
// name is only resolved, and its addresses checked, when a request dials.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the URL, query string and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: malformed URL: %v", ErrBlocked, err)
	}
	return p.checkURL(u)
}

func (p Policy) checkURL(u *url.URL) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowHTTP:
	case p.AllowHTTP:
		return fmt.Errorf("%w: scheme %q is not allowed (http or https only)", ErrBlocked, u.Scheme)
	default:
		return fmt.Errorf("%w: scheme %q is not allowed (https only)", ErrBlocked, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL carries credentials (user:pass@)", ErrBlocked)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: URL has no host", ErrBlocked)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p.allowed(host, port) {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return checkAddr(ip)
	}
	// RFC 6761: localhost and its subdomains are loopback by definition,
	// so say so now rather than at dial time.
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%w: destination %s is a loopback name", ErrBlocked, host)
	}
	return nil
}

// allowed reports whether host:port matches an AllowHosts entry.
func (p Policy) allowed(host, port string) bool {
	for _, e := range p.AllowHosts {
		eh, ep, err := net.SplitHostPort(e)
		if err != nil { // no port: any port matches
			eh, ep = strings.TrimSuffix(strings.TrimPrefix(e, "["), "]"), ""
		}
		if strings.EqualFold(eh, host) && (ep == "" || ep == port) {
			return true
		}
	}
	return false
}

// dial resolves addr's host itself, checks every address (unless the host
// is allow-listed) and dials the checked IPs, so the address connected to
// is the address checked. A name with any non-public address is refused
// outright: a legitimate public host has no reason to publish one.
func (p Policy) dial(ctx context.Context, guarded, plain *net.Dialer, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("netguard: dial %s: %w", addr, err)
	}
	ips, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	d := plain
	if !p.allowed(host, port) {
		d = guarded
		for _, ip := range ips {
			if err := checkAddr(ip); err != nil {
				if ip.String() != host {
					return nil, fmt.Errorf("%w (resolved from %s)", err, host)
				}
				return nil, err
			}
		}
	}
	var firstErr error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// resolve returns the addresses of host, unmapped (the system resolver
// returns IPv4 addresses in their IPv4-mapped IPv6 form).
func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	lookup := p.lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ips, err := lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("netguard: resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("netguard: resolve %s: no addresses", host)
	}
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	return ips, nil
}

// controlAddr checks the socket address just before connect. dial already
// checked the same IP; this keeps the rule true of whatever path reaches
// the guarded dialer.
func controlAddr(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q", ErrBlocked, address)
	}
	return checkAddr(ap.Addr())
}

// transport checks each request, redirects included, before sending it.
type transport struct {
	policy Policy
	next   *http.Transport
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// underlying transport.
func (t *transport) CloseIdleConnections() { t.next.CloseIdleConnections() }
