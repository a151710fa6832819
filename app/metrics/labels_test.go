package metrics_test

import (
	"testing"

	"github.com/openbedrock/gateway/app/metrics"
)

func TestKeyLabel(t *testing.T) {
	names := []string{"alice", "bob", "carol"}
	p := metrics.NewPricing(metrics.Options{KeyNames: func() []string { return names }, MaxKeyNames: 2})
	tests := []struct{ name, want string }{
		{"alice", "alice"},
		{"bob", "bob"},
		{"carol", metrics.Other}, // past the cap
		{"mallory", metrics.Other},
		{"", metrics.NoKey},
	}
	for _, tt := range tests {
		if got := p.KeyLabel(tt.name); got != tt.want {
			t.Errorf("KeyLabel(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// A key refresh hands over a new slice: the label set follows it.
	names = []string{"carol", "dave"}
	if got := p.KeyLabel("carol"); got != "carol" {
		t.Errorf("after a refresh KeyLabel(carol) = %q, want carol", got)
	}
	if got := p.KeyLabel("alice"); got != metrics.Other {
		t.Errorf("after a refresh KeyLabel(alice) = %q, want %q (no longer configured)", got, metrics.Other)
	}
}

func TestKeyLabelFirstSeen(t *testing.T) {
	p := metrics.NewPricing(metrics.Options{MaxKeyNames: 2})
	for _, tt := range []struct{ name, want string }{
		{"b", "b"}, {"a", "a"}, {"c", metrics.Other}, {"b", "b"}, {"a", "a"},
	} {
		if got := p.KeyLabel(tt.name); got != tt.want {
			t.Errorf("KeyLabel(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestKeyLabelDefaultCap(t *testing.T) {
	p := metrics.NewPricing(metrics.Options{})
	for i := range metrics.DefaultMaxKeyNames {
		if got := p.KeyLabel(string(rune('a'+i%26)) + string(rune('a'+i/26))); got == metrics.Other {
			t.Fatalf("name %d is %q, want its own label below the default cap", i, got)
		}
	}
	if got := p.KeyLabel("one-too-many"); got != metrics.Other {
		t.Errorf("name %d is %q, want %q", metrics.DefaultMaxKeyNames+1, got, metrics.Other)
	}
}

func TestKeyLabelAllocs(t *testing.T) {
	names := []string{"alice", "bob"}
	p := metrics.NewPricing(metrics.Options{KeyNames: func() []string { return names }})
	p.KeyLabel("alice")
	if n := testing.AllocsPerRun(100, func() { p.KeyLabel("alice"); p.KeyLabel("zed") }); n != 0 {
		t.Errorf("%g allocations per label, want 0", n)
	}
}
