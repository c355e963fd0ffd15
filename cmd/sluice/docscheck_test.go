package main

// The docs check: relative links and anchors of the Markdown docs resolve,
// and every sluice command line they show parses against the real command
// tree (commands, flags, enum values), without running it.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// mdLine is one line of a Markdown file, numbered from 1.
type mdLine struct {
	n    int
	text string
}

// mdDoc is a Markdown file cut into what the check reads: the lines of
// fenced code blocks, the inline code spans and links of the prose, and the
// anchors of its headings.
type mdDoc struct {
	name    string
	code    []mdLine // lines inside fenced code blocks
	inline  []mdLine // inline code spans, \| unescaped
	links   []mdLine // link targets
	anchors map[string]bool
}

var (
	fence       = regexp.MustCompile("^\\s*(```+|~~~+)")
	heading     = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	inlineCode  = regexp.MustCompile("(?s)(`+)(.+?)(`+)")
	linkTarget  = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLinkDef  = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)`)
	htmlAnchor  = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	mdLinkText  = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	hasScheme   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	envAssign   = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=\S*\s+`)
	placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_]*([=:.,][A-Z0-9_]+)*$`)
	// commandWord is what may follow the program name on a command line: a
	// flag, a command, alternatives (bash|zsh) or a placeholder (COMMAND).
	// Anything else (sluice (devel), sluice …) is output or prose.
	commandWord = regexp.MustCompile(`^(-.*|[a-z][a-z0-9_-]*(\|[a-z][a-z0-9_-]*)*|[A-Z][A-Z0-9_]*)$`)
)

// cmdLine is a sluice command line shown in a doc: the words after the
// program name.
type cmdLine struct {
	n      int
	text   string
	inline bool // inline code in prose, where a flag may be named without its value
}

// parseMarkdown reads the parts of src the docs check needs.
func parseMarkdown(name, src string) *mdDoc {
	d := &mdDoc{name: name, anchors: map[string]bool{}}
	inFence := ""
	var para []mdLine
	flush := func() {
		d.readProse(para)
		para = nil
	}
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				flush()
				inFence = m[1][:1]
				continue
			case strings.HasPrefix(m[1], inFence):
				inFence = ""
				continue
			}
		}
		if inFence != "" {
			d.code = append(d.code, mdLine{n, line})
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			flush()
			d.addAnchor(slug(m[1]))
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			d.anchors[m[1]] = true
		}
		if m := refLinkDef.FindStringSubmatch(line); m != nil {
			d.links = append(d.links, mdLine{n, m[1]})
			continue
		}
		para = append(para, mdLine{n, line})
	}
	flush()
	return d
}

// readProse collects the inline code spans and link targets of one
// paragraph (a code span may run over several lines).
func (d *mdDoc) readProse(para []mdLine) {
	if len(para) == 0 {
		return
	}
	texts := make([]string, len(para))
	for i, l := range para {
		texts[i] = l.text
	}
	text := strings.Join(texts, "\n")
	lineAt := func(offset int) int { return para[0].n + strings.Count(text[:offset], "\n") }
	prose := []byte(text)
	for _, m := range inlineCode.FindAllStringSubmatchIndex(text, -1) {
		if m[3]-m[2] != m[7]-m[6] { // unbalanced backtick runs: not a span
			continue
		}
		span := strings.ReplaceAll(text[m[4]:m[5]], "\n", " ")
		d.inline = append(d.inline, mdLine{lineAt(m[0]), strings.ReplaceAll(strings.TrimSpace(span), `\|`, "|")})
		for i := m[0]; i < m[1]; i++ {
			if prose[i] != '\n' {
				prose[i] = ' '
			}
		}
	}
	for _, m := range linkTarget.FindAllSubmatchIndex(prose, -1) {
		d.links = append(d.links, mdLine{lineAt(m[0]), string(prose[m[2]:m[3]])})
	}
}

// addAnchor records a heading's anchor as GitHub numbers repeats: x, x-1, x-2.
func (d *mdDoc) addAnchor(a string) {
	name := a
	for i := 1; d.anchors[name]; i++ {
		name = fmt.Sprintf("%s-%d", a, i)
	}
	d.anchors[name] = true
}

// slug is GitHub's anchor of a heading: its text without Markdown, lower
// case, without punctuation other than '-' and '_', spaces as '-'.
func slug(h string) string {
	h = mdLinkText.ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkLinks reports the relative links of doc that name a missing file or
// a missing heading; docs holds every parsed Markdown file by path.
func checkLinks(doc *mdDoc, docs map[string]*mdDoc, stat func(string) error) []string {
	var problems []string
	for _, l := range doc.links {
		if hasScheme.MatchString(l.text) || strings.HasPrefix(l.text, "//") {
			continue
		}
		path, anchor, _ := strings.Cut(l.text, "#")
		target := doc.name
		if path != "" {
			target = filepath.Join(filepath.Dir(doc.name), filepath.FromSlash(path))
			if err := stat(target); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s does not exist", doc.name, l.n, l.text, target))
				continue
			}
		}
		if anchor == "" || !strings.HasSuffix(target, ".md") {
			continue
		}
		if t := docs[target]; t == nil {
			problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s is not among the checked files", doc.name, l.n, l.text, target))
		} else if !t.anchors[anchor] {
			problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s has no heading with anchor #%s", doc.name, l.n, l.text, target, anchor))
		}
	}
	return problems
}

// commandLines returns the sluice command lines of doc: code block lines
// (joined over trailing backslashes) and inline code spans that start with
// sluice, ./sluice or go run ./cmd/sluice (after VAR=value assignments)
// followed by a command word.
func commandLines(doc *mdDoc) []cmdLine {
	var out []cmdLine
	add := func(l mdLine, inline bool) {
		s := strings.TrimSpace(l.text)
		s = strings.TrimPrefix(s, "$ ")
		for envAssign.MatchString(s) {
			s = envAssign.ReplaceAllString(s, "")
		}
		for _, prog := range []string{"sluice ", "./sluice ", "go run ./cmd/sluice "} {
			if rest, ok := strings.CutPrefix(s, prog); ok {
				if word, _, _ := strings.Cut(rest, " "); !commandWord.MatchString(word) {
					return
				}
				out = append(out, cmdLine{l.n, rest, inline})
				return
			}
		}
	}
	for i := 0; i < len(doc.code); i++ {
		l := doc.code[i]
		for strings.HasSuffix(l.text, `\`) && i+1 < len(doc.code) {
			i++
			l.text = strings.TrimSuffix(l.text, `\`) + " " + doc.code[i].text
		}
		add(l, false)
	}
	for _, l := range doc.inline {
		add(l, true)
	}
	return out
}

// shellWords splits a command line into words as a shell would (quotes,
// no expansion) and stops at a comment, pipe, list operator or redirection.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	for i, w := range words {
		if strings.HasPrefix(w, "#") || slices.Contains([]string{"|", "||", "&&", ";", "&"}, w) ||
			strings.HasPrefix(w, ">") || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "2>") {
			return words[:i]
		}
	}
	return words
}

// synopsisWord strips the synopsis markup of a word: [optional] groups and
// "..." repetitions; "" for words that are markup only ([flags]).
func synopsisWord(w string) string {
	if w == "[flags]" || w == "[command]" {
		return ""
	}
	w = strings.TrimPrefix(w, "[")
	w = strings.TrimSuffix(w, "...")
	w = strings.TrimSuffix(w, "]")
	return strings.TrimSuffix(w, "...")
}

// checkCommandLine checks one sluice command line against a fresh command
// tree, and returns what is wrong.
func checkCommandLine(l cmdLine) error {
	var words []string
	for _, w := range shellWords(l.text) {
		if w = synopsisWord(w); w != "" {
			words = append(words, w)
		}
	}
	c := &lineChecker{mention: l.inline}
	return c.checkWords(newRootCmd(io.Discard, io.Discard), words)
}

// lineChecker checks the words of one command line.
type lineChecker struct {
	// mention allows a value-taking flag at the end without its value, as
	// prose names a flag: `sluice test --run`.
	mention bool
}

// checkWords resolves the command named by the leading words of words
// below cmd, then checks the rest as its flags and arguments. A word with
// |-separated alternatives, or a placeholder such as COMMAND, in command
// position is checked for each alternative.
func (lc *lineChecker) checkWords(cmd *cobra.Command, words []string) error {
	if len(words) == 0 || strings.HasPrefix(words[0], "-") || !cmd.HasSubCommands() {
		return lc.checkFlagsAndArgs(cmd, words)
	}
	var subs []*cobra.Command
	switch w := words[0]; {
	case placeholder.MatchString(w):
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				subs = append(subs, c)
			}
		}
	default:
		for _, name := range strings.Split(w, "|") {
			sub := subCommand(cmd, name)
			if sub == nil {
				return fmt.Errorf("%s has no command %q", cmd.CommandPath(), name)
			}
			subs = append(subs, sub)
		}
	}
	for _, sub := range subs {
		if err := lc.checkWords(sub, words[1:]); err != nil {
			return err
		}
	}
	return nil
}

func subCommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// checkFlagsAndArgs checks that every flag of words exists for cmd in its
// documented (GNU) spelling, that each flag value is valid (enum values,
// numbers, durations; placeholders such as NAME pass), and, when positional
// arguments are shown, that cmd accepts that many.
func (lc *lineChecker) checkFlagsAndArgs(cmd *cobra.Command, words []string) error {
	cmd.InitDefaultHelpFlag()
	var positional []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--":
			positional = append(positional, words[i+1:]...)
			i = len(words)
			continue
		case w == "-" || !strings.HasPrefix(w, "-"):
			positional = append(positional, w)
			continue
		}
		f, value, hasValue, err := lookupFlag(cmd, w)
		if err != nil {
			return err
		}
		if f.NoOptDefVal != "" && !hasValue {
			continue
		}
		if !hasValue {
			if i+1 == len(words) && lc.mention {
				break
			}
			if i+1 == len(words) {
				return fmt.Errorf("%s: flag --%s needs a value", cmd.CommandPath(), f.Name)
			}
			i++
			value = words[i]
		}
		if err := checkFlagValue(cmd, f, value); err != nil {
			return err
		}
	}
	if len(positional) > 0 && cmd.Args != nil {
		if err := cmd.Args(cmd, positional); err != nil {
			return fmt.Errorf("%s: arguments %q: %v", cmd.CommandPath(), positional, err)
		}
	}
	return nil
}

// lookupFlag finds the flag that word (--name, --name=value or -x) names.
func lookupFlag(cmd *cobra.Command, word string) (f *pflag.Flag, value string, hasValue bool, err error) {
	find := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	if name, ok := strings.CutPrefix(word, "--"); ok {
		name, value, hasValue = strings.Cut(name, "=")
		if f = find(name); f == nil {
			return nil, "", false, fmt.Errorf("%s has no flag --%s", cmd.CommandPath(), name)
		}
		return f, value, hasValue, nil
	}
	short, value, hasValue := strings.Cut(word[1:], "=")
	if len(short) == 1 {
		if f = cmd.Flags().ShorthandLookup(short); f == nil {
			f = cmd.InheritedFlags().ShorthandLookup(short)
		}
		if f != nil {
			return f, value, hasValue, nil
		}
	}
	if find(short) != nil {
		return nil, "", false, fmt.Errorf("%s: write --%s: the docs spell long flags with two dashes", cmd.CommandPath(), short)
	}
	return nil, "", false, fmt.Errorf("%s has no flag %s", cmd.CommandPath(), word)
}

// checkFlagValue checks value (or each of its |-separated alternatives)
// against flag f of cmd.
func checkFlagValue(cmd *cobra.Command, f *pflag.Flag, value string) error {
	for _, v := range strings.Split(value, "|") {
		if placeholder.MatchString(v) || strings.HasPrefix(v, "$") {
			continue
		}
		if allowed := enumValues(f); allowed != nil && !slices.Contains(allowed, v) {
			return fmt.Errorf("%s: --%s %s: want one of %s", cmd.CommandPath(), f.Name, v, strings.Join(allowed, ", "))
		}
		if err := f.Value.Set(v); err != nil {
			return fmt.Errorf("%s: --%s %s: %v", cmd.CommandPath(), f.Name, v, err)
		}
	}
	return nil
}

// checkDocs runs the docs check over the Markdown files of names (paths
// relative to the current folder) and returns every problem found and how
// many command lines and links it checked.
func checkDocs(names []string) (problems []string, commands, links int, err error) {
	docs := map[string]*mdDoc{}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, 0, 0, err
		}
		docs[name] = parseMarkdown(name, string(src))
	}
	stat := func(p string) error { _, err := os.Stat(p); return err }
	for _, name := range names {
		doc := docs[name]
		links += len(doc.links)
		problems = append(problems, checkLinks(doc, docs, stat)...)
		lines := commandLines(doc)
		commands += len(lines)
		for _, l := range lines {
			if err := checkCommandLine(l); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: sluice %s: %v", name, l.n, l.text, err))
			}
		}
	}
	return problems, commands, links, nil
}
