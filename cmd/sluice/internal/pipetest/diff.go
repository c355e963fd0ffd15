package pipetest

import (
	"fmt"
	"strings"
)

// maxDiffCells bounds the work of the line diff; beyond it the two sides
// are shown whole.
const maxDiffCells = 25_000_000

// diffContext is the number of unchanged lines shown around each change.
const diffContext = 3

// Unified returns a unified diff from a to b, with the given file labels,
// or "" when they are equal.
func Unified(aName, bName string, a, b []string) string {
	ops := diffLines(a, b)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", aName, bName)
	changed := false
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		changed = true
		start := max(i-diffContext, 0)
		// Extend the hunk while changes are closer than 2*context apart.
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
			} else if j-end > 2*diffContext {
				break
			}
		}
		end = min(end+diffContext+1, len(ops))
		hunk := ops[start:end]
		aStart, bStart := ops[start].a, ops[start].b
		na, nb := 0, 0
		for _, op := range hunk {
			if op.kind != '+' {
				na++
			}
			if op.kind != '-' {
				nb++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", span(aStart, na), span(bStart, nb))
		for _, op := range hunk {
			line := op.text
			sb.WriteByte(op.kind)
			sb.WriteString(line)
			sb.WriteByte('\n')
		}
		i = end
	}
	if !changed {
		return ""
	}
	return sb.String()
}

func span(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// diffOp is one line of a diff: ' ' kept, '-' only in a, '+' only in b,
// with its 0-based index in a and b (the position it would have).
type diffOp struct {
	kind byte
	text string
	a, b int
}

// diffLines aligns a and b on a longest common subsequence.
func diffLines(a, b []string) []diffOp {
	// Trim the common prefix and suffix: the usual case is a few rows off.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{' ', a[i], i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	ops = append(ops, middle(ma, mb, pre)...)
	for k := 0; k < suf; k++ {
		i, j := len(a)-suf+k, len(b)-suf+k
		ops = append(ops, diffOp{' ', a[i], i, j})
	}
	return ops
}

// middle diffs the differing middle parts, which start at offset off in
// both inputs.
func middle(a, b []string, off int) []diffOp {
	var ops []diffOp
	if len(a)*len(b) > maxDiffCells {
		for i, s := range a {
			ops = append(ops, diffOp{'-', s, off + i, off})
		}
		for j, s := range b {
			ops = append(ops, diffOp{'+', s, off + len(a), off + j})
		}
		return ops
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i], off + i, off + j})
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
			ops = append(ops, diffOp{'-', a[i], off + i, off + j})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j], off + i, off + j})
			j++
		}
	}
	return ops
}
