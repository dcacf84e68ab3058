package scheduler_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbidden are imports the scheduling core (and every project package it
// depends on) must not have: it is pure, so the simulator and the server
// can share it. Each entry forbids the package and everything under it
// (math/rand/v2, with an injected *rand.Rand, is allowed: see allowed).
var forbidden = []string{
	"os", "net", "syscall", "unsafe", "io/ioutil", "log", "crypto/tls", "runtime/pprof", "plugin",
	"math/rand", // the v1 global source
	"github.com/hashicorp",
}

// allowed overrides forbidden for these exact imports.
var allowed = map[string]bool{"math/rand/v2": true}

// forbiddenAnywhere must not appear anywhere in the core's dependency
// closure, standard library included (fmt pulls in os and syscall, which
// is why those are checked on the project's own imports only).
var forbiddenAnywhere = []string{"net", "crypto/tls", "github.com/hashicorp", "google.golang.org/grpc"}

// clockFuncs and randFuncs are the functions of package time and
// math/rand/v2 the core must not call: it takes the time and a seeded
// *rand.Rand as arguments.
var (
	clockFuncs = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
		"Tick": true, "NewTimer": true, "NewTicker": true}
	randOK = map[string]bool{"Rand": true, "New": true, "NewPCG": true, "Source": true, "PCG": true}
)

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Standard   bool
}

// TestCoreIsPure fails if the scheduler, or any project package it pulls
// in, imports networking, raft, memberlist, os or other system packages,
// or calls time.Now (or the other clock functions) or the global random
// functions, under any import name.
func TestCoreIsPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json", "github.com/suanli/suanli/scheduler").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, f := range forbiddenAnywhere {
			if under(p.ImportPath, f) {
				t.Errorf("the scheduling core depends on %s", p.ImportPath)
			}
		}
		if p.Standard || !strings.HasPrefix(p.ImportPath, "github.com/suanli/suanli") {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			for _, f := range forbidden {
				if under(imp, f) && !allowed[imp] {
					t.Errorf("%s imports %s, which the scheduling core must not depend on", p.ImportPath, imp)
				}
			}
		}
		fset := token.NewFileSet()
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			checkCalls(t.Errorf, fset, f)
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d project packages, want at least scheduler and nodes", checked)
	}
}

// checkCalls reports uses of the clock and of the global random functions
// in f, whatever name the file imports time and math/rand/v2 under.
func checkCalls(report func(format string, args ...any), fset *token.FileSet, f *ast.File) {
	names := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path != "time" && path != "math/rand/v2" {
			continue
		}
		local := filepath.Base(path)
		if path == "math/rand/v2" {
			local = "rand"
		}
		if imp.Name != nil {
			local = imp.Name.Name
		}
		if local == "." {
			report("%s: dot-imports %s; the core must name what it uses from it", fset.Position(imp.Pos()), path)
			continue
		}
		names[local] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		switch names[id.Name] {
		case "time":
			if clockFuncs[sel.Sel.Name] {
				report("%s: calls time.%s; the core takes time as an argument", fset.Position(sel.Pos()), sel.Sel.Name)
			}
		case "math/rand/v2":
			if !randOK[sel.Sel.Name] {
				report("%s: calls rand.%s; use the injected *rand.Rand", fset.Position(sel.Pos()), sel.Sel.Name)
			}
		}
		return true
	})
}

// TestPurityCheckCatchesAliases: the check sees through import aliases
// and dot-imports.
func TestPurityCheckCatchesAliases(t *testing.T) {
	src := `package x
import (
	clk "time"
	r "math/rand/v2"
	. "time"
)
func f() { _ = clk.Now(); _ = r.IntN(3); _ = Now(); var _ *r.Rand }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	checkCalls(func(format string, args ...any) { msgs = append(msgs, fmt.Sprintf(format, args...)) }, fset, f)
	want := []string{"dot-imports time", "calls time.Now", "calls rand.IntN"}
	if len(msgs) != len(want) {
		t.Fatalf("got %q, want %d findings", msgs, len(want))
	}
	for i, w := range want {
		if !strings.Contains(msgs[i], w) {
			t.Errorf("finding %d = %q, want it to mention %q", i, msgs[i], w)
		}
	}
}
