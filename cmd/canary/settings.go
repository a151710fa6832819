package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openbedrock/gateway/canary"
)

// settings is everything that shapes a probe run. loadSettings reads it
// from the environment; the CLI modes let flags override it.
//
//	CANARY_TARGETS              comma-separated base URLs or lambda://FUNCTION-NAME (Lambda: required)
//	CANARY_DEEP                 "true" adds the chat probe, which costs money (default false)
//	CANARY_API_KEY              bearer key of the chat probe; never logged
//	CANARY_MODEL                model of the chat probe (default canary.DefaultModel)
//	CANARY_ROUTE_PREFIX         the gateway's API prefix (default /api/v1)
//	CANARY_TIMEOUT              per-probe timeout (default 7s)
//	CANARY_INSECURE_SKIP_VERIFY "true" skips TLS verification, health probe only
//	CANARY_NAMESPACE            CloudWatch namespace of the EMF metrics (default canary.DefaultNamespace)
type settings struct {
	targets   []string
	deep      bool
	apiKey    canary.Secret
	model     string
	prefix    string
	timeout   time.Duration
	insecure  bool
	namespace string
}

// loadSettings reads the CANARY_* variables, with defaults and validation
// next to each. Targets may be empty here; each mode decides if that is
// an error.
func loadSettings(getenv func(string) string) (settings, error) {
	s := settings{
		apiKey:    canary.Secret(getenv("CANARY_API_KEY")),
		model:     getenv("CANARY_MODEL"),
		prefix:    getenv("CANARY_ROUTE_PREFIX"),
		timeout:   canary.DefaultTimeout,
		namespace: getenv("CANARY_NAMESPACE"),
	}
	var err error
	if v := getenv("CANARY_TARGETS"); strings.TrimSpace(v) != "" {
		if s.targets, err = canary.ParseTargets(v); err != nil {
			return settings{}, fmt.Errorf("CANARY_TARGETS: %w", err)
		}
	}
	if s.deep, err = envBool(getenv, "CANARY_DEEP"); err != nil {
		return settings{}, err
	}
	if s.insecure, err = envBool(getenv, "CANARY_INSECURE_SKIP_VERIFY"); err != nil {
		return settings{}, err
	}
	if v := getenv("CANARY_TIMEOUT"); v != "" {
		if s.timeout, err = time.ParseDuration(v); err != nil || s.timeout <= 0 {
			return settings{}, fmt.Errorf("CANARY_TIMEOUT %q: want a positive duration such as 7s", v)
		}
	}
	return s, nil
}

// envBool reads a boolean variable; empty means false.
func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s %q: want true or false", name, v)
	}
	return b, nil
}

// config is the canary.Config of s.
func (s settings) config() canary.Config {
	return canary.Config{
		Timeout:            s.timeout,
		Deep:               s.deep,
		Model:              s.model,
		RoutePrefix:        s.prefix,
		APIKey:             s.apiKey,
		InsecureSkipVerify: s.insecure,
	}
}

// probeFlags registers the flags shared by once and loop on fs, with the
// environment's values as defaults. Call after fs.Parse: targets given with
// -url replace those of CANARY_TARGETS.
func probeFlags(fs *flag.FlagSet, s *settings) func() error {
	var urls targetList
	fs.Var(&urls, "url", "gateway base `URL`; repeat or comma-separate for several (default $CANARY_TARGETS)")
	fs.BoolVar(&s.deep, "deep", s.deep, "also run the chat probe (one max_tokens=1 completion per target per run: costs money; key from $CANARY_API_KEY)")
	fs.StringVar(&s.model, "model", s.model, "`model` of the chat probe (default "+canary.DefaultModel+")")
	fs.StringVar(&s.prefix, "prefix", s.prefix, "the gateway's API route `prefix` (default "+canary.DefaultRoutePrefix+")")
	fs.DurationVar(&s.timeout, "timeout", s.timeout, "per-probe `timeout`")
	fs.BoolVar(&s.insecure, "insecure", s.insecure, "skip TLS certificate verification (health probe only)")
	return func() error {
		if len(urls) > 0 {
			s.targets = urls
		}
		if len(s.targets) == 0 {
			return usageError{fmt.Errorf("no target: give -url or set CANARY_TARGETS")}
		}
		return nil
	}
}

// targetList is a flag.Value collecting base URLs from repeated or
// comma-separated -url flags.
type targetList []string

func (l *targetList) String() string { return strings.Join(*l, ",") }

func (l *targetList) Set(v string) error {
	t, err := canary.ParseTargets(v)
	if err != nil {
		return err
	}
	*l = append(*l, t...)
	return nil
}
