package main

import "runtime/debug"

// binaryPages is what the container's memory limit counts and Go's soft
// limit does not: the static binary's resident pages, 14.4 MiB measured
// after start-up and under load (bench/REPORT.md, Memory), with a margin.
const binaryPages = 16 << 20

// softMemoryLimit is Go's soft memory limit for a container limited to
// limit bytes: the limit less the binary's pages or a tenth of it, whichever
// is more, and never under half the limit. With it the GC works harder as
// the heap nears the container's limit instead of the kernel killing the
// process; under it GOGC=100 paces the GC as usual.
func softMemoryLimit(limit int64) int64 {
	return max(limit-max(limit/10, binaryPages), limit/2)
}

// setMemoryLimit applies MEMORY_LIMIT, unless GOMEMLIMIT (which the Go
// runtime reads itself) is set, and returns the soft limit set, or 0.
func setMemoryLimit(cfg config, getenv func(string) string) int64 {
	if cfg.MemoryLimit <= 0 || getenv("GOMEMLIMIT") != "" {
		return 0
	}
	soft := softMemoryLimit(cfg.MemoryLimit)
	debug.SetMemoryLimit(soft)
	return soft
}
