package server

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// ParseCIDRs reads a list of CIDRs (ALLOWED_CIDRS, TRUSTED_PROXIES), IPv4
// or IPv6; a bare address means just that address.
func ParseCIDRs(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not a CIDR (10.0.0.0/8, 2001:db8::/32) or an address", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientAddress finds the client's address and makes it the request's
// RemoteAddr, so c.ClientIP(), the access log and allowClients agree
// (gin's own X-Forwarded-For handling is off; see New).
//
// The address is the socket's peer, unless the peer is a trusted proxy
// (TrustedProxies, or any peer with TrustForwardedFor). Then X-Forwarded-For
// is walked from the right, skipping trusted proxies, and the first other
// entry is the client: entries to its left were written by the client and
// may be forged.
func (s *Server) clientAddress() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		peer, peerOK := parseHostPort(r.RemoteAddr)
		ip, ok := clientIP(peer, peerOK, r.Header.Values("X-Forwarded-For"), s.opts.TrustedProxies, s.opts.TrustForwardedFor)
		if ok {
			port := uint16(0)
			if ip == peer.Addr() {
				port = peer.Port()
			}
			r.RemoteAddr = netip.AddrPortFrom(ip, port).String()
		} else {
			r.RemoteAddr = "" // unknown: never an address the client chose
		}
		c.Next()
	}
}

// errClientNotAllowed answers requests from outside ALLOWED_CIDRS.
var errClientNotAllowed = newError(kindForbidden, "ip_not_allowed", "Requests from your address are not allowed by this gateway.")

// allowClients answers 403 before authentication to clients outside
// AllowedClients. /health and /ready stay open for load balancers, kubelets
// and the canary, which probe from addresses of their own.
func (s *Server) allowClients() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(s.opts.AllowedClients) == 0 {
			c.Next()
			return
		}
		if p := c.FullPath(); p == "/health" || p == "/ready" {
			c.Next()
			return
		}
		ap, ok := parseHostPort(c.Request.RemoteAddr)
		if !ok || !containsAddr(s.opts.AllowedClients, ap.Addr()) {
			s.writeError(c, errClientNotAllowed)
			return
		}
		c.Next()
	}
}

// clientIP applies the rules of clientAddress. It reports false when the
// address cannot be known (no peer, or an X-Forwarded-For entry that is not
// an address), so an allow-list fails closed.
func clientIP(peer netip.AddrPort, peerOK bool, xff []string, trusted []netip.Prefix, trustPeer bool) (netip.Addr, bool) {
	if !trustPeer && (!peerOK || !containsAddr(trusted, peer.Addr())) {
		return peer.Addr(), peerOK
	}
	var last netip.Addr // the left-most trusted proxy seen so far
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.TrimSpace(entries[j])
			if e == "" {
				continue
			}
			a, ok := parseForwarded(e)
			if !ok {
				return netip.Addr{}, false
			}
			if !containsAddr(trusted, a) {
				return a, true
			}
			last = a
		}
	}
	if last.IsValid() {
		return last, true // every hop is a trusted proxy
	}
	return peer.Addr(), peerOK // a proxy calling us itself
}

// parseHostPort reads a RemoteAddr: "ip:port", "[ip6]:port", or a bare
// address (the Lambda Function URL adapter sets the source IP alone).
func parseHostPort(s string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap().WithZone(""), 0), true
	}
	return netip.AddrPort{}, false
}

// parseForwarded reads one X-Forwarded-For entry: an address, possibly
// with a port ("1.2.3.4:5678", "[2001:db8::1]:443") or in brackets.
func parseForwarded(s string) (netip.Addr, bool) {
	if ap, ok := parseHostPort(s); ok {
		return ap.Addr(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
