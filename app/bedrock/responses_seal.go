package bedrock

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/openbedrock/gateway/app/openai"
)

// ReasoningSealer seals what Bedrock needs to continue a reasoning turn (the
// thinking text and its signature, or the redacted blob) into the opaque
// encrypted_content of a Responses reasoning item, so that clients running
// with store: false (Codex) can send it back without server state. Sealing is
// AES-256-GCM under a key derived with HKDF-SHA256 from the gateway secret:
// clients cannot read or alter the content, and a blob sealed by another
// secret does not open.
type ReasoningSealer struct {
	aead cipher.AEAD
}

// sealPrefix marks (and versions) the gateway's encrypted_content.
const sealPrefix = "bgw1."

// sealInfo binds the derived key to this one use.
const sealInfo = "openbedrock gateway: responses reasoning encrypted_content v1"

// MinReasoningSecret is the shortest gateway secret accepted for sealing.
const MinReasoningSecret = 16

// NewReasoningSealer derives the sealing key from secret; every instance
// that should open another's blobs needs the same secret. An empty secret
// means a random one: blobs then open only in this process.
func NewReasoningSealer(secret []byte) *ReasoningSealer {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never fails
	}
	// Neither can fail: HKDF-SHA256 gives up to 8160 bytes, and 32 bytes
	// is a valid AES key for GCM.
	key, _ := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return &ReasoningSealer{aead: aead}
}

// Seal returns the encrypted_content for the thinking blocks.
func (s *ReasoningSealer) Seal(blocks []openai.ThinkingBlock) string {
	plain, _ := json.Marshal(blocks) // plain strings: cannot fail
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(sealPrefix))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(sealed)
}

// ErrForeignReasoning is returned for encrypted_content this gateway did not
// seal with its secret, or that was altered.
var ErrForeignReasoning = errors.New("encrypted_content was not sealed by this gateway or was altered")

// Open returns the thinking blocks sealed in content.
func (s *ReasoningSealer) Open(content string) ([]openai.ThinkingBlock, error) {
	raw, ok := strings.CutPrefix(content, sealPrefix)
	if !ok {
		return nil, ErrForeignReasoning
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(sealed) < s.aead.NonceSize() {
		return nil, ErrForeignReasoning
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(sealPrefix))
	if err != nil {
		return nil, ErrForeignReasoning
	}
	var blocks []openai.ThinkingBlock
	if err := json.Unmarshal(plain, &blocks); err != nil {
		return nil, ErrForeignReasoning
	}
	return blocks, nil
}
