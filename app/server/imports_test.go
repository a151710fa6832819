package server_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestNoBedrockSDK keeps Bedrock in one home: the HTTP application decodes,
// calls app/bedrock and encodes; only app/bedrock speaks the AWS SDK.
func TestNoBedrockSDK(t *testing.T) {
	pkg, err := build.Default.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("no imports read")
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/aws/") {
			t.Errorf("app/server imports %s; call Bedrock through app/bedrock", imp)
		}
	}
}
