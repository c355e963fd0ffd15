package runner

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sluice-io/sluice"

// TestLayers checks the module's import layers (docs/architecture.md): each
// package imports only the layers below it, so that the runner depends on
// the plugin API and never on a concrete plugin, and no plugin or library
// reaches up into the runner or the commands.
func TestLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module+"/")
		for _, imp := range f[1:] {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports[pkg] = append(imports[pkg], rel)
			}
		}
		if _, ok := imports[pkg]; !ok {
			imports[pkg] = nil
		}
	}
	for pkg := range imports {
		deps := closure(imports, pkg)
		for _, dep := range deps {
			if why := forbidden(pkg, dep); why != "" {
				t.Errorf("%s imports %s (directly or through others): %s", pkg, dep, why)
			}
		}
	}
}

// closure returns every module package pkg depends on.
func closure(imports map[string][]string, pkg string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range imports[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(pkg)
	deps := make([]string, 0, len(seen))
	for d := range seen {
		deps = append(deps, d)
	}
	sort.Strings(deps)
	return deps
}

// forbidden says why pkg may not depend on dep, or "" when it may.
func forbidden(pkg, dep string) string {
	under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	concretePlugin := under(dep, "plugins") && dep != "plugins"
	switch {
	case under(pkg, "cmd"):
		return ""
	case under(dep, "cmd"):
		return "only the commands import command packages"
	case dep == "runner":
		return "only the commands run pipelines"
	case under(pkg, "plugins") && under(dep, "runner"):
		return "plugins see the plugin API, not the runner's packages"
	case under(pkg, "runner") && concretePlugin:
		return "the runner uses the plugin API (package plugins), never a concrete plugin"
	case (pkg == "record" || pkg == "eventtime") && dep != "record":
		return "the data model and event time are the bottom layer"
	case pkg == "schema" && dep != "record":
		return "argument declarations depend on nothing but the data model"
	case pkg == "plugins" && dep != "record" && dep != "schema" && dep != "eventtime":
		return "the plugin API depends only on the data model, event time and declarations"
	case under(pkg, "internal") && concretePlugin && !under(pkg, "internal/produce"):
		return "libraries under internal/ are below the plugins"
	}
	return ""
}
