//go:build !lambda

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/internal/testbin"
)

// imdsRole is the role name the metadata server lists, as the IAM Roles
// Anywhere signing helper's serve command lists its role.
const imdsRole = "bedrock-gateway"

// imdsCredential is one set of credentials the metadata server handed out.
type imdsCredential struct {
	AccessKeyID, SecretAccessKey, Token string
	Expiration                          time.Time
}

// imdsServer serves short-lived, rotating credentials over the instance
// metadata protocol (IMDSv2), as `aws_signing_helper serve` does for IAM
// Roles Anywhere: PUT /latest/api/token gives a session token; GETs under
// /latest/meta-data/ need it. Each credentials GET makes new keys that
// expire after ttl.
type imdsServer struct {
	*httptest.Server
	ttl time.Duration

	mu     sync.Mutex
	tokens map[string]bool
	issued []imdsCredential
	denied int // metadata GETs without a valid session token
}

func newIMDSServer(tb testing.TB, ttl time.Duration) *imdsServer {
	tb.Helper()
	s := &imdsServer{ttl: ttl, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		ttl := r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds")
		if ttl == "" {
			http.Error(w, "missing token TTL", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)
		s.mu.Lock()
		token := fmt.Sprintf("imds-session-%d", len(s.tokens)+1)
		s.tokens[token] = true
		s.mu.Unlock()
		io.WriteString(w, token)
	})
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorised(r) {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, imdsRole)
	})
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/{role}", func(w http.ResponseWriter, r *http.Request) {
		if !s.authorised(r) {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		if r.PathValue("role") != imdsRole {
			http.NotFound(w, r)
			return
		}
		c := s.issue()
		json.NewEncoder(w).Encode(map[string]string{
			"Code":            "Success",
			"Type":            "AWS-HMAC",
			"LastUpdated":     time.Now().UTC().Format(time.RFC3339),
			"AccessKeyId":     c.AccessKeyID,
			"SecretAccessKey": c.SecretAccessKey,
			"Token":           c.Token,
			"Expiration":      c.Expiration.UTC().Format(time.RFC3339),
		})
	})
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

func (s *imdsServer) authorised(r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens[r.Header.Get("X-Aws-Ec2-Metadata-Token")] {
		return true
	}
	s.denied++
	return false
}

func (s *imdsServer) issue() imdsCredential {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.issued) + 1
	c := imdsCredential{
		AccessKeyID:     fmt.Sprintf("ROLESANYWHERETEST%03d", n),
		SecretAccessKey: fmt.Sprintf("roles-anywhere-test-secret-%03d", n),
		Token:           fmt.Sprintf("roles-anywhere-test-session-%03d", n),
		// RFC 3339 in whole seconds, as the metadata service writes it.
		Expiration: time.Now().Add(s.ttl).Truncate(time.Second),
	}
	s.issued = append(s.issued, c)
	return c
}

// credentials returns what was issued so far.
func (s *imdsServer) credentials() []imdsCredential {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]imdsCredential(nil), s.issued...)
}

// TestGatewayRefreshesMetadataCredentials runs the server binary with no
// credentials but a metadata endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT),
// as a container beside the IAM Roles Anywhere signing helper's metadata
// sidecar runs it, and shows it keeps calling Bedrock across a credential
// refresh: each call is signed with the keys current at that moment, and
// an expired set is never used.
func TestGatewayRefreshesMetadataCredentials(t *testing.T) {
	const ttl = 3 * time.Second
	imds := newIMDSServer(t, ttl)
	emu := bedrocktest.NewServer(t)
	addr := testbin.LocalAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	const key = "sk-imds-test-0123456789"
	gw := testbin.Start(t, testbin.Path(t, testbin.Gateway), nil, addr,
		"HOST="+host, "PORT="+port, "API_KEY="+key, "LOG_FORMAT=json",
		"METRICS_ADDR=off", // 127.0.0.1:9090 may be taken by a gateway another package runs
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emu.URL, "AWS_ENDPOINT_URL_BEDROCK="+emu.URL,
		// No static credentials: the SDK's chain ends at the metadata endpoint.
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=",
		"AWS_EC2_METADATA_DISABLED=false",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds.URL,
	)

	chat := func(t *testing.T) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/chat/completions",
			strings.NewReader(`{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("chat: got %d %s, want 200; gateway output:\n%s", resp.StatusCode, body, gw.Output())
		}
	}
	chat(t)
	// Past the expiry of everything issued so far, the next call must
	// fetch new keys.
	issued := imds.credentials()
	if len(issued) == 0 {
		t.Fatal("the gateway answered without fetching credentials from the metadata endpoint")
	}
	time.Sleep(time.Until(issued[len(issued)-1].Expiration) + 200*time.Millisecond)
	chat(t)
	chat(t)

	issued = imds.credentials()
	for _, c := range issued {
		t.Logf("issued %s expiring %s", c.AccessKeyID, c.Expiration.Format(time.StampMilli))
	}
	if len(issued) < 2 {
		t.Fatalf("the metadata endpoint issued %d credentials, want a refresh after the first expired", len(issued))
	}
	byKey := map[string]imdsCredential{}
	for _, c := range issued {
		byKey[c.AccessKeyID] = c
	}
	var converse []bedrocktest.Request
	for _, r := range emu.Requests() {
		id := r.AccessKeyID()
		c, ok := byKey[id]
		if !ok {
			t.Errorf("%s was signed by %q, not by credentials from the metadata endpoint", r.Operation, id)
			continue
		}
		if got := r.Header.Get("X-Amz-Security-Token"); got != c.Token {
			t.Errorf("%s signed by %s carries session token %q, want %q", r.Operation, id, got, c.Token)
		}
		if r.Operation == "Converse" {
			converse = append(converse, r)
		}
	}
	if len(converse) != 3 {
		t.Fatalf("the emulator saw %d Converse calls, want 3", len(converse))
	}
	first, last := converse[0].AccessKeyID(), converse[2].AccessKeyID()
	if first == last {
		t.Errorf("every Converse call was signed by %s; want new keys after it expired", first)
	}
	if want := issued[len(issued)-1].AccessKeyID; last != want {
		t.Errorf("the last call was signed by %s, want the newest keys %s", last, want)
	}
	imds.mu.Lock()
	denied := imds.denied
	imds.mu.Unlock()
	if denied != 0 {
		t.Errorf("%d metadata requests came without an IMDSv2 session token", denied)
	}
	for _, c := range issued {
		if strings.Contains(gw.Output(), c.SecretAccessKey) || strings.Contains(gw.Output(), c.Token) {
			t.Errorf("the gateway's output holds the secret or session token of %s", c.AccessKeyID)
		}
	}
}
