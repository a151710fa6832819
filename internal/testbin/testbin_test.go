package testbin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathUsesTheSharedDirectory checks a binary in $GATEWAY_TEST_BIN_DIR
// is used as it is, without building.
func TestPathUsesTheSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	want := filepath.Join(dir, string(Emulator))
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	if got := Path(t, Emulator); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestBuildUnknown(t *testing.T) {
	if err := Build(context.Background(), ".", t.TempDir(), "nope"); err == nil || !strings.Contains(err.Error(), "no such binary") {
		t.Errorf("got %v, want a no such binary error", err)
	}
}

// TestEveryNameHasASpec keeps Names and the build table together.
func TestEveryNameHasASpec(t *testing.T) {
	if len(Names()) != len(specs) {
		t.Errorf("%d names, %d specs", len(Names()), len(specs))
	}
	for _, n := range Names() {
		if _, ok := specs[n]; !ok {
			t.Errorf("%s has no spec", n)
		}
	}
}
