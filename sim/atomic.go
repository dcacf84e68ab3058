package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// pendingFile is an output written to a temporary file in its directory,
// renamed to its name once every output of the set is written.
type pendingFile struct {
	tmp, path string
}

// writeTemp writes fn's output to a temporary file beside path (mode
// 0644). The caller renames it (commit) or removes it (discard).
func writeTemp(path string, fn func(io.Writer) error) (*pendingFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	p := &pendingFile{tmp: f.Name(), path: path}
	err = fn(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.tmp)
		return nil, err
	}
	return p, nil
}

// WriteFilesAtomic writes a set of files: each to a temporary file in its
// directory first, and only when all are written are they renamed to
// their names. A failure leaves no temporary files and the previous
// contents (or absence) of every file in the set, so a reader never sees
// a truncated or half-written output. names[i] is written by fns[i].
func WriteFilesAtomic(names []string, fns []func(io.Writer) error) error {
	if len(names) != len(fns) {
		return errors.New("sim: WriteFilesAtomic: names and writers differ in number")
	}
	var done []*pendingFile
	discard := func() {
		for _, p := range done {
			os.Remove(p.tmp)
		}
	}
	for i, name := range names {
		p, err := writeTemp(name, fns[i])
		if err != nil {
			discard()
			return fmt.Errorf("write %s: %w", name, err)
		}
		done = append(done, p)
	}
	for i, p := range done {
		if err := os.Rename(p.tmp, p.path); err != nil {
			for _, q := range done[i:] {
				os.Remove(q.tmp)
			}
			return fmt.Errorf("write %s: %w", p.path, err)
		}
	}
	return nil
}

// checkFinite returns an error naming the first float of v (a struct,
// slice, map or pointer, walked by json field names) that is NaN or
// infinite: JSON has no such numbers, and a figure like that is a bug
// upstream that should be named rather than encoded. Elements of lists of
// objects with a "policy" or "class" field are named by it.
func checkFinite(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s is %v, which JSON cannot hold", path, f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkFinite(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := checkFinite(v.Field(i), joinJSONPath(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkFinite(v.Index(i), fmt.Sprintf("%s[%s]", path, elemKey(v.Index(i), i))); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if err := checkFinite(v.MapIndex(k), joinJSONPath(path, fmt.Sprint(k))); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinJSONPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// elemKey names a list element by its policy or class, else its index.
func elemKey(v reflect.Value, i int) string {
	if v.Kind() == reflect.Struct {
		for _, f := range []string{"Policy", "Class"} {
			if fv := v.FieldByName(f); fv.IsValid() && fv.Kind() == reflect.String && fv.String() != "" {
				return fv.String()
			}
		}
	}
	return fmt.Sprint(i)
}
