package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadAWSKeepsCABundle checks that the shield goes on after the AWS
// configuration is loaded, so AWS_CA_BUNDLE still reaches the transport.
func TestLoadAWSKeepsCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemCert, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	awsCfg, err := loadAWS(context.Background(), config{Region: "us-east-1", MaxIdleConnsPerHost: 2})
	if err != nil {
		t.Fatalf("loadAWS: %v", err)
	}
	if got := fmt.Sprintf("%T", awsCfg.HTTPClient); got != "bedrock.bodyShield" {
		t.Fatalf("the AWS HTTP client is %s, want bedrock.ShieldBodies' wrapper", got)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte("x")))
	resp, err := awsCfg.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("TLS to a server signed by AWS_CA_BUNDLE's CA: %v", err)
	}
	resp.Body.Close()
}
