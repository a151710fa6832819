package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/openbedrock/gateway/canary"
)

// runReport summarises one or more results files as Markdown on stdout.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("canary report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in inputList
	fs.Var(&in, "in", "results `file` written by once/loop -out; repeat to merge several")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if len(in) == 0 {
		return usageError{errors.New("no input: give -in results.jsonl")}
	}
	var all []canary.Result
	for _, path := range in {
		results, err := readResults(path)
		if err != nil {
			return err
		}
		all = append(all, results...)
	}
	return canary.Summarize(all).WriteMarkdown(stdout)
}

func readResults(path string) ([]canary.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	results, err := canary.ReadJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return results, nil
}

// inputList is a flag.Value collecting repeated -in paths.
type inputList []string

func (l *inputList) String() string { return strings.Join(*l, ",") }

func (l *inputList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
