package definition

import (
	"fmt"
	"strings"

	"github.com/agnivade/levenshtein"
)

// suggest is the hint for a name s that is not one of candidates: "did you
// mean …?" when one of them is near enough to be a likely misspelling
// (near is then true), else list followed by every candidate, or "" when
// list is "". Every "did you mean" of the package comes from here, so they
// all judge nearness alike.
func suggest(s string, candidates []string, list string) (hint string, near bool) {
	if best := closest(s, candidates); best != "" {
		return fmt.Sprintf("did you mean %q?", best), true
	}
	if list == "" {
		return "", false
	}
	return list + strings.Join(candidates, ", "), false
}

// closest returns the candidate nearest to s if it is near enough to be a
// likely misspelling, else "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		dist := levenshtein.ComputeDistance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best == "" || bestDist > max(2, len(s)/3) {
		return ""
	}
	return best
}
