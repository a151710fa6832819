package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

func TestProxyForwardsConverseAndStreams(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-target", emu.URL}, pw) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base := strings.TrimPrefix(strings.TrimSpace(line), "listening on ")

	model := url.PathEscape("us.anthropic.claude-haiku-4-5-20251001-v1:0")
	body := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	for _, tc := range []struct{ op, want string }{
		{"converse", `"output"`},
		{"converse-stream", "messageStop"},
	} {
		resp, err := http.Post(base+"/model/"+model+"/"+tc.op, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(got), tc.want) {
			t.Errorf("%s: status %d, err %v, body %.200q; want 200 with %s", tc.op, resp.StatusCode, err, got, tc.want)
		}
	}
	// The emulator saw the escaped model id: the proxy kept the raw path.
	if reqs := emu.Requests(); len(reqs) != 2 || reqs[0].Operation != "Converse" || reqs[1].Operation != "ConverseStream" {
		t.Errorf("emulator saw %d requests (%v), want Converse then ConverseStream", len(reqs), reqs)
	}
}

func TestRunRejectsBadTarget(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := run(ctx, []string{"-target", "127.0.0.1:4000"}, io.Discard); err == nil {
		t.Error("run accepted a target without a scheme")
	}
}
