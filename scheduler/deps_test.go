package scheduler_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// forbidden are imports the scheduling core (and every project package it
// depends on) must not have: it is pure, so the simulator and the server
// can share it.
var forbidden = []string{
	"os", "os/exec", "net", "net/http", "net/rpc", "syscall", "unsafe",
	"math/rand", // the v1 global source; math/rand/v2 with an injected *rand.Rand is fine
	"github.com/hashicorp/raft", "github.com/hashicorp/memberlist",
}

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Standard   bool
}

// TestCoreIsPure fails if the scheduler, or any project package it pulls
// in, imports networking, raft, memberlist, os, or calls time.Now or the
// global random functions.
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
		if p.Standard || !strings.HasPrefix(p.ImportPath, "github.com/suanli/suanli") {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			for _, f := range forbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") && f != "os" && f != "math/rand" {
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
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				switch {
				case id.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until" || sel.Sel.Name == "Sleep" || sel.Sel.Name == "After" || sel.Sel.Name == "Tick" || sel.Sel.Name == "NewTimer" || sel.Sel.Name == "NewTicker"):
					t.Errorf("%s: calls time.%s; the core takes time as an argument", fset.Position(sel.Pos()), sel.Sel.Name)
				case id.Name == "rand" && sel.Sel.Name != "Rand" && sel.Sel.Name != "New" && sel.Sel.Name != "NewPCG" && sel.Sel.Name != "Source":
					t.Errorf("%s: calls rand.%s; use the injected *rand.Rand", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d project packages, want at least scheduler and nodes", checked)
	}
}
