package server

import (
	"container/list"
	"encoding/json"
	"sync"
	"time"

	"github.com/openbedrock/gateway/app/openai"
)

// ResponseStoreOptions bound the in-memory store of Responses (store: true):
// the oldest entries go first when either cap is reached, and entries expire
// after TTL. The store belongs to one instance; on Lambda each instance has
// its own.
type ResponseStoreOptions struct {
	Off        bool          // RESPONSES_STORE=off: keep nothing
	MaxEntries int           // default 10000
	MaxBytes   int64         // default 256 MiB (JSON size of responses and inputs)
	TTL        time.Duration // default 24h
}

// responseStore keeps responses for previous_response_id, GET, DELETE and
// input_items. A key only ever sees the responses created with it.
type responseStore struct {
	opts  ResponseStoreOptions
	mu    sync.Mutex
	byID  map[string]*list.Element
	order *list.List // of *storedResponse, oldest first
	bytes int64
	now   func() time.Time
}

// storedResponse is one kept response with the input it was given.
type storedResponse struct {
	id       string
	key      string
	created  time.Time
	size     int64
	response *openai.Response
	// input is the request's own input items (with ids); previous is the
	// response it continued, whose context comes before them.
	input    []openai.ResponseItem
	previous string
}

func newResponseStore(o ResponseStoreOptions) *responseStore {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.TTL <= 0 {
		o.TTL = 24 * time.Hour
	}
	return &responseStore{opts: o, byID: map[string]*list.Element{}, order: list.New(), now: time.Now}
}

// put keeps a response; one larger than the whole store is not kept.
func (s *responseStore) put(e *storedResponse) {
	if s.opts.Off {
		return
	}
	b1, _ := json.Marshal(e.response)
	b2, _ := json.Marshal(e.input)
	e.size = int64(len(b1) + len(b2))
	if e.size > s.opts.MaxBytes {
		return
	}
	e.created = s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[e.id]; ok {
		s.remove(old)
	}
	s.byID[e.id] = s.order.PushBack(e)
	s.bytes += e.size
	for s.order.Len() > s.opts.MaxEntries || s.bytes > s.opts.MaxBytes {
		s.remove(s.order.Front())
	}
}

func (s *responseStore) remove(el *list.Element) {
	e := s.order.Remove(el).(*storedResponse)
	delete(s.byID, e.id)
	s.bytes -= e.size
}

// get returns the response id kept for key; expired entries are dropped.
func (s *responseStore) get(key, id string) (*storedResponse, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	e := el.Value.(*storedResponse)
	if s.now().Sub(e.created) > s.opts.TTL {
		s.remove(el)
		return nil, false
	}
	if e.key != key {
		return nil, false
	}
	return e, true
}

// delete removes the response id kept for key.
func (s *responseStore) delete(key, id string) bool {
	if _, ok := s.get(key, id); !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byID[id]; ok {
		s.remove(el)
	}
	return true
}

// context returns the items a response continuing id starts from: the
// chain's inputs and outputs, oldest first. ok is false when id or a
// response it continued is gone.
func (s *responseStore) context(key, id string) ([]openai.ResponseItem, bool) {
	var chain []*storedResponse
	for id != "" && len(chain) <= s.opts.MaxEntries {
		e, ok := s.get(key, id)
		if !ok {
			return nil, false
		}
		chain = append(chain, e)
		id = e.previous
	}
	var items []openai.ResponseItem
	for i := len(chain) - 1; i >= 0; i-- {
		items = append(items, chain[i].input...)
		items = append(items, chain[i].response.Output...)
	}
	return items, true
}

// item finds an input or output item by id among the key's responses.
func (s *responseStore) item(key, id string) (openai.ResponseItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for el := s.order.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*storedResponse)
		if e.key != key || now.Sub(e.created) > s.opts.TTL {
			continue
		}
		for _, items := range [][]openai.ResponseItem{e.response.Output, e.input} {
			for _, it := range items {
				if it.ID == id {
					return it, true
				}
			}
		}
	}
	return openai.ResponseItem{}, false
}
