package bedrock

import (
	"context"
	"slices"
	"strings"
)

// Failover: when a call fails before anything reached the client, for a
// reason another region or model may not share (throttling, unavailability,
// an exhausted quota; see FailsOver), the call is made again on the next
// target: first the same model in each fallback region that can serve it
// (ServesIn), then each fallback model likewise. A stream fails over only
// while it is being opened (its first event is read before the caller
// commits to anything); once the caller relays it, it never does.

// Region is a Bedrock Runtime region and the client that calls it, built
// once at start-up.
type Region struct {
	Name    string
	Runtime Runtime
}

// Target is where one attempt of a call goes: a region and a model id.
type Target struct {
	Region string
	Model  string
}

// regionKey is the context key of the Region a call must use.
type regionKey struct{}

// runtime is the client of the region ctx names (Failover sets it), else
// the service's own.
func (s *Service) runtime(ctx context.Context) Runtime {
	if r, ok := ctx.Value(regionKey{}).(*Region); ok {
		return r.Runtime
	}
	return s.rt
}

// FailsOver reports whether a call that failed so may succeed on another
// region or model: throttling, unavailability, an internal error, an
// exhausted quota, a model not ready, a stream closed before its first
// event, or a connection that broke (a region out of reach).
func (e *Error) FailsOver() bool {
	switch e.Kind {
	case KindThrottled, KindUnavailable, KindUpstream, KindQuotaExceeded, KindModelNotReady, KindEmptyStream, KindConnection:
		return true
	}
	return false
}

// ServesIn reports whether a call naming model id may be made in region:
// a geographic inference profile (us., eu., apac., jp., au., ca., us-gov.)
// only from the regions of its geography, whose data it keeps there; an
// ARN only in its own region; a global. profile or a foundation model id
// anywhere (Bedrock answers if the region does not have the model).
func ServesIn(id, region string) bool {
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 5)
		return len(parts) == 5 && parts[3] == region
	}
	if fm := FoundationModelOf(id); fm != id {
		prefix := strings.TrimSuffix(id, fm)
		return prefix == "global." || slices.Contains(ProfilePrefixes(region), prefix)
	}
	return true
}

// Failover calls attempt on each target in turn until one succeeds: model
// in the service's region, then in each fallback region ServesIn allows;
// then, likewise, each model fallbacks returns (nil: none), which is
// called only once model has failed everywhere. It moves on when
// attempt's error FailsOver; any other error of the first target is
// returned as it is. A later target's other errors (the fallback region or
// model does not have the model, refuses the request...) move on too, and
// when no target succeeds, the first target's error is returned: the
// request was not at fault. attempt must make its Bedrock calls with the
// context it is given, which selects the target's region, and must not
// have sent anything to the client when it fails. Failover returns the
// target that served (or the last one tried) and the error.
func (s *Service) Failover(ctx context.Context, model string, fallbacks func() []string, attempt func(ctx context.Context, t Target) error) (Target, error) {
	var first, prev error
	var last Target
	models := []string{model}
	for m := 0; m < len(models); m++ {
		for i := range s.regions {
			r := &s.regions[i]
			if i > 0 && !ServesIn(models[m], r.Name) {
				continue
			}
			next := Target{Region: r.Name, Model: models[m]}
			if prev != nil && s.failover != nil {
				s.failover(ctx, last, next, prev)
			}
			last = next
			prev = attempt(context.WithValue(ctx, regionKey{}, r), next)
			if prev == nil {
				return last, nil
			}
			be := Classify(prev)
			switch {
			case first == nil && !be.FailsOver():
				return last, prev
			case be.Kind == KindCanceled || be.Kind == KindTimeout || ctx.Err() != nil:
				return last, prev // the client went away or the deadline passed
			case first == nil:
				first = prev
			}
		}
		if m == 0 && fallbacks != nil {
			models = append(models, fallbacks()...)
		}
	}
	return last, first
}
