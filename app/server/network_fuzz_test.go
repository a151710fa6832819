package server

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP walks X-Forwarded-For as clientIP does: no panic, and the
// client it names is the peer or an address one of the entries holds, and
// an untrusted peer is always the client, whatever the header says.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.5:4000", "203.0.113.9, 10.0.0.7", true)
	f.Add("[2001:db8::1]:443", "[2001:db8::2]:80,  ,evil", false)
	f.Add("192.0.2.1", "1.2.3.4:5,::ffff:10.1.1.1", true)
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	f.Fuzz(func(t *testing.T, remote, xff string, trustPeer bool) {
		peer, peerOK := parseHostPort(remote)
		got, ok := clientIP(peer, peerOK, []string{xff}, trusted, trustPeer)
		if !ok {
			return
		}
		if got == peer.Addr() {
			return
		}
		if !trustPeer && !containsAddr(trusted, peer.Addr()) {
			t.Fatalf("untrusted peer %v, but the client is %v", peer, got)
		}
		for _, e := range strings.Split(xff, ",") {
			if a, ok := parseForwarded(strings.TrimSpace(e)); ok && a == got {
				return
			}
		}
		t.Fatalf("client %v is neither the peer %v nor in %q", got, peer, xff)
	})
}
