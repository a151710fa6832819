package server

import (
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/openai"
)

// storeEntry is a stored response with one output item of id item.
func storeEntry(id, key, previous, item string) *storedResponse {
	return &storedResponse{id: id, key: key, previous: previous,
		response: &openai.Response{ID: id, Output: []openai.ResponseItem{{Type: "message", ID: item}}}}
}

// TestResponseStoreTTL: an entry older than the TTL is gone for get, item
// and previous_response_id chains, and is dropped when seen.
func TestResponseStoreTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newResponseStore(ResponseStoreOptions{TTL: time.Hour})
	s.now = func() time.Time { return now }
	s.put(storeEntry("resp_1", "k", "", "msg_1"))
	now = now.Add(50 * time.Minute)
	s.put(storeEntry("resp_2", "k", "resp_1", "msg_2"))
	if _, ok := s.context("k", "resp_2"); !ok {
		t.Fatal("chain resp_2 -> resp_1 missing within the TTL")
	}

	now = now.Add(20 * time.Minute) // resp_1 is 70 minutes old, resp_2 20
	if _, ok := s.item("k", "msg_1"); ok {
		t.Error("item of an expired response still found")
	}
	if _, ok := s.context("k", "resp_2"); ok {
		t.Error("a chain through an expired response still continues")
	}
	if _, ok := s.get("k", "resp_1"); ok {
		t.Error("expired response still found")
	}
	if _, ok := s.get("k", "resp_2"); !ok {
		t.Error("live response gone")
	}
	if got := s.order.Len(); got != 1 {
		t.Errorf("entries kept: got %d, want 1 (the expired one dropped)", got)
	}
}

// TestResponseStoreCaps: the byte cap evicts the oldest entries first,
// counts what it frees, and other keys never see an entry.
func TestResponseStoreCaps(t *testing.T) {
	one := storeEntry("resp_0", "k", "", "msg_0")
	s := newResponseStore(ResponseStoreOptions{})
	s.put(one)
	size := one.size

	s = newResponseStore(ResponseStoreOptions{MaxBytes: 3 * size})
	for _, id := range []string{"resp_1", "resp_2", "resp_3", "resp_4"} {
		s.put(storeEntry(id, "k", "", "msg"+id[4:]))
	}
	for id, want := range map[string]bool{"resp_1": false, "resp_2": true, "resp_3": true, "resp_4": true} {
		if _, ok := s.get("k", id); ok != want {
			t.Errorf("%s kept %v, want %v", id, ok, want)
		}
	}
	if s.bytes != 3*size {
		t.Errorf("bytes: got %d, want %d", s.bytes, 3*size)
	}
	if _, ok := s.get("other", "resp_4"); ok {
		t.Error("another key sees resp_4")
	}
	if _, ok := s.item("other", "msg_4"); ok {
		t.Error("another key finds msg_4")
	}
	if s.delete("other", "resp_4") {
		t.Error("another key deleted resp_4")
	}
	if !s.delete("k", "resp_4") || s.bytes != 2*size {
		t.Errorf("after delete: bytes %d, want %d", s.bytes, 2*size)
	}
}
