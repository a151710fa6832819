package bedrock

import (
	"cmp"
	"slices"
	"strings"
)

// maxSuggestLen bounds the edit-distance work for absurdly long ids.
const maxSuggestLen = 128

// suggest ranks the listed ids of models by closeness to id: ids that
// contain it first (shortest first), then ids within an edit distance of
// half their length. It runs only on the error path.
func suggest(models []Model, id string, n int, keep func(Model) bool) []string {
	if n <= 0 || id == "" {
		return nil
	}
	q := strings.ToLower(truncate(id, maxSuggestLen))
	qfm := strings.ToLower(FoundationModelOf(q))
	type ranked struct {
		id          string
		tier, score int
	}
	var out []ranked
	seen := make(map[string]bool)
	for _, m := range models {
		if keep != nil && !keep(m) {
			continue
		}
		listed := m.ListedID()
		if seen[listed] {
			continue
		}
		seen[listed] = true
		c := strings.ToLower(truncate(listed, maxSuggestLen))
		cfm := strings.ToLower(FoundationModelOf(c))
		switch {
		case strings.Contains(c, q) || strings.Contains(cfm, qfm):
			out = append(out, ranked{listed, 0, len(c) - len(q)})
		default:
			d := min(levenshtein(q, c), levenshtein(qfm, cfm))
			if d <= max(len(qfm), len(cfm))/2 {
				out = append(out, ranked{listed, 1, d})
			}
		}
	}
	slices.SortFunc(out, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.tier, b.tier), cmp.Compare(a.score, b.score), strings.Compare(a.id, b.id))
	})
	ids := make([]string, 0, min(n, len(out)))
	for _, r := range out[:min(n, len(out))] {
		ids = append(ids, r.id)
	}
	return ids
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// levenshtein is the edit distance between a and b, in bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
