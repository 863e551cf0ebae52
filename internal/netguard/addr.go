package netguard

import (
	"fmt"
	"net/netip"
)

// checkAddr returns an ErrBlocked error if ip is not a public unicast
// address.
func checkAddr(ip netip.Addr) error {
	if kind := classify(ip); kind != "" {
		return fmt.Errorf("%w: destination %s is %s", ErrBlocked, ip, kind)
	}
	return nil
}

// ranges lists the non-public blocks that netip's predicates do not cover.
var ranges = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a reserved address"}, // "this network"
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"}, // IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a reserved address"}, // old 6to4 relays
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:2::/48"), "a benchmarking address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
}

var (
	// IPv6 global unicast; everything else in IPv6 is local or reserved.
	global6 = netip.MustParsePrefix("2000::/3")
	// Well-known NAT64 and 6to4 prefixes embed an IPv4 address, which is
	// the real destination.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classify describes why ip is not public ("a private address"), or
// returns "" for a public unicast address.
func classify(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("") // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case !ip.IsValid():
		return "an invalid address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address" // 169.254.169.254, cloud metadata, is here
	case ip.IsMulticast():
		return "a multicast address"
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return classify(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return classify(netip.AddrFrom4([4]byte(b[2:6])))
		case !global6.Contains(ip):
			return "a reserved address"
		}
	}
	for _, r := range ranges {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}
