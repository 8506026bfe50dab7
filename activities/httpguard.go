package activities

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// EnvHTTPAllow is the worker's environment variable that lists the
// addresses the http action may reach although they are refused by
// default. The error that refuses one names it.
const EnvHTTPAllow = "STATEDRIVEN_HTTP_ALLOW"

// maxHTTPRedirects is how many redirects the http action follows; the
// next one fails the step.
const maxHTTPRedirects = 5

// errTooManyRedirects stops a request after maxHTTPRedirects redirects.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxHTTPRedirects)

// refusedRanges are the networks that a definition, which may come from
// anyone who can start a run, must not reach from inside the worker's
// network: the worker itself, its neighbours and the cloud's metadata
// service (credentials). More specific entries come first, so an address
// is named by its most telling reason.
var refusedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "private (carrier-grade NAT)"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// RefusedAddressError is why the http action did not connect to an
// address: it is in a refused range and not in the worker's allow-list.
type RefusedAddressError struct {
	// Addr is the address the request would have reached.
	Addr netip.Addr
	// Reason names its range: loopback, link-local, private, unspecified,
	// multicast or cloud metadata.
	Reason string
}

func (e *RefusedAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s (%s): add %s, or a network around it, to %s on the worker to allow it",
		e.Addr, e.Reason, e.Addr, EnvHTTPAllow)
}

// addressGuard decides which addresses the http action may reach.
type addressGuard struct {
	allow []netip.Prefix
}

// check returns a *RefusedAddressError for an address in a refused range
// that the allow-list does not name, or nil.
func (g addressGuard) check(addr netip.Addr) error {
	// ::ffff:127.0.0.1 is 127.0.0.1; a prefix never contains an address
	// with a zone, so fe80::1%eth0 is checked as fe80::1.
	addr = addr.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	for _, r := range refusedRanges {
		if r.prefix.Contains(addr) {
			return &RefusedAddressError{Addr: addr, Reason: r.reason}
		}
	}
	return nil
}

// control is the dialer's hook: it sees the address actually dialled,
// after DNS resolution, for every connection (redirects and re-resolved
// names included), before the connection is made.
func (g addressGuard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("cannot read the dialled address %q: %w", address, err)
	}
	return g.check(ap.Addr())
}

// checkRedirect follows at most maxHTTPRedirects redirects and refuses at
// once a redirect to a literal address that check refuses; a redirect to
// a name is checked when it is dialled.
func (g addressGuard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxHTTPRedirects {
		return errTooManyRedirects
	}
	if addr, err := netip.ParseAddr(strings.Trim(req.URL.Hostname(), "[]")); err == nil {
		return g.check(addr)
	}
	return nil
}

// newGuardedClient returns the http action's client: Go's default
// transport settings, except that it dials only addresses the guard lets
// through, follows at most maxHTTPRedirects redirects, and ignores
// HTTP_PROXY, HTTPS_PROXY and NO_PROXY (a proxy would make the dialled
// address the proxy's, so the guard would no longer see the target).
func newGuardedClient(allow []netip.Prefix) *http.Client {
	g := addressGuard{allow: allow}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = dialer.DialContext
	return &http.Client{Transport: t, CheckRedirect: g.checkRedirect}
}

// ParseHTTPAllow reads an allow-list as EnvHTTPAllow holds it: CIDRs
// (10.1.0.0/16, fd00::/8) and IP addresses, separated by commas. Host
// names are refused: the guard checks addresses, and a name's addresses
// may change after the worker starts. An empty string is an empty list.
func ParseHTTPAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			a = a.Unmap().WithZone("")
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		bad = append(bad, fmt.Sprintf("%q", item))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %s %s not an IP address or a CIDR (like 127.0.0.1, 10.1.0.0/16 or fd00::/8); host names are not accepted, give their addresses",
			EnvHTTPAllow, strings.Join(bad, ", "), isOrAre(len(bad)))
	}
	return out, nil
}

func isOrAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// refusedError reports err's *RefusedAddressError, if it holds one.
func refusedError(err error) (*RefusedAddressError, bool) {
	var refused *RefusedAddressError
	ok := errors.As(err, &refused)
	return refused, ok
}
