package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/sluice-io/sluice/internal/diagview"
	"github.com/sluice-io/sluice/runner/config"
)

func lintCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice lint [--format text|json] PATH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "sluice lint: unknown format %q (want text or json)\n", *format)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	project, diags := config.Load(fs.Args(), nil)
	views := diagview.New(diags, sources(project))
	errs, warns := diagview.Count(views)
	if *format == "json" {
		if err := diagview.WriteJSON(stdout, views); err != nil {
			fmt.Fprintln(stderr, "sluice lint:", err)
			return exitProblems
		}
	} else {
		if err := diagview.WriteText(stdout, views); err != nil {
			fmt.Fprintln(stderr, "sluice lint:", err)
			return exitProblems
		}
		if len(views) > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s, %s: %s, %s\n", plural(len(project.Names), "file"), plural(len(project.Pipelines), "pipeline"), plural(errs, "error"), plural(warns, "warning"))
	}
	if errs > 0 {
		return exitProblems
	}
	return exitOK
}

// sources returns the bytes of every parsed file, for snippets.
func sources(p *config.Project) map[string][]byte {
	out := make(map[string][]byte, len(p.Files))
	for name, f := range p.Files {
		out[name] = f.Bytes
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
