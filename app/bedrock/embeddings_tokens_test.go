package bedrock

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestEmbeddedRanksAreOpenAIs checks the embedded file against the hash
// OpenAI's tiktoken verifies for cl100k_base.
func TestEmbeddedRanksAreOpenAIs(t *testing.T) {
	sum := sha256.Sum256(cl100kRanks)
	if got := hex.EncodeToString(sum[:]); got != "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7" {
		t.Errorf("cl100k_base.tiktoken sha256 = %s", got)
	}
}

func TestParseRanks(t *testing.T) {
	ranks, err := parseRanks([]byte("aGVsbG8= 0\nIHdvcmxk 1\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ranks) != 2 || ranks["hello"] != 0 || ranks[" world"] != 1 {
		t.Errorf("parseRanks = %v", ranks)
	}
	for _, bad := range []string{"aGVsbG8=\n", "!!! 1\n", "aGVsbG8= x\n"} {
		if _, err := parseRanks([]byte(bad)); err == nil {
			t.Errorf("parseRanks(%q): got nil error", bad)
		}
	}
}
