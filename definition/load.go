package definition

import (
	"fmt"
	"io"
	"os"
)

// MaxSubWorkflowDepth bounds how deep sub-workflows may nest.
const MaxSubWorkflowDepth = 8

// Options tune Compile.
type Options struct {
	// ReadFile reads a sub-workflow's file, named relative to the parent
	// definition's file. Nil refuses sub-workflows with a problem. Load
	// sets it to read from disk.
	ReadFile func(name string) ([]byte, error)
	// Actions, when not nil, are the actions the workers offer besides
	// the built-ins: an action step (map, compensation or hook) on the
	// run's own queue naming another is a problem. Steps on a
	// specialist's queue are not checked: a specialist, in any language,
	// offers what it offers.
	Actions []string

	stack []string // files being compiled, for cycle detection
}

// Load reads, parses, validates and compiles the definition file at path.
// A refused definition returns Problems listing everything wrong with it.
func Load(path string) (*Plan, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with options; ReadFile, when nil, reads from disk.
func LoadWith(path string, opts Options) (*Plan, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	doc, err := Parse(path, data)
	if doc == nil {
		return nil, err
	}
	if opts.ReadFile == nil {
		opts.ReadFile = readLimited
	}
	return Compile(doc, opts)
}

// readLimited reads a file without ever holding more than MaxFileSize+1
// bytes, so a huge file is refused in bounded memory.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a definition file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		if st, err := f.Stat(); err == nil {
			return nil, Problems{{File: path, Line: 1, Column: 1, Message: fmt.Sprintf("the file is %s; a definition may be at most %s", size(int(st.Size())), size(MaxFileSize)),
				Hint: "split it into smaller definitions and call them as sub-workflows"}}
		}
	}
	return data, nil
}
