package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// enumValue is a string flag that accepts only a fixed set of values; the
// values also drive shell completion and the docs check.
type enumValue struct {
	value   *string
	allowed []string
}

func (e *enumValue) String() string { return *e.value }

func (e *enumValue) Type() string { return "string" }

func (e *enumValue) Set(v string) error {
	if !slices.Contains(e.allowed, v) {
		return fmt.Errorf("want %s", strings.Join(e.allowed, " or "))
	}
	*e.value = v
	return nil
}

// addEnumFlag defines --name on cmd, holding one of allowed (def may be ""
// for "not set"), with completion of the allowed values.
func addEnumFlag(cmd *cobra.Command, p *string, name, def, usage string, allowed ...string) {
	*p = def
	cmd.Flags().Var(&enumValue{value: p, allowed: allowed}, name, usage)
	mustRegister(cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp)))
}

// enumValues returns the values an enum flag accepts, or nil for a flag
// that takes any value.
func enumValues(f *pflag.Flag) []string {
	if e, ok := f.Value.(*enumValue); ok {
		return e.allowed
	}
	return nil
}

// addLogFormatFlag defines --log-format on cmd.
func addLogFormatFlag(cmd *cobra.Command, p *string, def string) {
	usage := "log `FORMAT`: text or json"
	if def == "" {
		usage += " (default: text on a terminal, json otherwise)"
	}
	addEnumFlag(cmd, p, "log-format", def, usage, "text", "json")
}

// mustRegister panics on an error that only a programming mistake in the
// command tree can cause (a flag completion registered twice or for no
// flag).
func mustRegister(err error) {
	if err != nil {
		panic(err)
	}
}

// singleDashLong matches a Go-style single-dash long flag: -check,
// -run=NAME.
var singleDashLong = regexp.MustCompile(`^-([a-zA-Z][a-zA-Z0-9-]+)(=.*)?$`)

// normalizeSingleDash rewrites the Go-style single-dash spellings of cmd's
// long flags (-check, -run NAME, -update) as --check, --run NAME, --update,
// so that scripts written for the earlier flag syntax keep working. Other
// arguments, the values of flags and everything after "--" are kept as
// they are.
func normalizeSingleDash(cmd *cobra.Command, args []string) []string {
	cmd.InitDefaultHelpFlag()
	lookup := func(name string) *pflag.Flag {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
		return cmd.InheritedFlags().Lookup(name)
	}
	out := make([]string, 0, len(args))
	takesValue := false // the previous argument is a flag waiting for its value
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if takesValue {
			out = append(out, a)
			takesValue = false
			continue
		}
		name, inline := "", false
		switch m := singleDashLong.FindStringSubmatch(a); {
		case m != nil && lookup(m[1]) != nil:
			name, inline = m[1], m[2] != ""
			a = "-" + a
		case strings.HasPrefix(a, "--"):
			name, _, inline = strings.Cut(a[2:], "=")
		}
		if f := lookup(name); f != nil && f.NoOptDefVal == "" && !inline {
			takesValue = true
		}
		out = append(out, a)
	}
	return out
}
