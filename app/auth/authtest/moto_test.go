package authtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadyReportsAnExit runs a stand-in moto_server that fails at once:
// Ready must say so with its output instead of waiting out the timeout.
func TestReadyReportsAnExit(t *testing.T) {
	script := filepath.Join(t.TempDir(), "moto_server")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'no module named moto' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := Start(script)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Ready(time.Minute) // "exited", not "did not answer": it noticed the exit
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "no module named moto") {
		t.Errorf("Ready: got %v, want an exit error with the output", err)
	}
	log := m.log.Name()
	m.Close()
	if _, err := os.Stat(log); !os.IsNotExist(err) {
		t.Errorf("Close left the log %s behind (%v)", log, err)
	}
}
