package schema

import (
	"fmt"
	"strings"
)

// Suggest returns the candidate name most likely meant, or "" when none is
// close enough: the same word in another case, then the closest by edit
// distance (a typo), then a candidate that starts the name or that the name
// abbreviates ("watermark_delay" → "watermark", "cnt" → "count").
func Suggest(name string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
	}
	if s := closest(name, candidates); s != "" {
		return s
	}
	if len(name) < 3 {
		return ""
	}
	for _, c := range candidates {
		if len(c) >= 3 && (strings.HasPrefix(name, c) || strings.HasPrefix(c, name)) {
			return c
		}
	}
	for _, c := range candidates {
		if c != "" && len(c)-len(name) <= 3 && c[0] == name[0] && subsequence(name, c) {
			return c
		}
	}
	return ""
}

// subsequence reports whether every byte of a appears in b, in order.
func subsequence(a, b string) bool {
	i := 0
	for j := 0; i < len(a) && j < len(b); j++ {
		if a[i] == b[j] {
			i++
		}
	}
	return i == len(a)
}

func closest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(name, c)
		limit := 2
		if len(name) <= 3 {
			limit = 1
		}
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean returns ` Did you mean "x"?` for the closest candidate, or "".
func DidYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
