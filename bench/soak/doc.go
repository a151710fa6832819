// Package soak holds the gateway's soak test (soak_test.go): the real
// gateway binary in front of the Bedrock emulator binary with random faults
// on (connection resets, truncated event-stream frames, stalls, throttling
// bursts), driven by many clients at once with a mix of chat, streams,
// embeddings, Responses and Messages requests and client disconnects.
//
// It asserts that every answer is one the faults explain (a whole answer,
// a 429 with Retry-After, a 502 or 504 in the API's envelope, a stream
// ending in the protocol's error event: never a 500, a silently cut stream
// or a hang), that the gateway's goroutines, RSS and open file descriptors
// stay flat while the load lasts and come back down after it, and that the
// gateway logged no internal error.
//
// make test runs a short soak (about 12 s, 32 clients); make soak runs the
// long one:
//
//	SOAK_DURATION=3m SOAK_CLIENTS=256 go test -run '^TestSoak$' -timeout 0 -v ./soak
//
// SOAK_FAULTS replaces the emulator's -faults specification.
//
// It lives in the bench module beside the load generator: it drives load
// against built binaries as the benchmark does, and takes them from
// internal/testbin (built once per make test run), so the gateway's own
// module keeps no load test.
package soak
