package plugindoc

import (
	"strings"
	"testing"
)

func TestWriteMarkdownText(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want string
	}{
		{
			name: "paragraphs are refilled",
			md:   "one\ntwo three\n\n\nfour",
			want: "  one two three\n\n  four\n",
		},
		{
			name: "long paragraph wraps at 80 columns",
			md:   strings.Repeat("word ", 20),
			want: "  " + strings.TrimSpace(strings.Repeat("word ", 15)) + "\n  " + strings.TrimSpace(strings.Repeat("word ", 5)) + "\n",
		},
		{
			name: "list items get a hanging indent",
			md:   "Modes:\n\n- " + strings.Repeat("aaaa ", 16) + "\n- b\n  continued\n\n1. c\n\nafter",
			want: "  Modes:\n\n  - " + strings.TrimSpace(strings.Repeat("aaaa ", 15)) + "\n    aaaa\n  - b continued\n  1. c\n\n  after\n",
		},
		{
			name: "fenced code is kept",
			md:   "Example:\n```hcl\nfilter {\n  where = \"a  b\"\n}\n```\nafter",
			want: "  Example:\n\n      filter {\n        where = \"a  b\"\n      }\n\n  after\n",
		},
		{
			name: "indented code is kept",
			md:   "Example:\n\n    x  =  1\n    y = 2\n\nafter",
			want: "  Example:\n\n      x  =  1\n      y = 2\n\n  after\n",
		},
		{
			name: "headings lose their marks",
			md:   "## Positions\nText.",
			want: "  Positions\n\n  Text.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeMarkdownText(&b, tt.md, "  ")
			if got := b.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		s           string
		first, rest int
		want        []string
	}{
		{"", 40, 40, nil},
		{"a b c", 40, 40, []string{"a b c"}},
		{strings.Repeat("x", 50) + " y", 40, 40, []string{strings.Repeat("x", 50), "y"}},
		{"aaaaaaaaa bbbbbbbbb ccccccccc ddddddddd eeeeeeeee", 30, 40, []string{"aaaaaaaaa bbbbbbbbb ccccccccc", "ddddddddd eeeeeeeee"}},
		{"aaaaaaaaa bbbbbbbbb ccccccccc ddddddddd", 5, 5, []string{"aaaaaaaaa bbbbbbbbb ccccccccc", "ddddddddd"}}, // at least minText
	}
	for _, tt := range tests {
		got := wrapWords(tt.s, tt.first, tt.rest)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("wrapWords(%q, %d, %d) = %q, want %q", tt.s, tt.first, tt.rest, got, tt.want)
		}
	}
}

func TestShiftHeadings(t *testing.T) {
	tests := []struct {
		md, want string
	}{
		{"# A\n## B\ntext", "#### A\n##### B\ntext"},
		{"## A\n### B", "#### A\n##### B"},
		{"#### A\n###### B", "#### A\n###### B"},
		{"# A\n###### B", "#### A\n###### B"},
		{"```\n# comment\n```\n#hashtag", "```\n# comment\n```\n#hashtag"},
	}
	for _, tt := range tests {
		if got := shiftHeadings(tt.md, 4); got != tt.want {
			t.Errorf("shiftHeadings(%q) = %q, want %q", tt.md, got, tt.want)
		}
	}
}

func TestAnchors(t *testing.T) {
	a := anchors{}
	tests := []struct{ text, want string }{
		{`sink "file" "NAME"`, "sink-file-name"},
		{`dead_letter "file"`, "dead_letter-file"},
		{"Dead letters", "dead-letters"},
		{"Examples", "examples"},
		{"Examples", "examples-1"},
		{"Examples", "examples-2"},
		{`Block late > sample`, "block-late--sample"},
	}
	for _, tt := range tests {
		if got := a.add(tt.text); got != tt.want {
			t.Errorf("add(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
